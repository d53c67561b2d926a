package image

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// archImage is a one-layer image whose layer names its architecture.
func archImage(t testing.TB, arch string) v1.Image {
	return imageOf(t, arch, gzipLayer(t, []entry{{name: "arch", body: arch}}))
}

// TestPullManifestList pulls a manifest list of linux/arm64, linux/amd64
// and the host's platform: the platform asked for (or the host's) is the
// one stored, under the list's name, findable by the list's digest, and
// nothing of the other platforms is fetched.
func TestPullManifestList(t *testing.T) {
	ctx := context.Background()
	reg := startRegistry(t)
	host := hostPlatform()
	plats := []v1.Platform{{OS: "linux", Architecture: "arm64"}, {OS: "linux", Architecture: "amd64"}}
	if !slices.ContainsFunc(plats, func(p v1.Platform) bool { return p.Equals(host) }) {
		plats = append(plats, host)
	}
	byArch := map[string]v1.Image{}
	var adds []mutate.IndexAddendum
	for _, p := range plats {
		img := archImage(t, p.Architecture)
		byArch[p.Architecture] = img
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	idx := mutate.AppendManifests(empty.Index, adds...)
	ref := reg.pushIndex(t, "test/multi:1", idx)
	listDigest := mustDigest(t, idx).String()

	for _, tc := range []struct {
		name     string
		platform *v1.Platform
		want     string // architecture
	}{
		{"linux/amd64", &v1.Platform{OS: "linux", Architecture: "amd64"}, "amd64"},
		{"linux/arm64", &v1.Platform{OS: "linux", Architecture: "arm64"}, "arm64"},
		{"host platform", nil, host.Architecture},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			got, err := s.Pull(ctx, ref, PullOptions{InsecureRegistry: true, Platform: tc.platform})
			if err != nil {
				t.Fatal(err)
			}
			want := byArch[tc.want]
			assertImageRecord(t, got, want, []string{ref})
			if !slices.Contains(got.Digests, listDigest) {
				t.Errorf("digests %v lack the manifest list's %s", got.Digests, listDigest)
			}
			if found, err := s.Get(ctx, reg.host+"/test/multi@"+listDigest); err != nil || found.ID != got.ID {
				t.Errorf("Get by the list's digest: %v, %v", found, err)
			}
			if layers := dirNames(t, s, "layers"); len(layers) != 1 || "sha256:"+layers[0] != got.Layers[0] {
				t.Errorf("layers stored %v, want only %s's %v", layers, tc.want, got.Layers)
			}
			dirs, err := s.LayerDirs(ctx, got)
			if err != nil {
				t.Fatal(err)
			}
			wantFile(t, filepath.Join(dirs[0], "arch"), tc.want, 0o644)
		})
	}
}

// TestPullManifestListWithoutPlatform: a list with no image for the
// platform asked for is an error naming the reference, and stores nothing.
func TestPullManifestListWithoutPlatform(t *testing.T) {
	reg := startRegistry(t)
	arm := v1.Platform{OS: "linux", Architecture: "arm64"}
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: archImage(t, "arm64"), Descriptor: v1.Descriptor{Platform: &arm}})
	ref := reg.pushIndex(t, "test/armonly:1", idx)
	s := openStore(t)
	_, err := s.Pull(context.Background(), ref, PullOptions{InsecureRegistry: true, Platform: &v1.Platform{OS: "linux", Architecture: "s390x"}})
	t.Logf("no matching platform: %v", err)
	if err == nil || !containsAll(err.Error(), ref, "s390x") {
		t.Errorf("err = %v, want an error naming %s and the platform", err, ref)
	}
	assertEmptyStore(t, s)
}
