// Package cgroups finds the mounted cgroup hierarchies, and empties and
// removes a cgroup in all of them.
package cgroups

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Mounts lists the mount points of the cgroup v1 hierarchies and of the v2
// tree, from /proc/self/mountinfo.
func Mounts() ([]string, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var points []string
	for _, m := range parseMounts(string(data)) {
		points = append(points, m.point)
	}
	return points, nil
}

// mount is a cgroup hierarchy's mount: the path of the hierarchy mounted
// (root), where, its type (cgroup or cgroup2) and super options (v1: its
// controllers).
type mount struct{ root, point, fstype, opts string }

// parseMounts lists the cgroup and cgroup2 mounts of mountinfo text.
func parseMounts(mi string) []mount {
	var mounts []mount
	for _, line := range strings.Split(mi, "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 || (g[0] != "cgroup" && g[0] != "cgroup2") {
			continue
		}
		mounts = append(mounts, mount{root: f[3], point: f[4], fstype: g[0], opts: g[2]})
	}
	return mounts
}

// Kill SIGKILLs every process in cgroup rel (relative to each mounted
// hierarchy) and waits, up to 2 s, until they are gone.
func Kill(ctx context.Context, rel string) error {
	mounts, err := Mounts()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		left := 0
		for _, m := range mounts {
			data, err := os.ReadFile(filepath.Join(m, rel, "cgroup.procs"))
			if err != nil {
				continue // not in this hierarchy, or gone
			}
			for _, f := range strings.Fields(string(data)) {
				if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
					left++
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		if left == 0 {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("cgroup %s: %d processes survive SIGKILL", rel, left)
		}
		time.Sleep(5 * time.Millisecond) // the kernel reaps them; no event to wait on
	}
}

// Remove removes cgroup directory rel (relative to each hierarchy) from
// every mounted cgroup v1 hierarchy and the v2 tree; missing is fine.
func Remove(rel string) error {
	mounts, err := Mounts()
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range mounts {
		dir := filepath.Join(m, rel)
		if err := os.Remove(dir); err != nil && !os.IsNotExist(err) {
			errs = append(errs, fmt.Errorf("removing cgroup %s: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}
