package validate

import (
	corev1 "k8s.io/api/core/v1"
)

// Validate checks objs as a cluster would on create: the API server's own
// validation after defaulting, Pod Security Standards, OpenShift SCC admission
// (with opts.OpenShift) and portability. Findings keep the input's object order.
func Validate(objs []Object, opts Options) Report {
	r := Report{Findings: []Finding{}}
	env := envOf(opts)
	if _, err := ParseUIDRange(opts.UIDRange); err != nil {
		r.Findings = append(r.Findings, Finding{Rule: "options.uid-range", Severity: SeverityError, Object: "options",
			Message: err.Error(), Hint: "use FIRST/SIZE, e.g. " + DefaultUIDRange})
	}
	switch opts.PSS {
	case "", "privileged", "baseline", "restricted":
	default:
		r.Findings = append(r.Findings, Finding{Rule: "options.pss", Severity: SeverityError, Object: "options",
			Message: "unknown Pod Security level " + opts.PSS, Hint: "use baseline or restricted"})
	}
	var pods []namespacedTemplate
	for _, o := range objs {
		if pt, ok := podTemplateOf(o.Obj); ok {
			pods = append(pods, namespacedTemplate{pt, namespaceOf(o), o.ref()})
		}
	}
	for _, o := range objs {
		fs := objectFindings(o, opts, env)
		if svc, ok := o.Obj.(*corev1.Service); ok {
			fs = append(fs, serviceFindings(o, svc, pods)...)
		}
		if pt, ok := podTemplateOf(o.Obj); ok {
			fs = append(fs, overlapFindings(o, pt, pods)...)
		}
		sortFindings(fs)
		r.Findings = append(r.Findings, fs...)
	}
	for _, f := range r.Findings {
		if f.Severity == SeverityError || (opts.Strict && f.Severity == SeverityWarning) {
			r.Rejected = true
		}
	}
	return r
}

// objectFindings runs every layer on one object.
func objectFindings(o Object, opts Options, env sccEnv) []Finding {
	if o.Obj == nil {
		return unknownKind(o)
	}
	fs := apiServerFindings(o)
	pt, ok := podTemplateOf(o.Obj)
	if !ok {
		return fs
	}
	fs = append(fs, pssFindings(o, pt, opts)...)
	if opts.OpenShift {
		fs = append(fs, openshiftFindings(o, pt, env)...)
	}
	return append(fs, podPortability(o, pt, opts)...)
}

// unknownKind reports objects that were not decoded into a typed object.
func unknownKind(o Object) []Finding {
	if o.Kind == "DeploymentConfig" {
		return []Finding{warn(o, "deploymentconfig", "",
			"DeploymentConfig (apps.openshift.io/v1) is deprecated since OpenShift 4.14 and unknown to Kubernetes and podbay",
			"convert it to an apps/v1 Deployment (triggers become image stream annotations or CI steps)")}
	}
	return []Finding{warn(o, "unchecked-kind", "",
		"kind "+o.Kind+" is not checked: podbay validates Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, Service, ConfigMap, Secret and PersistentVolumeClaim",
		"")}
}
