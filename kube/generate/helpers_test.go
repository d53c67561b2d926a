package generate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	appsinstall "k8s.io/kubernetes/pkg/apis/apps/install"
	batchinstall "k8s.io/kubernetes/pkg/apis/batch/install"
	coreinstall "k8s.io/kubernetes/pkg/apis/core/install"

	"github.com/podbay/podbay/kube/manifest"
	"github.com/podbay/podbay/kube/play"
	"github.com/podbay/podbay/kube/validate"
)

// caseOptions is the "# opts: {...}" first line of a corpus manifest.
type caseOptions struct {
	Publish     []string `json:"publish"`
	PublishAll  bool     `json:"publishAll"`
	Network     string   `json:"network"`
	RunCronJobs bool     `json:"runCronJobs"`
	Type        string   `json:"type"`
	Replicas    int32    `json:"replicas"`
	Service     bool     `json:"service"`
}

func readCase(t testing.TB, path string) ([]byte, caseOptions) {
	t.Helper()
	in, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var co caseOptions
	if line, _, _ := bytes.Cut(in, []byte("\n")); bytes.HasPrefix(line, []byte("# opts:")) {
		if err := json.Unmarshal(bytes.TrimPrefix(line, []byte("# opts:")), &co); err != nil {
			t.Fatalf("%s: opts: %v", path, err)
		}
	}
	return in, co
}

func (co caseOptions) play() play.Options {
	return play.Options{Publish: co.Publish, PublishAll: co.PublishAll, Network: co.Network, RunCronJobs: co.RunCronJobs}
}

func (co caseOptions) generate() Options {
	return Options{Type: co.Type, Replicas: co.Replicas, Service: co.Service}
}

// decodeStrict decodes YAML and fails on any error or warning.
func decodeStrict(t testing.TB, name string, data []byte) *manifest.Set {
	t.Helper()
	set, err := manifest.Decode(name, data)
	if err != nil {
		t.Fatalf("decoding %s: %v", name, err)
	}
	for _, w := range set.Warnings {
		t.Errorf("decoding %s: warning: %v", name, w.Error())
	}
	return set
}

// playPods plays a set and builds the Pods the runtime would hand to Generate.
func playPods(t testing.TB, set *manifest.Set, opts play.Options) []Pod {
	t.Helper()
	p, err := play.Translate(set, opts)
	if err != nil {
		t.Fatalf("play: %v", err)
	}
	return podsOf(p)
}

// podsOf builds the generate input from a play, as the runtime does after kube play.
func podsOf(p *play.Play) []Pod {
	var cms []ConfigMap
	for _, c := range p.ConfigMaps {
		cms = append(cms, ConfigMap{Name: c.Name, Namespace: c.Namespace, Labels: c.Labels, Data: c.Data, BinaryData: c.BinaryData})
	}
	var secs []Secret
	for _, s := range p.Secrets {
		secs = append(secs, Secret{Name: s.Name, Namespace: s.Namespace, Labels: s.Labels, Type: s.Type, Data: s.Data})
	}
	var claims []Claim
	for _, v := range p.Volumes {
		claims = append(claims, Claim{Name: v.Name, Namespace: v.Namespace, Labels: v.Labels, Annotations: v.Annotations,
			AccessModes: v.AccessModes, Storage: v.Storage, StorageClass: v.StorageClass, VolumeMode: v.VolumeMode})
	}
	out := make([]Pod, 0, len(p.Pods))
	for _, s := range p.Pods {
		out = append(out, Pod{Spec: s, ConfigMaps: cms, Secrets: secs, Claims: claims})
	}
	return out
}

// apiErrors runs the Kubernetes API server's create validation on every object.
func apiErrors(set *manifest.Set) []string {
	objs := make([]validate.Object, 0, len(set.Objects))
	for _, o := range set.Objects {
		objs = append(objs, validate.Object{Kind: o.Kind, Name: o.Name, Namespace: o.Namespace, Obj: o.Obj})
	}
	var out []string
	for _, f := range validate.Validate(objs, validate.Options{PSS: "privileged"}).Findings {
		if f.Severity == validate.SeverityError && strings.HasPrefix(f.Rule, "k8s.") {
			out = append(out, f.Object+": "+f.Path+": "+f.Message)
		}
	}
	return out
}

var defaulter = sync.OnceValue(func() *runtime.Scheme {
	s := runtime.NewScheme()
	coreinstall.Install(s)
	appsinstall.Install(s)
	batchinstall.Install(s)
	return s
})

// canonical returns the object after Kubernetes defaulting, as "Kind/ns/name" and
// flattened "path = value" lines; the default namespace is left out and a Secret's
// stringData is merged into data as the API server does.
func canonical(t testing.TB, obj runtime.Object) (string, []string) {
	t.Helper()
	o := obj.DeepCopyObject()
	if s, ok := o.(*corev1.Secret); ok && len(s.StringData) > 0 {
		if s.Data == nil {
			s.Data = map[string][]byte{}
		}
		for k, v := range s.StringData {
			s.Data[k] = []byte(v)
		}
		s.StringData = nil
	}
	defaulter().Default(o)
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	meta, _ := m["metadata"].(map[string]any)
	if meta["namespace"] == "default" {
		delete(meta, "namespace")
	}
	delete(meta, "creationTimestamp")
	delete(m, "status")
	key := fmt.Sprintf("%v/%v", m["kind"], meta["name"])
	if ns, ok := meta["namespace"].(string); ok {
		key = fmt.Sprintf("%v/%s/%v", m["kind"], ns, meta["name"])
	}
	var lines []string
	flatten("", m, &lines)
	sort.Strings(lines)
	return key, lines
}

func flatten(prefix string, v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			flatten(prefix+"."+k, e, out)
		}
	case []any:
		for i, e := range x {
			flatten(fmt.Sprintf("%s[%d]", prefix, i), e, out)
		}
	default:
		b, _ := json.Marshal(x)
		*out = append(*out, prefix+" = "+string(b))
	}
}

// diffLines returns "- line" for lines only in want and "+ line" for lines only in got.
func diffLines(want, got []string) string {
	w, g := map[string]bool{}, map[string]bool{}
	for _, l := range want {
		w[l] = true
	}
	for _, l := range got {
		g[l] = true
	}
	var b strings.Builder
	for _, l := range want {
		if !g[l] {
			b.WriteString("  - " + l + "\n")
		}
	}
	for _, l := range got {
		if !w[l] {
			b.WriteString("  + " + l + "\n")
		}
	}
	return b.String()
}
