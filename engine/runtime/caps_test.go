package runtime

import (
	"slices"
	"testing"
)

func TestNormalizeCapability(t *testing.T) {
	for in, want := range map[string]string{"NET_ADMIN": "CAP_NET_ADMIN", "cap_net_admin": "CAP_NET_ADMIN", "all": "ALL", " kill ": "CAP_KILL"} {
		if got, err := NormalizeCapability(in); err != nil || got != want {
			t.Errorf("%q -> %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := NormalizeCapability("FLY"); err == nil || err.Error() != `unknown capability "FLY"` {
		t.Errorf("err = %v", err)
	}
}

func TestWithCapAdd(t *testing.T) {
	s := mustSpec(t, WithCapAdd("NET_ADMIN", "CAP_CHOWN"))
	c := s.Process.Capabilities
	for _, set := range [][]string{c.Bounding, c.Effective, c.Permitted} {
		if !slices.Contains(set, "CAP_NET_ADMIN") || len(set) != len(DefaultCapabilities)+1 {
			t.Errorf("set = %v", set)
		}
	}
	if s := mustSpec(t, WithCapAdd("ALL")); len(s.Process.Capabilities.Effective) != len(BoundingCapabilities()) {
		t.Errorf("ALL gave %d caps", len(s.Process.Capabilities.Effective))
	}
	wantErr(t, WithCapAdd("NOPE"), `adding capability: unknown capability "NOPE"`)
}

func TestWithCapDrop(t *testing.T) {
	s := mustSpec(t, WithCapDrop("kill", "CAP_CHOWN"))
	c := s.Process.Capabilities
	for _, set := range [][]string{c.Bounding, c.Effective, c.Permitted} {
		if slices.Contains(set, "CAP_KILL") || slices.Contains(set, "CAP_CHOWN") || len(set) != len(DefaultCapabilities)-2 {
			t.Errorf("set = %v", set)
		}
	}
	s = mustSpec(t, WithCapDrop("ALL"), WithCapAdd("NET_BIND_SERVICE"))
	if !slices.Equal(s.Process.Capabilities.Effective, []string{"CAP_NET_BIND_SERVICE"}) {
		t.Errorf("drop ALL + add = %v", s.Process.Capabilities.Effective)
	}
	wantErr(t, WithCapDrop("NOPE"), `dropping capability`)
}
