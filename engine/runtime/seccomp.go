package runtime

import (
	"runtime"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// deniedSyscalls are the system calls the default profile refuses with
// EPERM: those Docker's and Podman's default profiles leave out (kernel
// modules, clocks, keyrings, tracing, reboot, swap, accounting, NUMA and
// handle-based opens), so a container cannot reach the host's kernel state.
var deniedSyscalls = []string{
	"acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module",
	"finit_module", "get_kernel_syms", "get_mempolicy", "init_module", "ioperm", "iopl", "kcmp",
	"kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mbind", "move_pages",
	"name_to_handle_at", "nfsservctl", "open_by_handle_at", "perf_event_open", "process_vm_readv",
	"process_vm_writev", "query_module", "quotactl", "reboot", "request_key", "set_mempolicy",
	"settimeofday", "swapoff", "swapon", "sysfs", "_sysctl", "uselib", "userfaultfd", "ustat",
	"fsconfig", "fsmount", "fsopen", "fspick", "open_tree", "move_mount",
}

// adminSyscalls are refused unless the container holds CAP_SYS_ADMIN, as in
// Docker's profile.
var adminSyscalls = []string{"mount", "umount2", "unshare", "setns", "pivot_root", "setdomainname", "sethostname"}

// ptraceSyscalls are refused unless the container holds CAP_SYS_PTRACE.
var ptraceSyscalls = []string{"ptrace"}

// DefaultSeccomp is the RuntimeDefault profile for a process with the given
// effective capabilities: everything is allowed except the calls above.
func DefaultSeccomp(effectiveCaps []string) *specs.LinuxSeccomp {
	denied := slices.Clone(deniedSyscalls)
	if !slices.Contains(effectiveCaps, "CAP_SYS_ADMIN") {
		denied = append(denied, adminSyscalls...)
	}
	if !slices.Contains(effectiveCaps, "CAP_SYS_PTRACE") {
		denied = append(denied, ptraceSyscalls...)
	}
	eperm := uint(1)
	prof := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: denied, Action: specs.ActErrno, ErrnoRet: &eperm}},
	}
	if runtime.GOARCH == "amd64" {
		prof.Architectures = []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}
	}
	return prof
}

// WithDefaultSeccomp applies DefaultSeccomp for the spec's process; use it
// after the capability options. Privileged containers should not use it.
func WithDefaultSeccomp() SpecOpt {
	return func(s *specs.Spec) error {
		var caps []string
		if s.Process != nil && s.Process.Capabilities != nil {
			caps = s.Process.Capabilities.Effective
		}
		return WithSeccomp(DefaultSeccomp(caps))(s)
	}
}
