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

// deriveLossy are the corpus cases whose manifest the runtime's description cannot
// give back word for word, and why.
var deriveLossy = map[string]string{
	"02-command-args-workdir":   "play expands $(VAR) in args and env values",
	"03-env-valuefrom":          "play drops an optional valueFrom whose ConfigMap is missing",
	"09-probes":                 "play resolves a probe's named port to its number",
	"15-downward-projected":     "play resolves downwardAPI and projected volumes to files",
	"25-namespace-servicelinks": "pod.Spec keeps neither serviceAccountName nor enableServiceLinks",
	"26-subpathexpr":            "play expands subPathExpr into subPath",
	"27-service-publish":        "--publish becomes the pod's hostPorts",
	"28-network-flag":           "--network host becomes hostNetwork",
	"34-publish-all-service":    "--publish-all becomes the pod's hostPorts",
}

// TestDeriveLaw1 checks law 1 for the pods' runtime description alone (no Source):
// exporting it gives the manifest back after defaulting, except the lossy cases.
func TestDeriveLaw1(t *testing.T) {
	for _, path := range corpus(t) {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		in, co := readCase(t, path)
		if _, lossy := deriveLossy[name]; lossy || co.Type != "" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			out := deriveYAML(t, "in.yaml", in, co)
			law1(t, decodeStrict(t, "in.yaml", in), decodeStrict(t, "out.yaml", out), co.Service)
		})
	}
}
