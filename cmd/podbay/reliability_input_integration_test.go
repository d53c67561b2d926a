//go:build integration

package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// maxRSSKiB bounds the peak memory of one podbay command on hostile input.
const maxRSSKiB = 1 << 20 // 1 GiB

// hostileLayer is one tar entry of an escaping layer.
type hostileLayer struct {
	name, link string
	typ        byte
}

// dockerArchive writes a docker-archive of one image whose single layer
// holds entries, and returns its path.
func dockerArchive(t *testing.T, dir string, entries []hostileLayer) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, en := range entries {
		hdr := &tar.Header{Name: en.name, Linkname: en.link, Typeflag: en.typ, Mode: 0o644}
		if en.typ == tar.TypeReg {
			hdr.Size = int64(len("escaped\n"))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if en.typ == tar.TypeReg {
			tw.Write([]byte("escaped\n"))
		}
	}
	tw.Close()
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag("example.com/hostile:1")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "hostile.tar")
	if err := tarball.WriteToFile(p, ref, img); err != nil {
		t.Fatal(err)
	}
	return p
}

// filesNamed lists the files under dir whose name starts with prefix.
func filesNamed(dir, prefix string) []string {
	var out []string
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && strings.HasPrefix(fi.Name(), prefix) {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// TestReliabilityLoadEscapingLayer loads docker-archives whose layer tries
// to write outside its directory: each load fails naming the entry, and
// nothing is written outside, nor any image or layer stored.
func TestReliabilityLoadEscapingLayer(t *testing.T) {
	e := pulled(t)
	top := filepath.Dir(e.root) // the test's own temp dir: root, runroot, archives
	outside := filepath.Join(top, "outside")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	images := e.ok("images")
	layers, _ := os.ReadDir(filepath.Join(e.root, "layers"))
	for _, tc := range []struct {
		name    string
		entries []hostileLayer
		want    string
	}{
		{"dotdot", []hostileLayer{{name: "../escape", typ: tar.TypeReg}}, "escape"},
		{"deep dotdot", []hostileLayer{{name: "a/../../../../escape", typ: tar.TypeReg}}, "escape"},
		{"absolute", []hostileLayer{{name: filepath.Join(outside, "escape"), typ: tar.TypeReg}}, "absolute"},
		{"through symlink", []hostileLayer{{name: "link", link: outside, typ: tar.TypeSymlink}, {name: "link/escape", typ: tar.TypeReg}}, "symlink"},
		{"through relative symlink", []hostileLayer{{name: "up", link: "../../../..", typ: tar.TypeSymlink}, {name: "up/escape", typ: tar.TypeReg}}, "symlink"},
		{"hard link out", []hostileLayer{{name: "escape", link: "../../../../outside/secret", typ: tar.TypeLink}}, "escape"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			archive := dockerArchive(t, top, tc.entries)
			r := e.fails([]string{"hostile.tar", tc.want}, "load", "-i", archive)
			t.Logf("load refused: %s", strings.TrimSpace(r.stderr))
			if found := filesNamed(top, "escape"); len(found) > 0 {
				t.Errorf("written outside the layer: %v", found)
			}
			if got := e.ok("images"); got != images {
				t.Errorf("a refused load changed the images:\n%s", got)
			}
			if now, _ := os.ReadDir(filepath.Join(e.root, "layers")); len(now) != len(layers) {
				t.Errorf("a refused load left %d entries in layers/, had %d", len(now), len(layers))
			}
		})
	}
}

// manyDocuments is n Pod documents of one container each.
func manyDocuments(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `---
apiVersion: v1
kind: Pod
metadata:
  name: many-%d
  labels: {app: many}
spec:
  containers:
  - name: c
    image: docker.io/library/busybox:1.36
    command: ["sleep", "1000"]
    resources: {limits: {cpu: 100m, memory: 32Mi}}
`, i)
	}
	return b.Bytes()
}

// TestReliabilityTenThousandDocuments validates and dry-runs a manifest of
// 10,000 documents: a clear result, bounded memory, nothing created.
func TestReliabilityTenThousandDocuments(t *testing.T) {
	e := kubeEnv(t)
	p := filepath.Join(t.TempDir(), "many.yaml")
	if err := os.WriteFile(p, manyDocuments(10000), 0o644); err != nil {
		t.Fatal(err)
	}
	r, rss := e.peakRSS(nil, "kube", "validate", p)
	t.Logf("kube validate of 10,000 documents: exit %d, peak RSS %d MiB, %d output lines", r.code, rss>>10, strings.Count(r.stdout, "\n"))
	if r.code != 0 || crashed(r) {
		t.Errorf("kube validate: exit %d\n%.2000s", r.code, r.stderr)
	}
	if rss > maxRSSKiB {
		t.Errorf("kube validate of 10,000 documents: peak RSS %d MiB, bound %d MiB", rss>>10, maxRSSKiB>>10)
	}
	r, rss = e.peakRSS(nil, "kube", "play", "--dry-run", p)
	t.Logf("kube play --dry-run of 10,000 documents: exit %d, peak RSS %d MiB", r.code, rss>>10)
	if r.code != 0 {
		t.Errorf("kube play --dry-run: exit %d\n%.2000s", r.code, r.stderr)
	}
	if n := strings.Count(r.stdout, "pod many-"); n != 10000 {
		t.Errorf("dry run shows %d pods, want 10000", n)
	}
	if rss > maxRSSKiB {
		t.Errorf("kube play --dry-run of 10,000 documents: peak RSS %d MiB, bound %d MiB", rss>>10, maxRSSKiB>>10)
	}
	e.agree(0, 0)
}

