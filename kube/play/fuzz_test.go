package play

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/podbay/podbay/kube/manifest"
)

// FuzzTranslate checks that any decodable input translates or fails cleanly.
func FuzzTranslate(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/in.yaml")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := manifest.Decode("fuzz.yaml", data)
		if err != nil {
			return
		}
		play, err := Translate(set, Options{PublishAll: true, RunCronJobs: true})
		if err != nil {
			return
		}
		if _, err := json.Marshal(play); err != nil {
			t.Fatalf("play does not marshal: %v", err)
		}
	})
}

func BenchmarkTranslate(b *testing.B) {
	data, err := os.ReadFile("testdata/fieldref-downward/in.yaml")
	if err != nil {
		b.Fatal(err)
	}
	set, err := manifest.Decode("in.yaml", data)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Translate(set, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
