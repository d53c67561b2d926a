package runtime

import (
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestDefaultSeccomp(t *testing.T) {
	p := DefaultSeccomp([]string{"CAP_CHOWN"})
	if p.DefaultAction != specs.ActAllow || len(p.Syscalls) != 1 || p.Syscalls[0].Action != specs.ActErrno {
		t.Fatalf("profile shape: %+v", p)
	}
	denied := p.Syscalls[0].Names
	for _, want := range []string{"kexec_load", "bpf", "reboot", "mount", "ptrace", "keyctl"} {
		if !slices.Contains(denied, want) {
			t.Errorf("%s is not denied", want)
		}
	}
	admin := DefaultSeccomp([]string{"CAP_SYS_ADMIN", "CAP_SYS_PTRACE"}).Syscalls[0].Names
	for _, allowed := range []string{"mount", "ptrace", "setns"} {
		if slices.Contains(admin, allowed) {
			t.Errorf("%s is denied although the capability is held", allowed)
		}
	}
	if slices.Contains(admin, "clone3") || slices.Contains(denied, "clone3") {
		t.Error("clone3 must stay allowed: EPERM would break thread creation in glibc")
	}
}

func TestWithDefaultSeccompUsesEffectiveCaps(t *testing.T) {
	s, err := NewSpec(WithCapAdd("SYS_ADMIN"), WithDefaultSeccomp())
	if err != nil {
		t.Fatal(err)
	}
	if s.Linux.Seccomp == nil || slices.Contains(s.Linux.Seccomp.Syscalls[0].Names, "mount") {
		t.Errorf("with SYS_ADMIN mount should be allowed: %+v", s.Linux.Seccomp)
	}
}
