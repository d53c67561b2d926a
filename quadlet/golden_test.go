package quadlet

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// goldenDir is where the cases' files are said to be: the golden units
// name it (SourcePath=, relative paths), whatever the checkout's path.
const goldenDir = "/etc/containers/systemd"

// goldenSources reads a case's Quadlet files as if they were in goldenDir.
func goldenSources(t *testing.T, dir string) []Source {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var srcs []Source
	for _, e := range ents {
		if e.IsDir() || !Supported(e.Name()) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, Source{Path: filepath.Join(goldenDir, e.Name()), Data: data})
	}
	return srcs
}

// goldenOptions: cases named user-* are generated for a user's manager.
func goldenOptions(name string) Options {
	return Options{Binary: "/usr/local/bin/podbay", User: strings.HasPrefix(name, "user-")}
}

// TestGolden: testdata/<case>/*.{kube,network,volume} generate
// want/<unit>.service each, want/links.txt (the [Install] links),
// want/errors.txt and want/warnings.txt. Regenerate with -update.
func TestGolden(t *testing.T) {
	cases, err := filepath.Glob("testdata/*")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, dir := range cases {
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			res := Generate(goldenSources(t, dir), goldenOptions(name))
			got := map[string][]byte{}
			var links []string
			for _, u := range res.Units {
				got[u.Name] = u.Text()
				for _, l := range u.Links() {
					links = append(links, filepath.Join(l.Dir, l.Name)+" -> "+u.Name)
				}
			}
			sort.Strings(links)
			got["links.txt"] = lines(links)
			got["errors.txt"] = lines(messages(res.Errors))
			got["warnings.txt"] = lines(messages(res.Warnings))
			compareDir(t, filepath.Join(dir, "want"), got)
		})
	}
}

func messages(errs []error) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Error()
	}
	return out
}

func lines(ss []string) []byte {
	if len(ss) == 0 {
		return nil
	}
	return []byte(strings.Join(ss, "\n") + "\n")
}

// compareDir checks that dir holds exactly the non-empty files of got (or
// writes them with -update).
func compareDir(t *testing.T, dir string, got map[string][]byte) {
	t.Helper()
	if *update {
		os.RemoveAll(dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range got {
			if len(data) > 0 {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		return
	}
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	for _, e := range ents {
		if _, ok := got[e.Name()]; !ok {
			t.Errorf("%s: expected, not generated", e.Name())
		}
	}
	for name, data := range got {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) && len(data) == 0 {
			continue
		}
		if !bytes.Equal(data, want) {
			t.Errorf("%s differs (regenerate with -update)\n--- got\n%s--- want\n%s", name, data, want)
		}
	}
}
