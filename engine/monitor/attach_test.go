package monitor

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAttachStdin: a client of the attach socket writes to the container's
// stdin pipe (in pieces larger than one message), and its end of input
// closes the pipe when the container has StdinOnce. The socket lives in a
// directory whose path is longer than a sockaddr_un holds.
func TestAttachStdin(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 120))
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c := newContainer(&supervisor{cfg: &Config{Dir: dir}, log: discard{}}, Container{ID: "c1", Stdin: true, StdinOnce: true})
	c.stdin = w
	if err := c.listenAttach(); err != nil {
		t.Fatal(err)
	}
	defer c.closeAttach()
	if fi, err := os.Stat(AttachPath(dir, "c1")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("attach socket: %v, mode %v; want mode 0600", err, fi)
	}
	a, err := DialAttach(dir, "c1")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	big := strings.Repeat("x", 3*attachMaxMessage+10)
	got := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(r)
		got <- string(b)
	}()
	if n, err := a.Write([]byte("hello " + big)); err != nil || n != len(big)+6 {
		t.Fatalf("write: %d, %v", n, err)
	}
	if err := a.CloseStdin(); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "hello "+big {
			t.Errorf("stdin got %d bytes, want %d", len(s), len(big)+6)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("stdin was not closed after the client's end of input")
	}
}

// TestAttachNoSocketWithoutStdin: a container without stdin or terminal has
// no attach socket.
func TestAttachNoSocketWithoutStdin(t *testing.T) {
	dir := t.TempDir()
	c := newContainer(&supervisor{cfg: &Config{Dir: dir}, log: discard{}}, Container{ID: "c2"})
	if err := c.listenAttach(); err != nil {
		t.Fatal(err)
	}
	if _, err := DialAttach(dir, "c2"); err == nil {
		t.Fatal("attached to a container without stdin")
	}
}
