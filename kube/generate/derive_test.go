package generate

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// stripSource drops what kube play keeps, so the pods export from the runtime's description.
func stripSource(pods []Pod) []Pod {
	for i := range pods {
		pods[i].Spec.Source = nil
	}
	return pods
}

func deriveYAML(t *testing.T, name string, data []byte, co caseOptions) []byte {
	t.Helper()
	set := decodeStrict(t, name, data)
	res, err := Generate(stripSource(playPods(t, set, co.play())), co.generate())
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	out, err := Render(res, testVersion)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return out
}

// TestDeriveCorpus exports every corpus pod without its Source: the output decodes
// strictly, passes API validation, and is a fixed point of play then derive.
func TestDeriveCorpus(t *testing.T) {
	for _, path := range corpus(t) {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			in, co := readCase(t, path)
			out := deriveYAML(t, "in.yaml", in, co)
			for _, e := range apiErrors(decodeStrict(t, "out.yaml", out)) {
				t.Errorf("API validation: %s\n%s", e, out)
			}
			again := deriveYAML(t, "out.yaml", out, co)
			if !bytes.Equal(again, out) {
				t.Errorf("derive is not stable:\nfirst:\n%s\nsecond:\n%s", out, again)
			}
		})
	}
}
