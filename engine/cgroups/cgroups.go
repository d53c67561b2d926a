// Package cgroups finds the mounted cgroup hierarchies.
package cgroups

import (
	"os"
	"strings"
)

// Mounts lists the mount points of the cgroup v1 hierarchies and of the v2
// tree, from /proc/self/mountinfo.
func Mounts() ([]string, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var mounts []string
	for _, line := range strings.Split(string(data), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok || !(strings.HasPrefix(post, "cgroup ") || strings.HasPrefix(post, "cgroup2 ")) {
			continue
		}
		if f := strings.Fields(pre); len(f) >= 5 {
			mounts = append(mounts, f[4])
		}
	}
	return mounts, nil
}
