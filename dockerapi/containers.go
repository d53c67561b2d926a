package dockerapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podbay/podbay/engine/image"
	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/pod"
	"github.com/podbay/podbay/podspec"
)

func (s *Server) routeContainers(w http.ResponseWriter, r *http.Request, rest string) error {
	switch {
	case rest == "json" && r.Method == http.MethodGet:
		return s.listContainers(w, r)
	case rest == "create" && r.Method == http.MethodPost:
		return s.createContainer(w, r)
	case rest == "prune" && r.Method == http.MethodPost:
		return s.pruneContainers(w, r)
	}
	ref, action, _ := strings.Cut(rest, "/")
	c, err := s.lookup(r.Context(), ref)
	if err != nil {
		return err
	}
	switch r.Method + " " + action {
	case "GET json":
		return s.inspectContainer(w, r, c)
	case "DELETE ":
		return s.removeContainer(w, r, c)
	case "POST start":
		return s.startContainer(w, r, c)
	case "POST stop":
		return s.stopContainer(w, r, c)
	case "POST kill":
		return s.killContainer(w, r, c)
	case "POST restart":
		return s.restartContainer(w, r, c)
	case "POST wait":
		return s.waitContainer(w, r, c)
	case "POST attach":
		return s.attach(w, r, c)
	case "POST resize":
		return s.resize(w, r, c)
	case "GET logs":
		return s.logs(w, r, c)
	case "GET stats":
		return s.stats(w, r, c)
	case "POST exec":
		return s.createExec(w, r, c)
	}
	return notFound("page not found: %s /containers/%s", r.Method, rest)
}

// lookup finds a container a Docker client may see: by ID, ID prefix or
// name (with or without Docker's leading slash); pods' infra containers
// are not containers to Docker.
func (s *Server) lookup(ctx context.Context, ref string) (*state.Container, error) {
	c, err := s.Manager.Lookup(ctx, strings.TrimPrefix(ref, "/"))
	if errors.Is(err, state.ErrNotFound) || err == nil && c.Infra {
		return nil, notFound("No such container: %s", ref)
	}
	return c, err
}

// visible lists the containers Docker clients see: no infra containers.
func (s *Server) visible(ctx context.Context) ([]*state.Container, error) {
	cs, err := s.Manager.List(ctx)
	if err != nil {
		return nil, err
	}
	out := cs[:0]
	for _, c := range cs {
		if !c.Infra {
			out = append(out, c)
		}
	}
	return out, nil
}

// ownPod tells whether a translated container runs in a pod of its own:
// on a CNI network (Docker's bridge and user networks: CNI networks are for
// pods, and the pods' hosts files resolve names) or with an init (the
// pod's infra reaps orphans).
func ownPod(spec *podspec.Pod) bool {
	return spec.Network.Mode == podspec.NetworkBridge || spec.ShareProcessNamespace
}

// dockerPod tells whether c is the container of a pod of one made through
// the Docker API: its pod goes with it (stop, remove).
func dockerPod(c *state.Container) bool {
	if c.PodID == "" {
		return false
	}
	v := pod.ViewOf(c)
	return v.Annotations[podspec.DockerAnnotation] == "container"
}

func (s *Server) createContainer(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	name := strings.TrimPrefix(r.URL.Query().Get("name"), "/")
	var body podspec.DockerCreate
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if name == "" {
		name = pod.RandomName()
	}
	if err := pod.CheckName(name); err != nil {
		return badRequest("%v", err)
	}
	spec, err := podspec.FromDocker(name, body)
	if err != nil {
		return badRequest("%v", err)
	}
	// Docker's create does not pull: the client pulls on a 404 and retries.
	if _, err := s.Images.Get(ctx, body.Image); errors.Is(err, image.ErrNotFound) {
		return notFound("No such image: %s", body.Image)
	} else if err != nil {
		return err
	}
	if err := pickHostPorts(&spec); err != nil {
		return err
	}
	if err := s.checkNetwork(ctx, &spec); err != nil {
		return err
	}
	o := pod.CreateOptions{Spec: spec, Labels: body.Labels, AutoRemove: body.HostConfig.AutoRemove}
	var c *state.Container
	if ownPod(&spec) {
		c, err = s.createInOwnPod(ctx, spec, o)
	} else {
		c, err = s.Manager.Create(ctx, o)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"Id": c.ID, "Warnings": []string{}})
	return nil
}

