package testenv

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/podbay/podbay/internal/fixture"
)

// BusyboxTar returns the busybox layer (fixture.BusyboxLayer), an
// uncompressed tar.
func BusyboxTar(t testing.TB) []byte {
	t.Helper()
	layer, err := fixture.BusyboxLayer()
	if err != nil {
		t.Fatalf("building the busybox layer: %v", err)
	}
	return layer
}

// BusyboxImage returns the one-layer (gzip) busybox image for linux/amd64
// (fixture.Busybox).
func BusyboxImage(t testing.TB) v1.Image {
	t.Helper()
	img, err := fixture.Busybox()
	if err != nil {
		t.Fatalf("building the busybox image: %v", err)
	}
	return img
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
	cf.Config = fixture.BusyboxConfig()
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