// TestReliabilityDeeplyNested feeds YAML nested a hundred thousand levels
// deep (flow and block style): validate and play fail with one clear error
// naming the file, do not crash, and create nothing.
func TestReliabilityDeeplyNested(t *testing.T) {
	e := kubeEnv(t)
	const depth = 100000
	var block strings.Builder
	block.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n")
	for i := range 2000 { // indentation grows quadratically: 2,000 levels is already 4 MB
		fmt.Fprintf(&block, "%s k%d:\n", strings.Repeat(" ", i+1), i)
	}
	for name, doc := range map[string]string{
		"flow.yaml":   "apiVersion: v1\nkind: Pod\nmetadata:\n  name: deep\nspec: " + strings.Repeat("[", depth) + strings.Repeat("]", depth) + "\n",
		"map.yaml":    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: deep\nspec: " + strings.Repeat("{a: ", depth) + "1" + strings.Repeat("}", depth) + "\n",
		"block.yaml":  block.String(),
		"anchor.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lol\ndata:\n  a: &a [x, x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n  g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n  h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n  i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n",
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), name)
			if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"kube", "validate", p}, {"kube", "play", p}} {
				r, rss := e.peakRSS(nil, args...)
				t.Logf("%s %s: exit %d, peak RSS %d MiB: %.300s", args[1], name, r.code, rss>>10, strings.TrimSpace(r.stderr+r.stdout))
				if r.code == 0 || crashed(r) {
					t.Errorf("%s %s: want a clear failure, got exit %d\n%.2000s", args[1], name, r.code, r.stderr)
				}
				if !strings.Contains(r.stderr+r.stdout, name) {
					t.Errorf("%s %s: the error does not name the file: %.500s", args[1], name, r.stderr+r.stdout)
				}
				if rss > maxRSSKiB {
					t.Errorf("%s %s: peak RSS %d MiB, bound %d MiB", args[1], name, rss>>10, maxRSSKiB>>10)
				}
			}
			e.agree(0, 0)
		})
	}
}

// crashed tells whether a command died of a Go panic or fatal error.
func crashed(r result) bool {
	return strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic:")
}

// TestReliabilityHugeConfigMap plays a 100 MB ConfigMap used by a pod, and
// one of 30 MB (under the 32 MiB input limit, over Kubernetes' 1 MiB, which
// play refuses as the API server would): clear errors, bounded memory,
// nothing created.
func TestReliabilityHugeConfigMap(t *testing.T) {
	for _, mb := range []int{100, 30} {
		t.Run(fmt.Sprintf("%dMB", mb), func(t *testing.T) { hugeConfigMap(t, mb) })
	}
}

func hugeConfigMap(t *testing.T, mb int) {
	e := kubeEnv(t)
	var b bytes.Buffer
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: huge\ndata:\n  blob: ")
	b.WriteString(strings.Repeat("x", mb<<20))
	b.WriteString("\n---\n")
	pod, err := os.ReadFile(filepath.Join(reliabilityDir, "configmap.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	b.Write(bytes.ReplaceAll(pod, []byte("NAME-config"), []byte("huge")))
	doc := bytes.ReplaceAll(b.Bytes(), []byte("NAME"), []byte("huge"))
	doc = bytes.ReplaceAll(doc, []byte("key: greeting"), []byte("key: blob"))
	doc = bytes.ReplaceAll(doc, []byte("cat /config/greeting"), []byte("wc -c /config/blob"))
	p := filepath.Join(t.TempDir(), "huge.yaml")
	if err := os.WriteFile(p, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	base := e.baseline()
	for _, args := range [][]string{{"kube", "validate", p}, {"kube", "play", p}} {
		r, rss := e.peakRSS(nil, args...)
		t.Logf("%s of a %d MB ConfigMap: exit %d, peak RSS %d MiB: %.300s", args[1], mb, r.code, rss>>10, strings.TrimSpace(r.stderr+r.stdout))
		if r.code == 0 || crashed(r) {
			t.Errorf("%s: want a clear failure, got exit %d\n%.2000s", args[1], r.code, r.stderr)
		}
		want := "larger than" // the input limit
		if mb < 32 {
			want = "1048576" // Kubernetes' limit of a ConfigMap
		}
		if out := r.stderr + r.stdout; !strings.Contains(out, "huge") || !strings.Contains(out, want) {
			t.Errorf("%s: the error names neither the input nor the limit: %.500s", args[1], out)
		}
		if rss > maxRSSKiB {
			t.Errorf("%s of a %d MB ConfigMap: peak RSS %d MiB, bound %d MiB", args[1], mb, rss>>10, maxRSSKiB>>10)
		}
	}
	e.agree(0, 0)
	if left := base.check(keptRows); len(left) > 0 {
		t.Errorf("a refused play left:\n%s", strings.Join(left, "\n"))
	}
}
