package cmdexectest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/podbay/podbay/internal/cmdexec"
)

func TestFake(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("boom")
	f := &Fake{Replies: []Reply{
		{Prefix: "iptables -w -t nat -S", Stdout: "-P PREROUTING ACCEPT\n"},
		{Prefix: "iptables-restore", Stderr: "bad rule", Exit: 2},
		{Prefix: "runc", Err: boom},
	}}
	out, err := cmdexec.Output(ctx, f, &cmdexec.Cmd{Path: "/usr/sbin/iptables", Args: []string{"-w", "-t", "nat", "-S"}})
	if err != nil || string(out) != "-P PREROUTING ACCEPT\n" {
		t.Errorf("matched reply: %q, %v", out, err)
	}
	_, err = cmdexec.Output(ctx, f, &cmdexec.Cmd{Path: "iptables-restore", Args: []string{"--noflush"}, Stdin: strings.NewReader("*nat\nCOMMIT\n")})
	if code, ok := cmdexec.ExitCode(err); !ok || code != 2 || err.Error() != "iptables-restore --noflush: exit status 2: bad rule" {
		t.Errorf("exit reply: %v (code %d, %v)", err, code, ok)
	}
	err = f.Run(ctx, &cmdexec.Cmd{Path: "runc", Args: []string{"state", "c1"}})
	if !errors.Is(err, boom) || err.Error() != "runc state c1: boom" {
		t.Errorf("error reply: %v", err)
	}
	var seen string
	f.Before = func(c *cmdexec.Cmd) { seen = c.String() }
	if err := f.Run(ctx, &cmdexec.Cmd{Path: "other"}); err != nil {
		t.Errorf("no reply matches: %v, want success", err)
	}
	if seen != "other" {
		t.Errorf("Before saw %q, want the command", seen)
	}
	want := []string{"iptables -w -t nat -S", "iptables-restore --noflush", "runc state c1", "other"}
	if got := f.Lines(); !slices.Equal(got, want) {
		t.Errorf("Lines = %q, want %q", got, want)
	}
	if in := f.Calls()[1].Stdin; in != "*nat\nCOMMIT\n" {
		t.Errorf("recorded stdin %q", in)
	}
}

func TestFakeLookPath(t *testing.T) {
	if p, err := (&Fake{}).LookPath("runc"); p != "/fake/bin/runc" || err != nil {
		t.Errorf("default LookPath: %q, %v", p, err)
	}
	f := &Fake{Paths: map[string]string{"runc": "/usr/sbin/runc"}}
	if p, err := f.LookPath("runc"); p != "/usr/sbin/runc" || err != nil {
		t.Errorf("listed name: %q, %v", p, err)
	}
	if _, err := f.LookPath("iptables"); !errors.Is(err, cmdexec.ErrNotFound) {
		t.Errorf("unlisted name: %v, want cmdexec.ErrNotFound", err)
	}
}
