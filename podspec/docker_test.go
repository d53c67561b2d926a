package podspec

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDockerGolden translates Docker create bodies
// (testdata/docker/NAME.json: {"name": ..., "body": ...}) into pods
// (NAME.want.json), or their errors.
func TestDockerGolden(t *testing.T) {
	cases, err := filepath.Glob("testdata/docker/*.json")
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
				Name string
				Body DockerCreate
			}
			if err := json.Unmarshal(data, &c); err != nil {
				t.Fatal(err)
			}
			var out struct {
				Pod   *Pod     `json:"pod,omitempty"`
				Error []string `json:"error,omitempty"`
			}
			p, err := FromDocker(c.Name, c.Body)
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
	if n < 6 {
		t.Fatalf("%d cases, want at least 6", n)
	}
}

// TestStrSlice reads a command as an array, a string, null or empty.
func TestStrSlice(t *testing.T) {
	for in, want := range map[string]StrSlice{`["a","b"]`: {"a", "b"}, `"echo hi"`: {"echo hi"}, `null`: nil, `[]`: {}} {
		var s StrSlice
		if err := json.Unmarshal([]byte(in), &s); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if (s == nil) != (want == nil) || strings.Join(s, "|") != strings.Join(want, "|") {
			t.Errorf("%s: got %#v, want %#v", in, s, want)
		}
	}
	var s StrSlice
	if err := json.Unmarshal([]byte(`{}`), &s); err == nil {
		t.Error("an object was accepted as a command")
	}
}
