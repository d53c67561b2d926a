package image

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The pull tests run against go-containerregistry's registry served in this
// process (net/http/httptest): no root, no docker-registry. Their layers are
// owned by the user running the tests, so they unpack without chown rights;
// pull_owners_integration_test.go pulls layers of other owners as root.

// localRegistry is an in-process registry; corrupt makes it serve a blob
// with one byte changed.
type localRegistry struct {
	host string // 127.0.0.1:PORT

	mu      sync.Mutex
	corrupt map[string]bool // blob digests served altered
}

// startRegistry serves an empty in-memory registry until the test ends.
func startRegistry(t testing.TB) *localRegistry {
	t.Helper()
	r := &localRegistry{corrupt: map[string]bool{}}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if d := r.corrupted(req); d != "" {
			serveAltered(w, req, reg)
			return
		}
		reg.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

// corruptBlob makes the registry serve blob digest with one byte changed.
func (r *localRegistry) corruptBlob(digest v1.Hash) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.corrupt[digest.String()] = true
}

// corrupted returns the digest a GET of a blob asks for when that blob is
// to be served altered.
func (r *localRegistry) corrupted(req *http.Request) string {
	if req.Method != http.MethodGet {
		return ""
	}
	_, d, ok := strings.Cut(req.URL.Path, "/blobs/")
	r.mu.Lock()
	defer r.mu.Unlock()
	if !ok || !r.corrupt[d] {
		return ""
	}
	return d
}

// serveAltered serves what reg answers with byte 4 flipped: in a gzip
// stream that is the header's MTIME, covered by no checksum, so the layer
// still decompresses to the content the image config names and only the
// compressed digest can tell.
func serveAltered(w http.ResponseWriter, req *http.Request, reg http.Handler) {
	rec := httptest.NewRecorder()
	reg.ServeHTTP(rec, req)
	body := rec.Body.Bytes()
	if rec.Code == http.StatusOK && len(body) > 4 {
		body[4] ^= 0xff
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(body)
}

// push writes img to repo ("test/app:1") and returns its reference.
func (r *localRegistry) push(t testing.TB, repo string, img v1.Image) string {
	t.Helper()
	ref, err := name.ParseReference(r.host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	return ref.Name()
}

// pushIndex writes a manifest list to repo and returns its reference.
func (r *localRegistry) pushIndex(t testing.TB, repo string, idx v1.ImageIndex) string {
	t.Helper()
	ref, err := name.ParseReference(r.host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	return ref.Name()
}

// plainHTTP is how the tests reach the in-process registry.
var plainHTTP = PullOptions{InsecureRegistry: true}

// openStore opens a store in a fresh directory.
func openStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// gzipLayer is a gzip layer of the tar entries.
func gzipLayer(t testing.TB, entries []entry) v1.Layer {
	t.Helper()
	data := tarOf(t, entries)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// imageOf is a linux/arch image of layers (bottom first) with a command.
func imageOf(t testing.TB, arch string, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}
	cf.Config.Cmd = []string{"/bin/app", arch}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

// diffIDs lists the uncompressed digests of img's layers, bottom first.
func diffIDs(t testing.TB, img v1.Image) []string {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range cf.RootFS.DiffIDs {
		out = append(out, d.String())
	}
	return out
}

// mustDigest is img's manifest digest.
func mustDigest(t testing.TB, img interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// dirNames lists the entries of the store directory rel ("layers", "tmp", ...).
func dirNames(t testing.TB, s *Store, rel string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(s.Root(), rel))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// assertEmptyStore fails unless the store holds no image, layer, blob or
// temporary directory.
func assertEmptyStore(t testing.TB, s *Store) {
	t.Helper()
	imgs, err := s.List(context.Background())
	if err != nil || len(imgs) != 0 {
		t.Errorf("images left: %d (%v)", len(imgs), err)
	}
	for _, d := range []string{"layers", "blobs/sha256", "tmp"} {
		if left := dirNames(t, s, d); len(left) != 0 {
			t.Errorf("%s left in the store's %s/", left, d)
		}
	}
}

// registryErr returns the RegistryError in err's chain, failing without one.
func registryErr(t testing.TB, err error) *RegistryError {
	t.Helper()
	var re *RegistryError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want a *RegistryError in its chain", err)
	}
	return re
}
