package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "sigs.k8s.io/json"
)

// Set is what one or more inputs decoded to: objects in input order and warnings.
type Set struct {
	Objects  []*Object `json:"objects"`
	Warnings []Finding `json:"warnings,omitempty"`
}

// Object is one decoded Kubernetes object and where it came from.
type Object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Namespace  string `json:"namespace,omitempty"`
	// Obj is the typed object (*corev1.Pod, *appsv1.Deployment...), nil for other kinds.
	Obj runtime.Object `json:"-"`
	// Raw is the document as generic JSON values (unknown fields removed when Obj is set).
	Raw map[string]any `json:"-"`
	// Written is the document as written when reading removed unknown fields
	// from Raw (what an API server is sent, to judge them itself); else nil.
	Written map[string]any `json:"-"`
	// Source is where the object starts.
	Source Pos `json:"source"`
	// Index is the object's place in its Set.
	Index int `json:"index"`
	pos   map[string]Pos
}

// Ref returns "Kind/name".
func (o *Object) Ref() string {
	if o.Name == "" || o.Kind == "" {
		return o.Kind + o.Name
	}
	return o.Kind + "/" + o.Name
}

// Doc is the document as written: Written when reading changed Raw, else Raw.
func (o *Object) Doc() map[string]any {
	if o.Written != nil {
		return o.Written
	}
	return o.Raw
}

// Known reports whether the object decoded into a typed Kubernetes object.
func (o *Object) Known() bool { return o.Obj != nil }

// PosOf returns the position of a field path such as spec.containers[0].image; for a
// path not written in the input it returns the nearest written parent, then Source.
// Map keys may be written as Kubernetes field paths write them (data[app.conf],
// metadata.labels[app]) or dotted (metadata.labels.app).
func (o *Object) PosOf(path string) Pos {
	for p := normalize(path); p != ""; p = parent(p) {
		if pos, ok := o.pos[p]; ok {
			return pos
		}
	}
	return o.Source
}

// Finding returns an error finding about the field at path of this object.
func (o *Object) Finding(path, format string, args ...any) *Finding {
	return &Finding{Pos: o.PosOf(path), Severity: SeverityError, Object: o.Ref(), Path: path,
		Message: fmt.Sprintf(format, args...)}
}

// Warning returns a warning finding about the field at path of this object.
func (o *Object) Warning(path, format string, args ...any) Finding {
	f := o.Finding(path, format, args...)
	f.Severity = SeverityWarning
	return *f
}

// normalize rewrites [key] segments holding a plain key into the .key form the index uses.
func normalize(path string) string {
	if !strings.Contains(path, "[") {
		return path
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(path, '[')
		j := strings.IndexByte(path[max(i, 0):], ']')
		if i < 0 || j < 0 {
			b.WriteString(path)
			return b.String()
		}
		key := path[i+1 : i+j]
		b.WriteString(path[:i])
		if _, err := strconv.Atoi(key); err == nil || strings.ContainsAny(key, ".[] ") || key == "" {
			b.WriteString(path[i : i+j+1])
		} else {
			b.WriteString(Child("x", key)[1:])
		}
		path = path[i+j+1:]
	}
}

func parent(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		switch p[i] {
		case '.':
			return p[:i]
		case '[':
			return p[:i]
		}
	}
	return ""
}

// Append adds the objects and warnings of other to s, renumbering the objects.
func (s *Set) Append(other *Set) {
	for _, o := range other.Objects {
		o.Index = len(s.Objects)
		s.Objects = append(s.Objects, o)
	}
	s.Warnings = append(s.Warnings, other.Warnings...)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Decode reads every document of a YAML or JSON input named name (kind: List
// expanded). Field names match case-sensitively, as the API server's decoder
// matches them. Unknown fields and duplicate keys (the last value is used, as
// kubectl sends it) become warnings; syntax errors and wrong types are errors
// (joined *Finding values). The Set holds what decoded.
func Decode(name string, data []byte) (*Set, error) {
	set := &Set{}
	if len(data) > MaxInputSize {
		return set, &Finding{Pos: Pos{File: name}, Severity: SeverityError,
			Message: fmt.Sprintf("input is %d bytes, more than the %d allowed", len(data), MaxInputSize)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	d := &docDecoder{set: set, name: name}
	var errs []error
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, syntaxFinding(name, err))
			break
		}
		errs = append(errs, d.doc(&doc)...)
	}
	return set, errors.Join(errs...)
}

func syntaxFinding(name string, err error) *Finding {
	f := &Finding{Pos: Pos{File: name}, Severity: SeverityError, Message: err.Error()}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		f.Line, _ = strconv.Atoi(m[1])
		f.Message = "invalid YAML: " + m[2]
	}
	return f
}

// docDecoder converts the documents of one input; the value budget is shared by all.
type docDecoder struct {
	set   *Set
	name  string
	nodes int
}

// doc converts one YAML document and adds its object(s) to the set.
func (d *docDecoder) doc(doc *yaml.Node) []error {
	if len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if root.ShortTag() == "!!null" {
		return nil
	}
	return d.node(root)
}

