package manifest

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
)

// checker walks a decoded document against the Go type it decodes into, reporting
// unknown fields and values of the wrong type; drop removes the unknown fields.
type checker struct {
	obj   *Object
	found []Finding
	drop  []func()
}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	fieldCache          sync.Map // reflect.Type -> map[string]reflect.Type
	customCache         sync.Map // reflect.Type -> bool
)

func (c *checker) add(sev Severity, path, msg, hint string) {
	c.found = append(c.found, Finding{Pos: c.obj.PosOf(path), Severity: sev, Object: c.obj.Ref(),
		Path: path, Message: msg, Hint: hint})
}

// check validates v, found at path, against type t.
func (c *checker) check(v any, t reflect.Type, path string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil || custom(t) {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			c.mismatch(v, "object", path)
			return
		}
		c.checkStruct(m, t, path)
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			c.mismatch(v, "object", path)
			return
		}
		for k, e := range m {
			c.check(e, t.Elem(), Child(path, k))
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			c.scalar(v, "string", path)
			return
		}
		l, ok := v.([]any)
		if !ok {
			c.mismatch(v, "list", path)
			return
		}
		for i, e := range l {
			c.check(e, t.Elem(), Index(path, i))
		}
	case reflect.String:
		c.scalar(v, "string", path)
	case reflect.Bool:
		c.scalar(v, "boolean", path)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		c.scalar(v, "integer", path)
	case reflect.Float32, reflect.Float64:
		c.scalar(v, "number", path)
	}
}

func (c *checker) checkStruct(m map[string]any, t reflect.Type, path string) {
	fields := jsonFields(t)
	for _, k := range sortedKeys(m) {
		ft, ok := fields[k]
		p := Child(path, k)
		if !ok {
			c.add(SeverityWarning, p, fmt.Sprintf("unknown field %q", k), didYouMean(k, fields))
			c.drop = append(c.drop, func() { delete(m, k) })
			continue
		}
		c.check(m[k], ft, p)
	}
}

func (c *checker) scalar(v any, want, path string) {
	got := typeName(v)
	if got == want || (want == "number" && got == "integer") {
		return
	}
	c.mismatch(v, want, path)
}

func (c *checker) mismatch(v any, want, path string) {
	got := typeName(v)
	switch v.(type) {
	case string:
		got = fmt.Sprintf("string %q", v)
	case int64, float64, bool:
		got = fmt.Sprintf("%s %v", got, v)
	}
	c.add(SeverityError, path, fmt.Sprintf("wrong type: expected %s, got %s", want, got), "")
}

func typeName(v any) string {
	switch x := v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case int64:
		return "integer"
	case float64:
		if x == float64(int64(x)) {
			return "integer"
		}
		return "number"
	case []any:
		return "list"
	case map[string]any:
		return "object"
	}
	return "null"
}

// custom reports whether t decodes itself (Quantity, IntOrString, Time, RawExtension...).
func custom(t reflect.Type) bool {
	if c, ok := customCache.Load(t); ok {
		return c.(bool)
	}
	p := reflect.PointerTo(t)
	c := p.Implements(unmarshalerType) || p.Implements(textUnmarshalerType)
	customCache.Store(t, c)
	return c
}

// jsonFields returns the JSON field names of struct t (inline members flattened) and their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && (name == "" || strings.Contains(opts, "inline")) {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					out[k] = v
				}
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	fieldCache.Store(t, out)
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// didYouMean suggests the known field closest to name, if one is close enough;
// one that differs only in case is always the closest.
func didYouMean(name string, fields map[string]reflect.Type) string {
	best, bestD := "", 1<<30
	lower := strings.ToLower(name)
	for _, k := range sortedKeys(fields) {
		d := levenshtein(lower, strings.ToLower(k))
		if d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" || bestD > max(2, len(name)/3) {
		return ""
	}
	if bestD == 0 {
		return fmt.Sprintf("did you mean %q? field names are case-sensitive", best)
	}
	return fmt.Sprintf("did you mean %q?", best)
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
