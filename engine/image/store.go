package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/podbay/podbay/internal/topdir"
)

// ErrNotFound is returned (wrapped) when no image matches a reference.
var ErrNotFound = errors.New("image not known")

// Store is an on-disk image store: an index, content-addressed blobs and unpacked layers.
type Store struct {
	root string
	log  *slog.Logger
}

// Image describes a stored image.
type Image struct {
	ID      string        // config digest, hex
	Digest  string        // manifest digest, sha256:...
	Digests []string      // every manifest (and manifest list) digest it was pulled by
	Names   []string      // canonical references
	Created time.Time     // from the image config
	Size    int64         // compressed layers plus config
	Layers  []string      // diffIDs, bottom first
	Config  v1.ConfigFile // the image config
}

// RemoveOptions tunes Remove.
type RemoveOptions struct {
	Force bool // delete an image even when it has several names
}

// RemoveReport says what Remove did.
type RemoveReport struct {
	Untagged      []string // names removed
	Deleted       []string // image IDs deleted
	LayersRemoved int      // unpacked layers garbage-collected
}

// Open opens (creating if needed) the store at root and removes what crashed writers left.
func Open(root string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, d := range []string{"blobs/sha256", "layers"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			return nil, fmt.Errorf("creating image store %s: %w", root, err)
		}
	}
	// Layers are unpacked in tmp and renamed into layers: spread them.
	if err := topdir.Make(filepath.Join(root, "tmp"), 0o700); err != nil {
		return nil, fmt.Errorf("creating image store %s: %w", root, err)
	}
	s := &Store{root: root, log: log}
	if err := s.pruneTemp(); err != nil {
		return nil, err
	}
	return s, nil
}

// Root returns the store's directory.
func (s *Store) Root() string { return s.root }

// Get returns the image ref designates: a name, a full ID, an ID prefix of at least 3 characters or a digest.
func (s *Store) Get(ctx context.Context, ref string) (*Image, error) {
	ix, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	r, err := ix.find(ref)
	if err != nil {
		return nil, err
	}
	return s.image(r)
}

// List returns every stored image, newest first.
func (s *Store) List(ctx context.Context) ([]*Image, error) {
	ix, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	out := make([]*Image, 0, len(ix.Images))
	for _, r := range ix.Images {
		img, err := s.image(r)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	slices.SortStableFunc(out, func(a, b *Image) int { return b.Created.Compare(a.Created) })
	return out, nil
}

// Tag adds newRef as a name of the image ref designates, taking it from any other image.
func (s *Store) Tag(ctx context.Context, ref, newRef string) error {
	canon, err := NormalizeRef(newRef)
	if err != nil {
		return err
	}
	if _, isDigest := digestOf(canon); isDigest {
		return fmt.Errorf("tagging %q: %q is a digest, not a tag", ref, newRef)
	}
	return s.update(ctx, func(ix *index) error {
		r, err := ix.find(ref)
		if err != nil {
			return err
		}
		ix.removeName(canon)
		r.Names = append(r.Names, canon)
		return nil
	})
}

// Remove untags ref when it is one of several names of an image, and deletes the image otherwise;
// layers and blobs no image uses any more are garbage-collected.
func (s *Store) Remove(ctx context.Context, ref string, opts RemoveOptions) (RemoveReport, error) {
	var rep RemoveReport
	err := s.update(ctx, func(ix *index) error {
		r, err := ix.find(ref)
		if err != nil {
			return err
		}
		canon, _ := NormalizeRef(ref)
		byName := slices.Contains(r.Names, canon)
		if byName && len(r.Names) > 1 {
			ix.removeName(canon)
			rep.Untagged = append(rep.Untagged, canon)
			return nil
		}
		if !byName && len(r.Names) > 1 && !opts.Force {
			return fmt.Errorf("removing image %q: it has %d names (%s); remove them one by one or force",
				ref, len(r.Names), strings.Join(r.Names, ", "))
		}
		rep.Untagged = append(rep.Untagged, r.Names...)
		rep.Deleted = append(rep.Deleted, r.ID)
		ix.Images = slices.DeleteFunc(ix.Images, func(x *record) bool { return x == r })
		rep.LayersRemoved = s.collect(ix, nil)
		return nil
	})
	if err != nil {
		return RemoveReport{}, err
	}
	return rep, nil
}

// image turns a record into an Image, reading its config.
func (s *Store) image(r *record) (*Image, error) {
	raw, err := os.ReadFile(s.blobPath("sha256:" + r.ID))
	if err != nil {
		return nil, fmt.Errorf("reading config of image %s: %w", r.ID, err)
	}
	img := &Image{
		ID: r.ID, Digest: r.Digest, Digests: slices.Clone(r.Digests), Names: slices.Clone(r.Names),
		Created: r.Created, Size: r.Size, Layers: slices.Clone(r.Layers),
	}
	if err := json.Unmarshal(raw, &img.Config); err != nil {
		return nil, fmt.Errorf("decoding config of image %s: %w", r.ID, err)
	}
	return img, nil
}

// LayerDirs returns the unpacked layer directories of img, top layer first (overlayfs lowerdir order).
func (s *Store) LayerDirs(ctx context.Context, img *Image) ([]string, error) {
	dirs := make([]string, 0, len(img.Layers))
	for i := len(img.Layers) - 1; i >= 0; i-- {
		d := s.layerPath(img.Layers[i])
		if _, err := os.Stat(d); err != nil {
			return nil, fmt.Errorf("layer %s of image %s: %w", img.Layers[i], img.ID, err)
		}
		dirs = append(dirs, d)
	}
	return dirs, nil
}

func (s *Store) blobPath(digest string) string {
	return filepath.Join(s.root, "blobs", "sha256", trimAlgo(digest))
}

func (s *Store) layerPath(diffID string) string {
	return filepath.Join(s.root, "layers", trimAlgo(diffID))
}

func trimAlgo(d string) string { return strings.TrimPrefix(d, "sha256:") }

// digestOf returns the digest part of a canonical reference.
func digestOf(canon string) (string, bool) {
	_, d, ok := strings.Cut(canon, "@")
	return d, ok
}

// repoOf returns the repository part of a canonical reference.
func repoOf(canon string) string {
	if i := strings.Index(canon, "@"); i >= 0 {
		return canon[:i]
	}
	if i := strings.LastIndex(canon, ":"); i > strings.LastIndex(canon, "/") {
		return canon[:i]
	}
	return canon
}
