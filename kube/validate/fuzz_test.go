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
		start := time.Now()
		defer func() {
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("slow %v: %q", d, data)
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
