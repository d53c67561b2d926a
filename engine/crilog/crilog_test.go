package crilog

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func fixedClock() func() time.Time {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	return func() time.Time { return t0 }
}

func TestWriterLines(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.now = fixedClock()
	out, errw := w.Stream(Stdout), w.Stream(Stderr)
	out.Write([]byte("one\ntw"))
	errw.Write([]byte("err\n"))
	out.Write([]byte("o\nthr"))
	out.Flush()
	out.Flush() // nothing pending: no entry
	out.Write([]byte("ee\n"))
	want := "2026-01-02T03:04:05.0000006Z stdout F one\n" +
		"2026-01-02T03:04:05.0000006Z stderr F err\n" +
		"2026-01-02T03:04:05.0000006Z stdout F two\n" +
		"2026-01-02T03:04:05.0000006Z stdout P thr\n" +
		"2026-01-02T03:04:05.0000006Z stdout F ee\n"
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestWriterLongLines(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.SetMaxLine(4)
	s := w.Stream(Stdout)
	s.Write([]byte("abcdefghij\nxy"))
	s.Write([]byte("zuvwq"))
	s.Flush()
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		e, err := ParseEntry([]byte(l))
		if err != nil {
			t.Fatal(err)
		}
		tag := "F"
		if e.Partial {
			tag = "P"
		}
		got = append(got, tag+":"+string(e.Text))
	}
	want := []string{"P:abcd", "P:efgh", "F:ij", "P:xyzu", "P:vwq"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestWriterConcurrent(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	var wg sync.WaitGroup
	for _, name := range []string{Stdout, Stderr} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := w.Stream(name)
			for i := range 200 {
				fmt.Fprintf(s, "%s line %d\n", name, i)
			}
		}()
	}
	wg.Wait()
	re := regexp.MustCompile(`^\S+Z (stdout|stderr) F (stdout|stderr) line \d+$`)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 400 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, l := range lines {
		if m := re.FindStringSubmatch(l); m == nil || m[1] != m[2] {
			t.Fatalf("torn or misattributed line %q", l)
		}
	}
}

func TestParseEntry(t *testing.T) {
	e, err := ParseEntry([]byte("2026-01-02T03:04:05Z stderr P:x a b "))
	if err != nil || e.Stream != Stderr || !e.Partial || string(e.Text) != "a b " {
		t.Errorf("got %+v, %v", e, err)
	}
	if e, err := ParseEntry([]byte("2026-01-02T03:04:05Z stdout F")); err != nil || len(e.Text) != 0 {
		t.Errorf("empty line: %+v, %v", e, err)
	}
	for _, bad := range []string{"nonsense", "t stdout X text"} {
		if _, err := ParseEntry([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// writeLog writes a log with the given stream:text pairs, "P:" texts partial.
func writeLog(t *testing.T, entries ...string) string {
	t.Helper()
	var b strings.Builder
	for i, e := range entries {
		stream, text, _ := strings.Cut(e, ":")
		tag := "F"
		if rest, ok := strings.CutPrefix(text, "P:"); ok {
			tag, text = "P", rest
		}
		fmt.Fprintf(&b, "2026-01-02T03:04:%02dZ %s %s %s\n", i, stream, tag, text)
	}
	path := filepath.Join(t.TempDir(), "ctr.log")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func read(t *testing.T, path string, opts ReadOptions) (string, string) {
	t.Helper()
	var out, errb strings.Builder
	if err := Read(context.Background(), path, opts, &out, &errb); err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String()
}

func TestRead(t *testing.T) {
	path := writeLog(t, "stdout:a", "stderr:P:e1", "stdout:P:b1", "stdout:b2", "stderr:e2", "stdout:c", "stdout:P:tail")
	tests := []struct {
		name     string
		opts     ReadOptions
		out, err string
	}{
		{"all", ReadOptions{Tail: AllLines}, "a\nb1b2\nc\ntail", "e1e2\n"},
		{"tail 2", ReadOptions{Tail: 2}, "c\ntail", ""},
		{"tail 3", ReadOptions{Tail: 3}, "c\ntail", "e1e2\n"},
		{"tail 4", ReadOptions{Tail: 4}, "b1b2\nc\ntail", "e1e2\n"},
		{"tail 0", ReadOptions{Tail: 0}, "", ""},
		{"tail 100", ReadOptions{Tail: 100}, "a\nb1b2\nc\ntail", "e1e2\n"},
		{"timestamps", ReadOptions{Tail: 2, Timestamps: true}, "2026-01-02T03:04:05Z c\n2026-01-02T03:04:06Z tail", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errs := read(t, path, tt.opts)
			if out != tt.out || errs != tt.err {
				t.Errorf("stdout %q stderr %q, want %q %q", out, errs, tt.out, tt.err)
			}
		})
	}
}

// TestReadOffset starts at a byte offset: the first byte of the entries a
// container's next run writes (an attach reads from there).
func TestReadOffset(t *testing.T) {
	path := writeLog(t, "stdout:old", "stderr:older", "stdout:new", "stderr:P:e", "stderr:rr")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	off := strings.Index(string(data), "2026-01-02T03:04:02Z")
	out, errs := read(t, path, ReadOptions{Tail: AllLines, Offset: int64(off)})
	if out != "new\n" || errs != "err\n" {
		t.Errorf("from offset %d: stdout %q stderr %q, want \"new\\n\" \"err\\n\"", off, out, errs)
	}
}

func TestReadTimestampsJoinPartials(t *testing.T) {
	path := writeLog(t, "stdout:P:x", "stdout:y")
	if out, _ := read(t, path, ReadOptions{Tail: AllLines, Timestamps: true}); out != "2026-01-02T03:04:00Z xy\n" {
		t.Errorf("got %q", out)
	}
}

func TestReadMissingFile(t *testing.T) {
	err := Read(context.Background(), filepath.Join(t.TempDir(), "none"), ReadOptions{Tail: AllLines}, &bytes.Buffer{}, nil)
	if !os.IsNotExist(errorsUnwrap(err)) {
		t.Errorf("err = %v", err)
	}
}

func errorsUnwrap(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

// syncBuffer is a strings.Builder safe for a writer and a poller.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFollowUntil(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ctr.log")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := NewWriter(f)
	s := w.Stream(Stdout)
	s.Write([]byte("old1\nold2\n"))

	var exited atomic.Bool
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Read(context.Background(), path, ReadOptions{Follow: true, Tail: 1, Until: exited.Load}, &out, nil)
	}()
	waitFor(t, "the tail", func() bool { return out.String() == "old2\n" })
	s.Write([]byte("new1\npart"))
	waitFor(t, "new lines", func() bool { return out.String() == "old2\nnew1\n" })
	s.Write([]byte("ial\n"))
	waitFor(t, "the joined line", func() bool { return out.String() == "old2\nnew1\npartial\n" })
	s.Write([]byte("last\n"))
	exited.Store(true) // written before the end: must still be read
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "old2\nnew1\npartial\nlast\n" {
		t.Errorf("got %q", got)
	}
}

func TestFollowTornWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ctr.log")
	f, _ := os.Create(path)
	defer f.Close()
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Read(ctx, path, ReadOptions{Follow: true, Tail: AllLines}, &out, nil) }()
	f.WriteString("2026-01-02T03:04:05Z stdout F hel")
	f.WriteString("lo\n")
	waitFor(t, "the line", func() bool { return out.String() == "hello\n" })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
