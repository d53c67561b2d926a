//go:build !lean

package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podbay/podbay/kube/manifest"
	"github.com/podbay/podbay/kube/play"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestDryRunGolden: kube play --dry-run describes every object a play
// would create or keep (testdata/dryrun/NAME.yaml -> NAME.txt).
func TestDryRunGolden(t *testing.T) {
	ins, err := filepath.Glob("testdata/dryrun/*.yaml")
	if err != nil || len(ins) == 0 {
		t.Fatalf("no dry-run cases: %v", err)
	}
	for _, in := range ins {
		t.Run(filepath.Base(in), func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			set, err := manifest.Decode(filepath.Base(in), data)
			if err != nil {
				t.Fatal(err)
			}
			p, err := play.Translate(set, play.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := printDryRun(&got, p, "text"); err != nil {
				t.Fatal(err)
			}
			want := strings.TrimSuffix(in, ".yaml") + ".txt"
			if *update {
				if err := os.WriteFile(want, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			w, err := os.ReadFile(want)
			if err != nil {
				t.Fatalf("%v (go test ./cmd/podbay -run TestDryRunGolden -update)", err)
			}
			if !bytes.Equal(got.Bytes(), w) {
				t.Errorf("%s differs:\n%s", want, got.String())
			}
		})
	}
}
