package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestDecodeFindings(t *testing.T) {
	cases := []struct {
		name, in  string
		wantErr   string
		wantWarns []string
	}{
		{
			name: "unknown field with did-you-mean",
			in: "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n" +
				"      containerz: []\n      containers: [{name: a, image: b}]\n",
			wantWarns: []string{`f.yaml:8:7: Deployment/web: spec.template.spec.containerz: unknown field "containerz" (did you mean "containers"?)`},
		},
		{
			name:      "unknown field far from any",
			in:        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: b}]\n  zzzzzzzz: 1\n",
			wantWarns: []string{`f.yaml:6:3: Pod/p: spec.zzzzzzzz: unknown field "zzzzzzzz"`},
		},
		{
			name:      "case typo",
			in:        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  Containers: [{name: a, image: b}]\n",
			wantWarns: []string{`f.yaml:5:3: Pod/p: spec.Containers: unknown field "Containers" (did you mean "containers"? field names are case-sensitive)`},
		},
		{
			name:    "wrong type string for int",
			in:      "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    ports:\n    - containerPort: \"80\"\n",
			wantErr: `f.yaml:8:7: Pod/p: spec.containers[0].ports[0].containerPort: wrong type: expected integer, got string "80"`,
		},
		{
			name:    "wrong type number for string",
			in:      "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    env: [{name: X, value: 1}]\n",
			wantErr: `f.yaml:7:21: Pod/p: spec.containers[0].env[0].value: wrong type: expected string, got integer 1`,
		},
		{
			name:    "wrong type map for list",
			in:      "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: {name: a}\n",
			wantErr: `f.yaml:5:3: Pod/p: spec.containers: wrong type: expected list, got object`,
		},
		{
			name:      "duplicate key",
			in:        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: x\n  a: y\n",
			wantWarns: []string{`f.yaml:7:3: ConfigMap/c: data.a: duplicate key "a" (first at line 6); the last value is used`},
		},
		{
			name: "duplicate key three times, with an unknown field between",
			in: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 1\n  replicaz: 2\n" +
				"  replicas: 2\n  replicas: 3\n",
			wantWarns: []string{
				`f.yaml:6:3: Deployment/web: spec.replicaz: unknown field "replicaz" (did you mean "replicas"?)`,
				`f.yaml:7:3: Deployment/web: spec.replicas: duplicate key "replicas" (first at line 5); the last value is used`,
				`f.yaml:8:3: Deployment/web: spec.replicas: duplicate key "replicas" (first at line 5); the last value is used`,
			},
		},
		{
			name: "duplicate key: the earlier value is not read",
			in: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  a: {b: .inf, {x: 1}: 2}\n" +
				"  a: y\n",
			wantWarns: []string{`f.yaml:6:3: ConfigMap/c: data.a: duplicate key "a" (first at line 5); the last value is used`},
		},
		{
			name:      "duplicate key of a list, wrong type in the value used",
			in:        "apiVersion: v1\nkind: List\nitems: []\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {hostPID: yes please}}\n",
			wantErr:   `f.yaml:5:59: Pod/p: spec.hostPID: wrong type: expected boolean, got string "yes please"`,
			wantWarns: []string{`f.yaml:4:1: List: items: duplicate key "items" (first at line 3); the last value is used`},
		},
		{
			name: "wrong case",
			in: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: b\n" +
				"    ports: [{ContainerPort: 80, containerPort: 81}]\n    ImagePullPolicy: Always\n",
			wantWarns: []string{
				`f.yaml:8:14: Pod/p: spec.containers[0].ports[0].ContainerPort: unknown field "ContainerPort" (did you mean "containerPort"? field names are case-sensitive)`,
				`f.yaml:9:5: Pod/p: spec.containers[0].ImagePullPolicy: unknown field "ImagePullPolicy" (did you mean "imagePullPolicy"? field names are case-sensitive)`,
			},
		},
		{
			name:    "syntax error",
			in:      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n   bad: indent\n",
			wantErr: `f.yaml:5: invalid YAML: mapping values are not allowed in this context`,
		},
		{
			name:    "syntax error in second document",
			in:      "apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\n---\nkind: Pod\nmetadata: {name: [}\n",
			wantErr: `f.yaml:5: invalid YAML: did not find expected node content`,
		},
		{
			name:    "missing kind",
			in:      "apiVersion: v1\nmetadata: {name: p}\n",
			wantErr: `f.yaml:1:1: p: kind: missing "kind"`,
		},
		{
			name:    "not an object",
			in:      "- a\n- b\n",
			wantErr: `f.yaml:1:1: document is a list, not an object`,
		},
		{
			name:    "too deep",
			in:      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nx: " + strings.Repeat("[", 150) + strings.Repeat("]", 150) + "\n",
			wantErr: `f.yaml:4:104: x` + strings.Repeat("[0]", 100) + `: nesting deeper than 100 levels`,
		},
		{
			name:    "infinity",
			in:      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nx: .inf\n",
			wantErr: `f.yaml:4:4: ConfigMap/c: x: number .inf cannot be represented in JSON`,
		},
		{
			name:      "old apiVersion",
			in:        "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: d}\n",
			wantWarns: []string{`f.yaml:1:1: Deployment/d: apiVersion: apiVersion "extensions/v1beta1" of Deployment is not supported (use "apps/v1")`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			set, err := Decode("f.yaml", []byte(tc.in))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.wantErr {
				t.Errorf("error\n got: %s\nwant: %s", got, tc.wantErr)
			}
			warns := warningStrings(set)
			if fmt.Sprint(warns) != fmt.Sprint(tc.wantWarns) {
				t.Errorf("warnings\n got: %q\nwant: %q", warns, tc.wantWarns)
			}
		})
	}
}

