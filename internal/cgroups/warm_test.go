package cgroups

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

const hybridMountinfo = `25 1 0:23 / / rw,relatime - ext4 /dev/vda rw
30 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:4 - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:5 - cgroup2 cgroup2 rw,nsdelegate
32 30 0:28 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:6 - cgroup cgroup rw,xattr,name=systemd
33 30 0:29 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:7 - cgroup cgroup rw,pids
34 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:8 - cgroup cgroup rw,cpu,cpuacct
`

func TestProcsPath(t *testing.T) {
	for _, tc := range []struct {
		name, cg, mi, want string
	}{
		{"hybrid: the v2 tree", "9:name=systemd:/\n8:pids:/user\n0::/user\n", hybridMountinfo,
			"/sys/fs/cgroup/unified/user/cgroup.procs"},
		{"v1 only: the first hierarchy that is mounted", "4:cpu,cpuacct:/a/b\n3:pids:/a\n",
			"33 30 0:29 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n34 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n",
			"/sys/fs/cgroup/cpu,cpuacct/a/b/cgroup.procs"},
		{"pure v2", "0::/system.slice/x.service\n",
			"40 25 0:35 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n",
			"/sys/fs/cgroup/system.slice/x.service/cgroup.procs"},
		{"a mount of a subtree (a container's view)", "0::/pod/ctr\n",
			"40 25 0:35 /pod /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
			"/sys/fs/cgroup/ctr/cgroup.procs"},
		{"a subtree that is not ours", "0::/podx\n",
			"40 25 0:35 /pod /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", ""},
		{"no cgroup mounted", "0::/\n", "25 1 0:23 / / rw - ext4 /dev/vda rw\n", ""},
	} {
		if got := procsPath(tc.cg, tc.mi); got != tc.want {
			t.Errorf("%s: procsPath = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestWarmerHoldsAndReleases: while held, the no-op migrations run (this
// process stays in its cgroup); nested holds keep them running; after the
// last release they stop. Needs a writable cgroup.procs (root).
func TestWarmerHoldsAndReleases(t *testing.T) {
	privateLock(t)
	if ownProcsPath() == "" {
		t.Fatal("no cgroup.procs of this process found")
	}
	before, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	var w Warmer
	outer := w.Hold()
	inner := w.Hold()
	waitWrites(t, &w, 3)
	inner()
	inner() // idempotent: must not end the outer hold
	waitWrites(t, &w, w.writes.Load()+3)
	outer()
	waitStopped(t, &w)
	after, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) {
		t.Fatalf("the process moved: %q, then %q", before, after)
	}
}

// TestWarmersTakeTurns: of two Warmers held at once (as in two processes:
// an flock is per open file), only the one holding the shared lock writes;
// when it is released, the other takes over.
func TestWarmersTakeTurns(t *testing.T) {
	privateLock(t)
	var a, b Warmer
	releaseA := a.Hold()
	waitWrites(t, &a, 1) // a holds the lock
	releaseB := b.Hold()
	defer releaseB()
	waitWrites(t, &a, a.writes.Load()+20)
	if n := b.writes.Load(); n != 0 {
		t.Fatalf("both warmers wrote (the second %d times)", n)
	}
	releaseA()
	waitStopped(t, &a)
	waitWrites(t, &b, 3)
}

// privateLock points the shared lock at a file of the test's own.
func privateLock(t *testing.T) {
	old := WarmLockPath
	WarmLockPath = filepath.Join(t.TempDir(), "warm.lock")
	t.Cleanup(func() { WarmLockPath = old })
}

func waitWrites(t *testing.T, w *Warmer, n int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for w.writes.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("no-op migrations: %d, want %d", w.writes.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func waitStopped(t *testing.T, w *Warmer) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for w.running() {
		if time.Now().After(deadline) {
			t.Fatal("the no-op migrations still run after the last release")
		}
		time.Sleep(time.Millisecond)
	}
}
