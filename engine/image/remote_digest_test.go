package image

import (
	"context"
	"errors"
	"testing"
)

// TestRemoteDigestFollowsTheTag: RemoteDigest reports the digest a tag
// names in the registry now, without pulling: after a new push under the
// same tag it differs from the pulled image's, which the store keeps.
func TestRemoteDigestFollowsTheTag(t *testing.T) {
	ctx := context.Background()
	reg := startRegistry(t)
	first := imageOf(t, "amd64", appLayers(t)...)
	ref := reg.push(t, "test/app:stable", first)
	s := openStore(t)
	pulled, err := s.Pull(ctx, ref, plainHTTP)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := s.RemoteDigest(ctx, ref, plainHTTP); err != nil || d != pulled.Digest {
		t.Errorf("RemoteDigest before a push: %s, %v; want the pulled %s", d, err, pulled.Digest)
	}
	second := imageOf(t, "arm64", appLayers(t)...)
	reg.push(t, "test/app:stable", second)
	d, err := s.RemoteDigest(ctx, ref, plainHTTP)
	if err != nil || d != mustDigest(t, second).String() {
		t.Errorf("RemoteDigest after a push: %s, %v; want %s", d, err, mustDigest(t, second))
	}
	if imgs, _ := s.List(ctx); len(imgs) != 1 {
		t.Errorf("RemoteDigest pulled: %d images stored", len(imgs))
	}
	_, err = s.RemoteDigest(ctx, reg.host+"/test/missing:1", plainHTTP)
	var re *RegistryError
	if !errors.As(err, &re) {
		t.Errorf("a missing tag: %v, want a RegistryError", err)
	}
}
