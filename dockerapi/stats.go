package dockerapi

import (
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	"github.com/podbay/podbay/engine/state"
)

// readInt reads a cgroup file holding one number (0 when missing).
func readInt(path string) uint64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
	return n
}

// cgroupStats reads memory, CPU and pids of a cgroup, v2 or v1.
func cgroupStats(rel string) (mem, limit, cpuNanos, pids uint64) {
	const root = "/sys/fs/cgroup"
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err == nil {
		dir := filepath.Join(root, rel)
		mem, limit, pids = readInt(filepath.Join(dir, "memory.current")), readInt(filepath.Join(dir, "memory.max")), readInt(filepath.Join(dir, "pids.current"))
		if data, err := os.ReadFile(filepath.Join(dir, "cpu.stat")); err == nil {
			for _, l := range strings.Split(string(data), "\n") {
				if v, ok := strings.CutPrefix(l, "usage_usec "); ok {
					us, _ := strconv.ParseUint(v, 10, 64)
					cpuNanos = us * 1000
				}
			}
		}
		return mem, limit, cpuNanos, pids
	}
	mem = readInt(filepath.Join(root, "memory", rel, "memory.usage_in_bytes"))
	limit = readInt(filepath.Join(root, "memory", rel, "memory.limit_in_bytes"))
	cpuNanos = readInt(filepath.Join(root, "cpu,cpuacct", rel, "cpuacct.usage"))
	pids = readInt(filepath.Join(root, "pids", rel, "pids.current"))
	return mem, limit, cpuNanos, pids
}

// systemCPU is the host's CPU time in nanoseconds (the first line of /proc/stat).
func systemCPU() uint64 {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	var total uint64
	for _, f := range strings.Fields(line)[1:] {
		n, _ := strconv.ParseUint(f, 10, 64)
		total += n
	}
	return total * 1e7 // USER_HZ is 100
}

// stats serves GET /containers/{id}/stats: one sample (stream=false or
// one-shot), the only form podbay answers; a streaming request gets one
// sample too.
func (s *Server) stats(w http.ResponseWriter, r *http.Request, c *state.Container) error {
	var mem, limit, cpu, pids uint64
	if c.State == state.StateRunning {
		mem, limit, cpu, pids = cgroupStats(s.Manager.Cgroup(c))
	}
	cpuStats := map[string]any{"cpu_usage": map[string]any{"total_usage": cpu, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
		"system_cpu_usage": systemCPU(), "online_cpus": goruntime.NumCPU(), "throttling_data": map[string]int{}}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": c.ID, "name": "/" + c.Name, "read": time.Now().UTC().Format(time.RFC3339Nano), "preread": dockerTime(time.Time{}),
		"pids_stats":   map[string]uint64{"current": pids},
		"memory_stats": map[string]any{"usage": mem, "limit": limit, "stats": map[string]uint64{}},
		"cpu_stats":    cpuStats, "precpu_stats": map[string]any{"cpu_usage": map[string]any{"total_usage": 0}},
		"blkio_stats": map[string]any{}, "networks": map[string]any{},
	})
	return nil
}