// checkNetwork maps the network a create names: Docker's "bridge" is the
// default network; a missing one is a 404.
func (s *Server) checkNetwork(ctx context.Context, spec *podspec.Pod) error {
	if spec.Network.Mode != podspec.NetworkBridge || len(spec.Network.Networks) == 0 {
		return nil
	}
	n, err := s.findNetwork(ctx, spec.Network.Networks[0])
	if err != nil {
		return err
	}
	if n.Default {
		spec.Network.Networks = nil
	} else {
		spec.Network.Networks[0] = n.Name
	}
	return nil
}

// createInOwnPod records the container's pod of one (the pod takes the
// container's name), then the container in it; nothing runs yet.
func (s *Server) createInOwnPod(ctx context.Context, spec podspec.Pod, o pod.CreateOptions) (*state.Container, error) {
	p, err := s.Manager.CreatePod(ctx, spec)
	if err != nil {
		return nil, err
	}
	o.Spec, _ = spec.View(spec.Containers[0].Name)
	o.Pod = p.ID
	c, err := s.Manager.Create(ctx, o)
	if err != nil {
		_, rmErr := s.Manager.RemovePod(context.WithoutCancel(ctx), p.ID, pod.RemovePodOptions{Force: true})
		return nil, errors.Join(err, rmErr)
	}
	return c, nil
}

// pickHostPorts gives a published port without a host port (Docker's
// -p 80, -P) a free one, as Docker's daemon does.
func pickHostPorts(spec *podspec.Pod) error {
	for i := range spec.Network.Ports {
		p := &spec.Network.Ports[i]
		if p.HostPort != 0 {
			continue
		}
		port, err := freePort(p.Protocol, p.HostIP)
		if err != nil {
			return fmt.Errorf("choosing a host port for %d/%s: %w", p.ContainerPort, p.Protocol, err)
		}
		p.HostPort = port
	}
	return nil
}

func freePort(proto, ip string) (uint16, error) {
	addr := net.JoinHostPort(ip, "0")
	if strings.EqualFold(proto, "UDP") {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return uint16(c.LocalAddr().(*net.UDPAddr).Port), nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port), nil
}

