package validate

import (
	"fmt"
	"strings"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	podutil "k8s.io/kubernetes/pkg/api/pod"
	"k8s.io/kubernetes/pkg/apis/apps"
	appsinstall "k8s.io/kubernetes/pkg/apis/apps/install"
	appsvalidation "k8s.io/kubernetes/pkg/apis/apps/validation"
	"k8s.io/kubernetes/pkg/apis/batch"
	batchinstall "k8s.io/kubernetes/pkg/apis/batch/install"
	batchvalidation "k8s.io/kubernetes/pkg/apis/batch/validation"
	"k8s.io/kubernetes/pkg/apis/core"
	coreinstall "k8s.io/kubernetes/pkg/apis/core/install"
	corevalidation "k8s.io/kubernetes/pkg/apis/core/validation"
	"k8s.io/kubernetes/pkg/capabilities"
)

// apiScheme holds the internal and v1 types of core, apps and batch with their
// defaulting and conversion functions. It is built on first use, as is the
// API server's capability set (--allow-privileged=true, as kubeadm and OpenShift run it).
var apiScheme = sync.OnceValue(func() *runtime.Scheme {
	s := runtime.NewScheme()
	coreinstall.Install(s)
	appsinstall.Install(s)
	batchinstall.Install(s)
	capabilities.Setup(true, 0)
	return s
})

// defaultNamespace is what the API server fills in when the request names none
// (kubectl's current namespace, "default" on a fresh cluster).
const defaultNamespace = "default"

// apiServerFindings runs the API server's create validation on a copy of obj after
// Kubernetes defaulting. It returns nil for kinds the API server layer does not know.
func apiServerFindings(o Object) []Finding {
	errs, err := validateCreate(o.Obj)
	if err != nil {
		return []Finding{{Rule: "k8s.internal", Severity: SeverityError, Object: o.ref(), Position: o.pos(""),
			Message: err.Error()}}
	}
	out := make([]Finding, 0, len(errs))
	for _, e := range errs {
		out = append(out, fieldErrorFinding(o, e))
	}
	return out
}

// validateCreate defaults, converts and validates obj the way the API server's
// REST strategy does on create.
func validateCreate(obj runtime.Object) (field.ErrorList, error) {
	s := apiScheme()
	v1obj := obj.DeepCopyObject()
	prepareMeta(v1obj)
	s.Default(v1obj)
	switch in := v1obj.(type) {
	case *corev1.Pod:
		var out core.Pod
		return convertThen(s, in, &out, func() field.ErrorList {
			podutil.DropDisabledPodFields(&out, nil)
			return corevalidation.ValidatePodCreate(&out, podutil.GetValidationOptionsFromPodSpecAndMeta(&out.Spec, nil, &out.ObjectMeta, nil))
		})
	case *appsv1.Deployment:
		var out apps.Deployment
		return convertThen(s, in, &out, func() field.ErrorList {
			podutil.DropDisabledTemplateFields(&out.Spec.Template, nil)
			return appsvalidation.ValidateDeployment(&out, podutil.GetValidationOptionsFromPodTemplate(&out.Spec.Template, nil))
		})
	case *appsv1.ReplicaSet:
		var out apps.ReplicaSet
		return convertThen(s, in, &out, func() field.ErrorList {
			podutil.DropDisabledTemplateFields(&out.Spec.Template, nil)
			return appsvalidation.ValidateReplicaSet(&out, podutil.GetValidationOptionsFromPodTemplate(&out.Spec.Template, nil))
		})
	case *appsv1.StatefulSet:
		var out apps.StatefulSet
		return convertThen(s, in, &out, func() field.ErrorList {
			podutil.DropDisabledTemplateFields(&out.Spec.Template, nil)
			return appsvalidation.ValidateStatefulSet(&out, appsvalidation.StatefulSetValidationOptions{},
				podutil.GetValidationOptionsFromPodTemplate(&out.Spec.Template, nil))
		})
	case *appsv1.DaemonSet:
		var out apps.DaemonSet
		return convertThen(s, in, &out, func() field.ErrorList {
			podutil.DropDisabledTemplateFields(&out.Spec.Template, nil)
			return appsvalidation.ValidateDaemonSet(&out, podutil.GetValidationOptionsFromPodTemplate(&out.Spec.Template, nil))
		})
	}
	return validateCreateMore(s, v1obj)
}

