package orchestrate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/kube/play"
	"github.com/podbay/podbay/podspec"
)

// states is a fake PodStates the test moves along; the pods of the world
// it serves are the ones that exist.
type states struct {
	mu sync.Mutex
	w  *world
	m  map[string]PodState
}

func (s *states) PodState(_ context.Context, ref string) (PodState, error) {
	if _, err := s.w.LookupPod(context.Background(), ref); err != nil {
		return PodState{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[ref], nil
}

func (s *states) set(name string, st PodState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[name] = st
}

// notes records what the service said, and lets a test wait for a line.
type notes struct {
	mu   sync.Mutex
	sent []string
	more chan struct{}
}

func newNotes() *notes { return &notes{more: make(chan struct{}, 100)} }

func (n *notes) Send(states ...string) error {
	n.mu.Lock()
	n.sent = append(n.sent, strings.Join(states, "|"))
	n.mu.Unlock()
	n.more <- struct{}{}
	return nil
}

// await waits until a message containing want was sent and returns the
// messages sent up to it.
func (n *notes) await(t *testing.T, want string) []string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		n.mu.Lock()
		for i, s := range n.sent {
			if strings.Contains(s, want) {
				out := slices.Clone(n.sent[:i+1])
				n.mu.Unlock()
				return out
			}
		}
		sent := slices.Clone(n.sent)
		n.mu.Unlock()
		select {
		case <-n.more:
		case <-deadline:
			t.Fatalf("%q never sent; sent: %q", want, sent)
		}
	}
}

func servicePlay(names ...string) *play.Play {
	p := &play.Play{}
	for _, n := range names {
		p.Pods = append(p.Pods, podspec.Pod{Name: n, Containers: []podspec.Container{{Name: "c", Image: "busybox"}}})
	}
	return p
}

// serve plays p on a fresh world and serves it in the background.
func serve(t *testing.T, ctx context.Context, p *play.Play, o ServiceOptions) (*world, *states, *notes, <-chan [2]any) {
	t.Helper()
	w := newWorld()
	e := w.engine()
	st := &states{w: w, m: map[string]PodState{}}
	e.States = st
	n := newNotes()
	o.Notify, o.Poll = n, time.Millisecond
	if _, err := e.Play(ctx, p, startOpts); err != nil {
		t.Fatal(err)
	}
	done := make(chan [2]any, 1)
	go func() {
		code, err := e.Serve(ctx, p, o)
		done <- [2]any{code, err}
	}()
	return w, st, n, done
}

func result(t *testing.T, done <-chan [2]any) (int, error) {
	t.Helper()
	select {
	case r := <-done:
		err, _ := r[1].(error)
		return r[0].(int), err
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
		return 0, nil
	}
}

var (
	runningUnready = PodState{Running: true, Ready: 0, Total: 1}
	runningReady   = PodState{Running: true, Ready: 1, Total: 1}
)

// TestServeReadyOnlyOnceEveryPodIsReady: READY=1 is sent only after every
// pod runs with all its containers ready; until then the status names the
// pods waited for. When the containers exit for good, Serve returns the
// code ExitCodePropagation says.
func TestServeReadyOnlyOnceEveryPodIsReady(t *testing.T) {
	_, st, n, done := serve(t, context.Background(), servicePlay("web", "api"), ServiceOptions{ExitCodePropagation: PropagateAny})
	st.set("web", runningReady)
	st.set("api", runningUnready)
	before := n.await(t, "waiting for api (0/1 ready)")
	for _, s := range before {
		if strings.Contains(s, "READY=1") {
			t.Fatalf("READY=1 sent while a pod was not ready: %q", before)
		}
	}
	st.set("api", runningReady)
	if got := n.await(t, "READY=1"); !strings.Contains(got[len(got)-1], "STATUS=2 pod(s) ready") {
		t.Errorf("READY=1 without the status: %q", got)
	}
	st.set("web", PodState{Finished: true, ExitCodes: []int{0}})
	st.set("api", PodState{Finished: true, ExitCodes: []int{3}})
	if code, err := result(t, done); err != nil || code != 3 {
		t.Errorf("Serve: %d, %v; want 3 (any)", code, err)
	}
	n.await(t, "STOPPING=1")
}

// TestServeStopTakesThePlayDown: when the service is stopped (ctx ends),
// Serve says STOPPING=1, takes every pod down and returns 0.
func TestServeStopTakesThePlayDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	w, st, n, done := serve(t, ctx, servicePlay("web"), ServiceOptions{})
	st.set("web", runningReady)
	n.await(t, "READY=1")
	cancel()
	if code, err := result(t, done); err != nil || code != 0 {
		t.Errorf("Serve: %d, %v; want 0", code, err)
	}
	n.await(t, "STOPPING=1")
	if len(w.pods) != 0 {
		t.Errorf("pods left after the stop: %v", w.snapshot())
	}
}

