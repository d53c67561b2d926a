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

// fakeExec stands in for plugins: it records calls (and each one's stdin
// and environment), answers with the plugin's result, and fails the listed
// plugin types.
type fakeExec struct {
	calls   []string
	stdin   map[string][]byte            // by plugin, the last
	env     map[string]map[string]string // by plugin, the last
	results map[string]string            // by plugin; "": empty output
	fail    map[string]bool
	failErr error // what a failing plugin returns; nil: "boom"
	missing map[string]bool
}

func (f *fakeExec) ExecPlugin(_ context.Context, path string, stdin []byte, env []string) ([]byte, error) {
	plugin := filepath.Base(path)
	vars := map[string]string{}
	for _, e := range env {
		if k, v, ok := strings.Cut(e, "="); ok && strings.HasPrefix(k, "CNI_") {
			vars[k] = v
		}
	}
	f.calls = append(f.calls, plugin+" "+vars["CNI_COMMAND"])
	if f.stdin == nil {
		f.stdin, f.env = map[string][]byte{}, map[string]map[string]string{}
	}
	f.stdin[plugin], f.env[plugin] = stdin, vars
	if f.fail[plugin] {
		if f.failErr != nil {
			return nil, f.failErr
		}
		return nil, errors.New("boom")
	}
	return []byte(f.results[plugin]), nil
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
	root := t.TempDir()
	n := &Network{Name: "n", Bridge: "pb9", Subnet: "10.203.9.0/24", Gateway: "10.203.9.1"}
	conf, err := conflistJSON(root, n, listOptions{Publish: true})
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
			m, err := New(Options{Root: root, Runroot: t.TempDir(), Exec: tt.exec})
			if err != nil {
				t.Fatal(err)
			}
			err = m.delList(context.Background(), list, rt, tt.skipMissing)
			if got := strings.Join(tt.exec.calls, ","); got != tt.calls {
				t.Errorf("calls = %s, want %s", got, tt.calls)
			}
			if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("err = %v, want %q", err, tt.err)
			}
		})
	}
}
