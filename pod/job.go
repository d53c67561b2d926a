package pod

import (
	"context"
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

// UpdateJob writes a job's record back, unless the job was deleted
// meanwhile (kube down, a failed play's undo): its controller then stops.
func (m *Manager) UpdateJob(ctx context.Context, j *JobRecord) error {
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

// PodOutcome tells whether a pod finished, and whether it succeeded:
// every app container exited 0.
func PodOutcome(st *PodStatus) (ok, finished bool) {
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

// AppExitCodes lists the exit codes of a pod's app containers, in order
// (the last recorded: a running container's is its previous run's, or 0).
func AppExitCodes(st *PodStatus) []int {
	var out []int
	for _, c := range st.Containers {
		if !isInit(c) {
			out = append(out, c.ExitCode)
		}
	}
	return out
}

// Restarts counts the restarts of a pod's containers.
func Restarts(st *PodStatus) int32 {
	n := 0
	for _, c := range st.Containers {
		n += c.RestartCount
	}
	return int32(n)
}

// SetController records the job controller's process, with its start
// time, so that DeleteJob can stop it and never another process that got
// its pid since.
func (j *JobRecord) SetController(pid int) {
	start, _ := procStartTime(pid)
	j.ControllerPid, j.ControllerAt = pid, start
}
