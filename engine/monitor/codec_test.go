package monitor

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestConfigRoundTrip(t *testing.T) {
	cfg := &Config{ID: "p1", Runtime: "/usr/sbin/runc", RuntimeRoot: "/run/r", Dir: "/run/m", BackoffBase: time.Millisecond, BackoffMax: time.Second, Containers: []Container{
		{ID: "a", Bundle: "/b/a", LogPath: "/l/a", ExitFile: "/e/a", Rootfs: "/r/a", Stdin: true, Restart: RestartOnFailure},
		{ID: "b", Bundle: "/b/b with space", LogPath: "/l/b", ExitFile: "/e/b"},
	}}
	data, err := encodeConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeConfig(bytes.NewReader(data))
	if err != nil || !reflect.DeepEqual(got, cfg) {
		t.Errorf("round trip = %+v, %v\n%s", got, err, data)
	}
	if err := got.Validate(); err != nil {
		t.Error(err)
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := encodeConfig(&Config{ID: "a\nb"}); err == nil {
		t.Error("line break accepted")
	}
	if _, err := decodeConfig(strings.NewReader("id x\nbundle /b\n")); err == nil || !strings.Contains(err.Error(), `line 2: unknown key "bundle"`) {
		t.Errorf("err = %v", err)
	}
	err := (&Config{ID: "p", Runtime: "runc", RuntimeRoot: "/r", Dir: "/d", Containers: []Container{{ID: "c", Bundle: "b"}}}).Validate()
	for _, want := range []string{`runtime "runc" is not an absolute path`, `container "c": bundle "b" is not an absolute path`, `exit file "" is not`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q", err, want)
		}
	}
}

func TestReportRoundTrip(t *testing.T) {
	now := time.Now().UTC()
	rep := &report{Started: Started{Containers: []StartedContainer{{ID: "a", Pid: 10, StartedAt: now}, {ID: "b", Pid: 11, StartedAt: now}}}}
	got, err := decodeReport(encodeReport(rep))
	if err != nil || !reflect.DeepEqual(got, rep) {
		t.Errorf("got %+v, %v", got, err)
	}
	got, err = decodeReport(encodeReport(&report{Error: "boom\nbang"}))
	if err != nil || got.Error != "boom bang" {
		t.Errorf("got %+v, %v", got, err)
	}
	if _, err := decodeReport([]byte("nonsense")); err == nil {
		t.Error("garbage accepted")
	}
}

func TestExitFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "exit")
	want := Exit{Code: 143, Signal: 15, StartedAt: time.Now().UTC().Add(-time.Second), FinishedAt: time.Now().UTC(), RestartCount: 2}
	if err := WriteExit(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadExit(path)
	if err != nil || got.Code != want.Code || got.Signal != 15 || got.RestartCount != 2 || !got.StartedAt.Equal(want.StartedAt) || !got.FinishedAt.Equal(want.FinishedAt) {
		t.Errorf("got %+v, %v", got, err)
	}
	data, _ := os.ReadFile(path)
	var generic map[string]any
	if err := json.Unmarshal(data, &generic); err != nil || generic["exitCode"] != 143.0 {
		t.Errorf("not the JSON expected: %s (%v)", data, err)
	}
	if _, err := ReadExit(filepath.Join(t.TempDir(), "none")); !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("missing exit file err = %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

func TestRuntimeMessage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	log := `{"level":"warning","msg":"ignore me","time":"x"}
{"level":"error","msg":"runc run failed: exec: \"/nonexistent\": stat /nonexistent: no such file","time":"x"}
plain text
`
	os.WriteFile(path, []byte(log), 0o600)
	want := `runc run failed: exec: "/nonexistent": stat /nonexistent: no such file: plain text`
	if got := runtimeMessage(path); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestStatusFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "status")
	want := Status{Pid: 42, StartedAt: time.Now().UTC(), RestartCount: 3, LastExitCode: 1}
	if err := writeFileAtomic(path, encodeStatus(want)); err != nil {
		t.Fatal(err)
	}
	got, err := ReadStatus(path)
	if err != nil || got.Pid != 42 || got.RestartCount != 3 || got.LastExitCode != 1 || !got.StartedAt.Equal(want.StartedAt) {
		t.Errorf("got %+v, %v", got, err)
	}
}

func TestValidateRestartPolicy(t *testing.T) {
	cfg := &Config{ID: "p", Runtime: "/r", RuntimeRoot: "/r", Dir: "/d", Containers: []Container{{ID: "c", Bundle: "/b", LogPath: "/l", ExitFile: "/e", Restart: "Sometimes"}}}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `unknown restart policy "Sometimes"`) {
		t.Errorf("err = %v", err)
	}
}

func TestConfigRoundTripKubelet(t *testing.T) {
	probe := &Probe{HTTPGet: &HTTPGet{Path: "/healthz?a=b c", Host: "10.0.0.2", Scheme: "HTTP", Port: 8080, Headers: map[string]string{"X-A": "1 \"2\"", "B": ""}},
		InitialDelay: time.Second, Period: 2 * time.Second, Timeout: 3 * time.Second, SuccessThreshold: 1, FailureThreshold: 4}
	cfg := &Config{ID: "p1", Runtime: "/r", RuntimeRoot: "/r", Dir: "/d", Containers: []Container{{
		ID: "a", Bundle: "/b", LogPath: "/l", ExitFile: "/e",
		Probes: Probes{Liveness: probe, Readiness: &Probe{Exec: []string{"sh", "-c", "test -e /tmp/ready && echo 'x y'"}, SuccessThreshold: 2},
			Startup: &Probe{TCPSocket: &TCPSocket{Port: 80}, FailureThreshold: 30}},
		PostStart: &Handler{Exec: []string{"touch", "/tmp/started"}}, PreStop: &Handler{Sleep: time.Second},
		StopSignal: 3, GracePeriod: 5 * time.Second, NetNS: "/run/netns/x", Sidecar: true,
	}, {
		ID: "b", Bundle: "/b", LogPath: "/l", ExitFile: "/e",
		Probes:  Probes{Liveness: &Probe{GRPC: &GRPC{Port: 9000, Service: "svc"}}},
		PreStop: &Handler{HTTPGet: &HTTPGet{Port: 80, Path: "/quit"}},
	}}}
	data, err := encodeConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeConfig(bytes.NewReader(data))
	if err != nil || !reflect.DeepEqual(got, cfg) {
		t.Errorf("round trip = %+v, %v\n%s", got, err, data)
	}
	if err := got.Validate(); err != nil {
		t.Error(err)
	}
}

func TestValidateKubelet(t *testing.T) {
	c := Container{ID: "c", Bundle: "/b", LogPath: "/l", ExitFile: "/e", NetNS: "rel",
		Probes:    Probes{Liveness: &Probe{Exec: []string{"true"}, TCPSocket: &TCPSocket{Port: 1}}, Startup: &Probe{HTTPGet: &HTTPGet{Port: 70000}}},
		PostStart: &Handler{}, PreStop: &Handler{HTTPGet: &HTTPGet{Port: 80, Scheme: "HTTPS"}}}
	err := (&Config{ID: "p", Runtime: "/r", RuntimeRoot: "/r", Dir: "/d", Containers: []Container{c}}).Validate()
	for _, want := range []string{`netns "rel" is not`, "liveness probe: 2 actions", "startup probe: http port 70000", "postStart hook: 0 actions", `preStop hook: scheme "HTTPS" not supported`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q", err, want)
		}
	}
}
