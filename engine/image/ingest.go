package image

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// maxParallelLayers bounds concurrent layer downloads and extractions.
const maxParallelLayers = 4

// Magic numbers of the layer compressions we read.
var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// errLayerGone means a layer vanished (garbage-collected by another process) before commit.
var errLayerGone = errors.New("layer removed concurrently")

// ingestRequest is an image to store with the names and extra digests it gets.
type ingestRequest struct {
	img      v1.Image
	names    []string // canonical
	digests  []string // e.g. the manifest list digest
	progress io.Writer
	// verified: the source checks each compressed blob against its digest
	// as it is read (ggcr's registry client does, failing the read at its
	// end), so ingest need not hash the stream a second time.
	verified bool
}

// ingest stores every layer of req.img (unpacked once, verified) and then commits it to the index.
func (s *Store) ingest(ctx context.Context, req ingestRequest) (*Image, error) {
	m, err := req.img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	cfg, err := req.img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading image config: %w", err)
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("image has %d layers but its config lists %d diffIDs", len(m.Layers), len(cfg.RootFS.DiffIDs))
	}
	rec, err := s.newRecord(req, m)
	if err != nil {
		return nil, err
	}
	created := map[string]bool{rec.Digest: true, "sha256:" + rec.ID: true} // collected only if unreferenced
	var mu sync.Mutex
	for attempt := 0; ; attempt++ {
		err = s.fetchLayers(ctx, req, m, cfg, func(d string) { mu.Lock(); created[d] = true; mu.Unlock() })
		if err == nil {
			err = s.writeMeta(req.img, rec)
		}
		if err == nil {
			err = s.commit(ctx, rec)
		}
		if !errors.Is(err, errLayerGone) || attempt == 3 {
			break
		}
	}
	if err != nil {
		s.discard(created)
		return nil, err
	}
	fmt.Fprintf(progressOf(req.progress), "Writing manifest to image destination\n")
	return s.image(rec)
}

func progressOf(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// newRecord builds the index record of an image about to be stored.
func (s *Store) newRecord(req ingestRequest, m *v1.Manifest) (*record, error) {
	id, err := req.img.ConfigName()
	if err != nil {
		return nil, fmt.Errorf("reading config digest: %w", err)
	}
	dig, err := req.img.Digest()
	if err != nil {
		return nil, fmt.Errorf("reading manifest digest: %w", err)
	}
	mt, err := req.img.MediaType()
	if err != nil {
		return nil, fmt.Errorf("reading manifest media type: %w", err)
	}
	cfg, _ := req.img.ConfigFile()
	rec := &record{ID: id.Hex, Digest: dig.String(), Names: req.names, Created: cfg.Created.Time,
		Size: m.Config.Size, ManifestType: string(mt)}
	rec.Digests = append([]string{dig.String()}, req.digests...)
	for i, l := range m.Layers {
		rec.LayerBlobs = append(rec.LayerBlobs, l.Digest.String())
		rec.Layers = append(rec.Layers, cfg.RootFS.DiffIDs[i].String())
		rec.Size += l.Size
	}
	return rec, nil
}

// fetchLayers ensures every layer concurrently, at most maxParallelLayers at a time.
func (s *Store) fetchLayers(ctx context.Context, req ingestRequest, m *v1.Manifest, cfg *v1.ConfigFile, created func(string)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, maxParallelLayers)
	errs := make([]error, len(m.Layers))
	var wg sync.WaitGroup
	var pmu sync.Mutex
	for i, desc := range m.Layers {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			res, err := s.ensureLayer(ctx, req, desc, cfg.RootFS.DiffIDs[i])
			if err != nil {
				errs[i] = fmt.Errorf("layer %s: %w", desc.Digest, err)
				cancel()
				return
			}
			if res.extracted {
				created(cfg.RootFS.DiffIDs[i].String())
			}
			if res.stored {
				created(desc.Digest.String())
			}
			pmu.Lock()
			fmt.Fprintf(progressOf(req.progress), "Copying blob %s %s\n", desc.Digest.Hex[:12], res.verb())
			pmu.Unlock()
		})
	}
	wg.Wait()
	return rootCause(errs)
}

