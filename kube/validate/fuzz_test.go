package validate

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzValidate checks that no decodable input makes Validate panic, and that
// Mutate output is admitted as is by a second Mutate.
func FuzzValidate(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.yaml"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// A hang detector, not a speed figure: an input that blows up
		// (exponential expansion) takes far longer than a minute, while a
		// loaded 2-core machine can take a few seconds on a large one.
		start := time.Now()
		defer func() {
			if d := time.Since(start); d > time.Minute {
				t.Fatalf("no answer in %v: %q", d, data)
			}
		}()
		objs, err := decodeTestObjects("fuzz.yaml", data)
		if err != nil {
			return
		}
		Validate(objs, Options{OpenShift: true, PSS: "restricted", Strict: true})
		for _, o := range objs {
			pt, ok := podTemplateOf(o.Obj)
			if !ok {
				continue
			}
			spec := pt.Spec.DeepCopy()
			if fs := Mutate(spec, Options{}); len(fs) > 0 && fs[len(fs)-1].Rule == ruleAdmission {
				continue
			}
			if again := Mutate(spec, Options{}); len(again) != 0 {
				t.Errorf("Mutate is not idempotent:\n%s", Report{Findings: again}.Text())
			}
		}
	})
}
