//go:build integration

package main

import (
	"fmt"
	"math/rand"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// crashRounds is how often each crash test kills its command.
const crashRounds = 10

// killAt starts a podbay command, sends it SIGKILL after delay (a random
// kill point, not synchronisation) and reports whether it had already ended.
func (e *env) killAt(delay time.Duration, args ...string) (finished bool) {
	e.t.Helper()
	cmd := e.command(args...)
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return true
	case <-time.After(delay):
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
	return false
}

// timed runs a podbay command to completion and returns how long it took.
func (e *env) timed(args ...string) time.Duration {
	e.t.Helper()
	start := time.Now()
	e.ok(args...)
	return time.Since(start)
}

// crashEnv plays and takes down testdata/reliability/crash.yaml twice (so the
// network's own chains exist) and returns the file, the leftovers baseline
// and how long a play and a down take.
func crashEnv(t *testing.T) (e *env, file string, base *leftovers, playTime, downTime time.Duration) {
	e = kubeEnv(t)
	file = twoBoxManifest(t, "crash", "crash", "PORT", fmt.Sprint(freePort(t)))
	e.ok("kube", "play", "-q", file) // the first play also makes the network: time the second
	e.ok("kube", "down", file)
	playTime = e.timed("kube", "play", "-q", file)
	downTime = e.timed("kube", "down", file)
	e.ok("system", "prune")
	base = e.baseline()
	if left := base.check(kubeObjectRow); len(left) > 0 {
		t.Fatalf("left behind by a clean play and down:\n%s", strings.Join(left, "\n"))
	}
	t.Logf("an uninterrupted play takes %v, a down %v", playTime, downTime)
	return e, file, base, playTime, downTime
}

// seeded returns a random source whose seed is printed (PODBAY_SEED replays one).
func seeded(t *testing.T) *rand.Rand {
	seed := time.Now().UnixNano()
	if s := strings.TrimSpace(os.Getenv("PODBAY_SEED")); s != "" {
		if _, err := fmt.Sscan(s, &seed); err != nil {
			t.Fatalf("PODBAY_SEED=%q: %v", s, err)
		}
	}
	t.Logf("seed %d (replay with PODBAY_SEED=%d)", seed, seed)
	return rand.New(rand.NewSource(seed))
}

// cleanAfterCrash runs what a user runs after a crash, then checks that
// nothing is left and that the store still opens and works. What is left is
// reported and becomes the new baseline, so that later rounds still count.
func (e *env) cleanAfterCrash(round int, what string, base *leftovers, file string, next ...[]string) (clean bool) {
	e.t.Helper()
	for _, args := range next {
		if r := e.run(args...); r.code != 0 {
			e.t.Fatalf("round %d (%s): the next command, podbay %s, failed: exit %d: %s",
				round, what, strings.Join(args, " "), r.code, strings.TrimSpace(r.stderr))
		}
	}
	if r := e.run("kube", "down", file); r.code != 0 {
		e.t.Fatalf("round %d (%s): kube down: exit %d: %s", round, what, r.code, strings.TrimSpace(r.stderr))
	}
	if r := e.run("system", "prune"); r.code != 0 {
		e.t.Fatalf("round %d (%s): system prune: exit %d: %s", round, what, r.code, strings.TrimSpace(r.stderr))
	}
	if rows := e.pods(); len(rows) != 0 {
		e.t.Fatalf("round %d (%s): pods left after down and prune: %+v", round, what, rows)
	}
	if rows := e.ps(); len(rows) != 0 {
		e.t.Fatalf("round %d (%s): containers left after down and prune: %+v", round, what, rows)
	}
	e.ok("images") // the store still opens
	if left := base.check(kubeObjectRow); len(left) > 0 {
		e.t.Errorf("round %d (%s): left behind after down and prune:\n%s", round, what, strings.Join(left, "\n"))
		*base = *e.baseline()
		return false
	}
	return true
}

// TestReliabilityKilledPlay kills `kube play` at random points; the next
// command (a play with --replace, or pod ps), `kube down` and `system prune`
// leave nothing behind.
func TestReliabilityKilledPlay(t *testing.T) {
	e, file, base, playTime, _ := crashEnv(t)
	rng := seeded(t)
	finished, clean, i := 0, 0, 0
	for ; i-finished < crashRounds && i < 3*crashRounds; i++ {
		delay := time.Duration(rng.Int63n(int64(playTime)))
		if e.killAt(delay, "kube", "play", "-q", file) {
			finished++
		}
		next := []string{"pod", "ps"}
		if i%2 == 0 {
			// A user plays again: the half-made play must not be in the way.
			next = []string{"kube", "play", "-q", "--replace", file}
		}
		if e.cleanAfterCrash(i, fmt.Sprintf("play killed after %v", delay), base, file, next) {
			clean++
		}
	}
	if i-finished < crashRounds {
		t.Errorf("only %d of %d rounds killed the command before it finished", i-finished, i)
	}
	t.Logf("%d plays killed (%d more had finished first); nothing left after %d of %d rounds", i-finished, finished, clean, i)
}

// TestReliabilityKilledDown kills `kube down` at random points (during the
// grace period, the kills, the network detach or the removal); the next
// `kube down` and `system prune` leave nothing behind.
func TestReliabilityKilledDown(t *testing.T) {
	e, file, base, _, downTime := crashEnv(t)
	rng := seeded(t)
	finished, clean, i := 0, 0, 0
	for ; i-finished < crashRounds && i < 3*crashRounds; i++ {
		e.ok("kube", "play", "-q", file)
		delay := time.Duration(rng.Int63n(int64(downTime)))
		if e.killAt(delay, "kube", "down", file) {
			finished++
		}
		if e.cleanAfterCrash(i, fmt.Sprintf("down killed after %v", delay), base, file, []string{"ps", "-a"}) {
			clean++
		}
	}
	if i-finished < crashRounds {
		t.Errorf("only %d of %d rounds killed the command before it finished", i-finished, i)
	}
	t.Logf("%d downs killed (%d more had finished first); nothing left after %d of %d rounds", i-finished, finished, clean, i)
}
