//go:build integration

package network

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

type fixture struct {
	m       *Manager
	root    string
	runroot string
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	opts.Root, opts.Runroot = t.TempDir(), t.TempDir()
	t.Cleanup(func() {
		if err := ReleaseNetNSDir(opts.Runroot); err != nil {
			t.Error(err)
		}
	})
	m, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{m: m, root: opts.Root, runroot: opts.Runroot}
}

func (f *fixture) createNet(t *testing.T, opts CreateOptions) *Network {
	t.Helper()
	n, err := f.m.Create(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		err := f.m.Remove(context.Background(), n.Name, RemoveOptions{Force: true})
		if err != nil && !errors.Is(err, ErrNotFound) {
			t.Errorf("removing network: %v", err)
		}
	})
	return n
}

func (f *fixture) netns(t *testing.T, id string) string {
	t.Helper()
	p, err := NewNetNS(f.runroot, id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = RemoveNetNS(p) })
	return p
}

// echoTCP serves an echo server on addr inside the namespace ns.
func echoTCP(t *testing.T, ns, addr string) {
	t.Helper()
	var l net.Listener
	err := InNetNS(ns, func() (err error) {
		l, err = net.Listen("tcp4", addr)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
}

// echoUDP answers every datagram on addr inside ns with itself.
func echoUDP(t *testing.T, ns, addr string) {
	t.Helper()
	var pc net.PacketConn
	err := InNetNS(ns, func() (err error) {
		pc, err = net.ListenPacket("udp4", addr)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(buf[:n], from)
		}
	}()
}

// roundTrip sends a line over TCP to addr (from ns, or from the test's
// own namespace when ns is empty) and expects it back.
func roundTrip(network, ns, addr string) error {
	do := func() error {
		d := net.Dialer{Timeout: 10 * time.Second}
		c, err := d.Dial(network, addr)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write([]byte("ping\n")); err != nil {
			return err
		}
		if network == "udp4" {
			buf := make([]byte, 16)
			n, err := c.Read(buf)
			if err != nil {
				return err
			}
			if string(buf[:n]) != "ping\n" {
				return io.ErrUnexpectedEOF
			}
			return nil
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return err
		}
		if line != "ping\n" {
			return io.ErrUnexpectedEOF
		}
		return nil
	}
	if ns == "" {
		return do()
	}
	return InNetNS(ns, do)
}

func mustRoundTrip(t *testing.T, network, ns, addr string) {
	t.Helper()
	if err := roundTrip(network, ns, addr); err != nil {
		t.Fatalf("%s round trip to %s (from %q): %v", network, addr, ns, err)
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// assertGone checks that nothing of a container's attachment remains: no
// namespace mount, no veth, no iptables rule, no IPAM lease, no CNI cache,
// no attachment record.
func assertGone(t *testing.T, f *fixture, network, id, nsPath, ip string) {
	t.Helper()
	mounts, err := os.ReadFile("/proc/mounts")
	if err != nil {
		t.Fatal(err)
	}
	if nsPath != "" && strings.Contains(string(mounts), nsPath) {
		t.Errorf("netns %s is still mounted", nsPath)
	}
	if _, err := os.Stat(nsPath); nsPath != "" && err == nil {
		t.Errorf("netns file %s still exists", nsPath)
	}
	if out := run(t, "ip", "-o", "link", "show", "type", "veth"); strings.TrimSpace(out) != "" {
		t.Errorf("veth left behind:\n%s", out)
	}
	rules := run(t, "iptables-save")
	if strings.Contains(rules, id) {
		t.Errorf("iptables rules of %s left behind:\n%s", id, grepLines(rules, id))
	}
	if ip != "" && strings.Contains(rules, ip+"/32") {
		t.Errorf("iptables rules for %s left behind:\n%s", ip, grepLines(rules, ip+"/32"))
	}
	_ = filepath.WalkDir(f.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		data, _ := os.ReadFile(p)
		if strings.Contains(p, id) || strings.Contains(string(data), id) {
			t.Errorf("file of %s left under root: %s", id, p)
		}
		if ip != "" && filepath.Base(p) == ip {
			t.Errorf("IPAM lease %s left behind", p)
		}
		return nil
	})
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
