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
	goldenPods(t, "cli", 8, func(data []byte) (Pod, error) {
		var c struct {
			Container *ContainerFlags
			Pod       *PodFlags
		}
		if err := json.Unmarshal(data, &c); err != nil {
			t.Fatal(err)
		}
		if c.Container != nil {
			return FromContainerFlags(*c.Container)
		}
		return FromPodFlags(*c.Pod)
	})
}

// goldenPods runs translate on every testdata/DIR/NAME.json (there must
// be at least least of them) and compares the pod, or the errors, with NAME.want.json.
func goldenPods(t *testing.T, dir string, least int, translate func([]byte) (Pod, error)) {
	t.Helper()
	cases, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
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
			var out struct {
				Pod   *Pod     `json:"pod,omitempty"`
				Error []string `json:"error,omitempty"`
			}
			p, err := translate(data)
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
	if n < least {
		t.Fatalf("%d cases in testdata/%s, want at least %d", n, dir, least)
	}
}
