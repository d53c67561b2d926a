package pod

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/podspec"
)

// Job outcomes, as Kubernetes names the conditions.
const (
	JobRunning  = "Running"
	JobComplete = "Complete"
	JobFailed   = "Failed"
)

const jobKind = "kube-job"

// JobRecord is a played Job: its pod template, its parameters and its
// progress, kept in the state store and driven by a job controller process.
type JobRecord struct {
	Name          string          `json:"name"`
	Spec          podspec.JobSpec `json:"spec"`
	Template      podspec.Pod     `json:"template"` // the first pod's spec; others differ by name
	Play          PlayOptions     `json:"play"`
	Pods          []string        `json:"pods"` // every pod made, in order
	Succeeded     int32           `json:"succeeded"`
	Failed        int32           `json:"failed"`
	Status        string          `json:"status"`
	Reason        string          `json:"reason,omitempty"`
	Started       time.Time       `json:"started"`
	Finished      time.Time       `json:"finished,omitzero"`
	ControllerPid int             `json:"controllerPid,omitempty"`
	ControllerAt  uint64          `json:"controllerStart,omitempty"`
}

// SaveJob records a job (and claims its name).
func (m *Manager) SaveJob(ctx context.Context, j *JobRecord) error {
	return m.State.Update(ctx, func(tx *state.Tx) error { return tx.PutObject(jobKind, j.Name, j) })
}

// updateJob writes a job's record back, unless the job was deleted
// meanwhile (kube down, a failed play's undo): its controller then stops.
func (m *Manager) updateJob(ctx context.Context, j *JobRecord) error {
	return m.State.Update(ctx, func(tx *state.Tx) error {
		var cur JobRecord
		if err := tx.Object(jobKind, j.Name, &cur); err != nil {
			return err
		}
		return tx.PutObject(jobKind, j.Name, j)
	})
}

// Job reads a job record.
func (m *Manager) Job(ctx context.Context, name string) (*JobRecord, error) {
	var j JobRecord
	err := m.State.View(ctx, func(tx *state.Tx) error { return tx.Object(jobKind, name, &j) })
	return &j, err
}

// DeleteJob stops a job's controller and forgets the job (its pods are
// removed by the caller).
func (m *Manager) DeleteJob(ctx context.Context, name string) (*JobRecord, error) {
	j, err := m.Job(ctx, name)
	if err != nil {
		return nil, err
	}
	if processAlive(j.ControllerPid, j.ControllerAt) {
		p, _ := os.FindProcess(j.ControllerPid)
		_ = p.Kill()
	}
	return j, m.State.Update(ctx, func(tx *state.Tx) error { return tx.DeleteObject(jobKind, name) })
}

