package generate

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// generator carries the state of one Generate call.
type generator struct {
	opts Options
	res  *Result
	refs *refSet
}

// workload is one exported workload: its kind, name and pod template.
type workload struct {
	kind string
	meta metav1.ObjectMeta
	tmpl corev1.PodTemplateSpec
	grp  *group
	// vcts are a StatefulSet's volumeClaimTemplates.
	vcts []corev1.PersistentVolumeClaim
}

// targetKind is the kind a group is exported as.
func (g *generator) targetKind(grp *group) string {
	switch g.opts.Type {
	case TypePod:
		return "Pod"
	case TypeDeployment:
		return "Deployment"
	case TypeStatefulSet:
		return "StatefulSet"
	case TypeDaemonSet:
		return "DaemonSet"
	case TypeJob:
		return "Job"
	}
	switch grp.kind {
	case "":
		return "Pod"
	case "CronJob":
		g.note("CronJob %q: its schedule is not known: exported as a Job", grp.name)
		return "Job"
	}
	return grp.kind
}

// group exports one group as its workload, with its Service when asked.
func (g *generator) group(grp *group) error {
	p, err := g.podObject(grp.first)
	if err != nil {
		return err
	}
	w := &workload{kind: g.targetKind(grp), grp: grp,
		meta: metav1.ObjectMeta{Name: grp.name, Namespace: exportNamespace(grp.ns)},
		tmpl: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: p.Labels, Annotations: p.Annotations}, Spec: p.Spec}}
	if w.kind == "Pod" {
		w.meta = p.ObjectMeta
	}
	if g.opts.Service || (w.kind != "Pod" && w.kind != "Job") {
		w.ensureLabels()
	}
	w.claimTemplates()
	g.refs.addSpec(grp.first, &w.tmpl.Spec)
	obj := g.wrap(w)
	g.res.Objects = append(g.res.Objects, obj)
	if g.opts.Service {
		if svc := g.service(w); svc != nil {
			g.res.Objects = append(g.res.Objects, svc)
		}
	}
	return nil
}

// ensureLabels gives an unlabelled template the label app: <name> so it can be selected.
func (w *workload) ensureLabels() {
	if len(w.tmpl.Labels) > 0 {
		return
	}
	w.tmpl.Labels = map[string]string{"app": w.meta.Name}
	if w.kind == "Pod" {
		w.meta.Labels = w.tmpl.Labels
	}
}

// replicas is the replica count: --replicas, else how many pods the workload made.
func (g *generator) replicas(w *workload) *int32 {
	n := int32(len(w.grp.pods))
	if g.opts.Replicas > 0 {
		n = g.opts.Replicas
	}
	if n == 1 {
		return nil
	}
	return ptr(n)
}

// wrap builds the workload object around the pod template.
func (g *generator) wrap(w *workload) runtime.Object {
	sel := &metav1.LabelSelector{MatchLabels: copyMap(w.tmpl.Labels)}
	meta := w.meta
	if w.kind != "Pod" {
		meta.Labels = copyMap(w.tmpl.Labels)
	}
	switch w.kind {
	case "Deployment":
		return &appsv1.Deployment{TypeMeta: typeMeta("apps/v1", w.kind), ObjectMeta: meta,
			Spec: appsv1.DeploymentSpec{Replicas: g.replicas(w), Selector: sel, Template: w.tmpl}}
	case "ReplicaSet":
		return &appsv1.ReplicaSet{TypeMeta: typeMeta("apps/v1", w.kind), ObjectMeta: meta,
			Spec: appsv1.ReplicaSetSpec{Replicas: g.replicas(w), Selector: sel, Template: w.tmpl}}
	case "StatefulSet":
		return &appsv1.StatefulSet{TypeMeta: typeMeta("apps/v1", w.kind), ObjectMeta: meta,
			Spec: appsv1.StatefulSetSpec{Replicas: g.replicas(w), Selector: sel, Template: w.tmpl,
				ServiceName: cmpOr(w.grp.first.Spec.Subdomain, w.meta.Name), VolumeClaimTemplates: w.vcts}}
	case "DaemonSet":
		if g.opts.Replicas > 1 || len(w.grp.pods) > 1 {
			g.note("DaemonSet %q: replicas do not apply (one pod per node)", w.meta.Name)
		}
		return &appsv1.DaemonSet{TypeMeta: typeMeta("apps/v1", w.kind), ObjectMeta: meta,
			Spec: appsv1.DaemonSetSpec{Selector: sel, Template: w.tmpl}}
	case "Job":
		return g.job(w, meta)
	}
	return &corev1.Pod{TypeMeta: typeMeta("v1", "Pod"), ObjectMeta: meta, Spec: w.tmpl.Spec}
}

// job wraps the template in a Job, restoring the played run-to-completion parameters.
func (g *generator) job(w *workload, meta metav1.ObjectMeta) *batchv1.Job {
	if w.tmpl.Spec.RestartPolicy == "" || w.tmpl.Spec.RestartPolicy == corev1.RestartPolicyAlways {
		g.note("Job %q: restartPolicy Always is not allowed for a Job: using Never", w.meta.Name)
		w.tmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
	}
	if len(meta.Labels) == 0 {
		meta.Labels = nil
	}
	j := &batchv1.Job{TypeMeta: typeMeta("batch/v1", "Job"), ObjectMeta: meta, Spec: batchv1.JobSpec{Template: w.tmpl}}
	js := w.grp.first.Spec.Job
	if js == nil {
		return j
	}
	s := &j.Spec
	switch {
	case js.Completions == 0:
		s.Parallelism = ptr(js.Parallelism) // a work queue: parallelism alone
	case js.Completions != 1 || js.Parallelism != 1:
		s.Completions, s.Parallelism = ptr(js.Completions), ptr(js.Parallelism)
	}
	if js.BackoffLimit != 6 {
		s.BackoffLimit = ptr(js.BackoffLimit)
	}
	s.ActiveDeadlineSeconds = js.ActiveDeadlineSeconds
	if js.CompletionMode != "" && js.CompletionMode != string(batchv1.NonIndexedCompletion) {
		s.CompletionMode = ptr(batchv1.CompletionMode(js.CompletionMode))
	}
	return j
}
