package autoupdate

// Annotations a pod carries (Podman's names for the policy).
const (
	// PolicyAnnotation is the policy of every container of the pod;
	// PolicyAnnotation + "/" + CONTAINER that of one container.
	PolicyAnnotation = "io.containers.autoupdate"
	// UnitAnnotation names the systemd unit whose service plays the pod
	// (kube play --service-container sets it from $PODBAY_SYSTEMD_UNIT).
	UnitAnnotation = "podbay.io/systemd-unit"
)

// Policy is the policy of container (its Kubernetes name) in a pod with
// these annotations: its own, else the pod's, else "" (none).
func Policy(annotations map[string]string, container string) string {
	if p, ok := annotations[PolicyAnnotation+"/"+container]; ok {
		return p
	}
	return annotations[PolicyAnnotation]
}
