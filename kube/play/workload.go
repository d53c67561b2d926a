package play

import (
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podbay/podbay/kube/manifest"
	"github.com/podbay/podbay/podspec"
)

// instance is one pod a workload makes.
type instance struct {
	name      string
	hostname  string
	subdomain string
	owner     *podspec.Owner
	job       *podspec.JobSpec
	// claims are a StatefulSet pod's own claims: volume name -> claim name.
	claims []claim
}

// claim is a volume a StatefulSet pod gets from a claim template.
type claim struct{ volume, name string }

// workload expands a Pod or a workload object into the pods it makes.
func (t *translator) workload(o *manifest.Object) {
	var (
		meta  metav1.ObjectMeta
		tmpl  corev1.PodTemplateSpec
		base  = "spec.template"
		insts []instance
	)
	switch x := o.Obj.(type) {
	case *corev1.Pod:
		meta, tmpl, base = x.ObjectMeta, corev1.PodTemplateSpec{ObjectMeta: x.ObjectMeta, Spec: x.Spec}, ""
		insts = []instance{{name: x.Name}}
	case *appsv1.Deployment:
		meta, tmpl = x.ObjectMeta, x.Spec.Template
		if t.tooMany(o, "spec.replicas", count(x.Spec.Replicas, 1)) {
			return
		}
		insts = replicas(x.Name, "Deployment", x.Spec.Replicas)
	case *appsv1.ReplicaSet:
		meta, tmpl = x.ObjectMeta, x.Spec.Template
		if t.tooMany(o, "spec.replicas", count(x.Spec.Replicas, 1)) {
			return
		}
		insts = replicas(x.Name, "ReplicaSet", x.Spec.Replicas)
	case *appsv1.StatefulSet:
		meta, tmpl = x.ObjectMeta, x.Spec.Template
		if t.tooMany(o, "spec.replicas", count(x.Spec.Replicas, 1)) {
			return
		}
		for i := range count(x.Spec.Replicas, 1) {
			n := fmt.Sprintf("%s-%d", x.Name, i)
			insts = append(insts, instance{name: n, hostname: n, subdomain: x.Spec.ServiceName,
				owner: &podspec.Owner{Kind: "StatefulSet", Name: x.Name, Index: i}, claims: t.claimTemplates(x, i)})
		}
	case *appsv1.DaemonSet:
		meta, tmpl = x.ObjectMeta, x.Spec.Template
		insts = []instance{{name: x.Name + "-pod", owner: &podspec.Owner{Kind: "DaemonSet", Name: x.Name}}}
	case *batchv1.Job:
		meta, tmpl = x.ObjectMeta, x.Spec.Template
		if t.tooMany(o, "spec.parallelism", jobPodCount(&x.Spec)) {
			return
		}
		insts = jobPods(x.Name, "Job", &x.Spec)
	case *batchv1.CronJob:
		if !t.opts.RunCronJobs {
			t.warn(o.Warning("", "CronJob %q is not run (--run-cronjobs runs its job once)", x.Name))
			return
		}
		meta, tmpl, base = x.ObjectMeta, x.Spec.JobTemplate.Spec.Template, "spec.jobTemplate.spec.template"
		if t.tooMany(o, "spec.jobTemplate.spec.parallelism", jobPodCount(&x.Spec.JobTemplate.Spec)) {
			return
		}
		insts = jobPods(x.Name, "CronJob", &x.Spec.JobTemplate.Spec)
	default:
		t.warn(o.Warning("", "kind %s is not run", o.Kind))
		return
	}
	if len(insts) == 0 {
		t.warn(o.Warning("spec.replicas", "%s has 0 replicas: no pod is created", o.Ref()))
	}
	ns := nsOr(meta.Namespace)
	for _, in := range insts {
		p := &podBuilder{t: t, obj: o, base: base, tmpl: &tmpl, ns: ns, inst: in}
		spec, err := p.build()
		if err != nil {
			t.fail(err)
			return
		}
		t.play.Pods = append(t.play.Pods, *spec)
		t.play.Origins = append(t.play.Origins, Origin{Object: o.Ref(), Pos: o.Source, obj: o, base: base})
	}
}

