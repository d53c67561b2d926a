package cluster

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestCleanGolden: testdata/clean/<case>/in.yaml is an object as a server
// returns it; want.yaml is what Clean leaves of it.
func TestCleanGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/clean/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join(dir, "in.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal(in, &u.Object); err != nil {
				t.Fatal(err)
			}
			Clean(u)
			got, err := yaml.Marshal(u.Object)
			if err != nil {
				t.Fatal(err)
			}
			wantFile := filepath.Join(dir, "want.yaml")
			if *update {
				if err := os.WriteFile(wantFile, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatalf("%v (run go test ./cluster -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Clean(%s):\n%s\nwant:\n%s", dir, got, want)
			}
			for _, server := range []string{"status", "metadata.uid", "metadata.resourceVersion", "metadata.managedFields", "metadata.creationTimestamp"} {
				if bytes.Contains(got, []byte("\n"+lastField(server)+":")) || bytes.HasPrefix(got, []byte(lastField(server)+":")) {
					t.Errorf("%s is left", server)
				}
			}
		})
	}
}

func lastField(path string) string {
	if i := bytes.LastIndexByte([]byte(path), '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}
