package image

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/podbay/podbay/internal/flock"
)

// tempDir is a private work directory under <root>/tmp, locked while its owner lives.
type tempDir struct {
	path string
	lock *flock.File
}

// newTemp creates a locked temporary directory; a crashed owner's lock is released by the kernel.
func (s *Store) newTemp(kind string) (*tempDir, error) {
	for range 10 {
		var b [8]byte
		rand.Read(b[:])
		p := filepath.Join(s.root, "tmp", kind+"-"+hex.EncodeToString(b[:]))
		f, err := flock.OpenFile(p+".lock", unix.O_CREAT|unix.O_EXCL)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("creating temporary directory: %w", err)
		}
		if f.TryLock(flock.Exclusive) != nil || !f.Names(p+".lock") {
			f.Close() // a pruner took it between create and lock
			continue
		}
		if err := os.Mkdir(p, 0o700); err != nil {
			os.Remove(p + ".lock")
			f.Close()
			return nil, fmt.Errorf("creating temporary directory: %w", err)
		}
		return &tempDir{path: p, lock: f}, nil
	}
	return nil, errors.New("creating temporary directory: too many collisions")
}

// release removes the directory and its lock.
func (t *tempDir) release() {
	os.RemoveAll(t.path)
	os.Remove(t.path + ".lock")
	t.lock.Close()
}

// pruneTemp removes temporary directories whose owner is gone.
func (s *Store) pruneTemp() error {
	dir := filepath.Join(s.root, "tmp")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("reading %s: %w", dir, err)
	}
	var errs []error
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if lockPath, ok := strings.CutSuffix(p, ".lock"); ok {
			errs = append(errs, pruneLocked(lockPath))
			continue
		}
		if _, err := os.Stat(p + ".lock"); errors.Is(err, os.ErrNotExist) {
			errs = append(errs, os.RemoveAll(p))
		}
	}
	return errors.Join(errs...)
}

func pruneLocked(p string) error {
	f, err := flock.OpenFile(p+".lock", 0)
	if err != nil {
		return nil // another pruner got it
	}
	defer f.Close()
	if f.TryLock(flock.Exclusive) != nil || !f.Names(p+".lock") {
		return nil // alive
	}
	if err := os.RemoveAll(p); err != nil {
		return fmt.Errorf("removing stale %s: %w", p, err)
	}
	return os.Remove(p + ".lock")
}

// Prune removes what crashed or interrupted commands left: temporary directories, and
// layers and blobs no image references.
func (s *Store) Prune(ctx context.Context) error {
	if err := s.pruneTemp(); err != nil {
		return err
	}
	return s.update(ctx, func(ix *index) error {
		s.collect(ix, nil)
		return nil
	})
}

// collect removes unreferenced layers and blobs (only those in only, when it is not nil);
// it must run under the store lock and returns how many layers it removed.
func (s *Store) collect(ix *index, only map[string]bool) int {
	layers, blobs := ix.referenced()
	removed := 0
	ents, _ := os.ReadDir(filepath.Join(s.root, "layers"))
	for _, e := range ents {
		d := "sha256:" + e.Name()
		if layers[d] || (only != nil && !only[d]) {
			continue
		}
		if err := s.removeLayerDir(s.layerPath(d)); err != nil {
			s.log.Warn("removing unused layer", "layer", d, "err", err)
			continue
		}
		removed++
	}
	ents, _ = os.ReadDir(filepath.Join(s.root, "blobs", "sha256"))
	for _, e := range ents {
		d := "sha256:" + e.Name()
		if blobs[d] || (only != nil && !only[d]) {
			continue
		}
		if err := os.Remove(s.blobPath(d)); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("removing unused blob", "blob", d, "err", err)
		}
	}
	return removed
}

// removeLayerDir first moves a layer out of sight so a half-deleted layer never looks complete.
func (s *Store) removeLayerDir(p string) error {
	t, err := s.newTemp("gc")
	if err != nil {
		return err
	}
	defer t.release()
	if err := os.Rename(p, filepath.Join(t.path, "layer")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
