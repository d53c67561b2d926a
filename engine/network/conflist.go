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
// host-local IPAM, and portmap (when publishing, never on internal
// networks). The bridge does not masquerade and there is no firewall
// plugin: the network-wide rules of rules.go do both, once per network
// instead of a dozen iptables runs per container.
func conflistJSON(root string, n *Network, opts listOptions) ([]byte, error) {
	bridge := bridgeConf{
		Type:        "bridge",
		Bridge:      n.Bridge,
		IsGateway:   !n.Internal,
		IPMasq:      false, // PODBAY-POSTROUTING masquerades the whole subnet
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
	return json.MarshalIndent(confList{CNIVersion: cniVersion, Name: n.Name, Plugins: plugins}, "", "  ")
}

// legacyLoopbackNetwork is the config list name under which an older
// podbay ran the loopback plugin; Detach drops its libcni cache entry.
const legacyLoopbackNetwork = "podbay-loopback"

// sweeps says which iptables sweeps a Detach (or an undone ADD) needs: only
// those that can find something for the plugins of a config list.
type sweeps struct {
	ids       bool // rules whose comment names the container: bridge ipMasq, portmap
	addresses bool // the firewall plugin's rules, which name only the address
	chains    bool // per-container chains: bridge ipMasq, portmap's DN chain
}

func (s sweeps) any() bool { return s.ids || s.addresses || s.chains }

// allSweeps is for a container without an attachment record (a process
// killed inside ADD): its config is unknown, so every sweep runs.
var allSweeps = sweeps{ids: true, addresses: true, chains: true}

// sweepsFor picks the sweeps for what a config list's plugins may leave:
// attachments made by an older podbay (ipMasq, firewall) or publishing
// ports (portmap). A list of today without ports needs none.
func sweepsFor(list *libcni.NetworkConfigList) sweeps {
	var s sweeps
	for _, p := range list.Plugins {
		switch p.Network.Type {
		case "portmap":
			s.ids, s.chains = true, true
		case "firewall":
			s.addresses = true
		case "bridge":
			var b struct {
				IPMasq *bool `json:"ipMasq"`
			}
			// Unreadable: assume the worst; absent: the plugin's default, off.
			if err := json.Unmarshal(p.Bytes, &b); err != nil || b.IPMasq != nil && *b.IPMasq {
				s.ids, s.chains = true, true
			}
		}
	}
	return s
}

func parseConfList(data []byte) (*libcni.NetworkConfigList, error) {
	list, err := libcni.ConfListFromBytes(data)
	if err != nil {
		return nil, fmt.Errorf("parsing CNI config list: %w", err)
	}
	return list, nil
}
