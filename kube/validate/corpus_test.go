package validate

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const corpusDir = "../../testdata/validate"

// TestCorpus validates every testdata/validate/NAME.yaml and compares the text
// report with NAME.want. A first line "# options: openshift pss=restricted strict
// uid-range=F/S" sets the options.
func TestCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus in %s: %v", corpusDir, err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := decodeTestObjects(filepath.Base(file), data)
			if err != nil {
				t.Fatal(err)
			}
			r := Validate(objs, corpusOptions(data))
			got := r.Text() + fmt.Sprintf("rejected: %v\n", r.Rejected)
			golden(t, strings.TrimSuffix(file, ".yaml")+".want", got)
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./kube/validate/... -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

func corpusOptions(data []byte) Options {
	var o Options
	first, _, _ := bytes.Cut(data, []byte("\n"))
	line, ok := strings.CutPrefix(string(first), "# options:")
	if !ok {
		return o
	}
	for _, f := range strings.Fields(line) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "openshift":
			o.OpenShift = true
		case "strict":
			o.Strict = true
		case "pss":
			o.PSS = v
		case "uid-range":
			o.UIDRange = v
		}
	}
	return o
}

var docSep = regexp.MustCompile(`(?m)^---[ \t]*$`)

// decodeTestObjects decodes multi-document YAML into typed objects with an
// approximate position function, standing in for kube/manifest.
func decodeTestObjects(file string, data []byte) ([]Object, error) {
	var objs []Object
	line := 1
	for _, doc := range docSep.Split(string(data), -1) {
		start := line
		line += strings.Count(doc, "\n")
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, start, err)
		}
		if tm.Kind == "" {
			continue
		}
		obj := newTyped(tm.Kind)
		o := Object{Kind: tm.Kind, Pos: linePos(file, start, doc)}
		if obj != nil {
			if err := strictDecode([]byte(doc), obj); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", file, start, err)
			}
			m := obj.(metav1.Object)
			o.Obj, o.Name, o.Namespace = obj, m.GetName(), m.GetNamespace()
		} else {
			var meta struct{ Metadata metav1.ObjectMeta }
			_ = yaml.Unmarshal([]byte(doc), &meta)
			o.Name = meta.Metadata.Name
		}
		objs = append(objs, o)
	}
	return objs, nil
}

// strictDecode decodes one YAML document into obj, refusing duplicate keys and
// unknown fields; keys match fields case-sensitively, as in the API server
// (sigs.k8s.io/yaml's UnmarshalStrict folds case, as encoding/json does).
func strictDecode(doc []byte, obj runtime.Object) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strictErrs, err := kjson.UnmarshalStrict(j, obj)
	return errors.Join(append(strictErrs, err)...)
}

func newTyped(kind string) runtime.Object {
	switch kind {
	case "Pod":
		return &corev1.Pod{}
	case "Deployment":
		return &appsv1.Deployment{}
	case "ReplicaSet":
		return &appsv1.ReplicaSet{}
	case "StatefulSet":
		return &appsv1.StatefulSet{}
	case "DaemonSet":
		return &appsv1.DaemonSet{}
	case "Job":
		return &batchv1.Job{}
	case "CronJob":
		return &batchv1.CronJob{}
	case "Service":
		return &corev1.Service{}
	case "ConfigMap":
		return &corev1.ConfigMap{}
	case "Secret":
		return &corev1.Secret{}
	case "PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}
	}
	return nil
}

var pathPart = regexp.MustCompile(`[A-Za-z0-9_]+|\[[^\]]*\]`)

// linePos finds a field path in a document by looking for each key in turn
// (list indexes pick the n-th "- " item at the current depth); good enough for
// golden files, the real positions come from kube/manifest.
func linePos(file string, start int, doc string) func(string) Position {
	lines := strings.Split(doc, "\n")
	return func(path string) Position {
		cur, col := 0, 0
		for _, part := range pathPart.FindAllString(path, -1) {
			if strings.HasPrefix(part, "[") {
				n := 0
				fmt.Sscanf(part, "[%d]", &n)
				cur = nthItem(lines, cur, n)
				continue
			}
			for i := cur; i < len(lines); i++ {
				trim := strings.TrimLeft(lines[i], " -")
				if strings.HasPrefix(trim, part+":") {
					cur, col = i, len(lines[i])-len(trim)+1
					break
				}
			}
		}
		if path == "" || col == 0 {
			return Position{File: file, Line: start, Col: 1}
		}
		return Position{File: file, Line: start + cur, Col: col}
	}
}

func nthItem(lines []string, from, n int) int {
	seen := -1
	indent := -1
	for i := from + 1; i < len(lines); i++ {
		t := strings.TrimLeft(lines[i], " ")
		if !strings.HasPrefix(t, "- ") {
			continue
		}
		d := len(lines[i]) - len(t)
		if indent == -1 {
			indent = d
		}
		if d != indent {
			continue
		}
		seen++
		if seen == n {
			return i
		}
	}
	return from
}

// TestStrictDecodeMatchesCase: the corpus decoder refuses a key spelled in another
// case, as the API server does, where sigs.k8s.io/yaml's UnmarshalStrict took it.
func TestStrictDecodeMatchesCase(t *testing.T) {
	doc := "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, Image: b}]\n"
	var p corev1.Pod
	err := strictDecode([]byte(doc), &p)
	if err == nil || !strings.Contains(err.Error(), `unknown field "spec.containers[0].Image"`) {
		t.Errorf("error %v, want an unknown field", err)
	}
	if p.Spec.Containers[0].Image != "" {
		t.Errorf("image %q set from \"Image\"", p.Spec.Containers[0].Image)
	}
}