// RunJob is the job controller: it keeps up to parallelism pods running
// until completions pods succeeded, counting failures against backoffLimit
// and honouring activeDeadlineSeconds, as the Job controller does. The pods
// already named in the record (made by kube play) are adopted.
func (m *Manager) RunJob(ctx context.Context, name string) error {
	j, err := m.Job(ctx, name)
	if err != nil {
		return err
	}
	start, _ := procStartTime(os.Getpid())
	j.ControllerPid, j.ControllerAt = os.Getpid(), start
	if err := m.updateJob(ctx, j); err != nil {
		return jobGone(err)
	}
	var deadline time.Time
	if d := j.Spec.ActiveDeadlineSeconds; d != nil {
		deadline = j.Started.Add(time.Duration(*d) * time.Second)
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for j.Status == JobRunning {
		active, err := m.jobStep(ctx, j)
		if err != nil {
			j.Status, j.Reason = JobFailed, err.Error()
		}
		switch {
		case j.Status != JobRunning:
		case j.Failed > j.Spec.BackoffLimit:
			j.Status, j.Reason = JobFailed, "BackoffLimitExceeded"
		case !deadline.IsZero() && time.Now().After(deadline):
			j.Status, j.Reason = JobFailed, "DeadlineExceeded"
		case j.done(active):
			j.Status = JobComplete
		}
		if j.Status != JobRunning {
			j.Finished = time.Now().UTC()
			m.stopActive(ctx, j)
		}
		if err := m.updateJob(ctx, j); err != nil {
			return jobGone(err)
		}
		if j.Status != JobRunning {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

// jobGone ends a controller quietly when its job was deleted.
func jobGone(err error) error {
	if errors.Is(err, state.ErrNotFound) {
		return nil
	}
	return err
}

func (j *JobRecord) done(active int) bool {
	if j.Spec.Completions == 0 { // a work queue: one success, nothing left running
		return j.Succeeded > 0 && active == 0
	}
	return j.Succeeded >= j.Spec.Completions
}

// jobStep counts finished pods and starts new ones; it returns how many run.
func (m *Manager) jobStep(ctx context.Context, j *JobRecord) (int, error) {
	succeeded, failed, active := int32(0), int32(0), 0
	for _, name := range j.Pods {
		st, err := m.PodStatusOf(ctx, name)
		if err != nil {
			if errors.Is(err, state.ErrNotFound) {
				continue // removed by hand: neither success nor failure
			}
			return 0, err
		}
		switch ok, finished := podOutcome(st); {
		case !finished:
			active++
			failed += restarts(st)
		case ok:
			succeeded++
		default:
			failed += 1 + restarts(st)
		}
	}
	j.Succeeded, j.Failed = succeeded, failed
	want := int(j.Spec.Parallelism)
	switch {
	case j.Spec.Completions > 0:
		want = min(want, int(j.Spec.Completions-succeeded))
	case succeeded > 0: // a work queue with a success: start nothing new
		want = 0
	}
	for active < want && failed <= j.Spec.BackoffLimit {
		if err := m.startJobPod(ctx, j); err != nil {
			return active, err
		}
		active++
	}
	return active, nil
}

// podOutcome tells whether a pod finished, and whether it succeeded: every
// app container exited 0.
func podOutcome(st *PodStatus) (ok, finished bool) {
	if st.Status != PodExited {
		return false, false
	}
	for _, c := range st.Containers {
		if !isInit(c) && c.ExitCode != 0 {
			return false, true
		}
	}
	return true, true
}

func restarts(st *PodStatus) int32 {
	n := 0
	for _, c := range st.Containers {
		n += c.RestartCount
	}
	return int32(n)
}

func (m *Manager) startJobPod(ctx context.Context, j *JobRecord) error {
	spec := j.Template
	spec.Name = fmt.Sprintf("%s-pod-%d", j.Name, len(j.Pods))
	if spec.Hostname != "" {
		spec.Hostname = spec.Name
	}
	raw, _ := json.Marshal(spec.Containers)
	var cs []podspec.Container
	_ = json.Unmarshal(raw, &cs)
	for i := range cs {
		cs[i].RuntimeName = spec.Name + "-" + cs[i].Name
	}
	spec.Containers = cs
	inits := append([]podspec.Container{}, spec.InitContainers...)
	for i := range inits {
		inits[i].RuntimeName = spec.Name + "-" + inits[i].Name
	}
	spec.InitContainers = inits
	j.Pods = append(j.Pods, spec.Name)
	if err := m.updateJob(ctx, j); err != nil {
		return err
	}
	_, err := m.PlayPod(ctx, spec, j.Play)
	return err
}

// stopActive stops the pods still running when a job ends.
func (m *Manager) stopActive(ctx context.Context, j *JobRecord) {
	for _, name := range j.Pods {
		if st, err := m.PodStatusOf(ctx, name); err == nil && (st.Status == PodRunning || st.Status == PodDegraded) {
			_, _ = m.StopPod(ctx, name, StopOptions{Timeout: time.Duration(j.Template.TerminationGracePeriodSeconds) * time.Second})
		}
	}
}
