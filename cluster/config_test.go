package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const kubeconfigTwoContexts = `apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: Zm9v}
- name: b
  cluster: {server: "https://10.0.0.2:6443", insecure-skip-tls-verify: true}
users:
- name: token-user
  user: {token: secret-token}
- name: cert-user
  user: {client-certificate: CERTDIR/user.crt, client-key: CERTDIR/user.key}
contexts:
- name: first
  context: {cluster: a, user: token-user, namespace: team}
- name: second
  context: {cluster: b, user: cert-user}
current-context: first
`

func writeKubeconfig(t *testing.T, dir, name, text string) string {
	t.Helper()
	for _, f := range []string{"user.crt", "user.key"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("pem"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	text = strings.ReplaceAll(text, "CERTDIR", dir)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The kubeconfig is found and read as kubectl reads it: --kubeconfig, then
// $KUBECONFIG, then ~/.kube/config; its current context unless one is
// named; the context's namespace unless --ns gives one.
func TestResolveKubeconfig(t *testing.T) {
	dir := t.TempDir()
	explicit := writeKubeconfig(t, dir, "explicit", kubeconfigTwoContexts)
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, ".kube"), 0o755)
	writeKubeconfig(t, filepath.Join(home, ".kube"), "config", strings.ReplaceAll(kubeconfigTwoContexts, "current-context: first", "current-context: second"))
	t.Setenv("HOME", home)
	t.Setenv("KUBECONFIG", "")

	cases := []struct {
		name                  string
		env                   string
		opts                  Options
		host, ns, token, cert string
		insecure              bool
		whereHas              string
	}{
		{name: "explicit file, current context", opts: Options{Kubeconfig: explicit},
			host: "https://127.0.0.1:6443", ns: "team", token: "secret-token", whereHas: `context "first" of ` + explicit},
		{name: "explicit file, named context", opts: Options{Kubeconfig: explicit, Context: "second"},
			host: "https://10.0.0.2:6443", ns: "default", cert: "user.crt", insecure: true, whereHas: `context "second"`},
		{name: "namespace given", opts: Options{Kubeconfig: explicit, Namespace: "other"},
			host: "https://127.0.0.1:6443", ns: "other", token: "secret-token"},
		{name: "KUBECONFIG", env: explicit, opts: Options{},
			host: "https://127.0.0.1:6443", ns: "team", token: "secret-token", whereHas: explicit},
		{name: "~/.kube/config", opts: Options{},
			host: "https://10.0.0.2:6443", ns: "default", cert: "user.crt", insecure: true, whereHas: filepath.Join(home, ".kube", "config")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", tc.env)
			r, err := resolve(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			tls := r.cfg.TLSClientConfig
			if r.cfg.Host != tc.host || r.namespace != tc.ns || r.cfg.BearerToken != tc.token || (tls.CertFile != tc.cert && filepath.Base(tls.CertFile) != tc.cert) || tls.Insecure != tc.insecure {
				t.Errorf("got host %q ns %q token %q cert %q insecure %v", r.cfg.Host, r.namespace, r.cfg.BearerToken, tls.CertFile, tls.Insecure)
			}
			if !strings.Contains(r.where, tc.whereHas) {
				t.Errorf("where %q does not name %q", r.where, tc.whereHas)
			}
		})
	}
}

// --ca-cert-file replaces the kubeconfig's authority, or turns
// verification off with "insecure", as Podman's flag does.
func TestResolveCACertFile(t *testing.T) {
	dir := t.TempDir()
	kc := writeKubeconfig(t, dir, "kc", kubeconfigTwoContexts)
	ca := writeKubeconfig(t, dir, "ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	r, err := resolve(Options{Kubeconfig: kc, CACertFile: ca})
	if err != nil {
		t.Fatal(err)
	}
	if tls := r.cfg.TLSClientConfig; !strings.Contains(string(tls.CAData), "MIIB") || tls.Insecure {
		t.Errorf("--ca-cert-file FILE: CAData %q insecure %v", tls.CAData, tls.Insecure)
	}
	r, err = resolve(Options{Kubeconfig: kc, CACertFile: Insecure})
	if err != nil {
		t.Fatal(err)
	}
	if tls := r.cfg.TLSClientConfig; !tls.Insecure || len(tls.CAData) != 0 {
		t.Errorf("--ca-cert-file insecure: CAData %q insecure %v", tls.CAData, tls.Insecure)
	}
	if _, err := resolve(Options{Kubeconfig: kc, CACertFile: filepath.Join(dir, "missing.pem")}); err == nil ||
		!strings.Contains(err.Error(), "--ca-cert-file") {
		t.Errorf("missing CA file: %v", err)
	}
}

func TestResolveErrors(t *testing.T) {
	dir := t.TempDir()
	kc := writeKubeconfig(t, dir, "kc", kubeconfigTwoContexts)
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBECONFIG", "")
	cases := []struct {
		name string
		opts Options
		want string
	}{
		{"no kubeconfig anywhere", Options{}, "no kubeconfig: give --kubeconfig, set KUBECONFIG or write ~/.kube/config"},
		{"missing file", Options{Kubeconfig: filepath.Join(dir, "nope")}, "reading kubeconfig: stat " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{"unknown context", Options{Kubeconfig: kc, Context: "third"}, `kubeconfig context "third" of ` + kc + `: context "third" does not exist`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := resolve(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v\nwant %q", err, tc.want)
			}
		})
	}
}
