// Command podbay-quadlet is a systemd generator: it reads Quadlet files
// (.kube, .container, .pod, .network, .volume) and writes the services that run them with
// podbay. Installed as podbay-system-generator and podbay-user-generator
// (the name says which manager it serves), as Podman's quadlet is.
package main

import (
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/podbay/podbay/internal/version"
	"github.com/podbay/podbay/quadlet"
)

func main() {
	os.Exit(run(os.Args, os.Getenv, os.Stdout, os.Stderr))
}

// config is one run's settings, from the command line and environment.
type config struct {
	dryRun, user, verbose bool
	outDir                string
	dirs                  []string
	usersDir              string // skipped by the system manager
	binary                string
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parseArgs(args, getenv, stderr)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		fmt.Fprintln(stderr, "podbay-quadlet:", err)
		return 2
	}
	if cfg == nil {
		fmt.Fprintln(stdout, "podbay-quadlet", version.Version)
		return 0
	}
	srcs, errs := readSources(cfg, stderr)
	res := quadlet.Generate(srcs, quadlet.Options{Binary: cfg.binary, User: cfg.user})
	for _, w := range res.Warnings {
		fmt.Fprintln(stderr, "podbay-quadlet: warning:", w)
	}
	errs = append(errs, res.Errors...)
	for _, u := range res.Units {
		if err := emit(cfg, &u, stdout); err != nil {
			errs = append(errs, err)
		} else if cfg.verbose {
			fmt.Fprintf(stderr, "podbay-quadlet: %s from %s\n", u.Name, u.Source)
		}
	}
	for _, e := range errs {
		fmt.Fprintln(stderr, "podbay-quadlet:", e)
	}
	if len(errs) > 0 {
		return 1
	}
	return 0
}

// parseArgs reads the flags Quadlet takes and the output directories a
// generator is given (normal, early, late: the units go into normal).
// A nil config without error asks for the version.
func parseArgs(args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	fl := flag.NewFlagSet("podbay-quadlet", flag.ContinueOnError)
	fl.SetOutput(stderr)
	cfg := &config{usersDir: quadlet.UsersDir}
	fl.BoolVar(&cfg.dryRun, "dryrun", false, "print the units instead of writing them")
	fl.BoolVar(&cfg.user, "user", false, "generate for a user's service manager")
	fl.BoolVar(&cfg.verbose, "v", false, "say what is read and written")
	fl.Bool("no-kmsg-log", false, "accepted for Quadlet's sake: podbay-quadlet logs to stderr only")
	showVersion := fl.Bool("version", false, "print the version")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: podbay-quadlet [-dryrun] [-user] [-v] [NORMAL_DIR [EARLY_DIR LATE_DIR]]")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args[1:]); err != nil {
		return nil, err
	}
	if *showVersion {
		return nil, nil
	}
	if strings.Contains(filepath.Base(args[0]), "user") {
		cfg.user = true
	}
	switch n := fl.NArg(); {
	case cfg.dryRun:
	case n == 1 || n == 3:
		cfg.outDir = fl.Arg(0)
	default:
		return nil, fmt.Errorf("want the output directories (1 or 3), got %d: %v", n, fl.Args())
	}
	var err error
	if cfg.dirs, err = searchDirs(cfg.user, getenv); err != nil {
		return nil, err
	}
	if cfg.binary, err = podbayBinary(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// searchDirs are $QUADLET_UNIT_DIRS (colon-separated) when set, else the
// system's or the user's directories.
func searchDirs(user bool, getenv func(string) string) ([]string, error) {
	if v := getenv("QUADLET_UNIT_DIRS"); v != "" {
		return filepath.SplitList(v), nil
	}
	if !user {
		return quadlet.SystemDirs, nil
	}
	configHome := getenv("XDG_CONFIG_HOME")
	if configHome == "" {
		home := getenv("HOME")
		if home == "" {
			return nil, fmt.Errorf("neither XDG_CONFIG_HOME nor HOME is set: cannot find the user's Quadlet files")
		}
		configHome = filepath.Join(home, ".config")
	}
	return quadlet.UserDirs(configHome, os.Getuid()), nil
}

// podbayBinary is podbay beside this binary (symbolic links resolved: the
// generators are links to it), as podbay finds podbay-kube and
// podbay-monitor.
func podbayBinary() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(exe), "podbay"), nil
}

// readSources reads the Quadlet files of dirs, first directory first; a
// name seen already is hidden. Missing directories are skipped; the
// system manager skips the users' directory.
func readSources(cfg *config, stderr io.Writer) ([]quadlet.Source, []error) {
	seen := map[string]bool{}
	var srcs []quadlet.Source
	var errs []error
	for _, dir := range cfg.dirs {
		onlyTop := cfg.user && filepath.Clean(dir) == cfg.usersDir
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			switch {
			case err != nil:
				if p == dir && os.IsNotExist(err) {
					return fs.SkipDir
				}
				return err
			case d.IsDir() && p != dir && (onlyTop || (!cfg.user && p == cfg.usersDir)):
				return fs.SkipDir
			case d.IsDir() || !quadlet.Supported(d.Name()):
				return nil
			case seen[d.Name()]:
				if cfg.verbose {
					fmt.Fprintf(stderr, "podbay-quadlet: %s is hidden by an earlier %s\n", p, d.Name())
				}
				return nil
			}
			seen[d.Name()] = true
			data, err := os.ReadFile(p)
			if err != nil {
				errs = append(errs, err)
				return nil
			}
			abs, err := filepath.Abs(p)
			if err != nil {
				return err
			}
			srcs = append(srcs, quadlet.Source{Path: abs, Data: data})
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("reading %s: %w", dir, err))
		}
	}
	return srcs, errs
}

// emit prints a unit (-dryrun, as Quadlet prints them) or writes it and
// its [Install] links into the output directory.
func emit(cfg *config, u *quadlet.Unit, stdout io.Writer) error {
	if cfg.dryRun {
		fmt.Fprintf(stdout, "---%s---\n%s\n", u.Name, u.Text())
		return nil
	}
	if err := os.WriteFile(filepath.Join(cfg.outDir, u.Name), u.Text(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", u.Name, err)
	}
	for _, l := range u.Links() {
		dir := filepath.Join(cfg.outDir, l.Dir)
		target := u.Name
		if l.Dir != "" {
			target = "../" + u.Name
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("linking %s: %w", u.Name, err)
		}
		link := filepath.Join(dir, l.Name)
		if err := os.Remove(link); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("linking %s: %w", u.Name, err)
		}
		if err := os.Symlink(target, link); err != nil {
			return fmt.Errorf("linking %s: %w", u.Name, err)
		}
	}
	return nil
}
