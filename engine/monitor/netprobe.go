package monitor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Network probes and hooks are made by the monitor itself from the pod's
// network namespace: the socket is created on a thread that entered the
// namespace (a socket stays in the namespace it was created in), then used
// through the runtime's poller. The net package, and so net/http, stays out
// of the monitor: they would cost it more than its whole memory budget.

// tcpProbe succeeds when a TCP connection opens.
func tcpProbe(ctx context.Context, nsPath string, t *TCPSocket) error {
	f, err := dial(ctx, nsPath, t.Host, t.Port)
	if err != nil {
		return err
	}
	return f.Close()
}

// httpGet makes an HTTP/1.1 GET; a status from 200 to 399 is a success
// (redirects are not followed: the kubelet counts them as successes too,
// unless they lead to a failing page of the same host).
func httpGet(ctx context.Context, nsPath string, g *HTTPGet) error {
	f, err := dial(ctx, nsPath, g.Host, g.Port)
	if err != nil {
		return err
	}
	defer f.Close()
	req, err := httpRequest(g)
	if err != nil {
		return err
	}
	if _, err := f.Write(req); err != nil {
		return fmt.Errorf("http probe: writing request: %w", err)
	}
	line, err := bufio.NewReaderSize(f, 256).ReadString('\n')
	if err != nil {
		return fmt.Errorf("http probe: reading response: %w", err)
	}
	proto, rest, _ := strings.Cut(line, " ")
	code, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(rest, " ", 2)[0]))
	if !strings.HasPrefix(proto, "HTTP/1.") || err != nil {
		return fmt.Errorf("http probe: malformed status line %q", strings.TrimSpace(line))
	}
	if code < 200 || code >= 400 {
		return fmt.Errorf("http probe: %s%s: status %d", hostPort(g.Host, g.Port), g.Path, code)
	}
	return nil
}

func httpRequest(g *HTTPGet) ([]byte, error) {
	path := g.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	headers := map[string]string{"Host": hostPort(g.Host, g.Port), "User-Agent": "kube-probe/podbay", "Accept": "*/*"}
	for k, v := range g.Headers {
		headers[k] = v
	}
	b := []byte("GET " + path + " HTTP/1.1\r\n")
	for k, v := range headers {
		if strings.ContainsAny(k+v, "\r\n") || strings.ContainsAny(path, " \r\n") {
			return nil, fmt.Errorf("http probe: line break or space in the path or header %q", k)
		}
		b = append(b, k+": "+v+"\r\n"...)
	}
	return append(b, "Connection: close\r\n\r\n"...), nil
}

func hostPort(host string, port int) string {
	addr, err := probeAddr(host)
	if err != nil {
		return host + ":" + strconv.Itoa(port)
	}
	return netip.AddrPortFrom(addr, uint16(port)).String()
}

// probeAddr parses a probe's host: an IP address, 127.0.0.1 when empty.
func probeAddr(host string) (netip.Addr, error) {
	if host == "" || host == "localhost" {
		return netip.AddrFrom4([4]byte{127, 0, 0, 1}), nil
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("probe host %q: not an IP address", host)
	}
	return addr, nil
}

// dial opens a TCP connection to host:port from the network namespace at
// nsPath ("": the monitor's own), bounded by ctx.
func dial(ctx context.Context, nsPath, host string, port int) (*os.File, error) {
	addr, err := probeAddr(host)
	if err != nil {
		return nil, err
	}
	var sa unix.Sockaddr = &unix.SockaddrInet4{Port: port, Addr: addr.As4()}
	domain := unix.AF_INET
	if addr.Is6() && !addr.Is4In6() {
		sa, domain = &unix.SockaddrInet6{Port: port, Addr: addr.As16()}, unix.AF_INET6
	}
	fd, err := socketIn(nsPath, domain)
	if err != nil {
		return nil, fmt.Errorf("probe socket in %q: %w", nsPath, err)
	}
	err = unix.Connect(fd, sa)
	if err != nil && !errors.Is(err, unix.EINPROGRESS) {
		unix.Close(fd)
		return nil, fmt.Errorf("connecting to %s: %w", hostPort(host, port), err)
	}
	f := os.NewFile(uintptr(fd), "probe")
	if deadline, ok := ctx.Deadline(); ok {
		f.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { f.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err == nil {
		return f, nil
	}
	if err := awaitConnected(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("connecting to %s: %w", hostPort(host, port), err)
	}
	return f, nil
}

// awaitConnected waits for a non-blocking connect to finish.
func awaitConnected(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var connErr error
	err = rc.Write(func(fd uintptr) bool {
		v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		switch {
		case err != nil:
			connErr = err
		case v != 0:
			connErr = unix.Errno(v)
		default:
			if _, err := unix.Getpeername(int(fd)); errors.Is(err, unix.ENOTCONN) {
				return false // still connecting: wait for writability
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	return connErr
}

// socketIn creates a non-blocking TCP socket in the network namespace at
// nsPath, on a thread locked for the purpose.
func socketIn(nsPath string, domain int) (int, error) {
	const flags = unix.SOCK_STREAM | unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC
	if nsPath == "" {
		return unix.Socket(domain, flags, 0)
	}
	type result struct {
		fd  int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		// Unlocked only once back in its own namespace; otherwise the
		// thread ends with this goroutine.
		fd, back, err := socketInLocked(nsPath, domain, flags)
		if back {
			runtime.UnlockOSThread()
		}
		ch <- result{fd, err}
	}()
	res := <-ch
	return res.fd, res.err
}

// socketInLocked does socketIn's work; back tells whether the thread is in
// its own namespace again.
func socketInLocked(nsPath string, domain, flags int) (fd int, back bool, err error) {
	self, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, true, err
	}
	defer unix.Close(self)
	target, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, true, err
	}
	defer unix.Close(target)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		return -1, true, fmt.Errorf("entering the network namespace: %w", err)
	}
	fd, err = unix.Socket(domain, flags, 0)
	if serr := unix.Setns(self, unix.CLONE_NEWNET); serr != nil {
		return fd, false, err
	}
	return fd, true, err
}
