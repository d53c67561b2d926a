package dockerapi

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
)

// Docker's stream ids in the multiplexed format of a container without a
// terminal: an 8-byte header (stream, three zero bytes, big-endian size)
// before each frame.
const (
	streamStdin  = 0
	streamStdout = 1
	streamStderr = 2
)

// muxer writes frames of several streams to one writer.
type muxer struct {
	mu sync.Mutex
	w  io.Writer
}

// stream returns the writer of one stream id.
func (m *muxer) stream(id byte) io.Writer { return &muxStream{m: m, id: id} }

type muxStream struct {
	m  *muxer
	id byte
}

func (s *muxStream) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	var hdr [8]byte
	hdr[0] = s.id
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(p)))
	if _, err := s.m.w.Write(hdr[:]); err != nil {
		return 0, err
	}
	n, err := s.m.w.Write(p)
	if f, ok := s.m.w.(http.Flusher); ok {
		f.Flush()
	}
	return n, err
}

// outputs are the writers of a container's output on w: raw for a
// terminal, multiplexed otherwise.
func outputs(w io.Writer, tty bool) (stdout, stderr io.Writer) {
	if tty {
		return w, w
	}
	m := &muxer{w: w}
	return m.stream(streamStdout), m.stream(streamStderr)
}

// flushWriter flushes an http.ResponseWriter after every write (followed
// logs, pull progress, events).
type flushWriter struct {
	w io.Writer
}

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return n, err
}

// hijacked is a connection taken over from the HTTP server for a raw
// stream (attach, exec start): in reads what the client sends after its
// request, out is the connection.
type hijacked struct {
	conn net.Conn
	in   *bufio.Reader
}

// hijack answers the upgrade Docker clients ask for (Upgrade: tcp), or a
// plain 200 for older clients, and takes the connection over.
func hijack(w http.ResponseWriter, r *http.Request, tty bool) (*hijacked, error) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, errors.New("the connection cannot be taken over")
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return nil, err
	}
	ctype := "application/vnd.docker.raw-stream"
	if !tty && r.Header.Get("Accept") == "application/vnd.docker.multiplexed-stream" {
		ctype = "application/vnd.docker.multiplexed-stream"
	}
	head := "HTTP/1.1 200 OK\r\nContent-Type: " + ctype + "\r\n\r\n"
	if r.Header.Get("Upgrade") != "" {
		head = "HTTP/1.1 101 UPGRADED\r\nContent-Type: " + ctype + "\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
	}
	if _, err := conn.Write([]byte(head)); err != nil {
		conn.Close()
		return nil, err
	}
	return &hijacked{conn: conn, in: rw.Reader}, nil
}

// closeWrite ends the stream towards the client (it then sees the end of
// the output) and closes the connection.
func (h *hijacked) close() {
	if cw, ok := h.conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	h.conn.Close()
}

// writeJSONBody writes one more JSON value to a response whose header is
// written.
func writeJSONBody(w io.Writer, v any) {
	_ = json.NewEncoder(w).Encode(v)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}
