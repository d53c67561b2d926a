package orchestrate

import (
	"context"
	"encoding/json"
	"errors"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/engine/volume"
	"github.com/podbay/podbay/pod"
)

// StateObjects keeps records in the state store.
type StateObjects struct{ Store *state.Store }

// Objects returns every record of kind, by key.
func (s StateObjects) Objects(ctx context.Context, kind string) (map[string][]byte, error) {
	var out map[string][]byte
	err := s.Store.View(ctx, func(tx *state.Tx) error {
		var err error
		out, err = tx.Objects(kind)
		return err
	})
	return out, err
}

// Swap stores vals (nil deletes) in one transaction and returns what the
// keys held before.
func (s StateObjects) Swap(ctx context.Context, kind string, vals map[string][]byte) (map[string][]byte, error) {
	var prev map[string][]byte
	err := s.Store.Update(ctx, func(tx *state.Tx) error {
		prev = make(map[string][]byte, len(vals))
		for k, v := range vals {
			var old json.RawMessage
			switch err := tx.Object(kind, k, &old); {
			case err == nil:
				prev[k] = old
			case errors.Is(err, state.ErrNotFound):
				prev[k] = nil
			default:
				return err
			}
			var err error
			if v == nil {
				err = tx.DeleteObject(kind, k)
			} else {
				err = tx.PutObject(kind, k, json.RawMessage(v))
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	return prev, err
}

// ManagerJobs runs Jobs through the pod manager, starting controllers
// with Start.
type ManagerJobs struct {
	*pod.Manager
	Start func(ctx context.Context, name string) error
}

// StartController starts the controller of a recorded Job.
func (j ManagerJobs) StartController(ctx context.Context, name string) error {
	return j.Start(ctx, name)
}

// New wires an Engine to the real pod manager, volume store and state store.
func New(m *pod.Manager, vs *volume.Store, startJob func(ctx context.Context, name string) error) *Engine {
	return &Engine{Pods: m, Images: m, Services: m.Services(), Volumes: vs, Objects: StateObjects{Store: m.State},
		Jobs: ManagerJobs{Manager: m, Start: startJob}, Inventory: managerInventory{m}, States: managerStates{m}, Log: m.Log}
}

// managerStates reads pods' readiness and outcomes through the pod manager.
type managerStates struct{ *pod.Manager }

func (m managerStates) PodState(ctx context.Context, ref string) (PodState, error) {
	st, err := m.PodStatusOf(ctx, ref)
	if err != nil {
		return PodState{}, err
	}
	ps := PodState{Running: st.Status == pod.PodRunning, Finished: st.Status == pod.PodExited}
	ps.Ready, ps.Total = m.Readiness(st)
	if ps.Finished {
		ps.ExitCodes = pod.AppExitCodes(st)
	}
	return ps, nil
}

// managerInventory reads pods, containers and images through the pod
// manager.
type managerInventory struct{ *pod.Manager }

func (m managerInventory) ImageConfig(ctx context.Context, id string) (*v1.Config, error) {
	img, err := m.Images.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return &img.Config.Config, nil
}
