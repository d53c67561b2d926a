package validate

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkValidate1000 validates 1,000 documents drawn from the corpus (good and
// bad, every kind) with every layer on; the target is well under 2 s per op.
func BenchmarkValidate1000(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.yaml"))
	var pool []Object
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		objs, err := decodeTestObjects(filepath.Base(f), data)
		if err != nil {
			b.Fatal(err)
		}
		pool = append(pool, objs...)
	}
	objs := make([]Object, 1000)
	for i := range objs {
		o := pool[i%len(pool)]
		o.Name = fmt.Sprintf("%s-%d", o.Name, i)
		objs[i] = o
	}
	opts := Options{OpenShift: true, PSS: "restricted"}
	b.ResetTimer()
	for b.Loop() {
		if r := Validate(objs, opts); len(r.Findings) == 0 {
			b.Fatal("no findings")
		}
	}
}
