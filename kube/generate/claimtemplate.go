package generate

import (
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/podbay/podbay/podspec"
)

// claimTemplates handles the volumes a StatefulSet's pods got from its
// volumeClaimTemplates (<template>-<statefulset>-<ordinal>): exported as a
// StatefulSet, they become its volumeClaimTemplates again (named after the
// template, sized as the claim was); exported as any other kind, the pod
// template mounts the first pod's claim, so the workload stays valid.
func (w *workload) claimTemplates() {
	first := w.grp.first
	for _, v := range first.Spec.Volumes {
		if !v.ClaimTemplate {
			continue
		}
		vols := &w.tmpl.Spec.Volumes
		*vols = slices.DeleteFunc(*vols, func(x corev1.Volume) bool { return x.Name == v.Name })
		if w.kind != "StatefulSet" {
			*vols = append(*vols, corev1.Volume{Name: v.Name, VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: v.ClaimName, ReadOnly: v.ReadOnly}}})
			continue
		}
		w.vcts = append(w.vcts, claimTemplate(first, v))
	}
}

// claimTemplate is the volumeClaimTemplate a claim volume was made from.
func claimTemplate(p *Pod, v podspec.Volume) corev1.PersistentVolumeClaim {
	r := ref{ns: cmpOr(p.Spec.Namespace, "default"), name: v.ClaimName}
	pvc := claimObject(r, p.claim(v.ClaimName))
	pvc.TypeMeta = typeMeta("", "")
	pvc.Name, pvc.Namespace = v.Name, ""
	return *pvc
}
