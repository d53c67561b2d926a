package monitor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// The attach socket lets a client (the Docker API's attach, docker run -i
// and -it) write to a running container's stdin and resize its terminal,
// while the monitor keeps owning the container's stdio. It exists for a
// container with Stdin or Terminal, at <Dir>/<id>.attach (mode 0600), from
// its start to its exit. It is a SOCK_SEQPACKET socket: each message is one
// request, its first byte the kind. Output is not sent over it: clients
// follow the CRI log, which holds every byte from the start.
const (
	attachStdin  = 0 // the rest of the message is stdin data
	attachClose  = 1 // end of stdin: closes the container's stdin when it has StdinOnce
	attachResize = 2 // rows and columns follow, two bytes each, big-endian
)

// attachMaxMessage bounds one message (data is sent in pieces this size).
const attachMaxMessage = 32 * 1024

// AttachPath is where the attach socket of container id lives in a
// monitor's directory.
func AttachPath(dir, id string) string { return filepath.Join(dir, id+".attach") }

// attachListener serves one container's attach socket.
type attachListener struct {
	f    *os.File // the listening socket, non-blocking, on the runtime's poller
	path string
	mu   sync.Mutex
	open []*os.File
}

// procPath names a file in dir through /proc/self/fd, so that a socket's
// address stays short whatever the directory's length (a sockaddr_un
// holds 108 bytes). The caller closes the returned directory.
func procPath(path string) (string, *os.File, error) {
	d, err := os.OpenFile(filepath.Dir(path), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("/proc/self/fd/%d/%s", d.Fd(), filepath.Base(path)), d, nil
}

// listenAttach opens c's attach socket when it has stdin or a terminal.
func (c *container) listenAttach() error {
	if !c.spec.Stdin && !c.spec.Terminal {
		return nil
	}
	path := AttachPath(c.s.cfg.Dir, c.spec.ID)
	os.Remove(path)
	addr, dir, err := procPath(path)
	if err != nil {
		return fmt.Errorf("attach socket: %w", err)
	}
	defer dir.Close()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return fmt.Errorf("attach socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: addr}); err != nil {
		unix.Close(fd)
		return fmt.Errorf("attach socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		unix.Close(fd)
		return fmt.Errorf("attach socket %s: %w", path, err)
	}
	if err := unix.Listen(fd, 8); err != nil {
		unix.Close(fd)
		return fmt.Errorf("attach socket %s: %w", path, err)
	}
	l := &attachListener{f: os.NewFile(uintptr(fd), path), path: path}
	c.attach = l
	if c.console != nil {
		c.in.Store(c.console)
	} else {
		c.in.Store(c.stdin)
	}
	go l.accept(c)
	return nil
}

// accept serves each client until the listener closes; waits go through
// the runtime's poller, so an idle socket holds no thread.
func (l *attachListener) accept(c *container) {
	rc, err := l.f.SyscallConn()
	if err != nil {
		return
	}
	for {
		var conn int
		var aerr error
		err := rc.Read(func(fd uintptr) bool {
			conn, _, aerr = unix.Accept4(int(fd), unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK)
			return !errors.Is(aerr, unix.EAGAIN)
		})
		if err != nil {
			return // closed
		}
		if aerr != nil {
			continue
		}
		f := os.NewFile(uintptr(conn), l.path)
		l.mu.Lock()
		l.open = append(l.open, f)
		l.mu.Unlock()
		go c.serveAttach(f)
	}
}

// serveAttach applies one client's requests: stdin data to the
// container's stdin (its pipe or its terminal), end of stdin, resizes.
func (c *container) serveAttach(conn *os.File) {
	defer conn.Close()
	buf := make([]byte, attachMaxMessage+1)
	for {
		n, err := conn.Read(buf)
		if err != nil || n == 0 {
			return
		}
		in := c.input()
		switch buf[0] {
		case attachStdin:
			if in != nil {
				_, _ = in.Write(buf[1:n])
			}
		case attachClose:
			if c.spec.StdinOnce && !c.spec.Terminal && in != nil {
				in.Close()
			}
		case attachResize:
			if n == 5 && c.spec.Terminal && in != nil {
				ws := &unix.Winsize{Row: uint16(buf[1])<<8 | uint16(buf[2]), Col: uint16(buf[3])<<8 | uint16(buf[4])}
				_ = unix.IoctlSetWinsize(int(in.Fd()), unix.TIOCSWINSZ, ws)
			}
		}
	}
}

// input is where stdin goes: the terminal's master, else the stdin pipe
// (nil without stdin).
func (c *container) input() *os.File { return c.in.Load() }

// closeAttach closes the socket and its clients (the container exited).
func (c *container) closeAttach() {
	l := c.attach
	if l == nil {
		return
	}
	c.attach = nil
	c.in.Store(nil)
	os.Remove(l.path)
	l.f.Close()
	l.mu.Lock()
	for _, f := range l.open {
		f.Close()
	}
	l.open = nil
	l.mu.Unlock()
}

// AttachConn is a client of a container's attach socket.
type AttachConn struct{ f *os.File }

// DialAttach connects to the attach socket of container id in monitor
// directory dir.
func DialAttach(dir, id string) (*AttachConn, error) {
	path := AttachPath(dir, id)
	addr, d, err := procPath(path)
	if err != nil {
		return nil, fmt.Errorf("attaching to %.12s: %w", id, err)
	}
	defer d.Close()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("attaching to %.12s: %w", id, err)
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: addr}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("attaching to %.12s: %w", id, err)
	}
	return &AttachConn{f: os.NewFile(uintptr(fd), path)}, nil
}

// Write sends p to the container's stdin.
func (a *AttachConn) Write(p []byte) (int, error) {
	sent := 0
	msg := make([]byte, 0, attachMaxMessage+1)
	for len(p) > 0 {
		n := min(len(p), attachMaxMessage)
		msg = append(append(msg[:0], attachStdin), p[:n]...)
		if _, err := a.f.Write(msg); err != nil {
			return sent, err
		}
		sent += n
		p = p[n:]
	}
	return sent, nil
}

// CloseStdin ends the container's stdin (when it was made with StdinOnce).
func (a *AttachConn) CloseStdin() error {
	_, err := a.f.Write([]byte{attachClose})
	return err
}

// Resize sets the container's terminal size.
func (a *AttachConn) Resize(rows, cols uint16) error {
	_, err := a.f.Write([]byte{attachResize, byte(rows >> 8), byte(rows), byte(cols >> 8), byte(cols)})
	return err
}

// Close disconnects.
func (a *AttachConn) Close() error { return a.f.Close() }
