package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// Encode writes objects as kubectl-style YAML documents separated by "---",
// filling apiVersion and kind when unset and leaving out empty status and
// null creationTimestamp.
func Encode(objs ...runtime.Object) ([]byte, error) {
	var out bytes.Buffer
	for i, o := range objs {
		b, err := encodeOne(o)
		if err != nil {
			return nil, fmt.Errorf("encoding object %d: %w", i, err)
		}
		if i > 0 {
			out.WriteString("---\n")
		}
		out.Write(b)
	}
	return out.Bytes(), nil
}

func encodeOne(o runtime.Object) ([]byte, error) {
	if o == nil || reflect.ValueOf(o).IsNil() {
		return nil, fmt.Errorf("nil object")
	}
	m, err := ToMap(o)
	if err != nil {
		return nil, err
	}
	if info, ok := byType[reflect.TypeOf(o)]; ok {
		if m["apiVersion"] == nil || m["apiVersion"] == "" {
			m["apiVersion"] = info.apiVersion
		}
		if m["kind"] == nil || m["kind"] == "" {
			m["kind"] = info.kind
		}
	}
	prune(m)
	j, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return yaml.JSONToYAML(j)
}

// ToMap turns o into generic JSON data. Numbers stay json.Numbers: as
// float64 an int64 beyond 53 bits would change, and the most negative one
// would come out as -9.223372036854776e+18, which no int64 field accepts.
func ToMap(o any) (map[string]any, error) {
	j, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// prune drops the noise the API types marshal for unset values.
func prune(m map[string]any) {
	if s, ok := m["status"].(map[string]any); ok && len(s) == 0 {
		delete(m, "status")
	}
	for _, v := range m {
		switch x := v.(type) {
		case map[string]any:
			if ts, ok := x["creationTimestamp"]; ok && ts == nil {
				delete(x, "creationTimestamp")
			}
			prune(x)
		case []any:
			for _, e := range x {
				if em, ok := e.(map[string]any); ok {
					prune(em)
				}
			}
		}
	}
}
