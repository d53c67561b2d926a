package testenv

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// BusyboxPath is the static busybox the images are built from.
const BusyboxPath = "/bin/busybox"

// Path is the PATH of the busybox images.
const Path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

var (
	busyboxOnce sync.Once
	busyboxTar  []byte
	busyboxErr  error
)

// BusyboxTar returns an uncompressed layer tar: /bin/busybox, a symlink per applet,
// /etc/passwd and /etc/group (root, nobody, app 1000:1000), /tmp and /root.
func BusyboxTar(t testing.TB) []byte {
	t.Helper()
	busyboxOnce.Do(func() { busyboxTar, busyboxErr = buildBusyboxTar() })
	if busyboxErr != nil {
		t.Fatalf("building busybox layer from %s (apt-get install busybox-static): %v", BusyboxPath, busyboxErr)
	}
	return busyboxTar
}

func buildBusyboxTar() ([]byte, error) {
	bin, err := os.ReadFile(BusyboxPath)
	if err != nil {
		return nil, err
	}
	out, err := exec.Command(BusyboxPath, "--list").Output()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	dir := func(n string, mode int64) {
		tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeDir, Mode: mode, ModTime: mtime})
	}
	file := func(n string, mode int64, data []byte) {
		tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(data)), ModTime: mtime})
		tw.Write(data)
	}
	for _, d := range []string{"bin/", "etc/", "root/", "home/", "home/app/", "var/", "usr/", "usr/bin/", "proc/", "sys/", "dev/"} {
		dir(d, 0o755)
	}
	dir("tmp/", 0o1777)
	file("bin/busybox", 0o755, bin)
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" {
			continue
		}
		tw.WriteHeader(&tar.Header{Name: "bin/" + applet, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777, ModTime: mtime})
	}
	file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000:app:/home/app:/bin/sh\n"))
	file("etc/group", 0o644, []byte("root:x:0:\nnobody:x:65534:\napp:x:1000:\n"))
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// BusyboxImage returns a one-layer (gzip) busybox image for linux/amd64 with Cmd ["sh"].
func BusyboxImage(t testing.TB) v1.Image {
	t.Helper()
	data := BusyboxTar(t)
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return imageOf(t, layer)
}

// imageOf builds a linux/amd64 image of layers with the busybox config.
func imageOf(t testing.TB, layers ...v1.Layer) v1.Image {
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
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	cf.Config.Cmd = []string{"sh"}
	cf.Config.Env = []string{"PATH=" + Path}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// BigImage builds a runnable image of `layers` gzip layers holding sizeMB of incompressible,
// deterministic data in total (busybox in the first layer); the layer files live in t.TempDir.
func BigImage(t testing.TB, layers, sizeMB int) v1.Image {
	t.Helper()
	if layers < 1 {
		t.Fatal("BigImage needs at least one layer")
	}
	dir := t.TempDir()
	rng := rand.NewChaCha8([32]byte{'p', 'o', 'd', 'b', 'a', 'y'})
	per := int64(sizeMB) << 20 / int64(layers)
	var ls []v1.Layer
	for i := range layers {
		p := filepath.Join(dir, "layer"+string(rune('0'+i%10))+".tar.gz")
		if err := writeBigLayer(p, i, per, rng, BusyboxTar(t)); err != nil {
			t.Fatalf("writing big layer: %v", err)
		}
		l, err := tarball.LayerFromFile(p)
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	return imageOf(t, ls...)
}

func writeBigLayer(p string, i int, size int64, rng *rand.ChaCha8, base []byte) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	defer f.Close()
	zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	if i == 0 {
		tr := tar.NewReader(bytes.NewReader(base))
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			tw.WriteHeader(hdr)
			io.Copy(tw, tr)
		}
	}
	mtime := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	tw.WriteHeader(&tar.Header{Name: "data/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mtime})
	name := "data/blob" + string(rune('0'+i%10))
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, ModTime: mtime}); err != nil {
		return err
	}
	if _, err := io.CopyN(tw, rng, size); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}
