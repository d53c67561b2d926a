package validate

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/podbay/podbay/kube/manifest"
)

// manifestObjects decodes data with kube/manifest, as podbay kube validate does, so
// findings carry the decoder's real positions. Objects of a kind the decoder knows
// but could not decode are left out: their reading errors say why.
func manifestObjects(t *testing.T, file string, data []byte) []Object {
	t.Helper()
	set, err := manifest.Decode(file, data)
	if err != nil {
		t.Fatalf("decoding: %v", err)
	}
	for _, w := range set.Warnings {
		t.Errorf("reading warning: %s", w)
	}
	var objs []Object
	for _, o := range set.Objects {
		objs = append(objs, Object{Kind: o.Kind, Name: o.Name, Namespace: o.Namespace, Obj: o.Obj,
			Pos: func(path string) Position {
				p := o.PosOf(path)
				return Position{File: p.File, Line: p.Line, Col: p.Col}
			}})
	}
	return objs
}

// TestCorpusThroughManifest validates every testdata/validate manifest decoded by
// kube/manifest and checks that (1) the verdicts are those of the golden corpus
// (TestCorpus, which decodes with an approximate stand-in) and (2) every position
// is real: it points at the field the finding is about, or at its nearest written
// parent.
func TestCorpusThroughManifest(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.yaml"))
	if err != nil || len(files) < 40 {
		t.Fatalf("corpus in %s: %d files, %v", corpusDir, len(files), err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			opts := corpusOptions(data)
			got := Validate(manifestObjects(t, name, data), opts)
			approxObjs, err := decodeTestObjects(name, data)
			if err != nil {
				t.Fatal(err)
			}
			want := Validate(approxObjs, opts)
			if got.Rejected != want.Rejected {
				t.Errorf("rejected %v, want %v", got.Rejected, want.Rejected)
			}
			if g, w := verdicts(got.Findings), verdicts(want.Findings); !slices.Equal(g, w) {
				t.Errorf("findings differ from the corpus decoder's:\n--- got\n%s\n--- want\n%s",
					strings.Join(g, "\n"), strings.Join(w, "\n"))
			}
			lines := strings.Split(string(data), "\n")
			for _, f := range got.Findings {
				if f.Object == "options" {
					continue
				}
				if err := checkPosition(lines, name, f); err != nil {
					t.Errorf("%s: %v", f, err)
				}
			}
		})
	}
}

// verdicts renders findings without their positions, sorted.
func verdicts(fs []Finding) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, strings.Join([]string{f.Severity, f.Rule, f.Object, f.Path, f.Message, f.Hint}, " | "))
	}
	slices.Sort(out)
	return out
}

var segment = regexp.MustCompile(`[^.\[\]]+|\[[^\]]*\]`)

// checkPosition checks that the text at f's position starts the field at f.Path or
// one of its parents: "key:" for a map key, the item itself for a list index, the
// document's first key for the object itself.
func checkPosition(lines []string, file string, f Finding) error {
	if f.File != file || f.Line <= 0 || f.Col <= 0 || f.Line > len(lines) || f.Col > len(lines[f.Line-1]) {
		return fmt.Errorf("position %s is not in %s", f.Position, file)
	}
	line := lines[f.Line-1]
	at := line[f.Col-1:]
	before := strings.TrimRight(line[:f.Col-1], " ")
	segs := segment.FindAllString(f.Path, -1)
	for i := len(segs) - 1; i >= 0; i-- {
		s := segs[i]
		if strings.HasPrefix(s, "[") && !isIndex(s) {
			s = strings.Trim(s, "[]")
		}
		switch {
		case isIndex(s):
			if strings.HasSuffix(before, "-") || strings.HasSuffix(before, "[") || strings.HasSuffix(before, ",") {
				return nil
			}
		case strings.HasPrefix(at, s+":"), strings.HasPrefix(at, `"`+s+`":`):
			return nil
		}
	}
	if f.Col == 1 || strings.HasSuffix(before, "-") {
		return nil // the object's first key: its path is empty or not written at all
	}
	return fmt.Errorf("position %s points at %q, not at %s or a parent", f.Position, at, f.Path)
}

func isIndex(s string) bool {
	if len(s) < 3 || s[0] != '[' {
		return false
	}
	for _, c := range s[1 : len(s)-1] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// TestCorpusRealPositions pins a few positions the stand-in decoder cannot know.
func TestCorpusRealPositions(t *testing.T) {
	cases := []struct{ file, rule, path, want string }{
		{"openshift-privileged.yaml", "openshift.scc.privileged", "spec.template.spec.containers[0].securityContext.privileged", "37:11"},
		{"openshift-privileged.yaml", "openshift.scc.admission", "spec.template.spec", "15:5"},
		{"pss-restricted-missing.yaml", "pss.restricted.allowPrivilegeEscalation", "spec.template.spec.containers[0]", "17:9"},
	}
	for _, tc := range cases {
		t.Run(tc.file+"/"+tc.rule, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(corpusDir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			r := Validate(manifestObjects(t, tc.file, data), corpusOptions(data))
			var got []string
			for _, f := range r.Findings {
				if f.Rule == tc.rule {
					got = append(got, fmt.Sprintf("%s %d:%d", f.Path, f.Line, f.Col))
				}
			}
			if want := tc.path + " " + tc.want; !slices.Contains(got, want) {
				t.Errorf("%s findings %q, want %q", tc.rule, got, want)
			}
		})
	}
}
