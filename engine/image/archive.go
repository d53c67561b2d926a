package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

const (
	annotationRefName        = "org.opencontainers.image.ref.name"
	annotationContainerdName = "io.containerd.image.name"
)

// Load stores every image of a docker-archive or oci-archive (optionally gzip-compressed) file.
func (s *Store) Load(ctx context.Context, file string) ([]*Image, error) {
	kind, err := archiveKind(file)
	if err != nil {
		return nil, fmt.Errorf("loading %q: %w", file, err)
	}
	var imgs []*Image
	if kind == "oci-layout" {
		imgs, err = s.loadOCI(ctx, file)
	} else {
		imgs, err = s.loadDocker(ctx, file)
	}
	if err != nil {
		return nil, fmt.Errorf("loading %q: %w", file, err)
	}
	return imgs, nil
}

// openArchive opens file, decompressing it when it is gzip-compressed.
func openArchive(file string) (io.ReadCloser, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(f)
	magic, _ := br.Peek(4)
	if bytes.Equal(magic, zstdMagic) {
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			f.Close()
			return nil, err
		}
		return struct {
			io.Reader
			io.Closer
		}{zr, closerFunc(func() error { zr.Close(); return f.Close() })}, nil
	}
	if bytes.HasPrefix(magic, gzipMagic) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, err
		}
		return struct {
			io.Reader
			io.Closer
		}{zr, f}, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{br, f}, nil
}

// errNotImageArchive means a valid tar without manifest.json or oci-layout.
var errNotImageArchive = errors.New("not a docker-archive or oci-archive: no manifest.json or oci-layout inside")

type closerFunc func() error

func (c closerFunc) Close() error { return c() }

// archiveKind returns "oci-layout" or "manifest.json", whichever marker the archive holds.
func archiveKind(file string) (string, error) {
	rc, err := openArchive(file)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return "", errNotImageArchive
		}
		if err != nil {
			return "", fmt.Errorf("corrupt archive: %w", err)
		}
		switch path.Clean(hdr.Name) {
		case "oci-layout", "manifest.json":
			return path.Clean(hdr.Name), nil
		}
	}
}

// loadDocker loads a docker-archive (docker save format).
func (s *Store) loadDocker(ctx context.Context, file string) ([]*Image, error) {
	opener := func() (io.ReadCloser, error) { return openArchive(file) }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("reading manifest.json: %w", err)
	}
	var out []*Image
	for _, d := range m {
		var tag *name.Tag
		var names []string
		if len(d.RepoTags) > 0 {
			t, err := name.NewTag(d.RepoTags[0])
			if err != nil {
				return nil, fmt.Errorf("archive tag %q: %w", d.RepoTags[0], err)
			}
			tag = &t
			for _, rt := range d.RepoTags {
				if c, err := NormalizeRef(rt); err == nil {
					names = append(names, c)
				}
			}
		} else if len(m) > 1 {
			return nil, fmt.Errorf("archive holds %d images and one has no tag", len(m))
		}
		img, err := tarball.Image(opener, tag)
		if err != nil {
			return nil, err
		}
		stored, err := s.ingest(ctx, ingestRequest{img: img, names: names})
		if err != nil {
			return nil, err
		}
		out = append(out, stored)
	}
	return out, nil
}

// loadOCI unpacks an oci-archive into a private directory and loads each image its index names.
func (s *Store) loadOCI(ctx context.Context, file string) ([]*Image, error) {
	t, err := s.newTemp("load")
	if err != nil {
		return nil, err
	}
	defer t.release()
	if err := untarPlain(ctx, file, t.path, s); err != nil {
		return nil, err
	}
	idx, err := layout.ImageIndexFromPath(t.path)
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout: %w", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading OCI index: %w", err)
	}
	var out []*Image
	for _, d := range im.Manifests {
		img, err := ociImage(idx, d)
		if err != nil {
			return nil, err
		}
		stored, err := s.ingest(ctx, ingestRequest{img: img, names: ociNames(d)})
		if err != nil {
			return nil, err
		}
		out = append(out, stored)
	}
	if len(out) == 0 {
		return nil, errors.New("OCI layout holds no image")
	}
	return out, nil
}