// rootCause picks the failure to report among the layers' errors: the first
// that is not a cancellation (the others are cancellations it caused), else
// the first.
func rootCause(errs []error) error {
	var first error
	for _, e := range errs {
		switch {
		case e == nil:
		case !errors.Is(e, context.Canceled):
			return e
		case first == nil:
			first = e
		}
	}
	return first
}

// layerResult says what ensureLayer had to do.
type layerResult struct{ extracted, stored bool }

func (r layerResult) verb() string {
	if r.extracted || r.stored {
		return "done"
	}
	return "skipped: already exists"
}

// ensureLayer makes sure the layer's compressed blob and its unpacked directory exist.
func (s *Store) ensureLayer(ctx context.Context, req ingestRequest, desc v1.Descriptor, diffID v1.Hash) (layerResult, error) {
	dir, blob := s.layerPath(diffID.String()), s.blobPath(desc.Digest.String())
	haveDir, haveBlob := exists(dir), exists(blob)
	if haveDir && haveBlob {
		return layerResult{}, nil
	}
	t, err := s.newTemp("layer")
	if err != nil {
		return layerResult{}, err
	}
	defer t.release()
	var src io.ReadCloser
	if haveBlob {
		src, err = os.Open(blob)
	} else {
		var l v1.Layer
		if l, err = req.img.LayerByDigest(desc.Digest); err == nil {
			src, err = l.Compressed()
		}
	}
	if err != nil {
		return layerResult{}, fmt.Errorf("fetching: %w", err)
	}
	defer src.Close()
	tmpBlob, tmpDir := filepath.Join(t.path, "blob"), filepath.Join(t.path, "rootfs")
	to := unpackTarget{blob: tmpBlob, dir: tmpDir, writeBlob: !haveBlob, extract: !haveDir, verified: !haveBlob && req.verified}
	if err := s.unpack(ctx, src, to, desc.Digest, diffID); err != nil {
		return layerResult{}, err
	}
	res := layerResult{}
	if !haveBlob {
		if err := os.Rename(tmpBlob, blob); err != nil {
			return layerResult{}, fmt.Errorf("storing blob: %w", err)
		}
		res.stored = true
	}
	if !haveDir {
		if err := os.Rename(tmpDir, dir); err == nil {
			res.extracted = true
		} else if !exists(dir) {
			return layerResult{}, fmt.Errorf("storing layer: %w", err)
		} // else another process won the race with identical content
	}
	return res, nil
}

// unpackTarget says where unpack writes.
type unpackTarget struct {
	blob, dir          string
	writeBlob, extract bool
	verified           bool // the reader itself fails unless the compressed digest matches
}

// unpack streams src once: into the blob file, through the digest check
// (unless the source checks it) and, decompressed, into the extractor.
func (s *Store) unpack(ctx context.Context, src io.Reader, to unpackTarget, digest, diffID v1.Hash) error {
	var w []io.Writer
	dh := sha256.New()
	if !to.verified {
		w = append(w, dh)
	}
	blobW := &firstErrWriter{}
	if to.writeBlob {
		f, err := os.Create(to.blob)
		if err != nil {
			return err
		}
		defer f.Close()
		blobW.w = f
		w = append(w, blobW)
	}
	srcR := &firstErrReader{r: src}
	var in io.Reader = srcR
	if len(w) > 0 {
		in = io.TeeReader(srcR, io.MultiWriter(w...))
	}
	if to.extract {
		if err := os.Mkdir(to.dir, 0o755); err != nil {
			return err
		}
		uh := sha256.New()
		if err := s.extractStream(ctx, in, to.dir, uh); err != nil {
			if blobW.err != nil {
				// The blob's write failed first (a full disk, say): the
				// extractor then only saw a cut stream.
				return fmt.Errorf("writing layer blob: %w", blobW.err)
			}
			if srcR.err != nil {
				// The source failed (a cut connection, a checksum the
				// registry client refused): not the layer's format.
				return fmt.Errorf("reading layer: %w", srcR.err)
			}
			return err
		}
		if got := "sha256:" + hex.EncodeToString(uh.Sum(nil)); got != diffID.String() {
			return fmt.Errorf("uncompressed content has digest %s, the image config says %s", got, diffID)
		}
	}
	if _, err := io.Copy(io.Discard, in); err != nil {
		return fmt.Errorf("reading layer: %w", err)
	}
	if to.verified {
		return nil
	}
	if got := "sha256:" + hex.EncodeToString(dh.Sum(nil)); got != digest.String() {
		return fmt.Errorf("content has digest %s, the manifest says %s", got, digest)
	}
	return nil
}

