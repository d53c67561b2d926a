package network

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
)

// bridgeResult is what the bridge plugin answers for c1: the bridge, the
// host veth, eth0 in the namespace, and its address.
const bridgeResult = `{"cniVersion":"1.0.0",
	"interfaces":[{"name":"pbt1","mac":"aa:aa:aa:aa:aa:01"},{"name":"veth1","mac":"aa:aa:aa:aa:aa:02"},
		{"name":"eth0","mac":"0a:58:0a:cb:01:05","sandbox":"/run/netns/c1"}],
	"ips":[{"interface":2,"address":"10.203.1.5/24","gateway":"10.203.1.1"}],
	"routes":[{"dst":"0.0.0.0/0"}]}`

// TestAddWithFakePlugins: a CNI ADD through Options.Exec: the config each
// plugin gets (network, bridge, IPAM, published ports, the previous
// result), its environment, the attachment made of the result, and the
// errors, which name the plugin and the operation.
func TestAddWithFakePlugins(t *testing.T) {
	ctx := context.Background()
	n := &Network{Name: "n1", Bridge: "pbt1", Subnet: "10.203.1.0/24", Gateway: "10.203.1.1"}
	exhausted := &types.Error{Code: types.ErrTryAgainLater,
		Msg: "failed to allocate for range 0: no IP addresses available in range set: 10.203.1.1-10.203.1.254"}
	tests := []struct {
		name    string
		exec    *fakeExec
		ports   []PortMapping
		calls   string
		is      error
		err     string
		wantIP  string
		wantMAC string
	}{
		{name: "bridge", exec: &fakeExec{results: map[string]string{"bridge": bridgeResult}},
			calls: "bridge ADD", wantIP: "10.203.1.5", wantMAC: "0a:58:0a:cb:01:05"},
		{name: "published port", exec: &fakeExec{results: map[string]string{"bridge": bridgeResult, "portmap": bridgeResult}},
			ports: []PortMapping{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}},
			calls: "bridge ADD,portmap ADD", wantIP: "10.203.1.5", wantMAC: "0a:58:0a:cb:01:05"},
		{name: "subnet exhausted", exec: &fakeExec{fail: map[string]bool{"bridge": true}, failErr: exhausted},
			calls: "bridge ADD", is: ErrSubnetExhausted,
			err: `subnet 10.203.1.0/24: no free addresses: plugin type="bridge" failed (add): failed to allocate for range 0`},
		{name: "portmap fails", exec: &fakeExec{results: map[string]string{"bridge": bridgeResult}, fail: map[string]bool{"portmap": true}},
			ports: []PortMapping{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}},
			calls: "bridge ADD,portmap ADD", err: `CNI ADD: plugin type="portmap" failed (add): boom`},
		{name: "no IPv4 address", exec: &fakeExec{results: map[string]string{
			"bridge": strings.Replace(bridgeResult, `"10.203.1.5/24","gateway":"10.203.1.1"`, `"fd00::5/64"`, 1)}},
			calls: "bridge ADD", err: "CNI result has no IPv4 address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dirs := []string{"/p1", "/p2"}
			m, err := New(Options{Root: t.TempDir(), Runroot: t.TempDir(), PluginDirs: dirs, Exec: tt.exec})
			if err != nil {
				t.Fatal(err)
			}
			conf, err := conflistJSON(m.opts.Root, n, listOptions{Publish: len(tt.ports) > 0})
			if err != nil {
				t.Fatal(err)
			}
			list, err := parseConfList(conf)
			if err != nil {
				t.Fatal(err)
			}
			opts := &AttachOptions{ContainerID: "c1", Name: "web", NetNS: "/run/netns/c1", Network: n.Name, Ports: tt.ports}
			if err := opts.normalize(); err != nil {
				t.Fatal(err)
			}
			a, err := m.addList(ctx, n, list, opts.runtimeConf(opts.NetNS), opts)
			if got := strings.Join(tt.exec.calls, ","); got != tt.calls {
				t.Errorf("calls %s, want %s", got, tt.calls)
			}
			if (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want %q", err, tt.err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			checkBridgeCall(t, tt.exec, m, n, strings.Join(dirs, string(os.PathListSeparator)))
			if tt.calls == "bridge ADD,portmap ADD" {
				checkPortmapCall(t, tt.exec)
			}
			if err != nil {
				return
			}
			if a.IP != tt.wantIP || a.Prefix != tt.wantIP+"/24" || a.Gateway != "10.203.1.1" || a.MAC != tt.wantMAC ||
				a.Network != "n1" || a.Interface != "eth0" || a.Name != "web" || !slices.Equal(a.Ports, tt.ports) {
				t.Errorf("attachment %+v", a)
			}
		})
	}
}

// checkBridgeCall checks the config and environment the bridge got.
func checkBridgeCall(t *testing.T, f *fakeExec, m *Manager, n *Network, cniPath string) {
	t.Helper()
	var conf struct {
		CNIVersion, Name, Type, Bridge string
		IsGateway, IPMasq              bool
		IPAM                           struct {
			Type, DataDir string
			Ranges        [][]struct{ Subnet, Gateway string }
		}
	}
	if err := json.Unmarshal(f.stdin["bridge"], &conf); err != nil {
		t.Fatalf("bridge config %s: %v", f.stdin["bridge"], err)
	}
	if conf.CNIVersion != cniVersion || conf.Name != n.Name || conf.Type != "bridge" || conf.Bridge != n.Bridge ||
		!conf.IsGateway || conf.IPMasq || conf.IPAM.Type != "host-local" || conf.IPAM.DataDir != ipamDir(m.opts.Root) ||
		len(conf.IPAM.Ranges) != 1 || len(conf.IPAM.Ranges[0]) != 1 || conf.IPAM.Ranges[0][0].Subnet != n.Subnet ||
		conf.IPAM.Ranges[0][0].Gateway != n.Gateway {
		t.Errorf("bridge config %s", f.stdin["bridge"])
	}
	env := f.env["bridge"]
	want := map[string]string{"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c1", "CNI_NETNS": "/run/netns/c1",
		"CNI_IFNAME": "eth0", "CNI_PATH": cniPath}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("bridge environment %s=%q, want %q", k, env[k], v)
		}
	}
}

// checkPortmapCall checks that portmap got the published port and the
// bridge's result.
func checkPortmapCall(t *testing.T, f *fakeExec) {
	t.Helper()
	var conf struct {
		Type          string
		RuntimeConfig struct {
			PortMappings []struct {
				HostPort, ContainerPort int
				Protocol, HostIP        string
			}
		}
		PrevResult struct {
			IPs []struct{ Address string }
		}
	}
	if err := json.Unmarshal(f.stdin["portmap"], &conf); err != nil {
		t.Fatalf("portmap config %s: %v", f.stdin["portmap"], err)
	}
	pm := conf.RuntimeConfig.PortMappings
	if conf.Type != "portmap" || len(pm) != 1 || pm[0].HostPort != 8080 || pm[0].ContainerPort != 80 || pm[0].Protocol != "tcp" ||
		len(conf.PrevResult.IPs) != 1 || conf.PrevResult.IPs[0].Address != "10.203.1.5/24" {
		t.Errorf("portmap config %s", f.stdin["portmap"])
	}
}
