package image

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// TestPullConcurrentSharedLayers runs six stores on one root, as six podbay
// processes would, each pulling one of two images that share their two
// bottom layers (run with -race: make test does). Every pull succeeds with
// the right image; each layer is unpacked once; the store ends with both
// images, their blobs and no temporary directory.
func TestPullConcurrentSharedLayers(t *testing.T) {
	ctx := context.Background()
	reg := startRegistry(t)
	layers := appLayers(t)
	imgs := [2]struct {
		ref string
		id  string
	}{}
	for i, arch := range []string{"amd64", "arm64"} { // the arch only makes the configs differ
		img := imageOf(t, arch, layers[0], layers[1], gzipLayer(t, []entry{{name: "only", body: arch}}))
		imgs[i].ref = reg.push(t, "test/"+arch+":1", img)
		id, err := img.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		imgs[i].id = id.Hex
	}
	root := t.TempDir()
	got := make([]*Image, 6)
	errs := make([]error, len(got))
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			s, err := Open(root, nil)
			if err == nil {
				got[i], err = s.Pull(ctx, imgs[i%2].ref, plainHTTP)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("pull %d of %s: %v", i, imgs[i%2].ref, err)
		}
		if want := imgs[i%2]; got[i].ID != want.id || !slices.Equal(got[i].Names, []string{want.ref}) {
			t.Errorf("pull %d: ID %s names %v, want %s [%s]", i, got[i].ID, got[i].Names, want.id, want.ref)
		}
	}
	s, err := Open(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := s.List(ctx)
	if err != nil || len(stored) != 2 {
		t.Fatalf("after the pulls: %d images (%v), want 2", len(stored), err)
	}
	if n := len(dirNames(t, s, "layers")); n != 4 {
		t.Errorf("%d layer directories, want 4 (2 shared, 1 per image)", n)
	}
	if n := len(dirNames(t, s, "blobs/sha256")); n != 8 {
		t.Errorf("%d blobs, want 8 (4 layers, 2 manifests, 2 configs)", n)
	}
	if left := dirNames(t, s, "tmp"); len(left) != 0 {
		t.Errorf("tmp/ holds %v", left)
	}
	for _, img := range got[:2] {
		dirs, err := s.LayerDirs(ctx, img)
		if err != nil {
			t.Fatal(err)
		}
		assertAppBase(t, dirs[2], dirs[1])
		wantFile(t, filepath.Join(dirs[0], "only"), img.Config.Architecture, 0o644)
	}
}