func (s *Server) startContainer(w http.ResponseWriter, r *http.Request, c *state.Container) error {
	if c.State == state.StateRunning {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	started, err := s.Manager.Start(r.Context(), c.ID)
	if err != nil {
		return err
	}
	if started.AutoRemove {
		done := s.background()
		go func() {
			defer done()
			s.autoRemove(started.ID)
		}()
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// autoRemove removes a --rm container once it has exited and its attached
// clients have read its output.
func (s *Server) autoRemove(id string) {
	ctx := context.Background()
	if _, err := s.awaitCondition(ctx, id, "not-running"); err != nil {
		return
	}
	c, err := s.Manager.Lookup(ctx, id)
	if err != nil {
		return
	}
	s.awaitAttached(id, time.Minute)
	s.removedExits.Store(id, c.ExitCode) // for waits that see it gone (condition=removed)
	time.AfterFunc(time.Minute, func() { s.removedExits.Delete(id) })
	if err := s.remove(ctx, c, true); err != nil && !errors.Is(err, state.ErrNotFound) {
		s.Log.Warn("removing an auto-remove container", "id", id, "err", err)
		return
	}
}

// remove removes c, and its pod of one with it, and forgets its execs.
func (s *Server) remove(ctx context.Context, c *state.Container, force bool) error {
	defer s.execs.forget(c.ID)
	if dockerPod(c) {
		_, err := s.Manager.RemovePod(ctx, c.PodID, pod.RemovePodOptions{Force: force})
		return err
	}
	_, err := s.Manager.Remove(ctx, c.ID, pod.RemoveOptions{Force: force})
	return err
}

// stopTimeout reads ?t= (seconds; 0 kills at once), else the container's own.
func stopTimeout(r *http.Request) (time.Duration, error) {
	t := r.URL.Query().Get("t")
	if t == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(t)
	if err != nil {
		return 0, badRequest("t %q: want a number of seconds", t)
	}
	if n <= 0 {
		return time.Millisecond, nil
	}
	return time.Duration(n) * time.Second, nil
}

func (s *Server) stop(ctx context.Context, c *state.Container, timeout time.Duration) error {
	if dockerPod(c) {
		_, err := s.Manager.StopPod(ctx, c.PodID, pod.StopOptions{Timeout: timeout})
		return err
	}
	_, err := s.Manager.Stop(ctx, c.ID, pod.StopOptions{Timeout: timeout})
	return err
}

func (s *Server) stopContainer(w http.ResponseWriter, r *http.Request, c *state.Container) error {
	timeout, err := stopTimeout(r)
	if err != nil {
		return err
	}
	if c.State != state.StateRunning {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	if err := s.stop(r.Context(), c, timeout); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) restartContainer(w http.ResponseWriter, r *http.Request, c *state.Container) error {
	timeout, err := stopTimeout(r)
	if err != nil {
		return err
	}
	if c.State == state.StateRunning {
		if err := s.stop(r.Context(), c, timeout); err != nil {
			return err
		}
	}
	if _, err := s.Manager.Start(r.Context(), c.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// parseSignal reads KILL, SIGKILL or 9.
func parseSignal(s string) (syscall.Signal, error) {
	if s == "" {
		return syscall.SIGKILL, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n), nil
	}
	if sig := unix.SignalNum("SIG" + strings.TrimPrefix(strings.ToUpper(s), "SIG")); sig != 0 {
		return sig, nil
	}
	return 0, badRequest("signal %q: unknown", s)
}

func (s *Server) killContainer(w http.ResponseWriter, r *http.Request, c *state.Container) error {
	sig, err := parseSignal(r.URL.Query().Get("signal"))
	if err != nil {
		return err
	}
	if c.State != state.StateRunning {
		return conflict("Container %s is not running", c.Name)
	}
	if _, err := s.Manager.Kill(r.Context(), c.ID, sig); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) removeContainer(w http.ResponseWriter, r *http.Request, c *state.Container) error {
	force := boolParam(r, "force")
	if c.State == state.StateRunning && !force {
		return conflict("You cannot remove a running container %s. Stop the container before attempting removal or force remove", c.ID)
	}
	if err := s.remove(r.Context(), c, force); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// waitContainer answers POST /containers/{id}/wait: the header at once
// (clients wait for it before they start the container), the exit code
// once the condition holds: not-running (default), next-exit (the
// container has run and stopped: created does not count) or removed.
func (s *Server) waitContainer(w http.ResponseWriter, r *http.Request, c *state.Container) error {
	cond := r.URL.Query().Get("condition")
	switch cond {
	case "", "not-running", "next-exit", "removed":
	default:
		return badRequest("condition %q: want not-running, next-exit or removed", cond)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	ctx := r.Context()
	code, err := s.awaitCondition(ctx, c.ID, cond)
	res := map[string]any{"StatusCode": code, "Error": nil}
	if err != nil {
		res["StatusCode"], res["Error"] = -1, map[string]string{"Message": err.Error()}
	}
	writeJSONBody(w, res)
	return nil
}

// waitPoll bounds how often a wait looks at the state store: it starts
// at waitPollMin (a short run ends at once) and doubles up to waitPollMax
// (a long one costs little).
const (
	waitPollMin = 10 * time.Millisecond
	waitPollMax = 250 * time.Millisecond
)

func (s *Server) awaitCondition(ctx context.Context, id, cond string) (int, error) {
	poll := waitPollMin
	code := 0
	for {
		c, err := s.Manager.Lookup(ctx, id)
		switch {
		case errors.Is(err, state.ErrNotFound): // removed
			if exit, ok := s.removedExits.Load(id); ok {
				return exit.(int), nil
			}
			return code, nil
		case err != nil:
			return -1, err
		}
		code = c.ExitCode
		switch c.State {
		case state.StateRunning:
		case state.StateCreated, pod.StateCreating:
			if cond == "" || cond == "not-running" {
				return code, nil
			}
		default:
			if cond != "removed" {
				return code, nil
			}
		}
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-time.After(poll):
		}
		poll = min(2*poll, waitPollMax)
	}
}

func (s *Server) inspectContainer(w http.ResponseWriter, r *http.Request, c *state.Container) error {
	v := pod.ViewOf(c)
	n, err := s.netInfo(r.Context(), c, &v)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, inspectOf(c, &v, n, s.health(c, &v), s.volumeDir()))
	return nil
}
