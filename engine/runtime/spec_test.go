package runtime

import (
	"errors"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestNewSpecDefaults(t *testing.T) {
	s, err := NewSpec()
	if err != nil {
		t.Fatal(err)
	}
	if s.Process.Cwd != "/" || !slices.Contains(s.Process.Env, DefaultPath) {
		t.Errorf("process cwd %q env %v", s.Process.Cwd, s.Process.Env)
	}
	for name, set := range map[string][]string{
		"bounding": s.Process.Capabilities.Bounding, "effective": s.Process.Capabilities.Effective,
		"permitted": s.Process.Capabilities.Permitted,
	} {
		if !slices.Equal(set, DefaultCapabilities) {
			t.Errorf("%s capabilities = %v", name, set)
		}
	}
	var dsts []string
	for _, m := range s.Mounts {
		dsts = append(dsts, m.Destination)
	}
	want := []string{"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"}
	if !slices.Equal(dsts, want) {
		t.Errorf("mounts = %v, want %v", dsts, want)
	}
	var nss []specs.LinuxNamespaceType
	for _, n := range s.Linux.Namespaces {
		nss = append(nss, n.Type)
	}
	if !slices.Equal(nss, []specs.LinuxNamespaceType{"pid", "ipc", "uts", "mount", "network"}) {
		t.Errorf("namespaces = %v", nss)
	}
	if !slices.Contains(s.Linux.MaskedPaths, "/proc/kcore") || !slices.Contains(s.Linux.ReadonlyPaths, "/proc/sys") {
		t.Errorf("masked %v readonly %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
	}
	if d := s.Linux.Resources.Devices; len(d) == 0 || d[0].Allow {
		t.Errorf("device rules must start by denying all: %v", d)
	}
}

func TestNewSpecRlimitsWithinHardLimits(t *testing.T) {
	s, err := NewSpec()
	if err != nil {
		t.Fatal(err)
	}
	for _, rl := range s.Process.Rlimits {
		res := map[string]int{"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC}[rl.Type]
		var cur unix.Rlimit
		if err := unix.Getrlimit(res, &cur); err != nil {
			t.Fatal(err)
		}
		if rl.Hard > cur.Max || rl.Soft > rl.Hard {
			t.Errorf("%s soft %d hard %d, host hard limit %d", rl.Type, rl.Soft, rl.Hard, cur.Max)
		}
	}
}

func TestDefaultRlimitsClamp(t *testing.T) {
	tests := []struct {
		name       string
		hard       hardLimitFunc
		nofile, np uint64
	}{
		{"low hard limits", func(r int) (uint64, error) {
			return map[int]uint64{unix.RLIMIT_NOFILE: 20000, unix.RLIMIT_NPROC: 500}[r], nil
		}, 20000, 500},
		{"unlimited", func(int) (uint64, error) { return unix.RLIM_INFINITY, nil }, defaultNofile, defaultNproc},
		{"getrlimit fails", func(int) (uint64, error) { return 0, errors.New("boom") }, defaultNofile, defaultNproc},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := defaultRlimits(tt.hard)
			want := []specs.POSIXRlimit{
				{Type: "RLIMIT_NOFILE", Hard: tt.nofile, Soft: tt.nofile},
				{Type: "RLIMIT_NPROC", Hard: tt.np, Soft: tt.np},
			}
			if !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestCompose(t *testing.T) {
	var order []int
	step := func(i int) SpecOpt { return func(*specs.Spec) error { order = append(order, i); return nil } }
	boom := errors.New("boom")
	err := Compose(step(1), nil, step(2), func(*specs.Spec) error { return boom }, step(3))(&specs.Spec{})
	if !errors.Is(err, boom) || !slices.Equal(order, []int{1, 2}) {
		t.Errorf("err %v order %v", err, order)
	}
	if _, err := NewSpec(func(*specs.Spec) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("NewSpec err = %v", err)
	}
}

func TestNewSpecIndependentCopies(t *testing.T) {
	a, _ := NewSpec(WithCapDrop("ALL"))
	b, _ := NewSpec()
	if len(a.Process.Capabilities.Bounding) != 0 || len(b.Process.Capabilities.Bounding) != len(DefaultCapabilities) {
		t.Errorf("specs share capability slices")
	}
	if len(DefaultCapabilities) != 11 {
		t.Errorf("DefaultCapabilities changed: %v", DefaultCapabilities)
	}
}

func BenchmarkNewSpec(b *testing.B) {
	for b.Loop() {
		if _, err := NewSpec(
			WithRootfs("/tmp/rootfs", false), WithArgs("sh", "-c", "true"), WithEnv("A=1", "B=2"),
			WithCapAdd("NET_ADMIN"), WithCapDrop("MKNOD"), WithMemoryLimit(64<<20), WithCPUs(0.5),
			WithHostname("bench"), WithNamespacePath(specs.NetworkNamespace, "/run/netns/x"),
		); err != nil {
			b.Fatal(err)
		}
	}
}