// maxPodsPerObject bounds the pods one object makes. A replica count is an
// int32, and every pod is built in memory before anything runs: a
// Deployment of 999999999 replicas used to exhaust memory (FuzzTranslate).
// 10,000 pods are what the reliability suite plays within bounded memory.
const maxPodsPerObject = 10000

// tooMany refuses an object that would make more than maxPodsPerObject
// pods, naming the field that says how many.
func (t *translator) tooMany(o *manifest.Object, path string, n int) bool {
	if n <= maxPodsPerObject {
		return false
	}
	t.fail(o.Finding(path, "%d pods: podbay plays at most %d pods of one object", n, maxPodsPerObject))
	return true
}

func count(r *int32, def int) int {
	if r == nil {
		return def
	}
	return int(*r)
}

func replicas(name, kind string, r *int32) []instance {
	var out []instance
	for i := range count(r, 1) {
		out = append(out, instance{name: fmt.Sprintf("%s-pod-%d", name, i),
			owner: &podspec.Owner{Kind: kind, Name: name, Index: i}})
	}
	return out
}

// jobPods makes one pod per parallelism slot that has a completion to run.
func jobPods(name, kind string, s *batchv1.JobSpec) []instance {
	js := &podspec.JobSpec{Parallelism: 1, BackoffLimit: 6, ActiveDeadlineSeconds: s.ActiveDeadlineSeconds}
	if s.Parallelism != nil {
		js.Parallelism = *s.Parallelism
	}
	switch {
	case s.Completions != nil:
		js.Completions = *s.Completions
	case s.Parallelism == nil:
		js.Completions = 1 // Kubernetes defaults both to 1; 0 means a work queue
	}
	if s.BackoffLimit != nil {
		js.BackoffLimit = *s.BackoffLimit
	}
	if s.CompletionMode != nil {
		js.CompletionMode = string(*s.CompletionMode)
	}
	var out []instance
	for i := range jobPodCount(s) {
		out = append(out, instance{name: fmt.Sprintf("%s-pod-%d", name, i), job: js,
			owner: &podspec.Owner{Kind: kind, Name: name, Index: i}})
	}
	return out
}

// jobPodCount is how many pods a Job starts with: one per parallelism slot
// that has a completion to run.
func jobPodCount(s *batchv1.JobSpec) int {
	n := int32(1)
	if s.Parallelism != nil {
		n = *s.Parallelism
	}
	if s.Completions != nil && *s.Completions < n {
		n = *s.Completions
	}
	return int(n)
}

// source returns the pod, as the Kubernetes object it would be, in JSON.
func source(name, ns string, tmpl *corev1.PodTemplateSpec) json.RawMessage {
	p := corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: *tmpl.ObjectMeta.DeepCopy(), Spec: *tmpl.Spec.DeepCopy()}
	p.Name, p.Namespace = name, ns
	b, err := json.Marshal(map[string]any{"apiVersion": p.APIVersion, "kind": p.Kind,
		"metadata": p.ObjectMeta, "spec": p.Spec})
	if err != nil {
		return nil
	}
	return b
}

// claimTemplates makes replica i's claims from a StatefulSet's
// volumeClaimTemplates, named as the StatefulSet controller names them
// (<template>-<statefulset>-<ordinal>): each becomes a named volume of the
// play, kept after a down like any claim and found again by the next play.
func (t *translator) claimTemplates(x *appsv1.StatefulSet, i int) []claim {
	var out []claim
	for _, tmpl := range x.Spec.VolumeClaimTemplates {
		name := fmt.Sprintf("%s-%s-%d", tmpl.Name, x.Name, i)
		pvc := tmpl.DeepCopy()
		pvc.Name, pvc.Namespace = name, x.Namespace
		t.pvc(pvc)
		out = append(out, claim{volume: tmpl.Name, name: name})
	}
	return out
}
