package image

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// entry is one tar entry of a test layer.
type entry struct {
	name, body, link string
	typ              byte
	mode             int64
	pax              map[string]string
	major, minor     int64
}

// tarOf builds a tar stream owned by the current user (so tests need no root).
func tarOf(t testing.TB, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
			if typ == tar.TypeDir {
				mode = 0o755
			}
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Linkname: e.link, Mode: mode, Uid: os.Getuid(), Gid: os.Getgid(),
			ModTime: time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC), PAXRecords: e.pax, Devmajor: e.major, Devminor: e.minor, Format: tar.FormatPAX}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.body))
	}
	tw.Close()
	return buf.Bytes()
}

func extractTo(t *testing.T, entries []entry) (string, error) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layer")
	os.Mkdir(dir, 0o755)
	return dir, extract(context.Background(), bytes.NewReader(tarOf(t, entries)), dir, nil)
}

func TestExtractBasics(t *testing.T) {
	dir, err := extractTo(t, []entry{
		{name: "./", typ: tar.TypeDir},
		{name: "bin/", typ: tar.TypeDir, mode: 0o711},
		{name: "bin/tool", body: "#!/bin/sh\n", mode: 0o755},
		{name: "bin/sh", typ: tar.TypeSymlink, link: "/bin/tool"},
		{name: "bin/hard", typ: tar.TypeLink, link: "bin/tool"},
		{name: "deep/implicit/file", body: "x"},
		{name: "bin/replaced", body: "old"},
		{name: "bin/replaced", body: "new"},
		{name: "fifo", typ: tar.TypeFifo},
	})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(filepath.Join(dir, "bin"))
	if st.Mode().Perm() != 0o711 || !st.ModTime().Equal(time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("bin dir: mode %v mtime %v (dir metadata must be applied last)", st.Mode(), st.ModTime())
	}
	if l, _ := os.Readlink(filepath.Join(dir, "bin/sh")); l != "/bin/tool" {
		t.Errorf("symlink -> %q", l)
	}
	a, _ := os.Stat(filepath.Join(dir, "bin/tool"))
	b, _ := os.Stat(filepath.Join(dir, "bin/hard"))
	if !os.SameFile(a, b) || a.Mode().Perm() != 0o755 {
		t.Errorf("hard link not shared or mode %v", a.Mode())
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "bin/replaced")); string(data) != "new" {
		t.Errorf("later entry must win: %q", data)
	}
	if _, err := os.Stat(filepath.Join(dir, "deep/implicit/file")); err != nil {
		t.Error(err)
	}
	if st, _ := os.Lstat(filepath.Join(dir, "fifo")); st == nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Error("fifo missing")
	}
}

func TestExtractRefusesEscapes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []entry
		want    string
	}{
		{"dotdot", []entry{{name: "../evil", body: "x"}}, `"../evil": path escapes`},
		{"dotdot inside", []entry{{name: "a/../../evil", body: "x"}}, `"a/../../evil": path escapes`},
		{"absolute", []entry{{name: "/evil", body: "x"}}, `"/evil": absolute path`},
		{"write through symlink", []entry{{name: "link", typ: tar.TypeSymlink, link: "OUTSIDE"}, {name: "link/evil", body: "x"}}, `"link/evil": "link": path goes through a symlink`},
		{"write through relative symlink", []entry{{name: "link", typ: tar.TypeSymlink, link: "../.."}, {name: "link/evil", body: "x"}}, `"link/evil": "link": path goes through a symlink`},
		{"hardlink outside", []entry{{name: "hl", typ: tar.TypeLink, link: "../secret"}}, `"hl": hard link target "../secret": path escapes`},
		{"hardlink absolute", []entry{{name: "hl", typ: tar.TypeLink, link: "/etc/passwd"}}, `"hl": hard link target "/etc/passwd": absolute path`},
		{"hardlink via symlink", []entry{{name: "link", typ: tar.TypeSymlink, link: "OUTSIDE"}, {name: "hl", typ: tar.TypeLink, link: "link/secret"}}, `path goes through a symlink`},
		{"symlink dir then nested dir", []entry{{name: "d", typ: tar.TypeSymlink, link: "OUTSIDE"}, {name: "d/sub/", typ: tar.TypeDir}}, `"d/sub/": "d": path goes through a symlink`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			outside := filepath.Join(base, "outside")
			os.Mkdir(outside, 0o755)
			os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600)
			os.WriteFile(filepath.Join(base, "secret"), []byte("s"), 0o600)
			dir := filepath.Join(base, "a", "layer")
			os.MkdirAll(dir, 0o755)
			for i := range tc.entries {
				tc.entries[i].link = strings.ReplaceAll(tc.entries[i].link, "OUTSIDE", outside)
			}
			err := extract(context.Background(), bytes.NewReader(tarOf(t, tc.entries)), dir, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %s", err, tc.want)
			}
			for _, d := range []string{base, outside, filepath.Join(base, "a")} {
				ents, _ := os.ReadDir(d)
				for _, e := range ents {
					switch e.Name() {
					case "outside", "secret", "a", "layer":
					default:
						t.Errorf("%s written outside the layer", filepath.Join(d, e.Name()))
					}
				}
			}
		})
	}
}

func BenchmarkExtract(b *testing.B) {
	var entries []entry
	body := strings.Repeat("0123456789abcdef", 4096) // 64 KiB
	for i := range 200 {
		entries = append(entries, entry{name: "dir" + string(rune('a'+i%20)) + "/f" + strings.Repeat("x", i%7) + string(rune('a'+i/20)), body: body})
	}
	data := tarOf(b, entries)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		dir := filepath.Join(b.TempDir(), "l")
		os.Mkdir(dir, 0o755)
		if err := extract(context.Background(), bytes.NewReader(data), dir, nil); err != nil {
			b.Fatal(err)
		}
	}
}
