package dockerapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/podbay/podbay/engine/image"
	"github.com/podbay/podbay/engine/network"
	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/engine/volume"
	"github.com/podbay/podbay/pod"
)

// APIVersion is the Docker Engine API version served; clients that ask
// for an older one (Compose v1 does) are answered too.
const (
	APIVersion    = "1.41"
	MinAPIVersion = "1.24"
	// EngineVersion is the Docker release that introduced APIVersion, for
	// clients that read the server's version as Docker's.
	EngineVersion = "20.10.24"
)

// Server answers the Docker Engine API over the engine's parts. It keeps
// no state of its own beyond exec sessions and event subscribers: every
// container, image, network and volume lives in the stores, so containers
// outlive the server and podbay commands see what Docker clients made.
type Server struct {
	Manager  *pod.Manager
	Images   *image.Store
	Networks *network.Manager
	Volumes  *volume.Store
	// DefaultNetwork is podbay's default network, which Docker clients see
	// as "bridge".
	DefaultNetwork string
	// Version is podbay's version, reported beside the API's.
	Version string
	Log     *slog.Logger

	events  events
	execs   execs
	busy    atomic.Int64 // requests and background work in flight
	last    atomic.Int64 // unix nanoseconds of the last request's end
	attachM sync.Mutex
	attachN map[string]int // attach streams per container id (auto-removal waits for them)
	// removedExits are the exit codes of the containers this server
	// auto-removed (--rm), by id, for a while: a wait for their removal
	// may not have seen them exit.
	removedExits sync.Map
}

// Handler returns the API's HTTP handler.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.busy.Add(1)
		t0 := time.Now()
		defer func() {
			s.last.Store(time.Now().UnixNano())
			s.busy.Add(-1)
			s.Log.Debug("request", "method", r.Method, "path", r.URL.Path, "took", time.Since(t0))
		}()
		path := versionPrefix.ReplaceAllString(r.URL.Path, "")
		if err := s.route(w, r, path); err != nil {
			writeError(w, err)
		}
	})
}

// background counts work that must keep an idle server alive (an
// auto-removal waiting for its container's exit); call the result when done.
func (s *Server) background() func() {
	s.busy.Add(1)
	return func() {
		s.last.Store(time.Now().UnixNano())
		s.busy.Add(-1)
	}
}

var versionPrefix = regexp.MustCompile(`^/v[0-9]+\.[0-9]+`)

// Serve answers on l until ctx ends or, with idle > 0, until no request
// has been in flight for idle.
func (s *Server) Serve(ctx context.Context, l net.Listener, idle time.Duration) error {
	s.last.Store(time.Now().UnixNano())
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 30 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			return s.shutdown(srv, done)
		case <-tick.C:
			if idle > 0 && s.busy.Load() == 0 && time.Since(time.Unix(0, s.last.Load())) >= idle {
				s.Log.Info("idle: exiting", "after", idle)
				return s.shutdown(srv, done)
			}
		}
	}
}

func (s *Server) shutdown(srv *http.Server, done chan error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := srv.Shutdown(ctx)
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// route dispatches a request by method and path (version prefix removed).
// Image names hold slashes, so paths are matched by hand.
func (s *Server) route(w http.ResponseWriter, r *http.Request, path string) error {
	switch {
	case path == "/_ping":
		return s.ping(w, r)
	case path == "/version":
		return s.version(w, r)
	case path == "/info":
		return s.info(w, r)
	case path == "/events":
		return s.streamEvents(w, r)
	case strings.HasPrefix(path, "/containers/"):
		return s.routeContainers(w, r, strings.TrimPrefix(path, "/containers/"))
	case strings.HasPrefix(path, "/exec/"):
		return s.routeExec(w, r, strings.TrimPrefix(path, "/exec/"))
	case strings.HasPrefix(path, "/images/"):
		return s.routeImages(w, r, strings.TrimPrefix(path, "/images/"))
	case path == "/networks" || strings.HasPrefix(path, "/networks/"):
		return s.routeNetworks(w, r, strings.TrimPrefix(strings.TrimPrefix(path, "/networks"), "/"))
	case path == "/volumes" || strings.HasPrefix(path, "/volumes/"):
		return s.routeVolumes(w, r, strings.TrimPrefix(strings.TrimPrefix(path, "/volumes"), "/"))
	}
	return notFound("page not found: %s %s", r.Method, path)
}

// split cuts "REF/ACTION" at its last slash; a bare REF has no action.
// Image names hold slashes, so the action is known by the caller's list.
func split(rest string, actions ...string) (ref, action string) {
	for _, a := range actions {
		if strings.HasSuffix(rest, "/"+a) {
			return strings.TrimSuffix(rest, "/"+a), a
		}
	}
	return rest, ""
}

// apiError is an error with Docker's status code.
type apiError struct {
	code int
	err  error
}

func (e *apiError) Error() string { return e.err.Error() }
func (e *apiError) Unwrap() error { return e.err }

func withCode(code int, format string, args ...any) error {
	return &apiError{code: code, err: fmt.Errorf(format, args...)}
}

func notFound(format string, args ...any) error {
	return withCode(http.StatusNotFound, format, args...)
}
func badRequest(format string, args ...any) error {
	return withCode(http.StatusBadRequest, format, args...)
}
func conflict(format string, args ...any) error {
	return withCode(http.StatusConflict, format, args...)
}

// statusOf maps an engine error to Docker's status code.
func statusOf(err error) int {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae.code
	case errors.Is(err, state.ErrNotFound), errors.Is(err, image.ErrNotFound), errors.Is(err, volume.ErrNotFound),
		errors.Is(err, network.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, state.ErrNameInUse), errors.Is(err, pod.ErrRunning), errors.Is(err, pod.ErrPodRunning),
		errors.Is(err, volume.ErrExists), errors.Is(err, network.ErrExists), errors.Is(err, network.ErrInUse),
		errors.Is(err, pod.ErrNotRunning), errors.Is(err, state.ErrAmbiguous):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// writeError answers in Docker's error shape: {"message": "..."}.
func writeError(w http.ResponseWriter, err error) {
	writeJSON(w, statusOf(err), map[string]string{"message": err.Error()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// readJSON decodes a request body; an empty body leaves v as it is.
func readJSON(r *http.Request, v any) error {
	if r.Body == nil {
		return nil
	}
	err := json.NewDecoder(r.Body).Decode(v)
	if err != nil && !errors.Is(err, io.EOF) {
		return badRequest("reading the request body: %v", err)
	}
	return nil
}

// boolParam reads a query flag as Docker does: 1, true, True.
func boolParam(r *http.Request, name string) bool {
	switch strings.ToLower(r.URL.Query().Get(name)) {
	case "1", "true", "yes":
		return true
	}
	return false
}

func methodNotAllowed(r *http.Request) error {
	return withCode(http.StatusMethodNotAllowed, "method %s not allowed on %s", r.Method, r.URL.Path)
}