// TestServeStopWhileStarting: a stop before the pods are ready takes
// them down too (a start that timed out).
func TestServeStopWhileStarting(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	w, st, n, done := serve(t, ctx, servicePlay("web"), ServiceOptions{})
	st.set("web", runningUnready)
	n.await(t, "waiting for web")
	cancel()
	if _, err := result(t, done); err != nil {
		t.Fatal(err)
	}
	sent := n.await(t, "STOPPING=1")
	if len(w.pods) != 0 || slices.ContainsFunc(sent, func(s string) bool { return strings.Contains(s, "READY=1") }) {
		t.Errorf("after a stop while starting: %s, sent %q", w.snapshot(), sent)
	}
}

// TestServePodsGoneFromOutside: pods taken down by someone else (kube
// down, pod rm) end the service, which exits 0.
func TestServePodsGoneFromOutside(t *testing.T) {
	w, st, n, done := serve(t, context.Background(), servicePlay("web"), ServiceOptions{ExitCodePropagation: PropagateAll})
	st.set("web", runningReady)
	n.await(t, "READY=1")
	if err := w.DownPod(context.Background(), "web", 0); err != nil {
		t.Fatal(err)
	}
	if code, err := result(t, done); err != nil || code != 0 {
		t.Errorf("Serve: %d, %v", code, err)
	}
}

// TestServeFinishedBeforeReady: pods that ran to completion before ever
// being seen ready (run-once pods) end the service at once, READY=1 first.
func TestServeFinishedBeforeReady(t *testing.T) {
	_, st, n, done := serve(t, context.Background(), servicePlay("once", "twice"), ServiceOptions{ExitCodePropagation: PropagateAll})
	st.set("once", PodState{Finished: true, ExitCodes: []int{0}})
	st.set("twice", PodState{Finished: true, ExitCodes: []int{0, 0}})
	if code, err := result(t, done); err != nil || code != 0 {
		t.Errorf("Serve: %d, %v; want 0", code, err)
	}
	n.await(t, "READY=1")
}

// TestServeFailedBeforeReady: a pod whose containers failed for good
// before it was ready fails the start: an error, and no READY=1.
func TestServeFailedBeforeReady(t *testing.T) {
	_, st, n, done := serve(t, context.Background(), servicePlay("web", "broken"), ServiceOptions{})
	st.set("web", runningReady)
	st.set("broken", PodState{Finished: true, ExitCodes: []int{0, 3}})
	if _, err := result(t, done); err == nil || !strings.Contains(err.Error(), "pod broken exited before it was ready: exit codes [0 3]") {
		t.Errorf("Serve: %v", err)
	}
	sent := n.await(t, "STATUS=pod broken exited")
	if slices.ContainsFunc(sent, func(s string) bool { return strings.Contains(s, "READY=1") }) {
		t.Errorf("READY=1 sent for a failed start: %q", sent)
	}
}

type failingStates struct{}

func (failingStates) PodState(context.Context, string) (PodState, error) {
	return PodState{}, fmt.Errorf("reading state: %w", errInjected)
}

func TestServeErrors(t *testing.T) {
	e := newWorld().engine()
	if _, err := e.Serve(context.Background(), servicePlay("web"), ServiceOptions{}); err == nil {
		t.Error("Serve without States succeeded")
	}
	e.States = failingStates{}
	if _, err := e.Serve(context.Background(), servicePlay("web"), ServiceOptions{ExitCodePropagation: "some"}); err == nil || !strings.Contains(err.Error(), `"some"`) {
		t.Errorf("a bad policy: %v", err)
	}
	if _, err := e.Serve(context.Background(), servicePlay("web"), ServiceOptions{}); !errors.Is(err, errInjected) || !strings.Contains(err.Error(), "pod web") {
		t.Errorf("a state that cannot be read: %v", err)
	}
	if _, err := (&states{w: newWorld()}).PodState(context.Background(), "x"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("fake: %v", err)
	}
}

func TestPropagate(t *testing.T) {
	for _, c := range []struct {
		policy string
		codes  []int
		want   int
	}{
		{PropagateNone, []int{1, 2}, 0},
		{"", []int{1}, 0},
		{PropagateAny, []int{0, 0}, 0},
		{PropagateAny, []int{0, 7, 9}, 7},
		{PropagateAll, []int{0, 7}, 0},
		{PropagateAll, []int{7, 9}, 7},
		{PropagateAll, nil, 0},
		{PropagateAny, []int{-1}, 1},
		{PropagateAny, []int{300}, 1},
	} {
		if got := propagate(c.policy, c.codes); got != c.want {
			t.Errorf("propagate(%s, %v) = %d, want %d", c.policy, c.codes, got, c.want)
		}
	}
}
