package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/podbay/podbay/engine/image"
	"github.com/podbay/podbay/internal/report"
	"github.com/podbay/podbay/pod"
)

// pullFlags are shared by every command that may pull.
type pullFlags struct {
	tlsVerify bool
	authFile  string
}

func (p *pullFlags) add(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&p.tlsVerify, "tls-verify", true, "require HTTPS and verify certificates")
	cmd.Flags().StringVar(&p.authFile, "authfile", os.Getenv("REGISTRY_AUTH_FILE"), "path of the registry credentials file")
}

func (p *pullFlags) options(cmd *cobra.Command) image.PullOptions {
	return image.PullOptions{InsecureRegistry: !p.tlsVerify, AuthFile: p.authFile, Progress: cmd.ErrOrStderr()}
}

func (g *globals) images() (*image.Store, error) {
	return image.Open(filepath.Join(g.root, "image"), g.log)
}

func addImageCommands(root *cobra.Command, g *globals) {
	imageCmd := &cobra.Command{Use: "image", Short: "Manage images"}
	imageCmd.AddCommand(newImageInspectCommand(g))
	root.AddCommand(newPullCommand(g), newPushCommand(g), newImagesCommand(g), newLoadCommand(g),
		newSaveCommand(g), newImportCommand(g), newTagCommand(g), newRmiCommand(g), imageCmd)
}

func newPullCommand(g *globals) *cobra.Command {
	var pf pullFlags
	var quiet bool
	cmd := &cobra.Command{
		Use:   "pull [flags] IMAGE",
		Short: "Pull an image from a registry",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.images()
			if err != nil {
				return err
			}
			opts := pf.options(cmd)
			if quiet {
				opts.Progress = nil
			}
			img, err := s.Pull(cmd.Context(), args[0], opts)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), img.ID)
			return nil
		},
	}
	pf.add(cmd)
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the image ID")
	return cmd
}

func newPushCommand(g *globals) *cobra.Command {
	var pf pullFlags
	cmd := &cobra.Command{
		Use:   "push [flags] IMAGE",
		Short: "Push an image to a registry",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.images()
			if err != nil {
				return err
			}
			return s.Push(cmd.Context(), args[0], pf.options(cmd))
		},
	}
	pf.add(cmd)
	return cmd
}

func newImagesCommand(g *globals) *cobra.Command {
	var format string
	var quiet bool
	cmd := &cobra.Command{
		Use:     "images [flags]",
		Aliases: []string{"image ls"},
		Short:   "List images",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := report.Parse(format, imagesSpec)
			if err != nil {
				return err
			}
			s, err := g.images()
			if err != nil {
				return err
			}
			imgs, err := s.List(cmd.Context())
			if err != nil {
				return err
			}
			if printQuiet(cmd, f, quiet, imgs, func(img *image.Image) string { return short(img.ID) }) {
				return nil
			}
			return render(cmd, f, imageItems(imgs), func() any {
				rows := make([]map[string]any, 0, len(imgs))
				for _, img := range imgs {
					rows = append(rows, map[string]any{
						"Id": img.ID, "Names": img.Names, "Digest": img.Digest, "Created": img.Created.Unix(),
						"CreatedAt": img.Created.Format(time.RFC3339), "Size": img.Size, "Labels": img.Config.Config.Labels,
					})
				}
				return rows
			})
		},
	}
	addFormatFlag(cmd, &format, "{{.Repository}}:{{.Tag}} {{.Size}}")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only image IDs")
	return cmd
}

func splitRepoTag(name string) (string, string) {
	if i := strings.LastIndex(name, "@"); i >= 0 {
		return name[:i], "<none>"
	}
	i := strings.LastIndex(name, ":")
	if i < 0 || strings.Contains(name[i:], "/") {
		return name, "<none>"
	}
	return name[:i], name[i+1:]
}

func newImageInspectCommand(g *globals) *cobra.Command {
	v := inspectVerb{use: "inspect IMAGE...", short: "Show an image's configuration", name: "image inspect", example: "{{.Id}} {{.Config.Env}}"}
	return inspectCommand(v, func() (lookupFunc[map[string]any], error) {
		s, err := g.images()
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, ref string) (map[string]any, error) {
			img, err := s.Get(ctx, ref)
			if err != nil {
				return nil, err
			}
			return map[string]any{
				"Id": img.ID, "Digest": img.Digest, "RepoTags": img.Names, "RepoDigests": repoDigests(img),
				"Created": img.Created, "Size": img.Size, "Architecture": img.Config.Architecture, "Os": img.Config.OS,
				"Config": img.Config.Config, "Labels": img.Config.Config.Labels,
				"RootFS": map[string]any{"Type": "layers", "Layers": img.Layers},
			}, nil
		}, nil
	})
}