func TestDecodeErrorsAreFindings(t *testing.T) {
	_, err := Decode("f.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: 1}\n"))
	var f *Finding
	if !errors.As(err, &f) || f.Severity != SeverityError || f.Path != "data.a" || f.Line != 4 {
		t.Fatalf("error %v: want a positioned *Finding", err)
	}
}

func TestDecodeSizeCap(t *testing.T) {
	_, err := Decode("big.yaml", make([]byte, MaxInputSize+1))
	want := fmt.Sprintf("big.yaml: input is %d bytes, more than the %d allowed", MaxInputSize+1, MaxInputSize)
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
}

func TestDecodeAliasBomb(t *testing.T) {
	in := "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n" +
		"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n" +
		"g: [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\nkind: ConfigMap\napiVersion: v1\n"
	_, err := Decode("bomb.yaml", []byte(in))
	if err == nil || !strings.Contains(err.Error(), "aliases expand to more than") {
		t.Fatalf("error %v, want the expansion limit", err)
	}
}

func TestPositions(t *testing.T) {
	in := "# leading comment\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: prod\nspec:\n" +
		"  template:\n    spec:\n      containers:\n        - name: web\n          image: nginx\n" +
		"          ports:\n            - containerPort: 80\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n" +
		"data:\n  app.conf: x\n"
	set, err := Decode("p.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Objects) != 2 {
		t.Fatalf("%d objects, want 2", len(set.Objects))
	}
	d, c := set.Objects[0], set.Objects[1]
	checks := []struct {
		obj  *Object
		path string
		want string
	}{
		{d, "", "p.yaml:3:1"},
		{d, "spec.template.spec.containers[0]", "p.yaml:12:11"},
		{d, "spec.template.spec.containers[0].image", "p.yaml:13:11"},
		{d, "spec.template.spec.containers[0].ports[0].containerPort", "p.yaml:15:15"},
		{d, "spec.template.spec.containers[0].ports[0].hostPort", "p.yaml:15:15"},
		{d, "spec.template.spec.volumes[3].name", "p.yaml:10:5"},
		{c, "data[app.conf]", "p.yaml:21:3"},
		{d, "metadata[name]", "p.yaml:6:3"},
		{d, "spec.template.spec.containers[0][ports][0].containerPort", "p.yaml:15:15"},
		{c, "", "p.yaml:17:1"},
	}
	for _, ck := range checks {
		if got := ck.obj.PosOf(ck.path).String(); got != ck.want {
			t.Errorf("%s PosOf(%q) = %s, want %s", ck.obj.Ref(), ck.path, got, ck.want)
		}
	}
	if d.Namespace != "prod" || d.Name != "web" || d.Index != 0 || c.Index != 1 {
		t.Errorf("object metadata %+v %+v", d, c)
	}
	dep, ok := d.Obj.(*appsv1.Deployment)
	if !ok || dep.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort != 80 {
		t.Fatalf("typed object %#v", d.Obj)
	}
}

