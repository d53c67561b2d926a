package validate

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// podTemplate is the pod an object runs, with the field path of its spec.
type podTemplate struct {
	Meta *metav1.ObjectMeta
	Spec *corev1.PodSpec
	// Path is where Spec sits in the object: "spec" or "spec.template.spec".
	Path string
	// Selector is the workload's label selector (nil for Pod, Job and CronJob).
	Selector *metav1.LabelSelector
	// SelectorPath is the field path of Selector.
	SelectorPath string
}

// podTemplateOf returns the pod an object runs, or false when it runs none.
func podTemplateOf(obj runtime.Object) (podTemplate, bool) {
	const tmpl = "spec.template.spec"
	switch o := obj.(type) {
	case *corev1.Pod:
		return podTemplate{Meta: &o.ObjectMeta, Spec: &o.Spec, Path: "spec"}, true
	case *appsv1.Deployment:
		return podTemplate{&o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, tmpl, o.Spec.Selector, "spec.selector"}, true
	case *appsv1.ReplicaSet:
		return podTemplate{&o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, tmpl, o.Spec.Selector, "spec.selector"}, true
	case *appsv1.StatefulSet:
		return podTemplate{&o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, tmpl, o.Spec.Selector, "spec.selector"}, true
	case *appsv1.DaemonSet:
		return podTemplate{&o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, tmpl, o.Spec.Selector, "spec.selector"}, true
	case *batchv1.Job:
		return podTemplate{Meta: &o.Spec.Template.ObjectMeta, Spec: &o.Spec.Template.Spec, Path: tmpl}, true
	case *batchv1.CronJob:
		t := &o.Spec.JobTemplate.Spec.Template
		return podTemplate{Meta: &t.ObjectMeta, Spec: &t.Spec, Path: "spec.jobTemplate.spec.template.spec"}, true
	}
	return podTemplate{}, false
}

// containerRef is one container of a pod spec with its field path.
type containerRef struct {
	C    *corev1.Container
	Path string
	// Init is true for init containers (sidecars included).
	Init bool
}

// containers lists init containers then containers, with their field paths under prefix.
func containers(spec *corev1.PodSpec, prefix string) []containerRef {
	out := make([]containerRef, 0, len(spec.InitContainers)+len(spec.Containers))
	for i := range spec.InitContainers {
		out = append(out, containerRef{&spec.InitContainers[i], indexPath(prefix+".initContainers", i), true})
	}
	for i := range spec.Containers {
		out = append(out, containerRef{&spec.Containers[i], indexPath(prefix+".containers", i), false})
	}
	return out
}

func indexPath(p string, i int) string {
	return p + "[" + strconv.Itoa(i) + "]"
}

// volumeType names a volume's source the way SCCs list allowed volumes.
func volumeType(v corev1.VolumeSource) string {
	switch {
	case v.HostPath != nil:
		return "hostPath"
	case v.EmptyDir != nil:
		return "emptyDir"
	case v.Secret != nil:
		return "secret"
	case v.ConfigMap != nil:
		return "configMap"
	case v.PersistentVolumeClaim != nil:
		return "persistentVolumeClaim"
	case v.DownwardAPI != nil:
		return "downwardAPI"
	case v.Projected != nil:
		return "projected"
	case v.CSI != nil:
		return "csi"
	case v.Ephemeral != nil:
		return "ephemeral"
	case v.Image != nil:
		return "image"
	case v.NFS != nil:
		return "nfs"
	case v.GitRepo != nil:
		return "gitRepo"
	case v.ISCSI != nil:
		return "iscsi"
	case v.RBD != nil:
		return "rbd"
	case v.FlexVolume != nil:
		return "flexVolume"
	case v.CephFS != nil:
		return "cephFS"
	case v.FC != nil:
		return "fc"
	}
	return "none"
}
