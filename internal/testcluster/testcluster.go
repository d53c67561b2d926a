package testcluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Tokens of the users the token file defines.
const (
	// AdminToken belongs to "admin", in system:masters: it may do anything.
	AdminToken = "podbay-admin-token"
	// RestrictedToken belongs to "restricted", bound to no role: it may
	// discover the API and nothing more.
	RestrictedToken = "podbay-restricted-token"
	// BadToken is in no file: the server refuses it.
	BadToken = "podbay-unknown-token"
)

// startTimeout bounds the start of etcd and of the API server (the API
// server's first start on a loaded 2-core machine takes some 20 s).
const startTimeout = 3 * time.Minute

// Cluster is a running API server.
type Cluster struct {
	// URL is the API server's https://127.0.0.1:PORT.
	URL string
	// Dir holds certificates, keys, logs and the kubeconfig.
	Dir string
	// CAFile is the authority of the server's certificate (and of its clients').
	CAFile string
	// Kubeconfig has the contexts admin (the current one: token),
	// cert-admin (client certificate), restricted, bad-token and
	// unreachable (a port nobody listens on).
	Kubeconfig string
	t          testing.TB
}

// APIServerBinary finds kube-apiserver: $PODBAY_KUBE_APISERVER, else the
// cache hack/kube-apiserver.sh builds into.
func APIServerBinary() (string, error) {
	if p := os.Getenv("PODBAY_KUBE_APISERVER"); p != "" {
		return p, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	out, err := exec.Command("bash", filepath.Join(root, "hack", "kube-apiserver.sh"), "--path").Output()
	if err != nil {
		return "", fmt.Errorf("kube-apiserver is not built: run hack/kube-apiserver.sh (make test builds it first)")
	}
	return strings.TrimSpace(string(out)), nil
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "hack", "kube-apiserver.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no hack/kube-apiserver.sh above the working directory")
		}
		dir = parent
	}
}

// Start runs etcd and the API server until the test ends; it fails the test
// when either is missing or does not come up.
func Start(t testing.TB) *Cluster {
	t.Helper()
	apiserver, err := APIServerBinary()
	if err != nil {
		t.Fatal(err)
	}
	etcd, err := exec.LookPath("etcd")
	if err != nil {
		t.Fatalf("etcd missing (apt-get install etcd-server; hack/install-deps.sh installs it): %v", err)
	}
	c := &Cluster{Dir: t.TempDir(), t: t}
	etcdURL := c.startEtcd(etcd)
	if err := c.writeFiles(); err != nil {
		t.Fatal(err)
	}
	c.startAPIServer(apiserver, etcdURL)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.serviceAccounts(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	if err := c.writeKubeconfig(); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *Cluster) path(name string) string { return filepath.Join(c.Dir, name) }

// startEtcd runs etcd with its data on a tmpfs when there is one (the API
// server's writes then cost no disk flushes) and returns its client URL.
func (c *Cluster) startEtcd(bin string) string {
	data := c.path("etcd")
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "podbay-etcd-")
		if err != nil {
			c.t.Fatal(err)
		}
		c.t.Cleanup(func() { os.RemoveAll(d) })
		data = d
	}
	client, peer := "http://"+freeAddr(c.t), "http://"+freeAddr(c.t)
	exited := c.run(bin, "etcd.log", "--name", "podbay-test", "--data-dir", data,
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "podbay-test="+peer, "--logger", "zap", "--log-level", "warn")
	c.waitHealthy("etcd", client+"/health", http.DefaultClient, "", exited)
	return client
}

// writeFiles writes the certificates, keys and token file.
func (c *Cluster) writeFiles() error {
	ca, err := newAuthority("podbay-test-ca")
	if err != nil {
		return err
	}
	c.CAFile = c.path("ca.crt")
	if err := ca.write(c.CAFile); err != nil {
		return err
	}
	if err := ca.issue(c.path("server.crt"), c.path("server.key"), "kube-apiserver", nil,
		[]net.IP{net.IPv4(127, 0, 0, 1)}); err != nil {
		return err
	}
	if err := ca.issue(c.path("client.crt"), c.path("client.key"), "cert-admin", []string{"system:masters"}, nil); err != nil {
		return err
	}
	if err := newSigningKey(c.path("sa.key")); err != nil {
		return err
	}
	tokens := fmt.Sprintf("%s,admin,1,\"system:masters\"\n%s,restricted,2\n", AdminToken, RestrictedToken)
	return os.WriteFile(c.path("tokens.csv"), []byte(tokens), 0o600)
}

func (c *Cluster) startAPIServer(bin, etcdURL string) {
	addr := freeAddr(c.t)
	_, port, _ := net.SplitHostPort(addr)
	c.URL = "https://" + addr
	exited := c.run(bin, "kube-apiserver.log",
		"--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", port,
		"--tls-cert-file", c.path("server.crt"), "--tls-private-key-file", c.path("server.key"),
		"--client-ca-file", c.CAFile, "--token-auth-file", c.path("tokens.csv"),
		"--authorization-mode", "RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", c.path("sa.key"), "--service-account-signing-key-file", c.path("sa.key"),
		"--service-cluster-ip-range", "10.0.0.0/24",
		"--endpoint-reconciler-type", "none", // a loopback address cannot be the kubernetes Service's endpoint
		"--allow-privileged=true", // as kubeadm: Pod Security decides, per namespace
		"--cert-dir", c.path("certs"), "--profiling=false", "--v=1")
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(c.CAFile)
	if err != nil || !pool.AppendCertsFromPEM(pem) {
		c.t.Fatalf("reading %s: %v", c.CAFile, err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	c.waitHealthy("kube-apiserver", c.URL+"/readyz", client, AdminToken, exited)
}

// run starts a server process that dies with the test binary and is
// stopped at the end of the test; the channel closes when it exits.
func (c *Cluster) run(bin, logName string, args ...string) <-chan struct{} {
	logf, err := os.Create(c.path(logName))
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("starting %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(exited) }()
	c.t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if c.t.Failed() {
			c.t.Logf("%s (end):\n%s", logName, tail(c.path(logName), 30))
		}
	})
	return exited
}

// waitHealthy polls url until it answers 200; it fails the test when the
// process exits or the deadline passes first.
func (c *Cluster) waitHealthy(what, url string, client *http.Client, token string, exited <-chan struct{}) {
	deadline := time.Now().Add(startTimeout)
	var last string
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			c.t.Fatalf("%s exited before it was healthy; its log:\n%s", what, tail(c.path(what+".log"), 40))
		default:
		}
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("%s not healthy at %s after %s (last: %s); its log:\n%s", what, url, startTimeout, last, tail(c.path(what+".log"), 40))
}

func tail(file string, lines int) string {
	data, _ := os.ReadFile(file)
	l := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
