package image

import (
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// v1Image exposes a stored image as a ggcr image backed by its blobs (for Save and Push).
func (s *Store) v1Image(ref string) (v1.Image, *record, error) {
	ix, err := s.readIndex()
	if err != nil {
		return nil, nil, err
	}
	r, err := ix.find(ref)
	if err != nil {
		return nil, nil, err
	}
	m, err := os.ReadFile(s.blobPath(r.Digest))
	if err != nil {
		return nil, nil, fmt.Errorf("reading manifest of image %s: %w", r.ID, err)
	}
	c, err := os.ReadFile(s.blobPath("sha256:" + r.ID))
	if err != nil {
		return nil, nil, fmt.Errorf("reading config of image %s: %w", r.ID, err)
	}
	img, err := partial.CompressedToImage(&storedImage{s: s, manifest: m, config: c, mediaType: types.MediaType(r.ManifestType)})
	if err != nil {
		return nil, nil, err
	}
	return img, r, nil
}

// storedImage is the minimum partial needs to derive a v1.Image.
type storedImage struct {
	s         *Store
	manifest  []byte
	config    []byte
	mediaType types.MediaType
}

func (i *storedImage) RawManifest() ([]byte, error)        { return i.manifest, nil }
func (i *storedImage) RawConfigFile() ([]byte, error)      { return i.config, nil }
func (i *storedImage) MediaType() (types.MediaType, error) { return i.mediaType, nil }

func (i *storedImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	m, err := partial.Manifest(i)
	if err != nil {
		return nil, err
	}
	for _, l := range m.Layers {
		if l.Digest == h {
			return &storedLayer{path: i.s.blobPath(h.String()), desc: l}, nil
		}
	}
	return nil, fmt.Errorf("blob %s is not a layer of this image", h)
}

// storedLayer is a compressed layer blob on disk.
type storedLayer struct {
	path string
	desc v1.Descriptor
}

func (l *storedLayer) Digest() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l *storedLayer) Size() (int64, error)                { return l.desc.Size, nil }
func (l *storedLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }
func (l *storedLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }
