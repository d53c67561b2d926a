package runtime

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func testRootfs(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"etc/passwd": "# comment\nroot:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nbroken:x:zz:1\nweb:x:33:33::/var/www:/bin/false\n",
		"etc/group":  "root:x:0:\napp:x:1000:\nextra:x:2000:app,web\nwww:x:33:\nmore:x:3000:web,app\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestLookupUser(t *testing.T) {
	root := testRootfs(t)
	tests := []struct {
		spec string
		want User
	}{
		{"", User{Home: "/root"}},
		{"app", User{User: specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{2000, 3000}}, Home: "/home/app"}},
		{"1000", User{User: specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{2000, 3000}}, Home: "/home/app"}},
		{"app:extra", User{User: specs.User{UID: 1000, GID: 2000, AdditionalGids: []uint32{3000}}, Home: "/home/app"}},
		{"app:5", User{User: specs.User{UID: 1000, GID: 5, AdditionalGids: []uint32{2000, 3000}}, Home: "/home/app"}},
		{"4242", User{User: specs.User{UID: 4242}, Home: "/"}},
		{"4242:4242", User{User: specs.User{UID: 4242, GID: 4242}, Home: "/"}},
		{"web", User{User: specs.User{UID: 33, GID: 33, AdditionalGids: []uint32{2000, 3000}}, Home: "/var/www"}},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := LookupUser(root, tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got.UID != tt.want.UID || got.GID != tt.want.GID || got.Home != tt.want.Home || !slices.Equal(got.AdditionalGids, tt.want.AdditionalGids) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLookupUserErrors(t *testing.T) {
	root := testRootfs(t)
	for spec, want := range map[string]string{
		"ghost":     `looking up user "ghost": no such user in /etc/passwd`,
		"app:ghost": `looking up group "ghost": no such group in /etc/group`,
	} {
		if _, err := LookupUser(root, spec); err == nil || err.Error() != want {
			t.Errorf("%q: err = %v, want %q", spec, err, want)
		}
	}
}

func TestLookupUserNoEtc(t *testing.T) {
	got, err := LookupUser(t.TempDir(), "123:456")
	if err != nil || got.UID != 123 || got.GID != 456 {
		t.Errorf("got %+v, %v", got, err)
	}
	if _, err := LookupUser(t.TempDir(), "app"); err == nil {
		t.Error("a name without /etc/passwd must fail")
	}
}

func TestLookupUserSymlinkEscape(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	// /etc/passwd pointing outside the rootfs must not be read.
	if err := os.Symlink("../../../../../../etc/passwd", filepath.Join(root, "etc/passwd")); err != nil {
		t.Fatal(err)
	}
	_, err := LookupUser(root, "root")
	if err == nil || !strings.Contains(err.Error(), "passwd") {
		t.Errorf("err = %v, want an error about /etc/passwd", err)
	}
}

func TestWithUser(t *testing.T) {
	root := testRootfs(t)
	s := mustSpec(t, WithUser(root, "app"))
	if s.Process.User.UID != 1000 || !slices.Contains(s.Process.Env, "HOME=/home/app") {
		t.Errorf("user %+v env %v", s.Process.User, s.Process.Env)
	}
	s = mustSpec(t, WithEnv("HOME=/custom"), WithRootfs(root, false), WithUser("", "app"))
	if !slices.Contains(s.Process.Env, "HOME=/custom") || slices.Contains(s.Process.Env, "HOME=/home/app") {
		t.Errorf("env = %v", s.Process.Env)
	}
}
