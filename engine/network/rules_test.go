package network

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/podbay/podbay/internal/cmdexec/cmdexectest"
)

// TestReleaseRulesClaims exercises the claim logic alone: with no iptables
// installed, uninstallRules runs nothing, so only the marker and claims
// show what releaseRules decided.
func TestReleaseRulesClaims(t *testing.T) {
	ctx := context.Background()
	m := newUnitManager(t)
	none := &cmdexectest.Fake{Paths: map[string]string{}}
	m.ipt = ipTables{cmds: none}
	defer func() {
		if got := none.Lines(); len(got) != 0 {
			t.Errorf("ran %q without iptables", got)
		}
	}()
	const net = "claimed"
	marker, users := m.rulesMarker(net), m.rulesUsers(net)
	write := func(path string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	state := func() (bool, []string) {
		t.Helper()
		_, err := os.Stat(marker)
		entries, _ := os.ReadDir(users)
		var ids []string
		for _, e := range entries {
			ids = append(ids, e.Name())
		}
		sort.Strings(ids)
		return err == nil, ids
	}
	release := func(id string, always bool) {
		t.Helper()
		if err := m.releaseRules(ctx, net, id, always); err != nil {
			t.Fatal(err)
		}
	}
	check := func(step string, wantMarker bool, wantIDs ...string) {
		t.Helper()
		gotMarker, ids := state()
		if gotMarker != wantMarker || len(ids) != len(wantIDs) {
			t.Fatalf("%s: marker %v, claims %v; want %v, %v", step, gotMarker, ids, wantMarker, wantIDs)
		}
		for i := range ids {
			if ids[i] != wantIDs[i] {
				t.Fatalf("%s: claims %v, want %v", step, ids, wantIDs)
			}
		}
	}

	write(marker)
	write(filepath.Join(users, "a"))
	write(filepath.Join(users, "b"))
	release("a", true)
	check("one of two released", true, "b")
	release("zz", false)
	check("unclaimed, not always", true, "b")
	release("../b", true)
	check("invalid id", true, "b")
	release("b", false)
	check("last released", false)

	// An attachment saved without a claim (an older podbay's) keeps the
	// rules as a claim does.
	write(marker)
	write(filepath.Join(users, "c"))
	write(m.attachmentPath(net, "legacy"))
	release("c", true)
	check("legacy attachment left", true)
	if err := os.Remove(m.attachmentPath(net, "legacy")); err != nil {
		t.Fatal(err)
	}
	release("legacy", false)
	check("legacy, unclaimed, not always", true)
	release("legacy", true)
	check("legacy detached", false)

	// No marker: the claims go, nothing else happens.
	write(filepath.Join(users, "d"))
	release("d", false)
	check("no marker", false)
	if _, err := os.Stat(users); !os.IsNotExist(err) {
		t.Errorf("claims directory left: %v", err)
	}

	// removeRules drops every claim along with the marker.
	write(marker)
	write(filepath.Join(users, "e"))
	write(filepath.Join(users, "f"))
	if err := m.removeRules(ctx, net); err != nil {
		t.Fatal(err)
	}
	check("removeRules", false)
}