func (d *docDecoder) node(n *yaml.Node) []error {
	set := d.set
	t := &tree{file: d.name, pos: map[string]Pos{}, nodes: &d.nodes}
	start := t.at(n)
	v, err := t.value(n, "", 0)
	if err != nil {
		return []error{err}
	}
	m, ok := v.(map[string]any)
	if !ok {
		set.Warnings = append(set.Warnings, withObject(t.warns, "")...)
		return append(findingErrors(t.errs, ""), &Finding{Pos: start, Severity: SeverityError,
			Message: fmt.Sprintf("document is a %s, not an object", typeName(v))})
	}
	obj := &Object{Raw: m, Source: start, pos: t.pos}
	obj.APIVersion, _ = m["apiVersion"].(string)
	obj.Kind, _ = m["kind"].(string)
	if md, ok := m["metadata"].(map[string]any); ok {
		obj.Name, _ = md["name"].(string)
		obj.Namespace, _ = md["namespace"].(string)
	}
	if items, isList := listItems(n, m); isList {
		for _, w := range t.warns { // the items report their own findings
			if !strings.HasPrefix(w.Path, "items[") {
				w.Object = obj.Ref()
				set.Warnings = append(set.Warnings, w)
			}
		}
		var errs []error
		for _, item := range items {
			errs = append(errs, d.node(item)...)
		}
		return errs
	}
	ref := obj.Ref()
	errs := findingErrors(t.errs, ref)
	first := len(set.Warnings)
	set.Warnings = append(set.Warnings, withObject(t.warns, ref)...)
	if obj.Kind == "" {
		return append(errs, obj.Finding("kind", `missing "kind"`))
	}
	if len(errs) == 0 {
		errs = append(errs, typed(set, obj)...)
	}
	sortByPos(set.Warnings[first:])
	obj.Index = len(set.Objects)
	set.Objects = append(set.Objects, obj)
	return errs
}

// listItems returns the item nodes of a kind: List (or FooList) document.
func listItems(n *yaml.Node, m map[string]any) ([]*yaml.Node, bool) {
	kind, _ := m["kind"].(string)
	if _, known := byKind[kind]; known || len(kind) < 4 || kind[len(kind)-4:] != "List" {
		return nil, false
	}
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	var items []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 { // the last "items" wins, as in m
		if n.Content[i].Value == "items" {
			items = nil
			if n.Content[i+1].Kind == yaml.SequenceNode {
				items = n.Content[i+1].Content
			}
		}
	}
	_, hasItems := m["items"]
	return items, hasItems
}

// typed decodes obj.Raw into its Go type when the kind is known.
func typed(set *Set, obj *Object) []error {
	info, ok := byGVK[obj.APIVersion+"/"+obj.Kind]
	if !ok {
		if k, known := byKind[obj.Kind]; known {
			set.Warnings = append(set.Warnings, obj.Warning("apiVersion",
				"apiVersion %q of %s is not supported (use %q)", obj.APIVersion, obj.Kind, k.apiVersion))
		}
		return nil
	}
	into := info.new()
	c := &checker{obj: obj}
	c.check(obj.Raw, reflectType(into), "")
	if len(c.drop) > 0 {
		obj.Written = deepCopyJSON(obj.Raw)
		for _, drop := range c.drop {
			drop()
		}
	}
	sortByPos(c.found)
	var errs []error
	for i := range c.found {
		if c.found[i].Severity == SeverityError {
			errs = append(errs, &c.found[i])
		} else {
			set.Warnings = append(set.Warnings, c.found[i])
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if err := decodeTyped(obj.Raw, into); err != nil {
		return []error{obj.Finding("", "decoding %s: %v", obj.Kind, err)}
	}
	obj.Obj = into
	return nil
}

// decodeTyped decodes generic JSON values into a typed object as the API server
// does (sigs.k8s.io/json): a key matches a field only when spelled in the same
// case, so "Image" never sets image (encoding/json would fold the case).
func decodeTyped(raw map[string]any, into runtime.Object) error {
	b, err := json.Marshal(raw)
	if err != nil {
		return err
	}
	return kjson.UnmarshalCaseSensitivePreserveInts(b, into)
}

// sortByPos orders findings by line and column, keeping the order of equals.
func sortByPos(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i].Pos, fs[j].Pos
		return a.Line < b.Line || (a.Line == b.Line && a.Col < b.Col)
	})
}

// withObject sets the object of findings made before it was known.
func withObject(fs []Finding, ref string) []Finding {
	for i := range fs {
		fs[i].Object = ref
	}
	return fs
}

func findingErrors(fs []Finding, ref string) []error {
	out := make([]error, 0, len(fs))
	for i := range withObject(fs, ref) {
		out = append(out, &fs[i])
	}
	return out
}

// deepCopyJSON copies generic JSON values (maps, lists, scalars).
func deepCopyJSON(v map[string]any) map[string]any {
	out := make(map[string]any, len(v))
	for k, e := range v {
		out[k] = copyValue(e)
	}
	return out
}

func copyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return deepCopyJSON(x)
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = copyValue(e)
		}
		return l
	}
	return v
}
