//go:build !lean

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/podbay/podbay/podspec"

	"github.com/spf13/cobra"

	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/engine/volume"
	"github.com/podbay/podbay/internal/version"
	"github.com/podbay/podbay/kube/generate"
	"github.com/podbay/podbay/kube/play"
	"github.com/podbay/podbay/orchestrate"
	"github.com/podbay/podbay/pod"
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
		if c.PodID != "" {
			st, err = m.PodStatusOf(ctx, c.PodID)
		} else {
			return exportContainer(ctx, m, c, x)
		}
	}
	if err != nil {
		return nil, err
	}
	gp := &generate.Pod{ConfigMaps: x.configMaps, Secrets: x.secrets, Claims: x.claims}
	if len(st.Options.Source) > 0 {
		if err := json.Unmarshal(st.Options.Source, &gp.Spec); err != nil {
			return nil, fmt.Errorf("pod %s: reading its played spec: %w", st.Pod.Name, err)
		}
	} else {
		gp.Spec = derivePodSpec(st)
	}
	for _, c := range st.Containers {
		cs, err := containerState(ctx, m, c, st.Pod.Name)
		if err != nil {
			return nil, err
		}
		gp.Containers = append(gp.Containers, cs)
		if len(st.Options.Source) == 0 {
			gp.Spec.Containers = append(gp.Spec.Containers, deriveContainer(c, st.Pod.Name))
		}
	}
	return gp, nil
}

func exportContainer(ctx context.Context, m *pod.Manager, c *state.Container, x *kubeExtras) (*generate.Pod, error) {
	name := kubeName(c.Name)
	gp := &generate.Pod{ConfigMaps: x.configMaps, Secrets: x.secrets, Claims: x.claims}
	gp.Spec = podspec.Pod{Name: name, RestartPolicy: "Never", TerminationGracePeriodSeconds: 10, Labels: c.Labels}
	o := pod.ContainerOptionsOf(c)
	gp.Spec.Network.Mode = map[string]string{"host": podspec.NetworkHost}[o.Network]
	if gp.Spec.Network.Mode == "" {
		gp.Spec.Network.Mode = podspec.NetworkBridge
	}
	kc := deriveContainer(c, "")
	kc.Name = name
	gp.Spec.Containers = []podspec.Container{kc}
	cs, err := containerState(ctx, m, c, "")
	if err != nil {
		return nil, err
	}
	cs.Name = name
	gp.Containers = []generate.ContainerState{cs}
	addHostPathVolumes(&gp.Spec, o)
	return gp, nil
}

var notDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// kubeName makes a Kubernetes (DNS-1123 label) name of a podbay name.
func kubeName(n string) string {
	s := strings.Trim(notDNS.ReplaceAllString(strings.ToLower(n), "-"), "-")
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	if s == "" {
		s = "container"
	}
	return s
}
