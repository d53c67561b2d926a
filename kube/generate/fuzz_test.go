package generate

import (
	"os"
	"testing"

	"github.com/podbay/podbay/kube/manifest"
	"github.com/podbay/podbay/kube/play"
)

// FuzzGenerate plays arbitrary manifests and exports them, with and without their
// Source: Generate must not panic and what it renders must decode.
func FuzzGenerate(f *testing.F) {
	for _, p := range corpus(f) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
	}
	f.Fuzz(func(t *testing.T, data []byte, derive bool) {
		set, err := manifest.Decode("fuzz.yaml", data)
		if err != nil {
			return
		}
		p, err := play.Translate(set, play.Options{})
		if err != nil {
			return
		}
		pods := podsOf(p)
		if derive {
			pods = stripSource(pods)
		}
		for _, typ := range []string{"", TypeDeployment, TypeJob} {
			res, err := Generate(pods, Options{Type: typ, Service: true})
			if err != nil {
				continue
			}
			out, err := Render(res, "fuzz")
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			if _, err := manifest.Decode("out.yaml", out); err != nil {
				t.Fatalf("the export does not decode: %v\n%s", err, out)
			}
		}
	})
}
