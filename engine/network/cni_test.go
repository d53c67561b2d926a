package network

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/version"
)

// fakeExec stands in for plugins: it records calls and fails the listed
// plugin types.
type fakeExec struct {
	calls   []string
	fail    map[string]bool
	missing map[string]bool
}

func (f *fakeExec) ExecPlugin(_ context.Context, path string, stdin []byte, env []string) ([]byte, error) {
	cmd := ""
	for _, e := range env {
		if c, ok := strings.CutPrefix(e, "CNI_COMMAND="); ok {
			cmd = c
		}
	}
	plugin := filepath.Base(path)
	f.calls = append(f.calls, plugin+" "+cmd)
	if f.fail[plugin] {
		return nil, errors.New("boom")
	}
	return nil, nil
}

func (f *fakeExec) FindInPath(plugin string, _ []string) (string, error) {
	if f.missing[plugin] {
		return "", errors.New("not found")
	}
	return "/fake/" + plugin, nil
}

func (f *fakeExec) Decode(b []byte) (version.PluginInfo, error) {
	return version.PluginSupports(cniVersion), nil
}

func TestDelListGoesOnPastFailures(t *testing.T) {
	m := newUnitManager(t)
	n := &Network{Name: "n", Bridge: "pb9", Subnet: "10.203.9.0/24", Gateway: "10.203.9.1"}
	conf, err := conflistJSON(m.opts.Root, n, listOptions{Publish: true})
	if err != nil {
		t.Fatal(err)
	}
	list, err := parseConfList(conf)
	if err != nil {
		t.Fatal(err)
	}
	rt := &libcni.RuntimeConf{ContainerID: "c1", IfName: "eth0"}
	tests := []struct {
		name        string
		exec        *fakeExec
		skipMissing bool
		calls       string
		err         string
	}{
		{name: "all succeed", exec: &fakeExec{}, calls: "portmap DEL,bridge DEL"},
		{name: "one fails", exec: &fakeExec{fail: map[string]bool{"portmap": true}},
			calls: "portmap DEL,bridge DEL", err: `plugin "portmap" (DEL): boom`},
		{name: "missing named", exec: &fakeExec{missing: map[string]bool{"portmap": true}},
			calls: "bridge DEL", err: `plugin "portmap" (DEL): not found`},
		{name: "missing skipped", exec: &fakeExec{missing: map[string]bool{"portmap": true}}, skipMissing: true,
			calls: "bridge DEL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m.exec = tt.exec
			m.cni = libcni.NewCNIConfigWithCacheDir(m.opts.PluginDirs, filepath.Join(m.dir, "cache"), tt.exec)
			err := m.delList(context.Background(), list, rt, tt.skipMissing)
			if got := strings.Join(tt.exec.calls, ","); got != tt.calls {
				t.Errorf("calls = %s, want %s", got, tt.calls)
			}
			if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("err = %v, want %q", err, tt.err)
			}
		})
	}
}
