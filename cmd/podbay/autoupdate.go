package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/podbay/podbay/autoupdate"
	"github.com/podbay/podbay/engine/image"
	"github.com/podbay/podbay/internal/cmdexec"
	"github.com/podbay/podbay/internal/report"
	"github.com/podbay/podbay/pod"
)

var autoUpdateSpec = report.Spec{
	Name:    "auto-update",
	Default: "{{.Unit}}\t{{.Container}}\t{{.Image}}\t{{.Policy}}\t{{.Updated}}",
	Item:    autoupdate.Report{},
}

func newAutoUpdateCommand(g *globals) *cobra.Command {
	var (
		pf       pullFlags
		dryRun   bool
		rollback bool
		format   string
	)
	cmd := &cobra.Command{
		Use:   "auto-update [flags]",
		Short: "Update the images of pods that systemd units run, and restart the units",
		Long: `Update the pods that systemd units play (Quadlet .kube units) as podman auto-update does.
A container whose pod is annotated io.containers.autoupdate=registry (or
io.containers.autoupdate/CONTAINER=registry; AutoUpdate=registry in the .kube file),
or labelled so (a .container file's AutoUpdate=), follows its image's tag in the
registry; with local, the tag in the local store.
When a newer image is there, it is pulled and the unit restarted; when the unit
fails to restart on it, the previous image is tagged again and the unit restarted
on it (rolled back).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := report.Parse(format, autoUpdateSpec)
			if err != nil {
				return err
			}
			m, err := g.manager()
			if err != nil {
				return err
			}
			cands, err := updateCandidates(cmd.Context(), m)
			if err != nil {
				return err
			}
			store, err := g.images()
			if err != nil {
				return err
			}
			reports, runErr := autoupdate.Run(cmd.Context(), cands, storeImages{store, pf.options(cmd)}, systemdUnits{},
				autoupdate.Options{DryRun: dryRun, NoRollback: !rollback})
			if err := render(cmd, f, reports, func() any { return reports }); err != nil {
				return err
			}
			return runErr
		},
	}
	pf.add(cmd)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "report the updates there are; pull and restart nothing")
	cmd.Flags().BoolVar(&rollback, "rollback", true, "when a unit fails to restart on its new image, go back to the previous one")
	cmd.Flags().StringVar(&format, "format", "", "table (default), json or a Go template")
	return cmd
}

// updateCandidates lists the containers that have an auto-update policy:
// a played pod's, by its annotations (its unit is the pod's); another
// container (a .container unit's), by its labels (Podman's).
func updateCandidates(ctx context.Context, m *pod.Manager) ([]autoupdate.Candidate, error) {
	sts, err := m.PodStatuses(ctx)
	if err != nil {
		return nil, err
	}
	pods := map[string]*pod.PodStatus{}
	for _, st := range sts {
		pods[st.Pod.ID] = st
	}
	ctrs, err := m.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []autoupdate.Candidate
	for _, c := range ctrs {
		if c.Infra {
			continue
		}
		cand := autoupdate.Candidate{Pod: c.PodName, Container: c.Name, Image: c.Image, ImageID: c.ImageID,
			Policy: c.Labels[autoupdate.PolicyAnnotation], Unit: c.Labels[UnitLabel]}
		if st := pods[c.PodID]; cand.Policy == "" && st != nil {
			v := pod.ViewOf(c)
			if ctr := v.Container(); ctr != nil {
				cand.Policy = autoupdate.Policy(st.Spec.Annotations, ctr.Name)
				cand.Unit = st.Spec.Annotations[autoupdate.UnitAnnotation]
			}
		}
		if cand.Policy != "" {
			out = append(out, cand)
		}
	}
	return out, nil
}

// storeImages is the image store with the command's registry options.
type storeImages struct {
	s    *image.Store
	pull image.PullOptions
}

func (i storeImages) RemoteDigest(ctx context.Context, ref string) (string, error) {
	return i.s.RemoteDigest(ctx, ref, i.pull)
}

func (i storeImages) Digests(ctx context.Context, id string) ([]string, error) {
	img, err := i.s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return append([]string{img.Digest}, img.Digests...), nil
}

func (i storeImages) ID(ctx context.Context, ref string) (string, error) {
	img, err := i.s.Get(ctx, ref)
	if err != nil {
		return "", err
	}
	return img.ID, nil
}

func (i storeImages) Pull(ctx context.Context, ref string) error {
	_, err := i.s.Pull(ctx, ref, i.pull)
	return err
}

func (i storeImages) Tag(ctx context.Context, id, ref string) error { return i.s.Tag(ctx, id, ref) }

// systemdUnits restarts units with systemctl: the user's manager's when
// podbay runs as a user (rootless), the system's as root.
type systemdUnits struct{}

func (systemdUnits) Restart(ctx context.Context, unit string) error {
	args := []string{"restart", unit}
	if os.Geteuid() != 0 {
		args = append([]string{"--user"}, args...)
	}
	if _, err := cmdexec.Output(ctx, cmdexec.Host{}, &cmdexec.Cmd{Path: "systemctl", Args: args}); err != nil {
		return fmt.Errorf("systemctl %s: %w", strings.Join(args, " "), err)
	}
	return nil
}