func TestAppendRenumbers(t *testing.T) {
	a, _ := Decode("a", []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n"))
	b, _ := Decode("b", []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n"))
	a.Append(b)
	if len(a.Objects) != 2 || a.Objects[1].Index != 1 || a.Objects[1].Source.File != "b" {
		t.Fatalf("append: %+v", a.Objects)
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	p := &corev1.Pod{}
	p.Name = "x"
	p.Spec.Containers = []corev1.Container{{Name: "c", Image: "busybox"}}
	cm := &corev1.ConfigMap{Data: map[string]string{"k": "v"}}
	cm.Name = "c"
	out, err := Encode(p, cm)
	if err != nil {
		t.Fatal(err)
	}
	want := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n  - image: busybox\n    name: c\n    resources: {}\n" +
		"---\napiVersion: v1\ndata:\n  k: v\nkind: ConfigMap\nmetadata:\n  name: c\n"
	if string(out) != want {
		t.Fatalf("encode:\n%s\nwant:\n%s", out, want)
	}
	set, err := Decode("rt.yaml", out)
	if err != nil || len(set.Objects) != 2 || len(set.Warnings) != 0 {
		t.Fatalf("decode of encoded: %v %+v", err, set)
	}
	if _, err := Encode((*corev1.Pod)(nil)); err == nil {
		t.Error("encoding a nil object: no error")
	}
}

// TestEncodeKeepsLargeIntegers: integers beyond float64's 53 bits come
// back from an encode exactly, and the most negative int64 decodes again
// (found by FuzzDecode: it came out as -9.223372036854776e+18).
func TestEncodeKeepsLargeIntegers(t *testing.T) {
	grace, deadline := int64(math.MinInt64), int64(1<<53+1)
	p := &corev1.Pod{}
	p.Name = "x"
	p.Spec.Containers = []corev1.Container{{Name: "c", Image: "busybox"}}
	p.Spec.TerminationGracePeriodSeconds, p.Spec.ActiveDeadlineSeconds = &grace, &deadline
	out, err := Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	set, err := Decode("rt.yaml", out)
	if err != nil || len(set.Objects) != 1 {
		t.Fatalf("decode of encoded: %v\n%s", err, out)
	}
	got := set.Objects[0].Obj.(*corev1.Pod).Spec
	if *got.TerminationGracePeriodSeconds != grace || *got.ActiveDeadlineSeconds != deadline {
		t.Errorf("round trip: grace %d, deadline %d; want %d, %d\n%s",
			*got.TerminationGracePeriodSeconds, *got.ActiveDeadlineSeconds, grace, deadline, out)
	}
}

// goldenView is what a manifest golden file records of a decode.
type goldenView struct {
	Objects  []goldenObject `json:"objects"`
	Warnings []string       `json:"warnings,omitempty"`
	Error    string         `json:"error,omitempty"`
}

type goldenObject struct {
	Ref    string `json:"ref"`
	Type   string `json:"type"`
	Source string `json:"source"`
}

func TestGolden(t *testing.T) {
	ins, _ := filepath.Glob("testdata/*/in.yaml")
	if len(ins) == 0 {
		t.Fatal("no golden cases")
	}
	for _, in := range ins {
		dir := filepath.Dir(in)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			set, err := Decode("in.yaml", data)
			var v goldenView
			if err != nil {
				v.Error = err.Error()
			}
			var typed []runtime.Object
			for _, o := range set.Objects {
				v.Objects = append(v.Objects, goldenObject{Ref: o.Ref(), Type: fmt.Sprintf("%T", o.Obj), Source: o.Source.String()})
				if o.Known() {
					typed = append(typed, o.Obj)
				}
			}
			v.Warnings = warningStrings(set)
			js, _ := json.MarshalIndent(v, "", "  ")
			compare(t, filepath.Join(dir, "want.json"), append(js, '\n'))
			enc, err := Encode(typed...)
			if err != nil {
				t.Fatal(err)
			}
			compare(t, filepath.Join(dir, "want.yaml"), enc)
		})
	}
}

func compare(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (go test ./kube/manifest -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test ./kube/manifest -update to accept):\n%s", file, got)
	}
}

