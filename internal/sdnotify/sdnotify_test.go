package sdnotify

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// listen opens a notify socket as systemd does: a unixgram socket that
// receives the sender's credentials.
func listen(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	raw, err := conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_PASSCRED, 1)
	}); err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	return conn
}

// receive reads one datagram and the sender's pid from its credentials.
func receive(t *testing.T, conn *net.UnixConn) (string, int32) {
	t.Helper()
	buf, oob := make([]byte, 4096), make([]byte, 1024)
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		t.Fatalf("control messages: %v %v", msgs, err)
	}
	cred, err := syscall.ParseUnixCredentials(&msgs[0])
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n]), cred.Pid
}

func TestSendReachesAPathSocketWithTheSendersCredentials(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	conn := listen(t, sock)
	t.Setenv(EnvSocket, sock)
	n, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if v, set := os.LookupEnv(EnvSocket); set {
		t.Errorf("FromEnv left $%s=%s for the children", EnvSocket, v)
	}
	if err := n.Send(Ready, Status("2 pods ready\nall good")); err != nil {
		t.Fatal(err)
	}
	msg, pid := receive(t, conn)
	if want := "READY=1\nSTATUS=2 pods ready all good"; msg != want {
		t.Errorf("datagram %q, want %q", msg, want)
	}
	if pid != int32(os.Getpid()) {
		t.Errorf("sender pid %d, want %d", pid, os.Getpid())
	}
}

func TestSendReachesAnAbstractSocket(t *testing.T) {
	name := "@podbay-sdnotify-test-" + filepath.Base(t.TempDir())
	conn := listen(t, name)
	n, err := New(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Send(Stopping, MainPID(42)); err != nil {
		t.Fatal(err)
	}
	if msg, _ := receive(t, conn); msg != "STOPPING=1\nMAINPID=42" {
		t.Errorf("datagram %q", msg)
	}
}

func TestWithoutSocketNothingIsSent(t *testing.T) {
	t.Setenv(EnvSocket, "")
	n, err := FromEnv()
	if err != nil || n != nil {
		t.Fatalf("FromEnv without $NOTIFY_SOCKET: %v, %v", n, err)
	}
	if err := n.Send(Ready); err != nil {
		t.Errorf("a nil notifier sends nothing and succeeds: %v", err)
	}
}

func TestErrors(t *testing.T) {
	for _, s := range []string{"relative/notify", "vsock:2:1234"} {
		if _, err := New(s); !errors.Is(err, ErrNoSocket) {
			t.Errorf("New(%q): %v, want ErrNoSocket", s, err)
		}
	}
	gone := filepath.Join(t.TempDir(), "gone")
	n, err := New(gone)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Send(Ready); err == nil || !strings.Contains(err.Error(), gone) {
		t.Errorf("sending to a missing socket: %v, want an error naming it", err)
	}
	sock := filepath.Join(t.TempDir(), "notify")
	listen(t, sock)
	n, _ = New(sock)
	for _, bad := range []string{"READY", "=1", "STATUS=a\nb"} {
		if err := n.Send(bad); err == nil {
			t.Errorf("Send(%q) succeeded, want an error", bad)
		}
	}
}
