//go:build integration

package network

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
)

// TestConcurrentAttach runs twenty attachments at once from twenty
// processes (the test binary re-executed) and checks that every one got
// its own address, that they all reach each other's bridge, and that
// parallel detaches leave nothing.
func TestConcurrentAttach(t *testing.T) {
	const count = 20
	ctx := context.Background()
	f := newFixture(t, Options{})
	n := f.createNet(t, CreateOptions{Name: "it-many", Subnet: "10.201.6.0/24", Bridge: "pbit6"})
	ids := make([]string, count)
	for i := range ids {
		ids[i] = newID(t)
	}
	atts := make([]*Attachment, count)
	errs := make([]error, count)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			atts[i], errs[i] = attachInChild(f, n.Name, ids[i])
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, id := range ids {
			_ = RemoveNetNS(NetNSDir(f.runroot) + "/" + id)
		}
	})
	seen := map[string]string{}
	for i, a := range atts {
		if errs[i] != nil {
			t.Fatalf("child %d: %v", i, errs[i])
		}
		if other, dup := seen[a.IP]; dup {
			t.Fatalf("%s given to both %.12s and %.12s", a.IP, other, a.ContainerID)
		}
		seen[a.IP] = a.ContainerID
	}
	peers, err := f.m.Peers(ctx, n.Name)
	if err != nil || len(peers) != count {
		t.Fatalf("Peers = %d, %v; want %d", len(peers), err, count)
	}
	echoTCP(t, atts[0].NetNS, ":8080")
	mustRoundTrip(t, "tcp4", atts[count-1].NetNS, atts[0].IP+":8080")

	for i, a := range atts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f.m.Detach(ctx, AttachOptions{ContainerID: a.ContainerID, Network: n.Name})
			if errs[i] == nil {
				errs[i] = RemoveNetNS(a.NetNS)
			}
		}()
	}
	wg.Wait()
	for i, a := range atts {
		if errs[i] != nil {
			t.Fatalf("detaching %d: %v", i, errs[i])
		}
		assertGone(t, f, n.Name, a.ContainerID, a.NetNS, a.IP)
	}
}

func attachInChild(f *fixture, network, id string) (*Attachment, error) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), envChild+"=attach", "NT_ROOT="+f.root, "NT_RUNROOT="+f.runroot,
		"NT_NETWORK="+network, "NT_ID="+id)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%w: %s", err, stderr.String())
	}
	var a Attachment
	if err := json.Unmarshal(stdout.Bytes(), &a); err != nil {
		return nil, fmt.Errorf("decoding child output %q: %w", stdout.String(), err)
	}
	return &a, nil
}
