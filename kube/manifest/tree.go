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
	warns   []Finding
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

func (t *tree) warn(n *yaml.Node, path, format string, args ...any) {
	t.warns = append(t.warns, Finding{Pos: t.at(n), Severity: SeverityWarning, Path: path, Message: fmt.Sprintf(format, args...)})
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

// mapping converts a mapping. A key written twice takes its last value, as kubectl
// (sigs.k8s.io/yaml) sends it: the earlier values are not converted, and each repeat
// is a warning.
func (t *tree) mapping(n *yaml.Node, path string, depth int) (any, error) {
	out := make(map[string]any, len(n.Content)/2)
	repeats := repeatedKeys(n.Content)
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
		if r, ok := repeats[k.Value]; ok {
			if k != r.first {
				t.warn(k, p, "duplicate key %q (first at line %d); the last value is used", k.Value, r.first.Line)
			}
			if i != r.last {
				continue
			}
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

// repeat is a key written more than once in one mapping.
type repeat struct {
	first *yaml.Node // the key where it is first written
	last  int        // the index in Content of the key where it is last written
}

// repeatedKeys returns the keys written more than once among the key/value pairs c,
// or nil when every key is written once (without allocating, for up to 16 pairs).
func repeatedKeys(c []*yaml.Node) map[string]repeat {
	if !hasRepeat(c) {
		return nil
	}
	first := make(map[string]*yaml.Node, len(c)/2)
	out := map[string]repeat{}
	for i := 0; i+1 < len(c); i += 2 {
		if !plainKey(c[i]) {
			continue
		}
		if f, seen := first[c[i].Value]; seen {
			out[c[i].Value] = repeat{first: f, last: i}
		} else {
			first[c[i].Value] = c[i]
		}
	}
	return out
}

// hasRepeat reports whether a key is written twice among the pairs c: comparing
// every pair for small mappings (most of them), with a set for larger ones.
func hasRepeat(c []*yaml.Node) bool {
	const small = 2 * 16
	if len(c) > small {
		seen := make(map[string]struct{}, len(c)/2)
		for i := 0; i+1 < len(c); i += 2 {
			if !plainKey(c[i]) {
				continue
			}
			if _, dup := seen[c[i].Value]; dup {
				return true
			}
			seen[c[i].Value] = struct{}{}
		}
		return false
	}
	for i := 0; i+1 < len(c); i += 2 {
		for j := i + 2; j+1 < len(c); j += 2 {
			if c[i].Value == c[j].Value && plainKey(c[i]) && plainKey(c[j]) {
				return true
			}
		}
	}
	return false
}

// plainKey reports whether k is a key that names a field: a scalar, not a merge key.
func plainKey(k *yaml.Node) bool { return k.Kind == yaml.ScalarNode && k.Tag != "!!merge" }

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