// ociImage returns the image d points at, resolving an index to the host platform.
func ociImage(idx v1.ImageIndex, d v1.Descriptor) (v1.Image, error) {
	if !d.MediaType.IsIndex() {
		return idx.Image(d.Digest)
	}
	child, err := idx.ImageIndex(d.Digest)
	if err != nil {
		return nil, err
	}
	cm, err := child.IndexManifest()
	if err != nil {
		return nil, err
	}
	want := hostPlatform()
	for _, c := range cm.Manifests {
		if c.Platform == nil || c.Platform.Satisfies(want) {
			return child.Image(c.Digest)
		}
	}
	return nil, fmt.Errorf("no image for platform %s in %s", want, d.Digest)
}

// ociNames reads the image name annotations of an OCI index entry.
func ociNames(d v1.Descriptor) []string {
	for _, key := range []string{annotationContainerdName, annotationRefName} {
		v := d.Annotations[key]
		if v == "" || !strings.ContainsAny(v, "/:") {
			continue // a bare tag like "latest" names no repository
		}
		if c, err := NormalizeRef(v); err == nil {
			return []string{c}
		}
	}
	return nil
}

// untarPlain extracts a (non-layer) archive into dir with the safe extractor.
func untarPlain(ctx context.Context, file, dir string, s *Store) error {
	rc, err := openArchive(file)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := extract(ctx, rc, dir, s.log); err != nil {
		return fmt.Errorf("corrupt archive: %w", err)
	}
	return nil
}

// Save writes the image ref as an oci-archive to file, atomically.
func (s *Store) Save(ctx context.Context, ref, file string) error {
	img, rec, err := s.v1Image(ref)
	if err != nil {
		return err
	}
	// Name the archive's image by the name the user gave, when it is one of its names.
	if canon, err := NormalizeRef(ref); err == nil && slices.Contains(rec.Names, canon) {
		named := *rec
		named.Names = append([]string{canon}, slices.DeleteFunc(slices.Clone(rec.Names), func(n string) bool { return n == canon })...)
		rec = &named
	} else if r := s.shortMatch(ref); r != "" {
		named := *rec
		named.Names = []string{r}
		rec = &named
	}
	tmp := file + ".tmp"
	if err := writeOCIArchive(ctx, img, rec, tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("saving %q to %s: %w", ref, file, err)
	}
	if err := os.Rename(tmp, file); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("saving %q to %s: %w", ref, file, err)
	}
	return nil
}

func writeOCIArchive(ctx context.Context, img v1.Image, rec *record, file string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	mt, _ := img.MediaType()
	rawM, _ := img.RawManifest()
	rawC, _ := img.RawConfigFile()
	desc := v1.Descriptor{MediaType: mt, Size: int64(len(rawM))}
	desc.Digest, _ = img.Digest()
	if len(rec.Names) > 0 {
		desc.Annotations = map[string]string{annotationRefName: rec.Names[0], annotationContainerdName: rec.Names[0]}
	}
	index, _ := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: "application/vnd.oci.image.index.v1+json", Manifests: []v1.Descriptor{desc}})
	files := []struct {
		name string
		data []byte
	}{
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{"index.json", index},
		{"blobs/sha256/" + desc.Digest.Hex, rawM},
		{"blobs/sha256/" + rec.ID, rawC},
	}
	for _, d := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
	}
	for _, fl := range files {
		if err := tw.WriteHeader(&tar.Header{Name: fl.name, Mode: 0o644, Size: int64(len(fl.data)), ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
		if _, err := tw.Write(fl.data); err != nil {
			return err
		}
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := writeLayerBlob(tw, l); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}

func writeLayerBlob(tw *tar.Writer, l v1.Layer) error {
	d, err := l.Digest()
	if err != nil {
		return err
	}
	size, err := l.Size()
	if err != nil {
		return err
	}
	rc, err := l.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := tw.WriteHeader(&tar.Header{Name: "blobs/sha256/" + d.Hex, Mode: 0o644, Size: size, ModTime: time.Unix(0, 0)}); err != nil {
		return err
	}
	if _, err := io.Copy(tw, rc); err != nil {
		return fmt.Errorf("layer %s: %w", d, err)
	}
	return nil
}

// shortMatch returns the full name a short reference matched, if any.
func (s *Store) shortMatch(ref string) string {
	ix, err := s.readIndex()
	if err != nil {
		return ""
	}
	r := ix.findShort(ref)
	if r == nil {
		return ""
	}
	for _, n := range r.Names {
		if strings.HasSuffix(n, "/"+ref) || strings.HasSuffix(n, "/"+ref+":latest") {
			return n
		}
	}
	return ""
}
