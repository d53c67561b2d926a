package image

import (
	"archive/tar"
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// scriptEntries turns a fuzz script into tar entries, one per line:
// "<type> <name>[ -> <link>]" with type f (file), d (dir), l (symlink),
// h (hard link), p (fifo) or w (file named as a whiteout).
func scriptEntries(script string) []entry {
	var out []entry
	for _, line := range strings.Split(script, "\n") {
		if len(line) < 3 || line[1] != ' ' {
			continue
		}
		name, link, _ := strings.Cut(line[2:], " -> ")
		e := entry{name: name, link: link, body: "x"}
		switch line[0] {
		case 'f':
			e.typ = tar.TypeReg
		case 'd':
			e.typ = tar.TypeDir
		case 'l':
			e.typ = tar.TypeSymlink
		case 'h':
			e.typ = tar.TypeLink
		case 'p':
			e.typ = tar.TypeFifo
		case 'w':
			e.typ, e.name = tar.TypeReg, filepath.Join(filepath.Dir(name), whiteoutPrefix+filepath.Base(name))
		default:
			continue
		}
		out = append(out, e)
	}
	return out
}

// scriptTar writes entries as a tar stream, leaving out those tar cannot
// encode (a NUL in a name).
func scriptTar(entries []entry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: 0o644,
			Uid: os.Getuid(), Gid: os.Getgid(), Format: tar.FormatPAX}
		if e.typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if tw.WriteHeader(hdr) != nil {
			continue
		}
		if e.typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	return buf.Bytes()
}

// FuzzExtract extracts arbitrary layers, given either as a script of entries
// or as raw bytes of a tar stream: whatever happens, nothing may be written
// outside the layer directory, and nothing may panic.
func FuzzExtract(f *testing.F) {
	for _, s := range []string{
		"d bin/\nf bin/tool\nl bin/sh -> /bin/tool\nh bin/hard -> bin/tool\np fifo",
		"f ../escape",
		"f a/../../escape",
		"f /escape",
		"l link -> ../..\nf link/escape",
		"l link -> /\nd link/sub/\nf link/sub/escape",
		"l a -> b\nl b -> ../x\nf a/escape",
		"d d/\nl d/up -> ..\nl d/up2 -> d/up/..\nf d/up2/escape",
		"h hl -> ../secret",
		"f x\nw x\nd .wh..wh..opq",
		"d a/\nl a -> /\nf a/escape",
	} {
		f.Add(s, []byte(nil))
	}
	f.Add("", tarOf(f, []entry{{name: "f", body: "x"}, {name: "../escape", body: "x"}}))
	f.Fuzz(func(t *testing.T, script string, raw []byte) {
		base := t.TempDir()
		t.Cleanup(func() { makeRemovable(t, base) })
		outside := filepath.Join(base, "outside")
		dir := filepath.Join(base, "a", "b", "layer")
		for _, d := range []string{outside, dir} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(base, "secret"), []byte("s"), 0o600); err != nil {
			t.Fatal(err)
		}
		stream := raw
		if len(raw) == 0 {
			stream = scriptTar(scriptEntries(strings.ReplaceAll(script, "OUTSIDE", outside)))
		}
		_ = extract(context.Background(), bytes.NewReader(stream), dir, nil)
		want := map[string]bool{base: true, outside: true, filepath.Join(base, "secret"): true,
			filepath.Join(base, "a"): true, filepath.Join(base, "a", "b"): true}
		err := filepath.Walk(base, func(p string, fi os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			if p == dir {
				return filepath.SkipDir
			}
			if !want[p] {
				t.Errorf("written outside the layer: %s (%v)", p, fi.Mode())
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if data, _ := os.ReadFile(filepath.Join(base, "secret")); string(data) != "s" {
			t.Errorf("a file outside the layer changed: %q", data)
		}
	})
}

// makeRemovable gives the owner rwx on every directory under base, so that
// t.TempDir's cleanup can remove a layer holding directories of mode 0644
// when the tests do not run as root.
func makeRemovable(t *testing.T, base string) {
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		return os.Chmod(p, 0o700)
	})
	if err != nil {
		t.Errorf("making %s removable: %v", base, err)
	}
}
