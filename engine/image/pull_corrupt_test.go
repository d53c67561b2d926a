package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// TestPullCorrupt pulls images whose content does not match their digests,
// into a store that already holds an image sharing their base layer: the
// pull fails naming the reference, the layer and the mismatch, and the
// store is left as it was (the shared layer kept, nothing else, tmp/ clean).
func TestPullCorrupt(t *testing.T) {
	ctx := context.Background()
	layers := appLayers(t)
	good := imageOf(t, "amd64", layers[0])
	for _, tc := range []struct {
		name    string
		img     v1.Image
		culprit int  // the layer at fault
		alter   bool // the registry serves the culprit's blob altered
		want    []string
	}{
		{"compressed digest", imageOf(t, "amd64", layers...), 1, true, []string{"checksum"}},
		{"uncompressed digest", withWrongDiffID(t, imageOf(t, "amd64", layers...), 2), 2, false,
			[]string{"uncompressed content has digest", "the image config says"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := startRegistry(t)
			goodRef := reg.push(t, "test/good:1", good)
			ref := reg.push(t, "test/bad:1", tc.img)
			culprit := mustLayerDigest(t, layers[tc.culprit])
			if tc.alter {
				reg.corruptBlob(culprit)
			}
			s := openStore(t)
			kept, err := s.Pull(ctx, goodRef, plainHTTP)
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Pull(ctx, ref, plainHTTP)
			t.Logf("%s: %v", tc.name, err)
			if err == nil || !containsAll(err.Error(), slices.Concat(tc.want, []string{ref, culprit.String()})...) {
				t.Fatalf("err = %v, want it to name %s, layer %s and %q", err, ref, culprit, tc.want)
			}
			assertOnlyImage(t, s, kept, good)
		})
	}
}

// withWrongDiffID returns img with the diffID of layer i changed in its
// config: the layer's blob is intact but unpacks to other content than the
// config names.
func withWrongDiffID(t *testing.T, img v1.Image, i int) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	sum := sha256.Sum256([]byte("content no layer has"))
	cf.RootFS.DiffIDs[i] = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	out, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustLayerDigest(t *testing.T, l v1.Layer) v1.Hash {
	t.Helper()
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// assertOnlyImage checks that the store holds img (stored as rec) and
// nothing else: its layers and blobs only, and no temporary directory.
func assertOnlyImage(t *testing.T, s *Store, rec *Image, img v1.Image) {
	t.Helper()
	imgs, err := s.List(context.Background())
	if err != nil || len(imgs) != 1 || imgs[0].ID != rec.ID {
		t.Errorf("images after the failed pull: %v (%v), want only %s", imgs, err, rec.ID)
	}
	var layers []string
	for _, l := range rec.Layers {
		layers = append(layers, trimAlgo(l))
	}
	if got := dirNames(t, s, "layers"); !slices.Equal(got, layers) {
		t.Errorf("layers/ holds %v, want only %v", got, layers)
	}
	assertBlobs(t, s, img)
	if left := dirNames(t, s, "tmp"); len(left) != 0 {
		t.Errorf("tmp/ holds %v after the failed pull", left)
	}
}
