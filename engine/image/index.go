package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/podbay/podbay/internal/flock"
)

// record is one image in the index file.
type record struct {
	ID           string    `json:"id"`
	Digest       string    `json:"digest"`
	Digests      []string  `json:"digests,omitempty"` // manifest and manifest-list digests
	Names        []string  `json:"names,omitempty"`
	Created      time.Time `json:"created"`
	Size         int64     `json:"size"`
	Layers       []string  `json:"layers"`       // diffIDs, bottom first
	LayerBlobs   []string  `json:"layerBlobs"`   // compressed digests, bottom first
	ManifestType string    `json:"manifestType"` // media type of the manifest blob
}

// index is the whole image index, stored as JSON and replaced atomically.
type index struct {
	Images []*record `json:"images"`
}

func (s *Store) indexPath() string { return filepath.Join(s.root, "index.json") }

// readIndex loads the index; a missing file is an empty index.
func (s *Store) readIndex() (*index, error) {
	data, err := os.ReadFile(s.indexPath())
	if errors.Is(err, os.ErrNotExist) {
		return &index{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading image index: %w", err)
	}
	ix := &index{}
	if err := json.Unmarshal(data, ix); err != nil {
		return nil, fmt.Errorf("decoding image index %s: %w", s.indexPath(), err)
	}
	return ix, nil
}

// update runs fn on the index under an exclusive file lock and saves the result atomically.
func (s *Store) update(ctx context.Context, fn func(*index) error) error {
	unlock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	ix, err := s.readIndex()
	if err != nil {
		return err
	}
	if err := fn(ix); err != nil {
		return err
	}
	data, err := json.MarshalIndent(ix, "", " ")
	if err != nil {
		return fmt.Errorf("encoding image index: %w", err)
	}
	tmp := s.indexPath() + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("writing image index: %w", err)
	}
	if err := os.Rename(tmp, s.indexPath()); err != nil {
		return fmt.Errorf("writing image index: %w", err)
	}
	return nil
}

// lock takes the store's exclusive lock, shared with other podbay
// processes, waiting until ctx ends.
func (s *Store) lock(ctx context.Context) (func(), error) {
	unlock, err := flock.LockContext(ctx, filepath.Join(s.root, "index.lock"), flock.Exclusive)
	if err != nil {
		return nil, fmt.Errorf("locking image store: %w", err)
	}
	return unlock, nil
}

// find returns the record ref designates, or ErrNotFound.
func (ix *index) find(ref string) (*record, error) {
	if ref == "" {
		return nil, fmt.Errorf("image \"\": %w", ErrNotFound)
	}
	id := trimAlgo(ref)
	for _, r := range ix.Images {
		if r.ID == id {
			return r, nil
		}
	}
	if canon, err := NormalizeRef(ref); err == nil {
		for _, r := range ix.Images {
			if slices.Contains(r.Names, canon) {
				return r, nil
			}
		}
		if d, ok := digestOf(canon); ok {
			for _, r := range ix.Images {
				if slices.Contains(r.Digests, d) && r.hasRepo(canon) {
					return r, nil
				}
			}
		}
	}
	if r := ix.findShort(ref); r != nil {
		return r, nil
	}
	if looksLikeID(ref) {
		var hits []*record
		for _, r := range ix.Images {
			if len(r.ID) >= len(id) && r.ID[:len(id)] == id {
				hits = append(hits, r)
			}
		}
		if len(hits) == 1 {
			return hits[0], nil
		}
		if len(hits) > 1 {
			return nil, fmt.Errorf("image ID prefix %q is ambiguous: %d images match", ref, len(hits))
		}
	}
	return nil, fmt.Errorf("image %q: %w", ref, ErrNotFound)
}

// findShort matches a short name (no registry: "mine:v1", "app/web") against
// local names in any registry, as Podman does: localhost/ first, then a
// unique match anywhere.
func (ix *index) findShort(ref string) *record {
	first, _, hasSlash := strings.Cut(ref, "/")
	if hasSlash && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return nil
	}
	if !strings.Contains(ref, "@") && !strings.Contains(ref[strings.LastIndex(ref, "/")+1:], ":") {
		ref += ":latest"
	}
	var hits []*record
	for _, r := range ix.Images {
		for _, n := range r.Names {
			if n == "localhost/"+ref {
				return r
			}
			if strings.HasSuffix(n, "/"+ref) && !slices.Contains(hits, r) {
				hits = append(hits, r)
			}
		}
	}
	if len(hits) == 1 {
		return hits[0]
	}
	return nil
}

// hasRepo reports whether the record has a name in canon's repository (or none at all).
func (r *record) hasRepo(canon string) bool {
	repo := repoOf(canon)
	for _, n := range r.Names {
		if repoOf(n) == repo {
			return true
		}
	}
	return len(r.Names) == 0
}

// removeName drops name from every record; records are kept even when left nameless.
func (ix *index) removeName(name string) {
	for _, r := range ix.Images {
		r.Names = slices.DeleteFunc(r.Names, func(n string) bool { return n == name })
	}
}

// referenced returns the sets of layer diffIDs and blob digests any image uses.
func (ix *index) referenced() (layers, blobs map[string]bool) {
	layers, blobs = map[string]bool{}, map[string]bool{}
	for _, r := range ix.Images {
		for _, l := range r.Layers {
			layers[l] = true
		}
		for _, b := range r.LayerBlobs {
			blobs[b] = true
		}
		blobs["sha256:"+r.ID] = true
		blobs[r.Digest] = true
	}
	return layers, blobs
}
