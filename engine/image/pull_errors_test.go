package image

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// containsAll reports whether s contains every one of subs.
func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// TestPullMissing: a tag, repository or digest the registry does not know
// is one error naming the reference and what the registry said (a 404),
// and leaves the store empty.
func TestPullMissing(t *testing.T) {
	reg := startRegistry(t)
	reg.push(t, "test/app:1", imageOf(t, "amd64", appLayers(t)...))
	absent := "sha256:" + strings.Repeat("0", 64)
	for _, tc := range []struct {
		name, ref string
		said      string // ggcr's registry words it so; docker-registry says "manifest unknown"
	}{
		{"tag", reg.host + "/test/app:2", "says: unknown manifest"},
		{"repository", reg.host + "/test/nothing:1", "says: unknown name"},
		{"digest", reg.host + "/test/app@" + absent, "says: unknown manifest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			_, err := s.Pull(context.Background(), tc.ref, plainHTTP)
			t.Logf("missing %s: %v", tc.name, err)
			if err == nil || !containsAll(err.Error(), `pulling "`+tc.ref+`"`, reg.host, tc.said) {
				t.Fatalf("err = %v, want it to name %q and say %q", err, tc.ref, tc.said)
			}
			if re := registryErr(t, err); re.StatusCode != http.StatusNotFound || re.Registry != reg.host {
				t.Errorf("registry error %+v, want HTTP 404 from %s", re, reg.host)
			}
			assertEmptyStore(t, s)
		})
	}
}

// TestPullRefusesPlainHTTP: a registry served over plain http is refused
// unless InsecureRegistry (--tls-verify=false) allows it.
func TestPullRefusesPlainHTTP(t *testing.T) {
	reg := startRegistry(t)
	ref := reg.push(t, "test/app:1", imageOf(t, "amd64", appLayers(t)...))
	s := openStore(t)
	_, err := s.Pull(context.Background(), ref, PullOptions{})
	if !errors.Is(err, errPlainHTTP) || !containsAll(err.Error(), ref, "not served over https", "--tls-verify=false") {
		t.Fatalf("err = %v, want %q naming %s", err, errPlainHTTP, ref)
	}
	assertEmptyStore(t, s)
}
