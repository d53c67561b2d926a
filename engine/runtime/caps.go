package runtime

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// AllCapabilities lists every capability known to Linux 6.x, in number order.
var AllCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

// NormalizeCapability turns "net_admin", "NET_ADMIN" or "CAP_NET_ADMIN" into
// "CAP_NET_ADMIN"; "ALL" stays "ALL".
func NormalizeCapability(name string) (string, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if n == "ALL" {
		return n, nil
	}
	if !strings.HasPrefix(n, "CAP_") {
		n = "CAP_" + n
	}
	if !slices.Contains(AllCapabilities, n) {
		return "", fmt.Errorf("unknown capability %q", name)
	}
	return n, nil
}

// WithCapAdd adds capabilities ("NET_ADMIN", "CAP_NET_ADMIN" or "ALL") to the
// bounding, effective and permitted sets.
func WithCapAdd(names ...string) SpecOpt {
	return func(s *specs.Spec) error {
		caps := ensureCaps(s)
		for _, name := range names {
			n, err := NormalizeCapability(name)
			if err != nil {
				return fmt.Errorf("adding capability: %w", err)
			}
			add := []string{n}
			held := BoundingCapabilities()
			if n == "ALL" {
				add = held // what this process may grant: without CAP_SYS_RESOURCE, say, not that one
			} else if !slices.Contains(held, n) {
				return fmt.Errorf("adding capability %s: this host does not grant it to podbay (not in its bounding set)", n)
			}
			for _, set := range capSets(caps) {
				for _, c := range add {
					if !slices.Contains(*set, c) {
						*set = append(*set, c)
					}
				}
			}
		}
		return nil
	}
}

// WithCapDrop removes capabilities ("NET_RAW", "CAP_NET_RAW" or "ALL") from
// every capability set.
func WithCapDrop(names ...string) SpecOpt {
	return func(s *specs.Spec) error {
		caps := ensureCaps(s)
		for _, name := range names {
			n, err := NormalizeCapability(name)
			if err != nil {
				return fmt.Errorf("dropping capability: %w", err)
			}
			sets := append(capSets(caps), &caps.Inheritable, &caps.Ambient)
			for _, set := range sets {
				*set = slices.DeleteFunc(*set, func(c string) bool { return n == "ALL" || c == n })
			}
		}
		return nil
	}
}

func ensureCaps(s *specs.Spec) *specs.LinuxCapabilities {
	if s.Process == nil {
		s.Process = &specs.Process{}
	}
	if s.Process.Capabilities == nil {
		s.Process.Capabilities = &specs.LinuxCapabilities{}
	}
	return s.Process.Capabilities
}

func capSets(c *specs.LinuxCapabilities) []*[]string {
	return []*[]string{&c.Bounding, &c.Effective, &c.Permitted}
}

var bounding = sync.OnceValue(func() []string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return AllCapabilities
	}
	for _, line := range strings.Split(string(data), "\n") {
		hex, ok := strings.CutPrefix(line, "CapBnd:")
		if !ok {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		if err != nil {
			return AllCapabilities
		}
		var out []string
		for i, c := range AllCapabilities {
			if mask&(1<<uint(i)) != 0 {
				out = append(out, c)
			}
		}
		return out
	}
	return AllCapabilities
})

// BoundingCapabilities are the capabilities this process can hand to a
// container: its own bounding set (a VM or CI runner may lack some).
func BoundingCapabilities() []string { return bounding() }