func TestScalars(t *testing.T) {
	in := "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: x}]\n" +
		"  volumes:\n  - {name: a, configMap: {name: a, defaultMode: 0644}}\n  - {name: b, configMap: {name: b, defaultMode: 0o600}}\n" +
		"  - {name: c, configMap: {name: c, defaultMode: 420}}\n  terminationGracePeriodSeconds: -0\n  hostNetwork: True\n"
	set := decodeOK(t, "s.yaml", in)
	p := set.Objects[0].Obj.(*corev1.Pod)
	for i, want := range []int32{0o644, 0o600, 420} {
		if got := *p.Spec.Volumes[i].ConfigMap.DefaultMode; got != want {
			t.Errorf("volume %d defaultMode %o, want %o", i, got, want)
		}
	}
	if !p.Spec.HostNetwork {
		t.Error("hostNetwork: True not read as a boolean")
	}
}

// TestDuplicateKeyTakesLastValue: a key written twice takes its last value, whole
// (not merged with the first), as kubectl sends it; positions are the last one's.
func TestDuplicateKeyTakesLastValue(t *testing.T) {
	in := "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {app: old}\n" +
		"  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: nginx:1}]\n" +
		"  replicas: 1\n  selector:\n    matchExpressions: [{key: app, operator: In, values: [web]}]\n  replicas: 3\n"
	set := decodeOK(t, "in.yaml", in)
	warns := warningStrings(set)
	want := []string{
		`in.yaml:13:3: Deployment/web: spec.selector: duplicate key "selector" (first at line 6); the last value is used`,
		`in.yaml:15:3: Deployment/web: spec.replicas: duplicate key "replicas" (first at line 12); the last value is used`,
	}
	if strings.Join(warns, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings\n got: %q\nwant: %q", warns, want)
	}
	o := set.Objects[0]
	d := o.Obj.(*appsv1.Deployment)
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
		t.Errorf("replicas %v, want the last value 3", d.Spec.Replicas)
	}
	if sel := d.Spec.Selector; sel.MatchLabels != nil || len(sel.MatchExpressions) != 1 {
		t.Errorf("selector %+v, want only the last value's matchExpressions", sel)
	}
	for path, want := range map[string]string{
		"spec.replicas":                  "in.yaml:15:3",
		"spec.selector.matchLabels":      "in.yaml:13:3", // not written in the value used
		"spec.selector.matchExpressions": "in.yaml:14:5",
	} {
		if got := o.PosOf(path).String(); got != want {
			t.Errorf("PosOf(%s) = %s, want %s", path, got, want)
		}
	}
}

func TestDuplicateItemsOfList(t *testing.T) {
	in := "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n" +
		"items:\n- {apiVersion: v1, kind: Namespace, metadata: {name: b, name: c}}\n"
	set := decodeOK(t, "l.yaml", in)
	if len(set.Objects) != 1 || set.Objects[0].Ref() != "Namespace/c" || set.Objects[0].Source.Line != 6 {
		t.Errorf("objects %+v, want the last items' Namespace/c at line 6", set.Objects)
	}
	warns := warningStrings(set)
	want := []string{ // each once: the List's own, then the item's
		`l.yaml:5:1: List: items: duplicate key "items" (first at line 3); the last value is used`,
		`l.yaml:6:57: Namespace/c: metadata.name: duplicate key "name" (first at line 6); the last value is used`,
	}
	if strings.Join(warns, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings\n got: %q\nwant: %q", warns, want)
	}
}

