package orchestrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/engine/volume"
	"github.com/podbay/podbay/kube/generate"
	"github.com/podbay/podbay/kube/play"
	"github.com/podbay/podbay/pod"
	"github.com/podbay/podbay/podspec"
)

// Inventory is what an export reads of the running engine.
type Inventory interface {
	PodStatusOf(ctx context.Context, ref string) (*pod.PodStatus, error)
	Lookup(ctx context.Context, ref string) (*state.Container, error)
	// List lists every container (ExportCompose selects by label).
	List(ctx context.Context) ([]*state.Container, error)
	// ImageConfig is an image's own configuration, by ID.
	ImageConfig(ctx context.Context, id string) (*v1.Config, error)
}

// ErrNothingNamed is returned by Export for a name that is no pod,
// container or volume.
var ErrNothingNamed = errors.New("no pod, container or volume")

// Export gathers what kube generate turns into YAML: for each name, its
// pod (a container's pod, or a standalone container as a pod of one) with
// the spec it was made from and what runs now, or a named volume; with
// the ConfigMaps, Secrets and claims plays recorded, which generate exports
// where the pods reference them.
func (e *Engine) Export(ctx context.Context, refs []string) (pods []generate.Pod, volumes []string, err error) {
	x, err := e.recorded(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, ref := range refs {
		gp, err := e.exportRef(ctx, ref, x)
		if errors.Is(err, state.ErrNotFound) {
			if _, verr := e.Volumes.Get(ctx, ref); verr == nil {
				volumes = append(volumes, ref)
				continue
			} else if !errors.Is(verr, volume.ErrNotFound) {
				return nil, nil, verr
			}
			return nil, nil, fmt.Errorf("%w named %q", ErrNothingNamed, ref)
		}
		if err != nil {
			return nil, nil, err
		}
		pods = append(pods, *gp)
	}
	return pods, volumes, nil
}

// exportRef finds a pod (or a container: its pod, or itself as a pod of one).
func (e *Engine) exportRef(ctx context.Context, ref string, x generate.Pod) (*generate.Pod, error) {
	st, err := e.Inventory.PodStatusOf(ctx, ref)
	if errors.Is(err, state.ErrNotFound) {
		c, cerr := e.Inventory.Lookup(ctx, ref)
		if cerr != nil {
			return nil, cerr
		}
		if c.PodID == "" {
			return e.exportContainer(ctx, c, x)
		}
		st, err = e.Inventory.PodStatusOf(ctx, c.PodID)
	}
	if err != nil {
		return nil, err
	}
	gp := x
	gp.Spec = st.Spec
	for _, c := range st.Containers {
		gp.Containers = append(gp.Containers, e.containerState(ctx, c))
	}
	return &gp, nil
}

// exportContainer exports a standalone container as a pod of one: the
// spec it was made from, under its own name.
func (e *Engine) exportContainer(ctx context.Context, c *state.Container, x generate.Pod) (*generate.Pod, error) {
	spec := pod.ViewOf(c)
	ctr := spec.Container()
	if ctr == nil {
		return nil, fmt.Errorf("container %s: its record holds no spec", c.Name)
	}
	name := podspec.KubeName(c.Name)
	spec.Name, ctr.Name, spec.Labels = name, name, c.Labels
	if spec.Network.Mode == podspec.NetworkNone {
		// A standalone container has no network only because it has no pod.
		spec.Network.Mode = podspec.NetworkBridge
	}
	gp := x
	gp.Spec = spec
	cs := e.containerState(ctx, c)
	cs.Name = name
	gp.Containers = []generate.ContainerState{cs}
	return &gp, nil
}

// containerState reports what runs now: the image as the user named it and
// the image's own configuration, so that its defaults are left out.
func (e *Engine) containerState(ctx context.Context, c *state.Container) generate.ContainerState {
	v := pod.ViewOf(c)
	cs := generate.ContainerState{Image: c.Image}
	if ctr := v.Container(); ctr != nil {
		cs.Name, cs.Image = ctr.Name, ctr.Image
	}
	if cfg, err := e.Inventory.ImageConfig(ctx, c.ImageID); err == nil {
		cs.ImageConfig = &generate.ImageConfig{Entrypoint: cfg.Entrypoint, Cmd: cfg.Cmd, Env: cfg.Env, WorkingDir: cfg.WorkingDir, User: cfg.User}
	}
	return cs
}

// recorded is a generate.Pod holding only the ConfigMaps, Secrets and
// claims plays recorded.
func (e *Engine) recorded(ctx context.Context) (generate.Pod, error) {
	var x generate.Pod
	err := e.decodeKind(ctx, KindConfigMap, func(b []byte) error {
		var c play.ConfigMap
		err := json.Unmarshal(b, &c)
		x.ConfigMaps = append(x.ConfigMaps, generate.ConfigMap{Name: c.Name, Namespace: c.Namespace, Labels: c.Labels, Data: c.Data, BinaryData: c.BinaryData})
		return err
	})
	if err == nil {
		err = e.decodeKind(ctx, KindSecret, func(b []byte) error {
			var s play.Secret
			err := json.Unmarshal(b, &s)
			x.Secrets = append(x.Secrets, generate.Secret{Name: s.Name, Namespace: s.Namespace, Labels: s.Labels, Type: s.Type, Data: s.Data})
			return err
		})
	}
	if err == nil {
		err = e.decodeKind(ctx, KindClaim, func(b []byte) error {
			var v play.NamedVolume
			err := json.Unmarshal(b, &v)
			x.Claims = append(x.Claims, generate.Claim{Name: v.Name, Namespace: v.Namespace, Labels: v.Labels, Annotations: v.Annotations,
				AccessModes: v.AccessModes, Storage: v.Storage, StorageClass: v.StorageClass, VolumeMode: v.VolumeMode})
			return err
		})
	}
	return x, err
}
