//go:build !lean

package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/podbay/podbay/internal/version"
	"github.com/podbay/podbay/kube/generate"
)

type kubeGenerateFlags struct {
	service     bool
	typ         string
	replicas    int32
	filename    string
	force       bool
	annotations bool
	compose     string
}

func newKubeGenerateCommand(g *globals, alias bool) *cobra.Command {
	f := &kubeGenerateFlags{}
	use := "generate [flags] POD|CONTAINER|VOLUME... | --compose-project NAME"
	if alias {
		use = "kube [flags] POD|CONTAINER|VOLUME... | --compose-project NAME"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: "Export pods, containers and volumes (or a Compose project) as Kubernetes YAML",
		Args: func(cmd *cobra.Command, args []string) error {
			if f.compose != "" {
				if len(args) > 0 {
					return fmt.Errorf("--compose-project %q: name no pods or containers with it", f.compose)
				}
				return nil
			}
			return cobra.MinimumNArgs(1)(cmd, args)
		},
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
	fl.StringVar(&f.compose, "compose-project", "", "export the containers of this Docker Compose project (label com.docker.compose.project):\n"+
		"a Deployment per service, Services for their ports, ConfigMaps for small bind-mounted files, claims for named volumes")
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
	e, err := g.engine()
	if err != nil {
		return err
	}
	var pods []generate.Pod
	var claims []string
	if f.compose != "" {
		pods, err = e.ExportCompose(cmd.Context(), f.compose, nil)
		f.service = true // a Compose service is reached by its name
	} else {
		pods, claims, err = e.Export(cmd.Context(), args)
	}
	if err != nil {
		return err
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
