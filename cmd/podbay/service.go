//go:build !lean

package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/podbay/podbay/dockerapi"
	"github.com/podbay/podbay/engine/volume"
	"github.com/podbay/podbay/internal/version"
)

// defaultServiceTime is how long the service waits idle before it exits,
// as Podman's.
const defaultServiceTime = 5

func newServiceCommand(g *globals) *cobra.Command {
	var idle uint
	cmd := &cobra.Command{
		Use:   "service [flags] [URI]",
		Short: "Serve the Docker Engine API on a socket (unix:///run/podbay/podbay.sock by default)",
		Long: `Serve the Docker Engine API (version ` + dockerapi.APIVersion + ` and older) for the docker CLI, Compose and
other Docker clients: DOCKER_HOST=unix:///run/podbay/podbay.sock docker run ...

The service is one more podbay process over the same store: containers outlive it,
podbay commands see what Docker clients made. It exits after --time seconds without
a request (0: never). Under systemd socket activation it serves the socket it is given.
A unix socket is mode 0660 (0600 rootless); tcp://HOST:PORT listens without any
authentication, with a warning.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			uri := "unix://" + filepath.Join(g.runroot, "podbay.sock")
			if len(args) == 1 {
				uri = args[0]
			}
			s, err := g.dockerServer()
			if err != nil {
				return err
			}
			l, err := serviceListener(uri, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer l.Close()
			return s.Serve(cmd.Context(), l, time.Duration(idle)*time.Second)
		},
	}
	cmd.Flags().UintVarP(&idle, "time", "t", defaultServiceTime, "seconds without a request before the service exits (0: never)")
	return cmd
}

func (g *globals) dockerServer() (*dockerapi.Server, error) {
	m, err := g.manager()
	if err != nil {
		return nil, err
	}
	nets, err := g.networks()
	if err != nil {
		return nil, err
	}
	vols, err := volume.Open(g.root)
	if err != nil {
		return nil, err
	}
	imgs, err := g.images()
	if err != nil {
		return nil, err
	}
	return &dockerapi.Server{Manager: m, Images: imgs, Networks: nets, Volumes: vols, Log: g.log,
		DefaultNetwork: envOr("PODBAY_DEFAULT_NETWORK", "podbay"), Version: version.Version}, nil
}

// serviceListener is the socket systemd passed (LISTEN_FDS, LISTEN_PID),
// else a new one at uri: unix://PATH (mode 0660 as root, 0600 otherwise)
// or tcp://HOST:PORT (unauthenticated: a warning says so).
func serviceListener(uri string, stderr interface{ Write([]byte) (int, error) }) (net.Listener, error) {
	if l, ok, err := activatedListener(); ok || err != nil {
		return l, err
	}
	scheme, addr, ok := strings.Cut(uri, "://")
	if !ok {
		return nil, fmt.Errorf("service URI %q: want unix:///PATH or tcp://HOST:PORT", uri)
	}
	switch scheme {
	case "unix":
		return unixListener(addr)
	case "tcp":
		fmt.Fprintf(stderr, "WARNING: the Docker API on %s has no authentication: anyone who reaches it is root on this machine\n", addr)
		return net.Listen("tcp", addr)
	}
	return nil, fmt.Errorf("service URI %q: scheme %q: want unix or tcp", uri, scheme)
}

func unixListener(path string) (net.Listener, error) {
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("service socket %q: want an absolute path", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o711); err != nil {
		return nil, err
	}
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("service socket %s: another service answers there", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	mode := os.FileMode(0o600)
	if os.Geteuid() == 0 {
		mode = 0o660
	}
	if err := os.Chmod(path, mode); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// activatedListener takes the first socket systemd passed to this process.
func activatedListener() (net.Listener, bool, error) {
	pid, err := strconv.Atoi(os.Getenv("LISTEN_PID"))
	if err != nil || pid != os.Getpid() {
		return nil, false, nil
	}
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n < 1 {
		return nil, false, nil
	}
	for _, k := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
		os.Unsetenv(k)
	}
	f := os.NewFile(3, "systemd-socket")
	l, err := net.FileListener(f)
	f.Close()
	if err != nil {
		return nil, true, fmt.Errorf("the socket systemd passed (fd 3): %w", err)
	}
	return l, true, nil
}
