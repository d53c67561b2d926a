package svcproxy

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update to accept):\n--- got\n%s--- want\n%s", name, got, want)
	}
}

var webPorts = []Port{
	{Service: "default/web", Name: "http", ClusterIP: "10.96.0.10", Port: 80,
		Endpoints: []Endpoint{{"10.88.0.2", 8080}, {"10.88.0.3", 8080}, {"10.88.0.4", 8080}}},
	{Service: "default/dns", Protocol: "UDP", ClusterIP: "10.96.0.53", Port: 53, Endpoints: []Endpoint{{"10.88.0.5", 5353}}},
	{Service: "default/idle", ClusterIP: "10.96.0.11", Port: 80},
}

func TestRenderPodTable(t *testing.T) {
	golden(t, "pod-apply.golden", Table{}.render(webPorts, current{}))
}

func TestRenderHostTable(t *testing.T) {
	ports := []Port{{Service: "default/web", Port: 80, NodePorts: []int{30080, 80},
		Endpoints: []Endpoint{{"10.88.0.2", 8080}, {"10.88.0.3", 8080}}}}
	golden(t, "host-apply.golden", Table{Scope: "/var/lib/podbay"}.render(ports, current{}))
}

// A second apply keeps the existing jump and deletes the chains of ports
// that are gone or have no endpoints left.
func TestRenderReplacesStale(t *testing.T) {
	tab := Table{}
	save := "*filter\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -j PODBAY-SERVICES\nCOMMIT\n" +
		"*nat\n:OUTPUT ACCEPT [0:0]\n:PODBAY-SERVICES - [0:0]\n" +
		"-A OUTPUT -m comment --comment \"podbay services\" -j PODBAY-SERVICES\n" +
		"-A PODBAY-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j " + tab.portChain(webPorts[0]) + "\n" +
		"-A PODBAY-SERVICES -d 10.96.0.12/32 -p tcp -m tcp --dport 80 -j PODBAY-SVC-GONEGONEGONEGONE\n" +
		"-A PODBAY-SVCS-0BADF00D -j PODBAY-SVC-OTHERROOTOTHERRO\nCOMMIT\n"
	cur := tab.parseSave(save)
	if j := cur.get("nat").jumps; j["OUTPUT>PODBAY-SERVICES"] == "" || len(j) != 1 {
		t.Fatalf("nat jumps = %v, want the OUTPUT one only", j)
	}
	if j := cur.get("filter").jumps; j["OUTPUT>PODBAY-SERVICES"] == "" || len(cur.get("filter").chains) != 0 {
		t.Fatalf("filter jumps = %v, want the OUTPUT one and no chain", j)
	}
	golden(t, "pod-replace.golden", tab.render(webPorts[:1], cur))
	golden(t, "pod-remove.golden", tab.renderRemove(cur))
}

func TestRenderRemoveEmpty(t *testing.T) {
	if got := (Table{}).renderRemove(Table{}.parseSave("*nat\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n")); got != "" {
		t.Errorf("remove of an empty table = %q, want nothing", got)
	}
}

func TestChainNames(t *testing.T) {
	a := Table{}.portChain(webPorts[0])
	b := Table{Scope: "/root2"}.portChain(webPorts[0])
	if a == b || len(a) > 28 || len(b) > 28 || !strings.HasPrefix(a, chainPrefix) {
		t.Errorf("chains %q and %q: want distinct names of at most 28 characters", a, b)
	}
	if top := (Table{Scope: "/root2"}).topChain(); len(top) > 28 {
		t.Errorf("top chain %q too long", top)
	}
}

func TestValidate(t *testing.T) {
	for name, tc := range map[string]struct {
		port Port
		want string
	}{
		"protocol":   {Port{Service: "a/b", Protocol: "icmp"}, `service a/b: protocol "icmp": want tcp, udp or sctp`},
		"cluster ip": {Port{Service: "a/b", ClusterIP: "fd00::1"}, `service a/b: cluster IP "fd00::1": want an IPv4 address`},
		"endpoint":   {Port{Service: "a/b", Endpoints: []Endpoint{{"10.0.0.1", 0}}}, "service a/b: endpoint 10.0.0.1:0: want IPv4:port"},
	} {
		t.Run(name, func(t *testing.T) {
			err := validate([]Port{tc.port})
			if err == nil || err.Error() != tc.want {
				t.Errorf("err = %v, want %s", err, tc.want)
			}
		})
	}
}
