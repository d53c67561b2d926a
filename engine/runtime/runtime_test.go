package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLogMessage(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"json", `{"level":"warning","msg":"ignored","time":"t"}` + "\n" + `{"level":"error","msg":"container \"x\" does not exist","time":"t"}` + "\n", `container "x" does not exist`},
		{"plain", "something broke\n", "something broke"},
		{"empty", "", ""},
		{"two errors", `{"level":"error","msg":"a"}` + "\n" + `{"level":"fatal","msg":"b"}`, "a: b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LogMessage([]byte(tt.in)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRuntimeErrorSentinels(t *testing.T) {
	err := runtimeError("killing", "c1", []byte(`{"level":"error","msg":"container does not exist"}`), errors.New("exit status 1"))
	if !errors.Is(err, ErrNotExist) || !strings.HasPrefix(err.Error(), `killing container "c1": `) {
		t.Errorf("err = %v", err)
	}
	err = runtimeError("killing", "c1", []byte(`{"level":"error","msg":"container not running"}`), errors.New("exit status 1"))
	if !errors.Is(err, ErrNotRunning) {
		t.Errorf("err = %v", err)
	}
	err = runtimeError("killing", "c1", nil, os.ErrPermission)
	if !errors.Is(err, os.ErrPermission) {
		t.Errorf("err = %v", err)
	}
}

func TestNew(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "myruntime")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r, err := New(fake, dir)
	if err != nil || r.Path() != fake || r.Root() != dir {
		t.Fatalf("New(abs) = %+v, %v", r, err)
	}
	if !slices.Equal(r.GlobalArgs()[:2], []string{"--root", dir}) {
		t.Errorf("global args %v", r.GlobalArgs())
	}
	t.Setenv("PATH", dir)
	if r, err := New("myruntime", dir); err != nil || r.Path() != fake {
		t.Errorf("New(name) = %+v, %v", r, err)
	}
	for _, bad := range []string{"nope", "rel/path", filepath.Join(dir, "missing")} {
		if _, err := New(bad, dir); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("New(%q) err = %v", bad, err)
		}
	}
	if _, err := New(fake, ""); err == nil {
		t.Error("empty state root accepted")
	}
}

func TestWriteBundle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "b")
	s := mustSpec(t, WithArgs("echo", "hi"))
	if err := WriteBundle(dir, s); err != nil {
		t.Fatal(err)
	}
	got, err := ReadBundle(dir)
	if err != nil || !slices.Equal(got.Process.Args, []string{"echo", "hi"}) {
		t.Errorf("read back %+v, %v", got, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("bundle holds %d files, want only config.json", len(entries))
	}
}