// TestDecodeTypedMatchesCase: the typed decode matches keys case-sensitively, as
// the API server's sigs.k8s.io/json does (encoding/json would set Image from "Image").
func TestDecodeTypedMatchesCase(t *testing.T) {
	raw := map[string]any{"spec": map[string]any{"Containers": []any{map[string]any{"name": "x"}},
		"containers": []any{map[string]any{"name": "a", "Image": "wrong", "ports": []any{map[string]any{"ContainerPort": 80}}}}}}
	var p corev1.Pod
	if err := decodeTyped(raw, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Spec.Containers) != 1 {
		t.Fatalf("containers %+v, want the one of \"containers\"", p.Spec.Containers)
	}
	c := p.Spec.Containers[0]
	if c.Name != "a" || c.Image != "" || c.Ports[0].ContainerPort != 0 {
		t.Errorf("container %+v: a wrong-case key set a field", c)
	}
}

// TestDecodeWrongCaseSetsNothing: through Decode, a key written in another case is
// an unknown field and leaves the field unset, even with no right-case key beside it.
func TestDecodeWrongCaseSetsNothing(t *testing.T) {
	in := "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    Image: b\n" +
		"    ports: [{ContainerPort: 80}]\n  HostNetwork: true\n"
	set := decodeOK(t, "f.yaml", in)
	p := set.Objects[0].Obj.(*corev1.Pod)
	if c := p.Spec.Containers[0]; c.Image != "" || c.Ports[0].ContainerPort != 0 || p.Spec.HostNetwork {
		t.Errorf("pod spec %+v: a wrong-case key set a field", p.Spec)
	}
	if len(set.Warnings) != 3 {
		t.Errorf("warnings %v, want one unknown field each for Image, ContainerPort, HostNetwork", set.Warnings)
	}
}

// warningStrings renders the warnings of set, nil when there are none.
func warningStrings(set *Set) []string {
	var out []string
	for _, w := range set.Warnings {
		out = append(out, w.String())
	}
	return out
}

// decodeOK decodes in, failing the test on an error.
func decodeOK(t *testing.T, name, in string) *Set {
	t.Helper()
	set, err := Decode(name, []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// TestDuplicateKeyInLargeMapping: repeats are found in mappings past the size
// where every pair of keys is compared.
func TestDuplicateKeyInLargeMapping(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n")
	for i := range 40 {
		fmt.Fprintf(&b, "  k%d: v%d\n", i%39, i) // k0 again on the last line
	}
	set := decodeOK(t, "c.yaml", b.String())
	want := []string{`c.yaml:44:3: ConfigMap/c: data.k0: duplicate key "k0" (first at line 5); the last value is used`}
	if got := warningStrings(set); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("warnings\n got: %q\nwant: %q", got, want)
	}
	cm := set.Objects[0].Obj.(*corev1.ConfigMap)
	if len(cm.Data) != 39 || cm.Data["k0"] != "v39" {
		t.Errorf("data has %d keys, k0=%q; want 39 and the last value v39", len(cm.Data), cm.Data["k0"])
	}
}

// An unknown field is left out of Raw (what podbay translates) and kept in
// Doc (what an API server is sent, to give its own verdict); a document
// without one has no separate copy.
func TestDocKeepsUnknownFields(t *testing.T) {
	in := "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: i\n    ports: [{ContainerPort: 80}]\n"
	set, err := Decode("f.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	o := set.Objects[0]
	port := func(doc map[string]any) map[string]any {
		c := doc["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
		return c["ports"].([]any)[0].(map[string]any)
	}
	if _, ok := port(o.Raw)["ContainerPort"]; ok {
		t.Errorf("Raw keeps the unknown field: %v", o.Raw)
	}
	if got := port(o.Doc())["ContainerPort"]; got == nil {
		t.Errorf("Doc lost the unknown field: %v", o.Doc())
	}
	clean, err := Decode("g.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c := clean.Objects[0]; c.Written != nil || c.Doc()["kind"] != "ConfigMap" {
		t.Errorf("a document without unknown fields: Written %v, Doc %v", c.Written, c.Doc())
	}
}
