package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
)

func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/in.yaml")
	more, _ := filepath.Glob("../play/testdata/*/in.yaml")
	for _, s := range append(seeds, more...) {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("{"))
	f.Add([]byte("a: &a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := Decode("fuzz.yaml", data)
		if set == nil {
			t.Fatal("nil set")
		}
		var typed []runtime.Object
		for _, o := range set.Objects {
			_ = o.PosOf("spec.containers[0].image")
			if o.Known() {
				typed = append(typed, o.Obj)
			}
		}
		if err != nil || len(typed) == 0 {
			return
		}
		out, err := Encode(typed...)
		if err != nil {
			t.Fatalf("encode of decoded objects: %v", err)
		}
		again, err := Decode("again.yaml", out)
		if err != nil {
			t.Fatalf("decode of encoded objects: %v\n%s", err, out)
		}
		if len(again.Objects) != len(typed) {
			t.Fatalf("round trip: %d objects, want %d", len(again.Objects), len(typed))
		}
	})
}

func BenchmarkDecode1000Docs(b *testing.B) {
	var sb strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&sb, `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-%d
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          env: [{name: A, value: "1"}, {name: B, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
          ports: [{containerPort: 80}]
          resources: {limits: {cpu: 500m, memory: 64Mi}}
`, i)
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		set, err := Decode("bench.yaml", data)
		if err != nil || len(set.Objects) != 1000 {
			b.Fatal(err)
		}
	}
}