func newLoadCommand(g *globals) *cobra.Command {
	var input string
	cmd := &cobra.Command{
		Use:   "load -i FILE",
		Short: "Load images from a docker-archive or oci-archive",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if input == "" {
				return fmt.Errorf("load: -i FILE is required")
			}
			s, err := g.images()
			if err != nil {
				return err
			}
			imgs, err := s.Load(cmd.Context(), input)
			if err != nil {
				return err
			}
			for _, img := range imgs {
				fmt.Fprintf(cmd.OutOrStdout(), "Loaded image: %s\n", firstOr(img.Names, img.ID))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&input, "input", "i", "", "archive to read")
	return cmd
}

func firstOr(names []string, def string) string {
	if len(names) > 0 {
		return strings.Join(names, ", ")
	}
	return def
}

func newSaveCommand(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "save -o FILE IMAGE",
		Short: "Save an image to an oci-archive",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output == "" {
				return fmt.Errorf("save: -o FILE is required")
			}
			s, err := g.images()
			if err != nil {
				return err
			}
			return s.Save(cmd.Context(), args[0], output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "archive to write")
	return cmd
}

func newImportCommand(g *globals) *cobra.Command {
	var changes []string
	cmd := &cobra.Command{
		Use:   "import [flags] TARBALL [REFERENCE]",
		Short: "Create an image from a root filesystem tarball",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.images()
			if err != nil {
				return err
			}
			ref := ""
			if len(args) == 2 {
				ref = args[1]
			}
			img, err := s.Import(cmd.Context(), args[0], ref, changes)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), img.ID)
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&changes, "change", "c", nil, "apply a Dockerfile instruction (ENV, CMD, ENTRYPOINT, WORKDIR, USER, EXPOSE, LABEL, VOLUME)")
	return cmd
}

func newTagCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "tag IMAGE TARGET...",
		Short: "Add names to an image",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.images()
			if err != nil {
				return err
			}
			for _, t := range args[1:] {
				if err := s.Tag(cmd.Context(), args[0], t); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func newRmiCommand(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "rmi [flags] IMAGE...",
		Short: "Remove images",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.images()
			if err != nil {
				return err
			}
			inUse, err := g.imagesInUse(cmd)
			if err != nil {
				return err
			}
			for _, ref := range args {
				img, err := s.Get(cmd.Context(), ref)
				if err != nil {
					return err
				}
				if users := inUse[img.ID]; len(users) > 0 && !force {
					return fmt.Errorf("image %s is in use by container %s: remove it first or use -f", ref, strings.Join(users, ", "))
				}
				if users := inUse[img.ID]; len(users) > 0 {
					if err := g.removeContainers(cmd, users); err != nil {
						return err
					}
				}
				rep, err := s.Remove(cmd.Context(), ref, image.RemoveOptions{Force: force})
				if err != nil {
					return err
				}
				for _, u := range rep.Untagged {
					fmt.Fprintf(cmd.OutOrStdout(), "Untagged: %s\n", u)
				}
				for _, d := range rep.Deleted {
					fmt.Fprintf(cmd.OutOrStdout(), "Deleted: %s\n", d)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "remove the containers using the image too")
	return cmd
}

// imagesInUse maps image IDs to the names of the containers using them.
func (g *globals) imagesInUse(cmd *cobra.Command) (map[string][]string, error) {
	m, err := g.manager()
	if err != nil {
		return nil, err
	}
	cs, err := m.List(cmd.Context())
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, c := range cs {
		out[c.ImageID] = append(out[c.ImageID], c.Name)
	}
	return out, nil
}

func (g *globals) removeContainers(cmd *cobra.Command, refs []string) error {
	m, err := g.manager()
	if err != nil {
		return err
	}
	for _, ref := range refs {
		if _, err := m.Remove(cmd.Context(), ref, pod.RemoveOptions{Force: true}); err != nil {
			return err
		}
	}
	return nil
}
