package podspec

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestCLIGolden translates the flags of run/create and pod create
// (testdata/cli/NAME.json) into pods (NAME.want.json), or their errors.
func TestCLIGolden(t *testing.T) {
	cases, err := filepath.Glob("testdata/cli/*.json")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, in := range cases {
		if strings.HasSuffix(in, ".want.json") {
			continue
		}
		n++
		t.Run(strings.TrimSuffix(filepath.Base(in), ".json"), func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var c struct {
				Container *ContainerFlags
				Pod       *PodFlags
			}
			if err := json.Unmarshal(data, &c); err != nil {
				t.Fatal(err)
			}
			var out struct {
				Pod   *Pod     `json:"pod,omitempty"`
				Error []string `json:"error,omitempty"`
			}
			var p Pod
			if c.Container != nil {
				p, err = FromContainerFlags(*c.Container)
			} else {
				p, err = FromPodFlags(*c.Pod)
			}
			if err != nil {
				out.Error = strings.Split(err.Error(), "\n")
			} else {
				out.Pod = &p
			}
			got, _ := json.MarshalIndent(out, "", "  ")
			got = append(got, '\n')
			want := strings.TrimSuffix(in, ".json") + ".want.json"
			if *update {
				if err := os.WriteFile(want, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			w, err := os.ReadFile(want)
			if err != nil {
				t.Fatalf("%v (go test ./podspec -update)", err)
			}
			if !bytes.Equal(got, w) {
				t.Errorf("%s differs (go test ./podspec -update to accept):\n%s", want, got)
			}
		})
	}
	if n < 8 {
		t.Fatalf("%d cases, want at least 8", n)
	}
}
