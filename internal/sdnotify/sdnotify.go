package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// EnvSocket is the variable in which systemd names the notify socket of a
// Type=notify service.
const EnvSocket = "NOTIFY_SOCKET"

// States a service sends (sd_notify(3)).
const (
	Ready    = "READY=1"
	Stopping = "STOPPING=1"
)

// Status is a one-line status text systemctl status shows.
func Status(text string) string {
	return "STATUS=" + strings.ReplaceAll(text, "\n", " ")
}

// MainPID names the service's main process when it is not the sender.
func MainPID(pid int) string { return "MAINPID=" + strconv.Itoa(pid) }

// ErrNoSocket is returned when the notify socket's address is unusable.
var ErrNoSocket = errors.New("no usable notify socket")

// Notifier sends states to one notify socket. A nil *Notifier (no
// $NOTIFY_SOCKET: not run by systemd as Type=notify) sends nothing.
type Notifier struct {
	addr *net.UnixAddr
}

// New returns a Notifier for socket: a file system path, or an abstract
// socket name starting with '@'.
func New(socket string) (*Notifier, error) {
	if socket == "" || (socket[0] != '/' && socket[0] != '@') {
		return nil, fmt.Errorf("notify socket %q: %w: want an absolute path or @abstract name", socket, ErrNoSocket)
	}
	// The net package maps a leading '@' to the abstract namespace.
	return &Notifier{addr: &net.UnixAddr{Name: socket, Net: "unixgram"}}, nil
}

// FromEnv returns the Notifier of $NOTIFY_SOCKET, nil when it is unset,
// and removes the variable from the environment (as sd_notify with
// unset_environment): the service's children must not see it. runc, for
// one, would take it for the container's and wait for the container to
// notify.
func FromEnv() (*Notifier, error) {
	s := os.Getenv(EnvSocket)
	if s == "" {
		return nil, nil
	}
	os.Unsetenv(EnvSocket)
	return New(s)
}

// Send sends the states in one datagram, one assignment per line. Each
// state must be KEY=VALUE on one line.
func (n *Notifier) Send(states ...string) error {
	if n == nil || len(states) == 0 {
		return nil
	}
	for _, s := range states {
		if k, _, ok := strings.Cut(s, "="); !ok || k == "" || strings.Contains(s, "\n") {
			return fmt.Errorf("notify state %q: want KEY=VALUE on one line", s)
		}
	}
	conn, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("notifying systemd on %s: %w", n.addr.Name, err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(strings.Join(states, "\n"))); err != nil {
		return fmt.Errorf("notifying systemd on %s: %w", n.addr.Name, err)
	}
	return nil
}