// validateCreateMore handles the kinds validateCreate does not.
func validateCreateMore(s *runtime.Scheme, v1obj runtime.Object) (field.ErrorList, error) {
	switch in := v1obj.(type) {
	case *batchv1.Job:
		var out batch.Job
		return convertThen(s, in, &out, func() field.ErrorList {
			podutil.DropDisabledTemplateFields(&out.Spec.Template, nil)
			generateJobSelector(&out)
			opts := batchvalidation.JobValidationOptions{
				PodValidationOptions:  podutil.GetValidationOptionsFromPodTemplate(&out.Spec.Template, nil),
				RequirePrefixedLabels: true,
			}
			return batchvalidation.ValidateJobCreate(&out, opts)
		})
	case *batchv1.CronJob:
		var out batch.CronJob
		return convertThen(s, in, &out, func() field.ErrorList {
			podutil.DropDisabledTemplateFields(&out.Spec.JobTemplate.Spec.Template, nil)
			return batchvalidation.ValidateCronJobCreate(&out, podutil.GetValidationOptionsFromPodTemplate(&out.Spec.JobTemplate.Spec.Template, nil))
		})
	case *corev1.Service:
		var out core.Service
		return convertThen(s, in, &out, func() field.ErrorList {
			// As the Service REST strategy does before validating: clusterIPs
			// follows clusterIP when only the latter is given.
			if len(out.Spec.ClusterIPs) == 0 && out.Spec.ClusterIP != "" {
				out.Spec.ClusterIPs = []string{out.Spec.ClusterIP}
			}
			return corevalidation.ValidateServiceCreate(&out)
		})
	case *corev1.ConfigMap:
		var out core.ConfigMap
		return convertThen(s, in, &out, func() field.ErrorList { return corevalidation.ValidateConfigMap(&out) })
	case *corev1.Secret:
		var out core.Secret
		return convertThen(s, in, &out, func() field.ErrorList { return corevalidation.ValidateSecret(&out) })
	case *corev1.PersistentVolumeClaim:
		var out core.PersistentVolumeClaim
		return convertThen(s, in, &out, func() field.ErrorList {
			return corevalidation.ValidatePersistentVolumeClaim(&out, corevalidation.ValidationOptionsForPersistentVolumeClaimCreate())
		})
	}
	return nil, nil
}

func convertThen(s *runtime.Scheme, in, out any, validate func() field.ErrorList) (field.ErrorList, error) {
	if err := s.Convert(in, out, nil); err != nil {
		return nil, fmt.Errorf("converting %T to the internal version: %w", in, err)
	}
	return validate(), nil
}

// prepareMeta fills what the API server sets before validating a create: the
// request's namespace, a name from generateName, a UID; status is dropped.
func prepareMeta(obj runtime.Object) {
	acc, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	if acc.GetNamespace() == "" {
		acc.SetNamespace(defaultNamespace)
	}
	if acc.GetName() == "" && acc.GetGenerateName() != "" {
		acc.SetName(acc.GetGenerateName() + "x7k2q")
	}
	acc.SetUID(types.UID("00000000-0000-4000-8000-000000000000"))
}

// generateJobSelector does what the Job REST strategy does on create when
// manualSelector is not true: label the template and select on the controller UID.
func generateJobSelector(job *batch.Job) {
	if job.Spec.ManualSelector != nil && *job.Spec.ManualSelector {
		return
	}
	if job.Spec.Template.Labels == nil {
		job.Spec.Template.Labels = map[string]string{}
	}
	for _, k := range []string{batch.LegacyJobNameLabel, batch.JobNameLabel} {
		if _, ok := job.Spec.Template.Labels[k]; !ok {
			job.Spec.Template.Labels[k] = job.Name
		}
	}
	for _, k := range []string{batch.LegacyControllerUidLabel, batch.ControllerUidLabel} {
		if _, ok := job.Spec.Template.Labels[k]; !ok {
			job.Spec.Template.Labels[k] = string(job.UID)
		}
	}
	if job.Spec.Selector == nil {
		job.Spec.Selector = &metav1.LabelSelector{}
	}
	if job.Spec.Selector.MatchLabels == nil {
		job.Spec.Selector.MatchLabels = map[string]string{}
	}
	if _, ok := job.Spec.Selector.MatchLabels[batch.ControllerUidLabel]; !ok {
		job.Spec.Selector.MatchLabels[batch.ControllerUidLabel] = string(job.UID)
	}
}

// fieldErrorFinding maps one API server validation error to a finding.
func fieldErrorFinding(o Object, e *field.Error) Finding {
	rule := strings.ToLower(strings.TrimPrefix(string(e.Type), "FieldValue"))
	if e.Type == field.ErrorTypeInternal {
		rule = "internal"
	}
	return Finding{
		Rule:     "k8s." + rule,
		Severity: SeverityError,
		Position: o.pos(e.Field),
		Path:     e.Field,
		Object:   o.ref(),
		Message:  e.ErrorBody(),
		Hint:     apiHint(e),
	}
}

// apiHint suggests a fix for the common API validation errors.
func apiHint(e *field.Error) string {
	switch e.Type {
	case field.ErrorTypeRequired:
		return "set " + lastField(e.Field)
	case field.ErrorTypeDuplicate:
		return "make each " + lastField(e.Field) + " unique"
	case field.ErrorTypeNotSupported:
		return "use one of the supported values"
	}
	if strings.Contains(e.Detail, "selector") && strings.Contains(e.Detail, "labels") {
		return "make spec.selector match spec.template.metadata.labels"
	}
	return ""
}

func lastField(path string) string {
	if i := strings.LastIndexByte(path, '['); i > 0 && strings.HasSuffix(path, "]") {
		path = path[:i]
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}
