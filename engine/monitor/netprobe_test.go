package monitor

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

func probeCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func serverPort(t *testing.T, url string) int {
	_, port, _ := strings.Cut(strings.TrimPrefix(url, "http://"), ":")
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// closedPort returns a port nothing listens on.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestHTTPGetProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("X-Token") != "secret" || r.UserAgent() != "kube-probe/podbay":
			w.WriteHeader(http.StatusForbidden)
		case r.URL.Path == "/ok":
			io.WriteString(w, "fine")
		case r.URL.Path == "/moved":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	port := serverPort(t, srv.URL)
	headers := map[string]string{"X-Token": "secret"}
	for _, tc := range []struct {
		get     HTTPGet
		wantErr string
	}{
		{get: HTTPGet{Path: "/ok", Port: port, Headers: headers}},
		{get: HTTPGet{Path: "ok", Host: "127.0.0.1", Port: port, Headers: headers}},
		{get: HTTPGet{Path: "/moved", Port: port, Headers: headers}},
		{get: HTTPGet{Path: "/down", Port: port, Headers: headers}, wantErr: "status 503"},
		{get: HTTPGet{Path: "/ok", Port: port}, wantErr: "status 403"},
		{get: HTTPGet{Path: "/ok", Port: closedPort(t)}, wantErr: "connection refused"},
		{get: HTTPGet{Path: "/ok", Host: "example.com", Port: port}, wantErr: "not an IP address"},
		{get: HTTPGet{Path: "/ok", Port: port, Headers: map[string]string{"X": "a\r\nB: c"}}, wantErr: "line break"},
	} {
		err := httpGet(probeCtx(t), "", &tc.get)
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("httpGet(%+v) = %v, want %q", tc.get, err, tc.wantErr)
		}
	}
}

func TestProbeTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() { // accepts and never answers
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = httpGet(ctx, "", &HTTPGet{Port: l.Addr().(*net.TCPAddr).Port})
	if err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("err = %v, want a timeout", err)
	}
}

func TestTCPProbe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := tcpProbe(probeCtx(t), "", &TCPSocket{Port: l.Addr().(*net.TCPAddr).Port}); err != nil {
		t.Error(err)
	}
	if err := tcpProbe(probeCtx(t), "", &TCPSocket{Host: "127.0.0.1", Port: closedPort(t)}); err == nil {
		t.Error("probe of a closed port succeeded")
	}
}

// healthServer answers grpc.health.v1.Health/Check over h2c: SERVING for
// service "" and "up", NOT_SERVING for "down", grpc-status 5 otherwise.
func healthServer(t *testing.T) int {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/grpc.health.v1.Health/Check" || r.Header.Get("Content-Type") != "application/grpc" || r.ProtoMajor != 2 {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(r.Body)
		service := ""
		if len(body) > 7 && body[5] == 0x0a {
			service = string(body[7 : 7+int(body[6])])
		}
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Trailer", "Grpc-Status")
		status := map[string]byte{"": 1, "up": 1, "down": 2}
		st, ok := status[service]
		if !ok {
			w.Header().Set("Grpc-Status", "5")
			w.Header().Set("Grpc-Message", "unknown service")
			return
		}
		msg := []byte{0x08, st}
		frame := binary.BigEndian.AppendUint32([]byte{0}, uint32(len(msg)))
		w.Write(append(frame, msg...))
		w.Header().Set("Grpc-Status", "0")
	})
	srv := httptest.NewServer(h2c.NewHandler(h, &http2.Server{}))
	t.Cleanup(srv.Close)
	return serverPort(t, srv.URL)
}

func TestGRPCProbe(t *testing.T) {
	port := healthServer(t)
	for _, tc := range []struct {
		service, wantErr string
	}{
		{service: ""},
		{service: "up"},
		{service: "down", wantErr: "status 2, not SERVING"},
		{service: "nope", wantErr: "grpc-status 5: unknown service"},
	} {
		err := grpcProbe(probeCtx(t), "", &GRPC{Port: port, Service: tc.service})
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("service %q: err = %v, want %q", tc.service, err, tc.wantErr)
		}
	}
	if err := grpcProbe(probeCtx(t), "", &GRPC{Port: closedPort(t)}); err == nil {
		t.Error("probe of a closed port succeeded")
	}
}

func TestHealthStatus(t *testing.T) {
	for _, tc := range []struct {
		body []byte
		want int
		err  bool
	}{
		{body: []byte{0, 0, 0, 0, 2, 0x08, 1}, want: 1},
		{body: []byte{0, 0, 0, 0, 0}, want: 0},
		{body: []byte{0, 0, 0, 0, 9, 0x08}, err: true},
		{body: []byte{1, 0, 0, 0, 2, 0x08, 1}, err: true},
		{body: []byte{0, 0}, err: true},
	} {
		got, err := healthStatus(tc.body)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("healthStatus(%v) = %d, %v", tc.body, got, err)
		}
	}
}
