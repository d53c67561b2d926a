package network

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/containernetworking/cni/libcni"
)

// cniVersion is the spec version of generated configs; Debian 12's plugins
// (1.1.1) speak up to 1.0.0.
const cniVersion = "1.0.0"

type confList struct {
	CNIVersion string `json:"cniVersion"`
	Name       string `json:"name"`
	Plugins    []any  `json:"plugins"`
}

type bridgeConf struct {
	Type        string   `json:"type"`
	Bridge      string   `json:"bridge"`
	IsGateway   bool     `json:"isGateway"`
	IPMasq      bool     `json:"ipMasq"`
	HairpinMode bool     `json:"hairpinMode"`
	IPAM        ipamConf `json:"ipam"`
}

type ipamConf struct {
	Type    string        `json:"type"`
	DataDir string        `json:"dataDir"`
	Ranges  [][]rangeConf `json:"ranges"`
	Routes  []routeConf   `json:"routes,omitempty"`
}

type rangeConf struct {
	Subnet  string `json:"subnet"`
	Gateway string `json:"gateway,omitempty"`
}

type routeConf struct {
	Dst string `json:"dst"`
}

type portmapConf struct {
	Type         string          `json:"type"`
	Capabilities map[string]bool `json:"capabilities"`
	SNAT         bool            `json:"snat"`
}

type firewallConf struct {
	Type    string `json:"type"`
	Backend string `json:"backend"`
}

type loopbackConf struct {
	Type string `json:"type"`
}

// ipamDir is where host-local keeps its leases: under --root, so that two
// roots never share them.
func ipamDir(root string) string { return filepath.Join(root, "networks", "ipam") }

// listOptions shape one attachment's config list.
type listOptions struct {
	// Publish includes portmap. Without ports it is left out: its DEL costs
	// a dozen iptables runs for nothing.
	Publish bool
}

// conflistJSON renders the CNI configuration list of n: bridge with
// host-local IPAM, portmap (when publishing, never on internal networks)
// and firewall.
func conflistJSON(root string, n *Network, opts listOptions) ([]byte, error) {
	bridge := bridgeConf{
		Type:        "bridge",
		Bridge:      n.Bridge,
		IsGateway:   !n.Internal,
		IPMasq:      !n.Internal,
		HairpinMode: true,
		IPAM: ipamConf{
			Type:    "host-local",
			DataDir: ipamDir(root),
			Ranges:  [][]rangeConf{{{Subnet: n.Subnet, Gateway: n.Gateway}}},
		},
	}
	plugins := []any{&bridge}
	if !n.Internal {
		bridge.IPAM.Routes = []routeConf{{Dst: "0.0.0.0/0"}}
	}
	if !n.Internal && opts.Publish {
		plugins = append(plugins, &portmapConf{
			Type:         "portmap",
			Capabilities: map[string]bool{"portMappings": true},
			SNAT:         true,
		})
	}
	plugins = append(plugins, &firewallConf{Type: "firewall", Backend: "iptables"})
	return json.MarshalIndent(confList{CNIVersion: cniVersion, Name: n.Name, Plugins: plugins}, "", "  ")
}

// loopbackConfList brings up "lo" in a pod's namespace.
func loopbackConfList() (*libcni.NetworkConfigList, error) {
	data, err := json.Marshal(confList{
		CNIVersion: cniVersion,
		Name:       "podbay-loopback",
		Plugins:    []any{loopbackConf{Type: "loopback"}},
	})
	if err != nil {
		return nil, err
	}
	return parseConfList(data)
}

func parseConfList(data []byte) (*libcni.NetworkConfigList, error) {
	list, err := libcni.ConfListFromBytes(data)
	if err != nil {
		return nil, fmt.Errorf("parsing CNI config list: %w", err)
	}
	return list, nil
}
