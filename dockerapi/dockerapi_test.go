package dockerapi

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podbay/podbay/engine/image"
	"github.com/podbay/podbay/engine/network"
	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/engine/volume"
	"github.com/podbay/podbay/pod"
	"github.com/podbay/podbay/podspec"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestMuxFrames: the multiplexed stream is 8-byte headers (stream id,
// big-endian length) before each write; a terminal's stream is raw.
func TestMuxFrames(t *testing.T) {
	var b bytes.Buffer
	out, errw := outputs(&b, false)
	fmt.Fprint(out, "hello\n")
	fmt.Fprint(errw, "oops")
	out.Write(nil)
	want := []struct {
		id   byte
		data string
	}{{streamStdout, "hello\n"}, {streamStderr, "oops"}}
	r := b.Bytes()
	for _, w := range want {
		if len(r) < 8 || r[0] != w.id || binary.BigEndian.Uint32(r[4:8]) != uint32(len(w.data)) || string(r[8:8+len(w.data)]) != w.data {
			t.Fatalf("frame %+v: got % x", w, r)
		}
		r = r[8+len(w.data):]
	}
	if len(r) != 0 {
		t.Errorf("%d bytes more than the frames", len(r))
	}
	b.Reset()
	out, errw = outputs(&b, true)
	fmt.Fprint(out, "a")
	fmt.Fprint(errw, "b")
	if b.String() != "ab" {
		t.Errorf("terminal stream %q, want raw ab", b.String())
	}
}

// TestFilters reads both shapes of ?filters= and matches labels, names,
// states.
func TestFilters(t *testing.T) {
	for _, raw := range []string{`{"label":["a=1","b"],"name":["we"]}`, `{"label":{"a=1":true,"b":true},"name":{"we":true}}`} {
		r := httptest.NewRequest(http.MethodGet, "/containers/json?filters="+raw, nil)
		f, err := parseFilters(r)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		c := &state.Container{ID: "abc", Name: "web", State: state.StateRunning, Labels: map[string]string{"a": "1", "b": ""}}
		v := &podspec.Pod{}
		if !f.containerMatch(c, v) {
			t.Errorf("%s: no match for %+v", raw, c)
		}
		c.Labels = map[string]string{"a": "2", "b": ""}
		if f.containerMatch(c, v) {
			t.Errorf("%s: a=2 matched a=1", raw)
		}
	}
	r := httptest.NewRequest(http.MethodGet, "/containers/json?filters=%7Bbad", nil)
	if _, err := parseFilters(r); statusOf(err) != http.StatusBadRequest {
		t.Errorf("bad filters: %v (status %d), want 400", err, statusOf(err))
	}
}

// TestStatusOf maps engine errors to Docker's status codes.
func TestStatusOf(t *testing.T) {
	for err, want := range map[error]int{
		fmt.Errorf("x: %w", state.ErrNotFound): 404, fmt.Errorf("x: %w", image.ErrNotFound): 404,
		fmt.Errorf("x: %w", volume.ErrNotFound): 404, fmt.Errorf("x: %w", network.ErrNotFound): 404,
		fmt.Errorf("x: %w", state.ErrNameInUse): 409, fmt.Errorf("x: %w", pod.ErrRunning): 409,
		fmt.Errorf("x: %w", network.ErrInUse): 409, badRequest("no"): 400, errors.New("other"): 500,
	} {
		if got := statusOf(err); got != want {
			t.Errorf("%v: status %d, want %d", err, got, want)
		}
	}
	rec := httptest.NewRecorder()
	writeError(rec, notFound("No such container: x"))
	var body map[string]string
	if rec.Code != 404 || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body["message"] != "No such container: x" {
		t.Errorf("error response %d %s", rec.Code, rec.Body.String())
	}
}

// TestRoutingBasics: _ping with Docker's headers, the version prefix
// dropped, an unknown path a JSON 404.
func TestRoutingBasics(t *testing.T) {
	s := &Server{Log: discardLog(), Version: "test"}
	h := s.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/_ping", nil))
	if rec.Code != 200 || rec.Header().Get("API-Version") != APIVersion || rec.Body.Len() != 0 {
		t.Errorf("HEAD /_ping: %d %v %q", rec.Code, rec.Header(), rec.Body.String())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1.41/version", nil))
	var v map[string]any
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &v) != nil || v["ApiVersion"] != APIVersion {
		t.Errorf("GET /v1.41/version: %d %s", rec.Code, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1.30/nothing", nil))
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), `"message"`) {
		t.Errorf("unknown path: %d %s", rec.Code, rec.Body.String())
	}
	if ref, action := split("127.0.0.1:5000/library/busybox:1/json", "json", "tag"); ref != "127.0.0.1:5000/library/busybox:1" || action != "json" {
		t.Errorf("split: %q %q", ref, action)
	}
}

// TestNames: images as Docker names them, loopback registries.
func TestNames(t *testing.T) {
	for in, want := range map[string]string{"docker.io/library/busybox:latest": "busybox:latest", "docker.io/u/x:1": "u/x:1",
		"127.0.0.1:5000/library/busybox:latest": "127.0.0.1:5000/library/busybox:latest"} {
		if got := familiar(in); got != want {
			t.Errorf("familiar(%q) = %q, want %q", in, got, want)
		}
	}
	for ref, want := range map[string]bool{"127.0.0.1:5000/x": true, "localhost:5000/x": true, "[::1]:5000/x": true,
		"quay.io/x": false, "busybox": false, "library/busybox": false, "10.1.1.1:5000/x": false} {
		if got := loopbackRegistry(ref); got != want {
			t.Errorf("loopbackRegistry(%q) = %v", ref, got)
		}
	}
}

// TestPullProgress turns the store's progress lines into Docker's messages.
func TestPullProgress(t *testing.T) {
	var b bytes.Buffer
	p := &pullProgress{enc: json.NewEncoder(&b)}
	fmt.Fprint(p, "Trying to pull 127.0.0.1:5000/busybox:latest...\nCopying blob 0123456789ab done\nCopying blob ba98")
	fmt.Fprint(p, "76543210 skipped\nWriting manifest")
	p.flush()
	want := `{"status":"Pulling from 127.0.0.1:5000/busybox:latest"}
{"id":"0123456789ab","progressDetail":{},"status":"Pull complete"}
{"id":"ba9876543210","progressDetail":{},"status":"Already exists"}
{"status":"Writing manifest"}
`
	if b.String() != want {
		t.Errorf("messages:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestContainerChanges: listings compared make Docker's container events.
func TestContainerChanges(t *testing.T) {
	t0 := time.Unix(100, 0)
	before := map[string]*state.Container{
		"a": {ID: "a", Name: "a", State: state.StateRunning, StartedAt: t0},
		"b": {ID: "b", Name: "b", State: state.StateRunning, StartedAt: t0},
		"c": {ID: "c", Name: "c", State: state.StateExited},
	}
	after := map[string]*state.Container{
		"a": {ID: "a", Name: "a", State: state.StateExited, ExitCode: 2},
		"b": {ID: "b", Name: "b", State: state.StateRunning, StartedAt: t0.Add(time.Second)},
		"d": {ID: "d", Name: "d", State: state.StateRunning},
	}
	got := map[string]bool{}
	for _, ev := range containerChanges(before, after) {
		got[ev.Actor.ID+" "+ev.Action] = true
		if ev.Action == "die" && ev.Actor.ID == "a" && ev.Actor.Attributes["exitCode"] != "2" {
			t.Errorf("die of a: exit code %q", ev.Actor.Attributes["exitCode"])
		}
	}
	for _, want := range []string{"a die", "b die", "b start", "c destroy", "d create", "d start"} {
		if !got[want] {
			t.Errorf("no event %q in %v", want, got)
		}
	}
	if len(got) != 6 {
		t.Errorf("events %v, want 6", got)
	}
}

// TestInspectGolden: a container made from a Docker create body (on a user
// network, a published port, a named volume, a bind mount, a healthcheck)
// inspects and lists as Docker shows it (testdata/inspect.json,
// testdata/summary.json; go test ./dockerapi -update rewrites them).
func TestInspectGolden(t *testing.T) {
	spec, err := podspec.FromDocker("web", podspec.DockerCreate{Image: "busybox", Cmd: []string{"httpd", "-f"}, Env: []string{"A=1"},
		ExposedPorts: map[string]struct{}{"80/tcp": {}}, Labels: map[string]string{"app": "web"}, Tty: true, OpenStdin: true,
		HostConfig: podspec.DockerHostConfig{NetworkMode: "appnet", Binds: []string{"data:/data", "/srv:/srv:ro"},
			PortBindings:  map[string][]podspec.DockerPortBinding{"80/tcp": {{HostIp: "127.0.0.1", HostPort: "8080"}}},
			RestartPolicy: podspec.DockerRestartPolicy{Name: "always"}, Memory: 64 << 20, NanoCpus: 5e8},
		NetworkingConfig: podspec.DockerNetworkingConfig{EndpointsConfig: map[string]*podspec.DockerEndpoint{"appnet": {Aliases: []string{"www"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	view, _ := spec.View("web")
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := &state.Container{ID: strings.Repeat("ab", 32), Name: "web", Image: "docker.io/library/busybox:latest", ImageID: "cafe",
		Command: []string{"httpd", "-f"}, Created: t0, PodID: "pod1", State: state.StateRunning, Pid: 42, StartedAt: t0.Add(time.Second),
		Labels: map[string]string{"app": "web"}, LogPath: "/var/lib/podbay/containers/x/ctr.log", StopSignal: "SIGTERM"}
	n := netInfo{Name: "appnet", ID: networkID("appnet"), IP: "10.1.2.3", PrefixLen: 24, Gateway: "10.1.2.1", MAC: "02:00:00:00:00:01"}
	for name, v := range map[string]any{
		"inspect.json": inspectOf(c, &view, n, "healthy", "/var/lib/podbay/volumes"),
		"summary.json": summaryOf(c, &view, n, "/var/lib/podbay/volumes", t0.Add(time.Minute)),
	} {
		got, _ := json.MarshalIndent(v, "", "  ")
		got = append(got, '\n')
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test ./dockerapi -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs (go test ./dockerapi -update to accept):\n%s", path, got)
		}
	}
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestExecsForget: a removed container's exec instances go, others stay.
func TestExecsForget(t *testing.T) {
	var e execs
	e.put(&execSession{ID: "x1", ContainerID: "c1"})
	e.put(&execSession{ID: "x2", ContainerID: "c2"})
	e.forget("c1")
	if _, ok := e.get("x1"); ok {
		t.Error("x1 of the removed c1 is still there")
	}
	if _, ok := e.get("x2"); !ok {
		t.Error("x2 of c2 went with c1")
	}
}
