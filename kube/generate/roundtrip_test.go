package generate

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/podbay/podbay/kube/manifest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const testVersion = "test"

// corpus lists the round-trip manifests (not the golden outputs).
func corpus(t testing.TB) []string {
	t.Helper()
	all, err := filepath.Glob("../../testdata/roundtrip/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range all {
		if !strings.HasSuffix(p, ".want.yaml") {
			out = append(out, p)
		}
	}
	if len(out) < 25 {
		t.Fatalf("the round-trip corpus has %d manifests, want at least 25", len(out))
	}
	return out
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./kube/generate/... -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test ./kube/generate/... -update to accept); got:\n%s", path, got)
	}
}

// generateYAML generates and renders the pods of a set.
func generateYAML(t *testing.T, set *manifest.Set, co caseOptions) ([]byte, *Result) {
	t.Helper()
	res, err := Generate(playPods(t, set, co.play()), co.generate())
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	out, err := Render(res, testVersion)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return out, res
}

// TestRoundTrip checks, over the corpus, that generate(play(m)) equals m after
// defaulting (law 1, when the case keeps the played kinds), that the output is
// valid for the API server, and that play(generate(m)) exports the same bytes (law 2).
func TestRoundTrip(t *testing.T) {
	for _, path := range corpus(t) {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			in, co := readCase(t, path)
			set := decodeStrict(t, "in.yaml", in)
			out, res := generateYAML(t, set, co)
			golden(t, strings.TrimSuffix(path, ".yaml")+".want.yaml", out)
			outSet := decodeStrict(t, "out.yaml", out)
			for _, e := range apiErrors(outSet) {
				t.Errorf("API validation: %s", e)
			}
			if co.Type == "" {
				law1(t, set, outSet, co.Service)
			}
			again, _ := generateYAML(t, outSet, co)
			if !bytes.Equal(again, out) {
				t.Errorf("law 2: play(generate(m)) exports differently:\nfirst:\n%s\nsecond:\n%s", out, again)
			}
			for _, n := range res.Notes {
				t.Logf("note: %s", n)
			}
		})
	}
}

// law1 compares the input and output objects after defaulting; Namespaces are not
// exported, and Services only with --service.
func law1(t *testing.T, in, out *manifest.Set, service bool) {
	t.Helper()
	want := map[string][]string{}
	for _, o := range in.Objects {
		if o.Obj == nil || o.Kind == "Namespace" || (o.Kind == "Service" && !service) {
			continue
		}
		k, lines := canonical(t, o.Obj)
		want[k] = lines
	}
	got := map[string][]string{}
	for _, o := range out.Objects {
		k, lines := canonical(t, o.Obj)
		got[k] = lines
	}
	keys := map[string]bool{}
	for k := range want {
		keys[k] = true
	}
	for k := range got {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		w, inW := want[k]
		g, inG := got[k]
		switch {
		case !inG:
			t.Errorf("law 1: %s is not exported", k)
		case !inW:
			t.Errorf("law 1: %s is exported but not in the input", k)
		default:
			if d := diffLines(w, g); d != "" {
				t.Errorf("law 1: %s differs after defaulting (- input, + export):\n%s", k, d)
			}
		}
	}
}
