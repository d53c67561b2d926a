package network

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestConflistGolden(t *testing.T) {
	def := &Network{Name: "podbay", Bridge: "podbay0", Subnet: "10.90.0.0/16", Gateway: "10.90.0.1"}
	internal := &Network{Name: "backend", Bridge: "podbay3", Subnet: "10.91.3.0/24", Gateway: "10.91.3.1", Internal: true}
	tests := map[string]struct {
		n         *Network
		opts      listOptions
		wantTypes []string
	}{
		"default":          {n: def, opts: listOptions{Publish: true}, wantTypes: []string{"bridge", "portmap"}},
		"default-no-ports": {n: def, wantTypes: []string{"bridge"}},
		"internal":         {n: internal, opts: listOptions{Publish: true}, wantTypes: []string{"bridge"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := conflistJSON("/var/lib/podbay", tt.n, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", "conflist-"+name+".json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("conflist differs from %s (run with -update):\n%s", golden, got)
			}
			list, err := parseConfList(got)
			if err != nil {
				t.Fatalf("libcni rejects the config: %v", err)
			}
			var types []string
			for _, p := range list.Plugins {
				types = append(types, p.Network.Type)
			}
			if !reflect.DeepEqual(types, tt.wantTypes) {
				t.Errorf("plugins = %v, want %v", types, tt.wantTypes)
			}
			// Today's lists need a sweep on Detach only for portmap.
			if s := sweepsFor(list); s != (sweeps{ids: tt.opts.Publish && !tt.n.Internal, chains: tt.opts.Publish && !tt.n.Internal}) {
				t.Errorf("sweepsFor = %+v", s)
			}
		})
	}
}

// TestSweepsFor: the iptables sweeps run only for what can have left
// rules: portmap, and an older podbay's ipMasq and firewall plugin.
func TestSweepsFor(t *testing.T) {
	tests := []struct {
		name    string
		plugins string
		want    sweeps
	}{
		{"bridge only", `{"type":"bridge","ipMasq":false}`, sweeps{}},
		{"bridge, ipMasq absent", `{"type":"bridge"}`, sweeps{}},
		{"older podbay", `{"type":"bridge","ipMasq":true},{"type":"firewall"}`, allSweeps},
		{"older podbay, internal", `{"type":"bridge","ipMasq":false},{"type":"firewall"}`, sweeps{addresses: true}},
		{"published", `{"type":"bridge","ipMasq":false},{"type":"portmap","capabilities":{"portMappings":true}}`, sweeps{ids: true, chains: true}},
		{"unreadable ipMasq", `{"type":"bridge","ipMasq":"yes"}`, sweeps{ids: true, chains: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := parseConfList([]byte(`{"cniVersion":"1.0.0","name":"n","plugins":[` + tt.plugins + `]}`))
			if err != nil {
				t.Fatal(err)
			}
			if got := sweepsFor(list); got != tt.want {
				t.Errorf("sweepsFor = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNetworkRulesGolden(t *testing.T) {
	tests := map[string]*Network{
		"default":  {Name: "podbay", Bridge: "podbay0", Subnet: "10.90.0.0/16", Gateway: "10.90.0.1"},
		"internal": {Name: "backend", Bridge: "podbay3", Subnet: "10.91.3.0/24", Internal: true},
	}
	for name, n := range tests {
		t.Run(name, func(t *testing.T) {
			got := renderRules(networkRules(n))
			golden := filepath.Join("testdata", "rules-"+name+".txt")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("rules differ from %s (run with -update):\n%s", golden, got)
			}
			// What the marker records reads back, through splitRule, as the
			// arguments given to iptables.
			for i, line := range strings.Split(strings.TrimSpace(string(got)), "\n") {
				r := networkRules(n)[i]
				args := splitRule(line)
				if !reflect.DeepEqual(args[4:], r.Args) || ruleComment(args) != networkComment(n.Name) {
					t.Errorf("line %q splits to %q, want %q", line, args[4:], r.Args)
				}
			}
		})
	}
}

func TestSplitRule(t *testing.T) {
	line := `-A POSTROUTING -s 10.99.0.2/32 -m comment --comment "name: \"net1\" id: \"abc\"" -j CNI-5f0d0a`
	want := []string{"-A", "POSTROUTING", "-s", "10.99.0.2/32", "-m", "comment", "--comment",
		`name: "net1" id: "abc"`, "-j", "CNI-5f0d0a"}
	got := splitRule(line)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("splitRule:\n got %q\nwant %q", got, want)
	}
	if jumpTarget(got) != "CNI-5f0d0a" {
		t.Fatalf("jumpTarget = %q", jumpTarget(got))
	}
}
