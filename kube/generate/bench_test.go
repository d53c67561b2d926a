package generate

import (
	"fmt"
	"testing"
)

// BenchmarkGenerate10Pods exports ten played pods (two containers each) with Services.
func BenchmarkGenerate10Pods(b *testing.B) {
	var doc string
	for i := range 10 {
		doc += fmt.Sprintf(`---
apiVersion: v1
kind: Pod
metadata: {name: pod%d, labels: {app: pod%d}}
spec:
  containers:
    - {name: a, image: busybox:1.36, command: [sleep, "3600"], ports: [{containerPort: 80}]}
    - {name: b, image: busybox:1.36, command: [sleep, "3600"], env: [{name: X, value: "1"}]}
`, i, i)
	}
	pods := playPods(b, decodeStrict(b, "bench.yaml", []byte(doc)), caseOptions{}.play())
	b.ReportAllocs()
	for b.Loop() {
		res, err := Generate(pods, Options{Service: true})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Render(res, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}
