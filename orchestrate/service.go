package orchestrate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/kube/play"
)

// PodStates reads how a played pod is doing, for a play that runs as a
// service.
type PodStates interface {
	PodState(ctx context.Context, ref string) (PodState, error)
}

// PodState is a pod's progress as a service sees it.
type PodState struct {
	// Ready, Total count its app containers (and sidecars) that run and
	// are ready, as pod ps READY shows them.
	Ready, Total int
	// Running: every app container runs (restarts included).
	Running bool
	// Finished: every app container has exited for good (no restart to
	// come); ExitCodes are then theirs.
	Finished  bool
	ExitCodes []int
}

// Notifier tells the service manager about the service (sd_notify).
type Notifier interface {
	Send(states ...string) error
}

// Exit code propagation policies (Podman's --service-exit-code-propagation).
const (
	PropagateNone = "none"
	PropagateAll  = "all"
	PropagateAny  = "any"
)

// ServiceOptions tune Serve.
type ServiceOptions struct {
	// ExitCodePropagation says what the service exits with when the pods
	// end: none (0), any (the first failure's code), all (a failure's
	// code when every container failed).
	ExitCodePropagation string
	Notify              Notifier
	// Poll is how often the pods are looked at (default 200 ms while
	// starting, 1 s after).
	Poll time.Duration
}

// Serve is the life of a played service's main process (kube play
// --service-container): it says READY=1 once every pod runs with all its
// containers ready (or has run to completion), then waits for the pods'
// containers to exit for good and returns the exit code
// ExitCodePropagation asks for. A pod that fails before it is ready fails
// the start (an error, and no READY=1: systemctl start fails, as does the
// restart of an auto-update, which then rolls back).
// When ctx ends first (systemctl stop: SIGTERM) it says STOPPING=1, takes
// the play down and returns 0.
func (e *Engine) Serve(ctx context.Context, p *play.Play, o ServiceOptions) (int, error) {
	if e.States == nil {
		return 0, errors.New("serving a play: the engine reads no pod states")
	}
	switch o.ExitCodePropagation {
	case "", PropagateNone, PropagateAll, PropagateAny:
	default:
		return 0, fmt.Errorf("exit code propagation %q: want all, any or none", o.ExitCodePropagation)
	}
	s := &serving{e: e, p: p, o: o}
	codes, err := s.await(ctx, startPoll(o.Poll), s.started)
	if err == nil {
		s.notify("READY=1", "STATUS="+s.status)
		if codes == nil { // still running: wait for the end
			codes, err = s.await(ctx, runPoll(o.Poll), s.finished)
		}
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		s.notify("STOPPING=1", "STATUS=stopping: taking the pods down")
		return 0, e.Down(context.WithoutCancel(ctx), p, DownOptions{})
	}
	if err != nil {
		return 0, err
	}
	s.notify("STOPPING=1", "STATUS="+s.status)
	return propagate(o.ExitCodePropagation, codes), nil
}

func startPoll(d time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return 200 * time.Millisecond
}

func runPoll(d time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return time.Second
}

// serving is one Serve: the play and the last status sent.
type serving struct {
	e      *Engine
	p      *play.Play
	o      ServiceOptions
	status string
}

func (s *serving) notify(states ...string) {
	if s.o.Notify == nil {
		return
	}
	if err := s.o.Notify.Send(states...); err != nil {
		s.e.log().Warn("notifying the service manager", "err", err)
	}
}

// await polls the pods until check says they are done (codes of the
// containers, nil while they run) or ctx ends.
func (s *serving) await(ctx context.Context, every time.Duration, check func(map[string]PodState) (done bool, codes []int, err error)) ([]int, error) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		states, err := s.states(ctx)
		if err != nil {
			return nil, err
		}
		if done, codes, err := check(states); done || err != nil {
			return codes, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// states reads every pod of the play; a pod that is gone (taken down
// from outside) counts as finished without exit codes.
func (s *serving) states(ctx context.Context) (map[string]PodState, error) {
	out := make(map[string]PodState, len(s.p.Pods))
	for _, pd := range s.p.Pods {
		st, err := s.e.States.PodState(ctx, pd.Name)
		switch {
		case errors.Is(err, state.ErrNotFound):
			st = PodState{Finished: true}
		case err != nil:
			return nil, fmt.Errorf("reading pod %s: %w", pd.Name, err)
		}
		out[pd.Name] = st
	}
	return out, nil
}

// started: every pod is ready, or has run to completion. It reports done
// with nil codes when ready, and with the codes when every pod has
// finished already. A pod whose containers exited for good, one of them
// failed, before it was ever ready is a failed start.
func (s *serving) started(states map[string]PodState) (bool, []int, error) {
	var waiting []string
	allFinished := true
	for _, pd := range s.p.Pods {
		st := states[pd.Name]
		allFinished = allFinished && st.Finished
		if st.Finished && propagate(PropagateAny, st.ExitCodes) != 0 {
			err := fmt.Errorf("pod %s exited before it was ready: exit codes %v", pd.Name, st.ExitCodes)
			s.setStatus(err.Error())
			return false, nil, err
		}
		if !st.Finished && !(st.Running && st.Ready == st.Total && st.Total > 0) {
			waiting = append(waiting, fmt.Sprintf("%s (%d/%d ready)", pd.Name, st.Ready, st.Total))
		}
	}
	if len(waiting) > 0 {
		s.setStatus("waiting for " + strings.Join(waiting, ", "))
		return false, nil, nil
	}
	s.setStatus(fmt.Sprintf("%d pod(s) ready", len(s.p.Pods)))
	if allFinished {
		return true, s.codes(states), nil
	}
	return true, nil, nil
}

// finished: every pod's containers have exited for good.
func (s *serving) finished(states map[string]PodState) (bool, []int, error) {
	for _, pd := range s.p.Pods {
		if !states[pd.Name].Finished {
			return false, nil, nil
		}
	}
	codes := s.codes(states)
	s.setStatus(fmt.Sprintf("the pods' containers exited: %v", codes))
	return true, codes, nil
}

func (s *serving) codes(states map[string]PodState) []int {
	codes := []int{}
	for _, pd := range s.p.Pods {
		codes = append(codes, states[pd.Name].ExitCodes...)
	}
	return codes
}

// setStatus sends a status line when it changes.
func (s *serving) setStatus(text string) {
	if text != s.status {
		s.status = text
		s.notify("STATUS=" + text)
	}
}

// propagate is the service's exit code from its containers' (Podman's
// rules): none: 0; any: the first failure's; all: the first failure's
// when every container failed. A code outside 1-255 (killed) is 1.
func propagate(policy string, codes []int) int {
	first, failed := 0, 0
	for _, c := range codes {
		if c != 0 {
			failed++
			if first == 0 {
				first = c
			}
		}
	}
	if first < 0 || first > 255 {
		first = 1
	}
	switch {
	case policy == PropagateAny && failed > 0:
		return first
	case policy == PropagateAll && failed > 0 && failed == len(codes):
		return first
	}
	return 0
}
