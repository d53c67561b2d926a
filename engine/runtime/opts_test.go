package runtime

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func mustSpec(t *testing.T, opts ...SpecOpt) *specs.Spec {
	t.Helper()
	s, err := NewSpec(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func wantErr(t *testing.T, opt SpecOpt, substr string) {
	t.Helper()
	_, err := NewSpec(opt)
	if err == nil || !strings.Contains(err.Error(), substr) {
		t.Errorf("err = %v, want it to contain %q", err, substr)
	}
}

func TestWithRootfs(t *testing.T) {
	s := mustSpec(t, WithRootfs("/r", true))
	if *s.Root != (specs.Root{Path: "/r", Readonly: true}) {
		t.Errorf("root = %+v", s.Root)
	}
}

func TestWithReadonlyRootfs(t *testing.T) {
	if s := mustSpec(t, WithReadonlyRootfs()); !s.Root.Readonly || s.Root.Path != "rootfs" {
		t.Errorf("root = %+v", s.Root)
	}
}

func TestWithArgs(t *testing.T) {
	if s := mustSpec(t, WithArgs("echo", "hi")); !slices.Equal(s.Process.Args, []string{"echo", "hi"}) {
		t.Errorf("args = %v", s.Process.Args)
	}
	wantErr(t, WithArgs(), "no command given")
}

func TestWithEnv(t *testing.T) {
	s := mustSpec(t, WithEnv("A=1", "PATH=/bin", "B=2", "A=3", "=bad"))
	want := []string{"PATH=/bin", "A=3", "B=2"}
	if !slices.Equal(s.Process.Env, want) {
		t.Errorf("env = %v, want %v", s.Process.Env, want)
	}
}

func TestWithCwd(t *testing.T) {
	if s := mustSpec(t, WithCwd("/srv")); s.Process.Cwd != "/srv" {
		t.Errorf("cwd = %q", s.Process.Cwd)
	}
	wantErr(t, WithCwd("srv"), `working directory "srv": not an absolute path`)
}

func TestWithImageConfig(t *testing.T) {
	img := v1.Config{Entrypoint: []string{"/ep"}, Cmd: []string{"c1"}, Env: []string{"PATH=/img", "X=1"}, WorkingDir: "/w"}
	tests := []struct {
		name string
		over ImageOverrides
		args []string
	}{
		{"image", ImageOverrides{}, []string{"/ep", "c1"}},
		{"cmd override", ImageOverrides{Cmd: []string{"c2"}}, []string{"/ep", "c2"}},
		{"entrypoint override drops image cmd", ImageOverrides{Entrypoint: []string{"/e2"}}, []string{"/e2"}},
		{"both", ImageOverrides{Entrypoint: []string{"/e2"}, Cmd: []string{"a"}}, []string{"/e2", "a"}},
		{"entrypoint cleared", ImageOverrides{Entrypoint: []string{}, Cmd: []string{"sh"}}, []string{"sh"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustSpec(t, WithImageConfig(img, tt.over))
			if !slices.Equal(s.Process.Args, tt.args) {
				t.Errorf("args = %v, want %v", s.Process.Args, tt.args)
			}
			if !slices.Equal(s.Process.Env, []string{"PATH=/img", "X=1"}) || s.Process.Cwd != "/w" {
				t.Errorf("env %v cwd %q", s.Process.Env, s.Process.Cwd)
			}
		})
	}
	wantErr(t, WithImageConfig(v1.Config{}, ImageOverrides{}), "no command given")
}

func TestWithImageConfigUser(t *testing.T) {
	root := testRootfs(t)
	s := mustSpec(t, WithRootfs(root, false), WithImageConfig(v1.Config{Cmd: []string{"sh"}, User: "app"}, ImageOverrides{}))
	if s.Process.User.UID != 1000 || s.Process.User.GID != 1000 || !slices.Contains(s.Process.Env, "HOME=/home/app") {
		t.Errorf("user %+v env %v", s.Process.User, s.Process.Env)
	}
	wantErr(t, Compose(WithRootfs(root, false), WithImageConfig(v1.Config{Cmd: []string{"sh"}, User: "ghost"}, ImageOverrides{})), `user "ghost"`)
}

func TestWithPrivileged(t *testing.T) {
	s := mustSpec(t, WithPrivileged())
	if len(s.Process.Capabilities.Bounding) != len(BoundingCapabilities()) || len(s.Linux.MaskedPaths) != 0 || len(s.Linux.ReadonlyPaths) != 0 {
		t.Errorf("caps %d masked %v ro %v", len(s.Process.Capabilities.Bounding), s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
	}
	for _, m := range s.Mounts {
		if m.Destination == "/sys" && slices.Contains(m.Options, "ro") {
			t.Errorf("/sys still read-only: %v", m.Options)
		}
	}
	if d := s.Linux.Resources.Devices; len(d) != 1 || !d[0].Allow {
		t.Errorf("devices = %+v", d)
	}
}

func TestWithNoNewPrivileges(t *testing.T) {
	if s := mustSpec(t, WithNoNewPrivileges()); !s.Process.NoNewPrivileges {
		t.Error("NoNewPrivileges not set")
	}
}

func findMount(s *specs.Spec, dst string) *specs.Mount {
	var found *specs.Mount
	for i := range s.Mounts {
		if s.Mounts[i].Destination == dst {
			if found != nil {
				return nil // duplicates count as a failure
			}
			found = &s.Mounts[i]
		}
	}
	return found
}

func TestWithBindMount(t *testing.T) {
	s := mustSpec(t, WithBindMount("/host", "/data", true), WithBindMount("/host2", "/data", false))
	m := findMount(s, "/data")
	if m == nil || m.Source != "/host2" || m.Type != "bind" || slices.Contains(m.Options, "ro") {
		t.Errorf("mount = %+v", m)
	}
	s = mustSpec(t, WithBindMount("/host", "/ro", true))
	if m := findMount(s, "/ro"); m == nil || !slices.Contains(m.Options, "ro") || !slices.Contains(m.Options, "rbind") {
		t.Errorf("mount = %+v", m)
	}
	wantErr(t, WithBindMount("/h", "rel", false), "not absolute")
}

func TestWithNamespaceHolderMounts(t *testing.T) {
	s := mustSpec(t, WithBindMount("/host/pause", "/pause", true), WithNamespaceHolderMounts())
	var dests []string
	for _, m := range s.Mounts {
		dests = append(dests, m.Destination)
	}
	if want := []string{"/proc", "/dev", "/dev/shm", "/pause"}; !slices.Equal(dests, want) {
		t.Errorf("mounts = %v, want %v", dests, want)
	}
	for _, p := range append(slices.Clone(s.Linux.MaskedPaths), s.Linux.ReadonlyPaths...) {
		if strings.HasPrefix(p, "/sys") {
			t.Errorf("path %s under the dropped /sys is still masked or read-only", p)
		}
	}
	if !slices.Contains(s.Linux.MaskedPaths, "/proc/kcore") || !slices.Contains(s.Linux.ReadonlyPaths, "/proc/sys") {
		t.Errorf("the /proc paths must stay masked and read-only: %v %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
	}
}

func TestWithTmpfs(t *testing.T) {
	s := mustSpec(t, WithTmpfs("/run"), WithTmpfs("/cache", "size=1m"))
	if m := findMount(s, "/run"); m == nil || m.Type != "tmpfs" || !slices.Contains(m.Options, "noexec") {
		t.Errorf("/run = %+v", m)
	}
	if m := findMount(s, "/cache"); m == nil || !slices.Equal(m.Options, []string{"size=1m"}) {
		t.Errorf("/cache = %+v", m)
	}
	if m := findMount(mustSpec(t, WithTmpfs("/dev/shm", "size=1m")), "/dev/shm"); m == nil || m.Type != "tmpfs" {
		t.Errorf("replacing /dev/shm: %+v", m)
	}
}

func TestWithEtcFiles(t *testing.T) {
	s := mustSpec(t, WithEtcFiles("/p/hosts", "", "/p/hostname"))
	if m := findMount(s, "/etc/hosts"); m == nil || m.Source != "/p/hosts" {
		t.Errorf("hosts = %+v", m)
	}
	if m := findMount(s, "/etc/hostname"); m == nil || m.Source != "/p/hostname" {
		t.Errorf("hostname = %+v", m)
	}
	if findMount(s, "/etc/resolv.conf") != nil {
		t.Error("empty resolv.conf path must be skipped")
	}
}

func TestWithHostname(t *testing.T) {
	if s := mustSpec(t, WithHostname("web")); s.Hostname != "web" {
		t.Errorf("hostname = %q", s.Hostname)
	}
}

func namespace(s *specs.Spec, typ specs.LinuxNamespaceType) (specs.LinuxNamespace, int) {
	var ns specs.LinuxNamespace
	n := 0
	for _, x := range s.Linux.Namespaces {
		if x.Type == typ {
			ns, n = x, n+1
		}
	}
	return ns, n
}

func TestWithNamespacePath(t *testing.T) {
	s := mustSpec(t, WithNamespacePath(specs.NetworkNamespace, "/run/netns/p"), WithNamespacePath(specs.CgroupNamespace, "/proc/1/ns/cgroup"))
	if ns, n := namespace(s, specs.NetworkNamespace); n != 1 || ns.Path != "/run/netns/p" {
		t.Errorf("network ns %+v (%d)", ns, n)
	}
	if ns, n := namespace(s, specs.CgroupNamespace); n != 1 || ns.Path != "/proc/1/ns/cgroup" {
		t.Errorf("cgroup ns %+v (%d)", ns, n)
	}
}

func TestWithHostNamespace(t *testing.T) {
	s := mustSpec(t, WithHostNamespace(specs.NetworkNamespace))
	if _, n := namespace(s, specs.NetworkNamespace); n != 0 {
		t.Error("network namespace still present")
	}
	if _, n := namespace(s, specs.PIDNamespace); n != 1 {
		t.Error("pid namespace removed too")
	}
}

func TestWithMemoryLimit(t *testing.T) {
	if s := mustSpec(t, WithMemoryLimit(64<<20)); *s.Linux.Resources.Memory.Limit != 64<<20 {
		t.Errorf("memory = %d", *s.Linux.Resources.Memory.Limit)
	}
	wantErr(t, WithMemoryLimit(0), "must be positive")
}

func TestWithCPUs(t *testing.T) {
	c := mustSpec(t, WithCPUs(1.5)).Linux.Resources.CPU
	if *c.Period != 100000 || *c.Quota != 150000 {
		t.Errorf("period %d quota %d", *c.Period, *c.Quota)
	}
	wantErr(t, WithCPUs(-1), "must be positive")
}

func TestWithCPUShares(t *testing.T) {
	if c := mustSpec(t, WithCPUShares(512)).Linux.Resources.CPU; *c.Shares != 512 {
		t.Errorf("shares = %d", *c.Shares)
	}
}

func TestWithCgroupsPath(t *testing.T) {
	if s := mustSpec(t, WithCgroupsPath("/podbay/x")); s.Linux.CgroupsPath != "/podbay/x" {
		t.Errorf("cgroups path = %q", s.Linux.CgroupsPath)
	}
}

func TestWithTerminal(t *testing.T) {
	s := mustSpec(t, WithTerminal())
	if !s.Process.Terminal || !slices.Contains(s.Process.Env, "TERM=xterm") {
		t.Errorf("terminal %v env %v", s.Process.Terminal, s.Process.Env)
	}
	if s := mustSpec(t, WithEnv("TERM=vt100"), WithTerminal()); slices.Contains(s.Process.Env, "TERM=xterm") {
		t.Errorf("TERM overwritten: %v", s.Process.Env)
	}
}

func TestWithAnnotations(t *testing.T) {
	s := mustSpec(t, WithAnnotations(map[string]string{"a": "1"}), WithAnnotations(map[string]string{"b": "2", "a": "3"}))
	if !reflect.DeepEqual(s.Annotations, map[string]string{"a": "3", "b": "2"}) {
		t.Errorf("annotations = %v", s.Annotations)
	}
}

func TestWithSysctls(t *testing.T) {
	s := mustSpec(t, WithSysctls(map[string]string{"net.ipv4.ip_unprivileged_port_start": "0"}))
	if s.Linux.Sysctl["net.ipv4.ip_unprivileged_port_start"] != "0" {
		t.Errorf("sysctl = %v", s.Linux.Sysctl)
	}
}

func TestWithSeccomp(t *testing.T) {
	p := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno}
	if s := mustSpec(t, WithSeccomp(p)); s.Linux.Seccomp != p {
		t.Errorf("seccomp = %+v", s.Linux.Seccomp)
	}
	if s := mustSpec(t, WithSeccomp(p), WithSeccomp(nil)); s.Linux.Seccomp != nil {
		t.Error("nil must unset the profile")
	}
}

func TestWithOOMScoreAdj(t *testing.T) {
	if s := mustSpec(t, WithOOMScoreAdj(-500)); *s.Process.OOMScoreAdj != -500 {
		t.Errorf("oom = %d", *s.Process.OOMScoreAdj)
	}
	wantErr(t, WithOOMScoreAdj(1001), "out of range")
}

func TestOptionsOnEmptySpec(t *testing.T) {
	// Every option must cope with a spec that has no Process or Linux yet.
	for i, o := range []SpecOpt{
		WithArgs("x"), WithEnv("A=1"), WithCwd("/"), WithCapAdd("KILL"), WithCapDrop("KILL"),
		WithNoNewPrivileges(), WithNamespacePath(specs.PIDNamespace, "/p"), WithHostNamespace(specs.PIDNamespace),
		WithMemoryLimit(1), WithCPUs(1), WithCPUShares(1), WithCgroupsPath("/c"), WithTerminal(),
		WithAnnotations(nil), WithSysctls(nil), WithSeccomp(nil), WithOOMScoreAdj(0), WithPrivileged(),
		WithReadonlyRootfs(), WithUser("", "0"),
	} {
		if err := o(&specs.Spec{}); err != nil {
			t.Errorf("option %d: %v", i, err)
		}
	}
}
