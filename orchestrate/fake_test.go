package orchestrate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/podbay/podbay/engine/image"
	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/engine/volume"
	"github.com/podbay/podbay/pod"
	"github.com/podbay/podbay/podspec"
)

// world is an in-memory engine: every part of an Engine, with a step that
// can be made to fail.
type world struct {
	mu       sync.Mutex
	failStep string // the step that fails: see fail
	failName string // with failStep "pod": the pod that fails

	pods     map[string]*state.Pod
	services map[string]pod.Service
	volumes  map[string]bool
	objects  map[string]map[string][]byte
	jobs     map[string]*pod.JobRecord
	started  map[string]bool // job controllers running
	pulled   []string
	syncs    int
}

var errInjected = errors.New("injected failure")

func newWorld() *world {
	return &world{pods: map[string]*state.Pod{}, services: map[string]pod.Service{}, volumes: map[string]bool{},
		objects: map[string]map[string][]byte{}, jobs: map[string]*pod.JobRecord{}, started: map[string]bool{}}
}

func (w *world) engine() *Engine {
	return &Engine{Pods: w, Images: w, Services: w, Volumes: w, Objects: w, Jobs: w}
}

func (w *world) fail(step string) error {
	if w.failStep == step {
		return fmt.Errorf("%s: %w", step, errInjected)
	}
	return nil
}

// snapshot is what a test compares before a failed play and after it.
func (w *world) snapshot() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var pods, svcs, vols, jobs []string
	for n := range w.pods {
		pods = append(pods, n)
	}
	for k := range w.services {
		svcs = append(svcs, k)
	}
	for v := range w.volumes {
		vols = append(vols, v)
	}
	for j := range w.jobs {
		jobs = append(jobs, j)
	}
	var objs []string
	for kind, m := range w.objects {
		for k, v := range m {
			objs = append(objs, kind+"/"+k+"="+string(v))
		}
	}
	for _, l := range [][]string{pods, svcs, vols, jobs, objs} {
		sort.Strings(l)
	}
	return fmt.Sprintf("pods %v\nservices %v\nvolumes %v\njobs %v (controllers %d)\nobjects %v", pods, svcs, vols, jobs, len(w.started), objs)
}

func (w *world) LookupPod(_ context.Context, ref string) (*state.Pod, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if p, ok := w.pods[ref]; ok {
		return p, nil
	}
	for _, p := range w.pods {
		if p.ID == ref {
			return p, nil
		}
	}
	return nil, fmt.Errorf("pod %s: %w", ref, state.ErrNotFound)
}

func (w *world) PlayPod(_ context.Context, s podspec.Pod, _ pod.PlayOptions) (*pod.PlayedPod, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failStep == "pod" && (w.failName == "" || w.failName == s.Name) {
		return nil, fmt.Errorf("pod %s: %w", s.Name, errInjected)
	}
	p := &state.Pod{ID: "id-" + s.Name, Name: s.Name, Created: time.Now()}
	w.pods[s.Name] = p
	return &pod.PlayedPod{Pod: p}, nil
}

func (w *world) DownPod(_ context.Context, ref string, _ time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for n, p := range w.pods {
		if n == ref || p.ID == ref {
			delete(w.pods, n)
			return nil
		}
	}
	return fmt.Errorf("pod %s: %w", ref, state.ErrNotFound)
}

func (w *world) PodRunning(_ context.Context, ref string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.pods[ref]
	return ok
}

func (w *world) PullAll(_ context.Context, imgs []pod.ImagePull, _ image.PullOptions) error {
	if err := w.fail("pull"); err != nil {
		return err
	}
	for _, i := range imgs {
		w.pulled = append(w.pulled, i.Ref)
	}
	return nil
}

func (w *world) List(context.Context) ([]pod.Service, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Collect(maps.Values(w.services)), nil
}

func (w *world) Put(_ context.Context, svcs []pod.Service) ([]pod.Service, error) {
	if err := w.fail("services"); err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range svcs {
		w.services[s.Namespace+"/"+s.Name] = s
	}
	return svcs, nil
}

func (w *world) Delete(_ context.Context, ns, name string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.services, ns+"/"+name)
	return nil
}

func (w *world) Sync(context.Context) error {
	w.mu.Lock()
	w.syncs++
	w.mu.Unlock()
	return w.fail("sync")
}

func (w *world) Create(_ context.Context, o volume.CreateOptions) (*volume.Volume, error) {
	if err := w.fail("volume"); err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.volumes[o.Name] {
		return nil, fmt.Errorf("volume %s: %w", o.Name, volume.ErrExists)
	}
	w.volumes[o.Name] = true
	return &volume.Volume{Name: o.Name}, nil
}

func (w *world) Get(_ context.Context, name string) (*volume.Volume, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.volumes[name] {
		return nil, fmt.Errorf("volume %s: %w", name, volume.ErrNotFound)
	}
	return &volume.Volume{Name: name}, nil
}

func (w *world) Remove(_ context.Context, name string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.volumes[name] {
		return fmt.Errorf("volume %s: %w", name, volume.ErrNotFound)
	}
	delete(w.volumes, name)
	return nil
}

func (w *world) Objects(_ context.Context, kind string) (map[string][]byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.objects[kind]), nil
}

func (w *world) Swap(_ context.Context, kind string, vals map[string][]byte) (map[string][]byte, error) {
	if err := w.fail("objects-" + kind); err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.objects[kind] == nil {
		w.objects[kind] = map[string][]byte{}
	}
	prev := map[string][]byte{}
	for k, v := range vals {
		prev[k] = w.objects[kind][k]
		if v == nil {
			delete(w.objects[kind], k)
		} else {
			w.objects[kind][k] = v
		}
	}
	return prev, nil
}

func (w *world) SaveJob(_ context.Context, j *pod.JobRecord) error {
	if err := w.fail("job-save"); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.jobs[j.Name] = j
	return nil
}

func (w *world) DeleteJob(_ context.Context, name string) (*pod.JobRecord, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	j, ok := w.jobs[name]
	if !ok {
		return nil, fmt.Errorf("job %s: %w", name, state.ErrNotFound)
	}
	delete(w.jobs, name)
	delete(w.started, name)
	return j, nil
}

func (w *world) StartController(_ context.Context, name string) error {
	if err := w.fail("job-start"); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.started[name] = true
	return nil
}
