package monitor

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podbay/podbay/engine/crilog"
)

// consoleSocket receives the pseudo-terminal master that the runtime hands
// over for a container with a terminal (runc run --console-socket). It is an
// abstract unix socket (no path length limit, nothing to clean up), made
// with raw system calls: the monitor links no net package.
type consoleSocket struct {
	name string // "@podbay-console-<random>", as runc's Go net.Dial takes it
	fd   int
	got  chan consoleResult
}

type consoleResult struct {
	master *os.File
	err    error
}

func newConsoleSocket() (*consoleSocket, error) {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	cs := &consoleSocket{name: "@podbay-console-" + hex.EncodeToString(b), got: make(chan consoleResult, 1)}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: cs.name}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("console socket: %w", err)
	}
	if err := unix.Listen(fd, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("console socket: %w", err)
	}
	cs.fd = fd
	go cs.receive()
	return cs, nil
}

// receive accepts the runtime's connection and takes the master out of its
// SCM_RIGHTS message.
func (cs *consoleSocket) receive() {
	conn, _, err := unix.Accept4(cs.fd, unix.SOCK_CLOEXEC)
	if err != nil {
		cs.got <- consoleResult{err: fmt.Errorf("accepting the console: %w", err)}
		return
	}
	defer unix.Close(conn)
	buf, oob := make([]byte, 4096), make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(conn, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		cs.got <- consoleResult{err: fmt.Errorf("receiving the console: %w", err)}
		return
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) == 0 {
		cs.got <- consoleResult{err: fmt.Errorf("receiving the console: no descriptor (%v)", err)}
		return
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) == 0 {
		cs.got <- consoleResult{err: fmt.Errorf("receiving the console: no descriptor (%v)", err)}
		return
	}
	cs.got <- consoleResult{master: os.NewFile(uintptr(fds[0]), "console")}
}

// master waits briefly for the descriptor (the runtime sent it before it
// returned) and closes the socket.
func (cs *consoleSocket) master() (*os.File, error) {
	defer unix.Close(cs.fd)
	select {
	case r := <-cs.got:
		return r.master, r.err
	case <-time.After(5 * time.Second):
		return nil, errors.New("the runtime sent no console")
	}
}

func (cs *consoleSocket) close() { unix.Close(cs.fd) }

// startConsoleCopy logs what the container writes to its terminal (as
// stdout, the only stream a terminal has) and keeps the master open for
// the container's life.
func (c *container) startConsoleCopy(master *os.File) error {
	logFile, err := os.OpenFile(c.spec.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		master.Close()
		return fmt.Errorf("opening log: %w", err)
	}
	c.log, c.readers, c.stdin, c.console = logFile, []*os.File{master}, nil, master
	c.copying.Add(1)
	go c.copy(master, crilog.NewWriter(logFile).Stream(crilog.Stdout))
	return nil
}
