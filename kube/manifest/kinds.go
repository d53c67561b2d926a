package manifest

import (
	"reflect"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// kindInfo ties an apiVersion and kind to the Go type decoded for it.
type kindInfo struct {
	apiVersion, kind string
	new              func() runtime.Object
}

var knownKinds = []kindInfo{
	{"v1", "Pod", func() runtime.Object { return &corev1.Pod{} }},
	{"v1", "ConfigMap", func() runtime.Object { return &corev1.ConfigMap{} }},
	{"v1", "Secret", func() runtime.Object { return &corev1.Secret{} }},
	{"v1", "PersistentVolumeClaim", func() runtime.Object { return &corev1.PersistentVolumeClaim{} }},
	{"v1", "Service", func() runtime.Object { return &corev1.Service{} }},
	{"v1", "Namespace", func() runtime.Object { return &corev1.Namespace{} }},
	{"apps/v1", "Deployment", func() runtime.Object { return &appsv1.Deployment{} }},
	{"apps/v1", "ReplicaSet", func() runtime.Object { return &appsv1.ReplicaSet{} }},
	{"apps/v1", "StatefulSet", func() runtime.Object { return &appsv1.StatefulSet{} }},
	{"apps/v1", "DaemonSet", func() runtime.Object { return &appsv1.DaemonSet{} }},
	{"batch/v1", "Job", func() runtime.Object { return &batchv1.Job{} }},
	{"batch/v1", "CronJob", func() runtime.Object { return &batchv1.CronJob{} }},
}

var (
	byGVK  = map[string]kindInfo{}
	byKind = map[string]kindInfo{}
	byType = map[reflect.Type]kindInfo{}
)

func init() {
	for _, k := range knownKinds {
		byGVK[k.apiVersion+"/"+k.kind] = k
		byKind[k.kind] = k
		byType[reflect.TypeOf(k.new())] = k
	}
}

// KnownKinds lists the kinds decoded into typed objects, as "apiVersion/kind".
func KnownKinds() []string {
	out := make([]string, 0, len(knownKinds))
	for _, k := range knownKinds {
		out = append(out, k.apiVersion+"/"+k.kind)
	}
	return out
}

func reflectType(o runtime.Object) reflect.Type { return reflect.TypeOf(o) }