// extractStream decompresses in (gzip, zstd or plain, by magic number) into dir, hashing the tar stream.
func (s *Store) extractStream(ctx context.Context, in io.Reader, dir string, uh hash.Hash) error {
	br := bufio.NewReaderSize(in, 1<<16)
	magic, _ := br.Peek(4)
	var tarStream io.Reader = br
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("decompressing gzip: %w", err)
		}
		defer zr.Close()
		tarStream = zr
	case bytes.Equal(magic, zstdMagic):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return fmt.Errorf("decompressing zstd: %w", err)
		}
		defer zr.Close()
		tarStream = zr
	}
	tee := io.TeeReader(tarStream, uh)
	if err := extract(ctx, tee, dir, s.log); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, tee); err != nil { // tar padding after the end marker
		return fmt.Errorf("decompressing layer: %w", err)
	}
	return nil
}

// writeMeta stores the manifest and config blobs of an image.
func (s *Store) writeMeta(img v1.Image, rec *record) error {
	rawM, err := img.RawManifest()
	if err != nil {
		return fmt.Errorf("reading manifest: %w", err)
	}
	rawC, err := img.RawConfigFile()
	if err != nil {
		return fmt.Errorf("reading config: %w", err)
	}
	if err := s.writeBlob(rec.Digest, rawM); err != nil {
		return err
	}
	return s.writeBlob("sha256:"+rec.ID, rawC)
}

// writeBlob stores a small blob atomically, verifying its digest.
func (s *Store) writeBlob(digest string, data []byte) error {
	sum := sha256.Sum256(data)
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != digest {
		return fmt.Errorf("blob has digest %s, expected %s", got, digest)
	}
	p := s.blobPath(digest)
	if exists(p) {
		return nil
	}
	t, err := s.newTemp("blob")
	if err != nil {
		return err
	}
	defer t.release()
	tmp := filepath.Join(t.path, "blob")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("writing blob %s: %w", digest, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("writing blob %s: %w", digest, err)
	}
	return nil
}

// commit adds rec to the index, checking under the lock that its layers still exist.
func (s *Store) commit(ctx context.Context, rec *record) error {
	return s.update(ctx, func(ix *index) error {
		for i, l := range rec.Layers {
			if !exists(s.layerPath(l)) || !exists(s.blobPath(rec.LayerBlobs[i])) {
				return errLayerGone
			}
		}
		if !exists(s.blobPath(rec.Digest)) || !exists(s.blobPath("sha256:"+rec.ID)) {
			return errLayerGone
		}
		for _, n := range rec.Names {
			ix.removeName(n)
		}
		for _, old := range ix.Images {
			if old.ID == rec.ID { // same image again: merge names and digests
				old.Names = append(old.Names, rec.Names...)
				for _, d := range rec.Digests {
					if !slices.Contains(old.Digests, d) {
						old.Digests = append(old.Digests, d)
					}
				}
				*rec = *old
				return nil
			}
		}
		ix.Images = append(ix.Images, rec)
		return nil
	})
}

// discard removes what a failed ingest created, unless an image uses it meanwhile.
func (s *Store) discard(created map[string]bool) {
	if len(created) == 0 {
		return
	}
	err := s.update(context.Background(), func(ix *index) error {
		s.collect(ix, created)
		return nil
	})
	if err != nil {
		s.log.Warn("cleaning up after a failed image write", "err", err)
	}
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// firstErrWriter remembers the first error of the writer it wraps.
type firstErrWriter struct {
	w   io.Writer
	err error
}

func (f *firstErrWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err != nil && f.err == nil {
		f.err = err
	}
	return n, err
}

// firstErrReader remembers the first error other than io.EOF of the reader
// it wraps.
type firstErrReader struct {
	r   io.Reader
	err error
}

func (f *firstErrReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err != nil && err != io.EOF && f.err == nil {
		f.err = err
	}
	return n, err
}
