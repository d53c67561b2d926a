package generate

import (
	"reflect"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func ptr[T any](v T) *T { return &v }

func itoa(i int) string { return strconv.Itoa(i) }

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func copyMap(in map[string]string) map[string]string {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

func isZero[T any](v *T) bool {
	var zero T
	return reflect.DeepEqual(*v, zero)
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

// kindOf returns an object's kind as set by this package.
func kindOf(o runtime.Object) string { return o.GetObjectKind().GroupVersionKind().Kind }

// metaOf returns an object's metadata.
func metaOf(o runtime.Object) metav1.Object {
	m, _ := o.(metav1.Object)
	return m
}
