package podspec

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestDockerGolden translates Docker create bodies
// (testdata/docker/NAME.json: {"Name": ..., "Body": ...}) into pods
// (NAME.want.json), or their errors.
func TestDockerGolden(t *testing.T) {
	goldenPods(t, "docker", 6, func(data []byte) (Pod, error) {
		var c struct {
			Name string
			Body DockerCreate
		}
		if err := json.Unmarshal(data, &c); err != nil {
			t.Fatal(err)
		}
		return FromDocker(c.Name, c.Body)
	})
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
