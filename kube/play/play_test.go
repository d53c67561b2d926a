package play

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/podbay/podbay/kube/manifest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// caseOptions is the optional opts.json of a golden case.
type caseOptions struct {
	Publish     []string `json:"publish"`
	PublishAll  bool     `json:"publishAll"`
	Network     string   `json:"network"`
	RunCronJobs bool     `json:"runCronJobs"`
	Stored      Stored   `json:"stored"`
}

func loadCase(t *testing.T, dir string) (*manifest.Set, Options) {
	t.Helper()
	in, err := os.ReadFile(filepath.Join(dir, "in.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	set, err := manifest.Decode("in.yaml", in)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	var co caseOptions
	if b, err := os.ReadFile(filepath.Join(dir, "opts.json")); err == nil {
		if err := json.Unmarshal(b, &co); err != nil {
			t.Fatal(err)
		}
	}
	opts := Options{Publish: co.Publish, PublishAll: co.PublishAll, Network: co.Network, RunCronJobs: co.RunCronJobs, Stored: co.Stored}
	if b, err := os.ReadFile(filepath.Join(dir, "configmap.yaml")); err == nil {
		cms, err := manifest.Decode("configmap.yaml", b)
		if err != nil {
			t.Fatalf("decode configmap: %v", err)
		}
		opts.ConfigMaps = cms
	}
	return set, opts
}

func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/in.yaml")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, in := range dirs {
		dir := filepath.Dir(in)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			set, opts := loadCase(t, dir)
			play, err := Translate(set, opts)
			if err != nil {
				t.Fatalf("translate: %v", err)
			}
			for i := range play.Pods {
				if err := play.Pods[i].Validate(); err != nil {
					t.Errorf("pod %s: %v", play.Pods[i].Name, err)
				}
			}
			got, err := json.MarshalIndent(play, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			want := filepath.Join(dir, "want.json")
			if *update {
				if err := os.WriteFile(want, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			w, err := os.ReadFile(want)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, w) {
				t.Errorf("%s differs from the translation (go test ./kube/play -update to accept):\n%s", want, got)
			}
		})
	}
}
