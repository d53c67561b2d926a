//go:build !lean

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/engine/volume"
	"github.com/podbay/podbay/internal/version"
	"github.com/podbay/podbay/kube/generate"
	"github.com/podbay/podbay/kube/play"
	"github.com/podbay/podbay/orchestrate"
	"github.com/podbay/podbay/pod"
	"github.com/podbay/podbay/podspec"
)

type kubeGenerateFlags struct {
	service     bool
	typ         string
	replicas    int32
	filename    string
	force       bool
	annotations bool
}

func newKubeGenerateCommand(g *globals, alias bool) *cobra.Command {
	f := &kubeGenerateFlags{}
	use := "generate [flags] POD|CONTAINER|VOLUME..."
	if alias {
		use = "kube [flags] POD|CONTAINER|VOLUME..."
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: "Export pods, containers and volumes as Kubernetes YAML",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runKubeGenerate(cmd, g, args, f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&f.service, "service", "s", false, "add a Service for each workload")
	fl.StringVarP(&f.typ, "type", "t", "", "workload kind: pod, deployment, statefulset, daemonset or job (default: as played, else pod)")
	fl.Int32VarP(&f.replicas, "replicas", "r", 0, "replicas of a deployment or statefulset")
	fl.StringVarP(&f.filename, "filename", "f", "", "write to FILE instead of stdout")
	fl.BoolVar(&f.force, "force", false, "with -f: overwrite an existing file")
	fl.BoolVar(&f.annotations, "podbay-annotations", false, "keep podbay's own annotations")
	return cmd
}

// newGenerateCommand is Podman's older spelling: podbay generate kube NAME.
func newGenerateCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "generate", Short: "Alias of kube generate: generate kube NAME"}
	cmd.AddCommand(newKubeGenerateCommand(g, true))
	return cmd
}

func runKubeGenerate(cmd *cobra.Command, g *globals, args []string, f *kubeGenerateFlags) error {
	if f.filename != "" && !f.force {
		if _, err := os.Stat(f.filename); err == nil {
			return fmt.Errorf("%s exists: use --force to overwrite it", f.filename)
		}
	}
	m, err := g.manager()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	extras, err := loadKubeObjects(ctx, m)
	if err != nil {
		return err
	}
	var pods []generate.Pod
	var claims []string
	for _, ref := range args {
		gp, err := exportRef(ctx, m, ref, extras)
		if errors.Is(err, state.ErrNotFound) {
			if vs, verr := volume.Open(m.Root); verr == nil {
				if _, verr := vs.Get(ctx, ref); verr == nil {
					claims = append(claims, ref)
					continue
				}
			}
			return fmt.Errorf("no pod, container or volume named %q", ref)
		}
		if err != nil {
			return err
		}
		pods = append(pods, *gp)
	}
	res, err := generate.Generate(pods, generate.Options{Type: f.typ, Replicas: f.replicas, Service: f.service, PodbayAnnotations: f.annotations})
	if err != nil {
		return err
	}
	res.Objects = append(res.Objects, claimObjects(claims)...)
	out, err := generate.Render(res, version.Version)
	if err != nil {
		return err
	}
	for _, n := range res.Notes {
		fmt.Fprintln(cmd.ErrOrStderr(), "Note:", n)
	}
	if f.filename == "" {
		_, err = cmd.OutOrStdout().Write(out)
		return err
	}
	return os.WriteFile(f.filename, out, 0o644)
}

// kubeExtras are the ConfigMaps, Secrets and claims plays recorded.
type kubeExtras struct {
	configMaps []generate.ConfigMap
	secrets    []generate.Secret
	claims     []generate.Claim
}

func loadKubeObjects(ctx context.Context, m *pod.Manager) (*kubeExtras, error) {
	x := &kubeExtras{}
	err := m.State.View(ctx, func(tx *state.Tx) error {
		for kind, into := range map[string]func([]byte) error{
			orchestrate.KindConfigMap: func(b []byte) error {
				var c play.ConfigMap
				err := json.Unmarshal(b, &c)
				x.configMaps = append(x.configMaps, generate.ConfigMap{Name: c.Name, Namespace: c.Namespace, Labels: c.Labels, Data: c.Data, BinaryData: c.BinaryData})
				return err
			},
			orchestrate.KindSecret: func(b []byte) error {
				var s play.Secret
				err := json.Unmarshal(b, &s)
				x.secrets = append(x.secrets, generate.Secret{Name: s.Name, Namespace: s.Namespace, Labels: s.Labels, Type: s.Type, Data: s.Data})
				return err
			},
			orchestrate.KindClaim: func(b []byte) error {
				var v play.NamedVolume
				err := json.Unmarshal(b, &v)
				x.claims = append(x.claims, generate.Claim{Name: v.Name, Namespace: v.Namespace, Labels: v.Labels, Annotations: v.Annotations,
					AccessModes: v.AccessModes, Storage: v.Storage, StorageClass: v.StorageClass, VolumeMode: v.VolumeMode})
				return err
			},
		} {
			objs, err := tx.Objects(kind)
			if err != nil {
				return err
			}
			for _, b := range objs {
				if err := into(b); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return x, err
}

// exportRef finds a pod (or a container: its pod, or itself as a pod of one).
func exportRef(ctx context.Context, m *pod.Manager, ref string, x *kubeExtras) (*generate.Pod, error) {
	st, err := m.PodStatusOf(ctx, ref)
	if errors.Is(err, state.ErrNotFound) {
		c, cerr := m.Lookup(ctx, ref)
		if cerr != nil {
			return nil, cerr
		}
		if c.PodID == "" {
			return exportContainer(ctx, m, c, x)
		}
		st, err = m.PodStatusOf(ctx, c.PodID)
	}
	if err != nil {
		return nil, err
	}
	gp := &generate.Pod{ConfigMaps: x.configMaps, Secrets: x.secrets, Claims: x.claims, Spec: st.Spec}
	for _, c := range st.Containers {
		gp.Containers = append(gp.Containers, containerState(ctx, m, c))
	}
	return gp, nil
}

// exportContainer exports a standalone container as a pod of one: the
// spec it was made from, under its own name.
func exportContainer(ctx context.Context, m *pod.Manager, c *state.Container, x *kubeExtras) (*generate.Pod, error) {
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
	gp := &generate.Pod{ConfigMaps: x.configMaps, Secrets: x.secrets, Claims: x.claims, Spec: spec}
	cs := containerState(ctx, m, c)
	cs.Name = name
	gp.Containers = []generate.ContainerState{cs}
	return gp, nil
}

// containerState reports what runs now: the image as the user named it and
// the image's own configuration, so its defaults are left out.
func containerState(ctx context.Context, m *pod.Manager, c *state.Container) generate.ContainerState {
	v := pod.ViewOf(c)
	cs := generate.ContainerState{Image: c.Image}
	if ctr := v.Container(); ctr != nil {
		cs.Name, cs.Image = ctr.Name, ctr.Image
	}
	if img, err := m.Images.Get(ctx, c.ImageID); err == nil {
		cfg := img.Config.Config
		cs.ImageConfig = &generate.ImageConfig{Entrypoint: cfg.Entrypoint, Cmd: cfg.Cmd, Env: cfg.Env, WorkingDir: cfg.WorkingDir, User: cfg.User}
	}
	return cs
}

// claimObjects exports named volumes given by name as claims of 1Gi.
func claimObjects(names []string) []runtime.Object {
	var out []runtime.Object
	for _, n := range names {
		out = append(out, &corev1.PersistentVolumeClaim{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
			ObjectMeta: metav1.ObjectMeta{Name: n},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			},
		})
	}
	return out
}
