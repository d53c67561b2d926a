package network

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
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
		"default":          {n: def, opts: listOptions{Publish: true}, wantTypes: []string{"bridge", "portmap", "firewall"}},
		"default-no-ports": {n: def, wantTypes: []string{"bridge", "firewall"}},
		"internal":         {n: internal, opts: listOptions{Publish: true}, wantTypes: []string{"bridge", "firewall"}},
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
