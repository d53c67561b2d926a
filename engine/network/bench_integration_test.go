//go:build integration

package network

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkAttachDetach measures one pod's network set-up and teardown
// (namespace, loopback, network rules, bridge, and portmap when
// publishing), reporting each half.
func BenchmarkAttachDetach(b *testing.B) {
	ctx := context.Background()
	root, runroot := b.TempDir(), b.TempDir()
	b.Cleanup(func() { _ = ReleaseNetNSDir(runroot) })
	m, err := New(Options{Root: root, Runroot: runroot})
	if err != nil {
		b.Fatal(err)
	}
	n, err := m.Create(ctx, CreateOptions{Name: "it-bench", Subnet: "10.201.12.0/24", Bridge: "pbit12"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Remove(ctx, n.Name, RemoveOptions{Force: true}) })
	for _, ports := range [][]PortMapping{nil, {{HostPort: 18200, ContainerPort: 80}}} {
		b.Run(fmt.Sprintf("ports=%d", len(ports)), func(b *testing.B) { benchAttach(b, m, n, ports) })
	}
}

func benchAttach(b *testing.B, m *Manager, n *Network, ports []PortMapping) {
	ctx := context.Background()
	var attach, detach time.Duration
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("bench%d-%059d", len(ports), i)
		start := time.Now()
		ns, err := NewNetNS(m.opts.Runroot, id)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Attach(ctx, AttachOptions{ContainerID: id, NetNS: ns, Network: n.Name, Ports: ports}); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if err := m.Detach(ctx, AttachOptions{ContainerID: id, Network: n.Name}); err != nil {
			b.Fatal(err)
		}
		if err := RemoveNetNS(ns); err != nil {
			b.Fatal(err)
		}
		attach += mid.Sub(start)
		detach += time.Since(mid)
	}
	b.ReportMetric(float64(attach.Milliseconds())/float64(b.N), "attach-ms/op")
	b.ReportMetric(float64(detach.Milliseconds())/float64(b.N), "detach-ms/op")
}
