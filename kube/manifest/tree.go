package manifest

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Limits that bound the resources a hostile input can take.
const (
	// MaxInputSize is the largest input Decode accepts, in bytes.
	MaxInputSize = 32 << 20
	// MaxDepth is the deepest nesting of maps and lists accepted.
	MaxDepth = 100
	// MaxAliasValues is the most values the aliases of one input may expand to.
	MaxAliasValues = 1 << 16
)

// tree turns a yaml node tree into JSON-like values, indexing every field path's position.
type tree struct {
	file    string
	pos     map[string]Pos
	errs    []Finding
	nodes   *int // values converted through aliases, shared by the documents of one input
	inAlias int  // how many aliases the current value is reached through
}

// fatalError stops a document's conversion (too deep, too big).
type fatalError struct{ Finding }

func (e *fatalError) Error() string { return e.Finding.String() }

func (t *tree) at(n *yaml.Node) Pos { return Pos{File: t.file, Line: n.Line, Col: n.Column} }

func (t *tree) fail(n *yaml.Node, path, format string, args ...any) {
	t.errs = append(t.errs, Finding{Pos: t.at(n), Severity: SeverityError, Path: path, Message: fmt.Sprintf(format, args...)})
}

// value converts n, found at path, into nil, bool, int64, float64, string, []any or map[string]any.
func (t *tree) value(n *yaml.Node, path string, depth int) (any, error) {
	if t.inAlias > 0 {
		*t.nodes++
		if *t.nodes > MaxAliasValues {
			return nil, &fatalError{Finding{Pos: t.at(n), Severity: SeverityError, Path: path,
				Message: fmt.Sprintf("aliases expand to more than %d values", MaxAliasValues)}}
		}
	}
	if depth > MaxDepth {
		return nil, &fatalError{Finding{Pos: t.at(n), Severity: SeverityError, Path: path,
			Message: fmt.Sprintf("nesting deeper than %d levels", MaxDepth)}}
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return t.value(n.Content[0], path, depth)
	case yaml.AliasNode:
		t.inAlias++
		defer func() { t.inAlias-- }()
		return t.value(n.Alias, path, depth+1)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			t.pos[p] = t.at(c)
			v, err := t.value(c, p, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		return t.mapping(n, path, depth)
	default:
		return t.scalar(n, path), nil
	}
}

func (t *tree) mapping(n *yaml.Node, path string, depth int) (any, error) {
	out := make(map[string]any, len(n.Content)/2)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			t.fail(k, path, "map key is not a string")
			continue
		}
		p := Child(path, k.Value)
		if _, dup := out[k.Value]; dup {
			t.fail(k, p, "duplicate key %q (first at line %d)", k.Value, t.pos[p].Line)
			continue
		}
		t.pos[p] = t.at(k)
		val, err := t.value(v, p, depth+1)
		if err != nil {
			return nil, err
		}
		out[k.Value] = val
	}
	for _, m := range merges {
		if err := t.merge(out, m, path, depth); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// merge applies a YAML merge key (<<: *anchor or a list of them): keys not set win.
func (t *tree) merge(out map[string]any, m *yaml.Node, path string, depth int) error {
	v, err := t.value(m, path, depth+1)
	if err != nil {
		return err
	}
	srcs, ok := v.([]any)
	if !ok {
		srcs = []any{v}
	}
	for _, s := range srcs {
		sm, ok := s.(map[string]any)
		if !ok {
			t.fail(m, path, "merge key value is not a map")
			return nil
		}
		for k, val := range sm {
			if _, set := out[k]; !set {
				out[k] = val
			}
		}
	}
	return nil
}

func (t *tree) scalar(n *yaml.Node, path string) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		if b, err := strconv.ParseBool(n.Value); err == nil {
			return b
		}
		var b bool
		if err := n.Decode(&b); err == nil {
			return b
		}
	case "!!int":
		if plainDecimal(n.Value) {
			if i, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
				return i
			}
		}
		var i int64
		if err := n.Decode(&i); err == nil {
			return i
		}
		var u uint64
		if err := n.Decode(&u); err == nil {
			return float64(u)
		}
	case "!!float":
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f
		}
		var f float64
		if err := n.Decode(&f); err == nil {
			if math.IsInf(f, 0) || math.IsNaN(f) {
				t.fail(n, path, "number %s cannot be represented in JSON", n.Value)
				return nil
			}
			return f
		}
	}
	return n.Value
}

// Child returns the path of key under path: "a.b", or "a[b.c]" when the key holds
// characters that would make the path ambiguous.
func Child(path, key string) string {
	if strings.ContainsAny(key, ".[] ") || key == "" {
		return path + "[" + key + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// Index returns the path of the i-th item under path.
func Index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// plainDecimal reports whether v is a decimal integer without a leading zero, which
// YAML would read as octal (0644 is 420, as the kubelet's defaultMode expects).
func plainDecimal(v string) bool {
	d := strings.TrimPrefix(v, "-")
	return d == "0" || (d != "" && d[0] >= '1' && d[0] <= '9')
}
