package mounts

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

const mountinfo = `22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda rw
30 22 0:25 / /run rw,nosuid,nodev shared:5 - tmpfs tmpfs rw,mode=755
40 30 0:25 /podbay/netns /run/podbay/netns rw shared:20 - tmpfs tmpfs rw,mode=755
41 40 0:4 net:[4026532301] /run/podbay/netns/aaa rw shared:21 - nsfs nsfs rw
42 30 0:50 / /run/podbay/containers/c1/rootfs rw - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
43 30 0:51 / /run/podbay/pods/p1/volumes/my\040cache rw,nosuid,nodev - tmpfs tmpfs rw,size=16384k,mode=1777
44 30 0:25 /podbay2 /run/podbay2 rw - tmpfs tmpfs rw
45 30 0:52 / /run/podbay rw - tmpfs tmpfs rw
46 43 0:53 / /run/podbay/pods/p1/volumes/my\040cache rw - tmpfs tmpfs rw
`

func TestUnderDeepestFirst(t *testing.T) {
	got := under(mountinfo, "/run/podbay")
	want := []string{
		"/run/podbay/pods/p1/volumes/my cache", // the later of two mounts on one point first
		"/run/podbay/pods/p1/volumes/my cache",
		"/run/podbay/containers/c1/rootfs",
		"/run/podbay/netns/aaa",
		"/run/podbay/netns",
	}
	if !slices.Equal(got, want) {
		t.Errorf("under /run/podbay:\n got %q\nwant %q", got, want)
	}
	if got := under(mountinfo, "/run/podbay/netns"); !slices.Equal(got, []string{"/run/podbay/netns/aaa"}) {
		t.Errorf("under /run/podbay/netns: %q (the directory's own mount is not under it)", got)
	}
	if got := under(mountinfo, "/srv"); len(got) != 0 {
		t.Errorf("under /srv: %q", got)
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`/a\040b`:      "/a b",
		`/tab\011x`:    "/tab\tx",
		`/back\134sl`:  `/back\sl`,
		`/plain`:       "/plain",
		`/short\04`:    `/short\04`,
		`/notoctal\9x`: `/notoctal\9x`,
	} {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestUnderMissingOrLinkedDir: a missing directory has nothing under it;
// a path through a symbolic link is resolved as mountinfo names it.
func TestUnderMissingOrLinkedDir(t *testing.T) {
	got, err := Under(filepath.Join(t.TempDir(), "nope"))
	if err != nil || len(got) != 0 {
		t.Errorf("Under of a missing directory = %q, %v", got, err)
	}
	link := filepath.Join(t.TempDir(), "proc")
	if err := os.Symlink("/proc", link); err != nil {
		t.Fatal(err)
	}
	if real, err := resolve(link); err != nil || real != "/proc" {
		t.Errorf("resolve(%s) = %q, %v; want /proc", link, real, err)
	}
}
