package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/podbay/podbay/engine/secret"
	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/internal/report"
)

func newSecretCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "secret", Short: "Manage secrets (kube play finds them as Secrets)"}
	cmd.AddCommand(newSecretCreateCommand(g), newSecretLsCommand(g), newSecretInspectCommand(g),
		newSecretRmCommand(g), newSecretExistsCommand(g))
	return cmd
}

func (g *globals) secrets() (secret.Store, error) {
	st, err := state.Open(g.root)
	return secret.Store{State: st}, err
}

func newSecretCreateCommand(g *globals) *cobra.Command {
	var labels []string
	var replace bool
	cmd := &cobra.Command{
		Use:   "create [flags] NAME FILE|-",
		Short: "Create a secret from a file or stdin",
		Long: `Create a secret from a file or stdin (-). kube play finds it when a manifest
references a Secret that its files do not define: if the data is a Kubernetes Secret
(YAML or JSON), its keys are the Secret's keys; otherwise the data is the one key NAME.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readSecretData(cmd.InOrStdin(), args[1])
			if err != nil {
				return err
			}
			s, err := g.secrets()
			if err != nil {
				return err
			}
			sec, err := s.Create(cmd.Context(), secret.CreateOptions{Name: args[0], Data: data, Labels: parseLabels(labels), Replace: replace})
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), sec.ID)
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&labels, "label", "l", nil, "set a label K=V")
	cmd.Flags().BoolVar(&replace, "replace", false, "replace a secret of the same name")
	return cmd
}

// readSecretData reads at most secret.MaxSize+1 bytes, so that an
// oversized input is refused without reading it all.
func readSecretData(stdin io.Reader, path string) ([]byte, error) {
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, secret.MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return data, nil
}

// secretView is a secret as Podman's secret ls shows it.
type secretView struct {
	ID        string
	Name      string
	Driver    string
	CreatedAt time.Time
	UpdatedAt time.Time
	Labels    map[string]string
}

// Created and Updated are the table's columns, as Podman prints them.
func (s secretView) Created() string { return humanDuration(s.CreatedAt) }
func (s secretView) Updated() string { return humanDuration(s.UpdatedAt) }

var secretLsSpec = report.Spec{
	Name:    "secret ls",
	Default: "{{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Created}}\t{{.Updated}}",
	Item:    secretView{},
}

func newSecretLsCommand(g *globals) *cobra.Command {
	var format string
	var quiet bool
	cmd := &cobra.Command{
		Use:     "ls [flags]",
		Aliases: []string{"list"},
		Short:   "List secrets",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := report.Parse(format, secretLsSpec)
			if err != nil {
				return err
			}
			s, err := g.secrets()
			if err != nil {
				return err
			}
			list, err := s.List(cmd.Context())
			if err != nil {
				return err
			}
			if printQuiet(cmd, f, quiet, list, func(s *secret.Secret) string { return s.ID }) {
				return nil
			}
			views := make([]secretView, 0, len(list))
			for _, sec := range list {
				views = append(views, secretView{ID: short(sec.ID), Name: sec.Name, Driver: sec.Driver,
					CreatedAt: sec.CreatedAt, UpdatedAt: sec.UpdatedAt, Labels: orEmpty(sec.Labels)})
			}
			return render(cmd, f, views, func() any { return list })
		},
	}
	addFormatFlag(cmd, &format, "{{.Name}}")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only secret IDs")
	return cmd
}

func newSecretInspectCommand(g *globals) *cobra.Command {
	var show bool
	cmd := &cobra.Command{
		Use:   "inspect [flags] SECRET...",
		Short: "Show secrets as JSON (their data only with --showsecret)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.secrets()
			if err != nil {
				return err
			}
			var out []*secret.Secret
			for _, ref := range args {
				sec, err := s.Get(cmd.Context(), ref)
				if err != nil {
					return err
				}
				if !show {
					sec.Data = nil
				}
				out = append(out, sec)
			}
			return writeJSON(cmd.OutOrStdout(), out)
		},
	}
	cmd.Flags().BoolVar(&show, "showsecret", false, "include the secret's data")
	return cmd
}

func newSecretRmCommand(g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "rm [flags] SECRET...",
		Short: "Remove secrets",
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.secrets()
			if err != nil {
				return err
			}
			if all {
				list, err := s.List(cmd.Context())
				if err != nil {
					return err
				}
				for _, sec := range list {
					args = append(args, sec.Name)
				}
			} else if len(args) == 0 {
				return errors.New("name a secret, or use --all")
			}
			var errs []error
			for _, ref := range args {
				sec, err := s.Remove(cmd.Context(), ref)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintln(cmd.OutOrStdout(), sec.ID)
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "remove every secret")
	return cmd
}

func newSecretExistsCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "exists SECRET",
		Short: "Exit 0 if the secret exists, 1 if not",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.secrets()
			if err != nil {
				return err
			}
			if _, err := s.Get(cmd.Context(), args[0]); errors.Is(err, secret.ErrNotFound) {
				return &exitError{code: 1}
			} else if err != nil {
				return err
			}
			return nil
		},
	}
}
