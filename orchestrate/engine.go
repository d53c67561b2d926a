package orchestrate

import (
	"context"
	"log/slog"
	"time"

	"github.com/podbay/podbay/engine/image"
	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/engine/volume"
	"github.com/podbay/podbay/pod"
	"github.com/podbay/podbay/podspec"
)

// Pods creates and removes played pods.
type Pods interface {
	LookupPod(ctx context.Context, ref string) (*state.Pod, error)
	PlayPod(ctx context.Context, spec podspec.Pod, o pod.PlayOptions) (*pod.PlayedPod, error)
	DownPod(ctx context.Context, ref string, grace time.Duration) error
	// PodRunning tells whether the pod has running containers.
	PodRunning(ctx context.Context, ref string) bool
}

// Images resolves a play's images before anything is created.
type Images interface {
	PullAll(ctx context.Context, imgs []pod.ImagePull, o image.PullOptions) error
}

// Services records Services and brings the pods' names and rules up to date.
type Services interface {
	List(ctx context.Context) ([]pod.Service, error)
	Put(ctx context.Context, svcs []pod.Service) ([]pod.Service, error)
	Delete(ctx context.Context, namespace, name string) error
	Sync(ctx context.Context) error
}

// Volumes holds named volumes (the claims' storage).
type Volumes interface {
	Get(ctx context.Context, name string) (*volume.Volume, error)
	Create(ctx context.Context, o volume.CreateOptions) (*volume.Volume, error)
	Remove(ctx context.Context, name string) error
}

// Objects keeps opaque records by kind and key (the state store's objects).
type Objects interface {
	Objects(ctx context.Context, kind string) (map[string][]byte, error)
	// Swap stores each value under its key (a nil value deletes the key) in
	// one transaction and returns what the keys held before (nil: absent).
	Swap(ctx context.Context, kind string, vals map[string][]byte) (prev map[string][]byte, err error)
}

// Jobs records played Jobs and starts their controllers.
type Jobs interface {
	SaveJob(ctx context.Context, j *pod.JobRecord) error
	DeleteJob(ctx context.Context, name string) (*pod.JobRecord, error)
	// StartController starts the detached controller of a recorded Job.
	StartController(ctx context.Context, name string) error
}

// Engine is what plays and downs are made of; each part is a small
// interface so that every step's failure can be tested without root.
type Engine struct {
	Pods     Pods
	Images   Images
	Services Services
	Volumes  Volumes
	Objects  Objects
	Jobs     Jobs
	// Inventory is read by exports.
	Inventory Inventory
	// States is read by a play run as a service (Serve).
	States PodStates
	Log    *slog.Logger
}

func (e *Engine) log() *slog.Logger {
	if e.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Log
}
