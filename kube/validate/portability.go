package validate

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// warn builds a portability warning at path.
func warn(o Object, rule, path, msg, hint string) Finding {
	return Finding{Rule: "portability." + rule, Severity: SeverityWarning, Position: o.pos(path), Path: path,
		Object: o.ref(), Message: msg, Hint: hint}
}

// podPortability checks a pod template for what works locally but not on a cluster.
func podPortability(o Object, pt podTemplate, opts Options) []Finding {
	var out []Finding
	for _, c := range containers(pt.Spec, pt.Path) {
		out = append(out, imageFindings(o, c)...)
		out = append(out, resourceFindings(o, c)...)
		out = append(out, portFindings(o, pt.Spec, c, opts)...)
		out = append(out, probeFindings(o, c)...)
	}
	return out
}

// imageFindings flags short names (rejected by CRI-O's enforcing short-name mode)
// and images without a tag or with :latest.
func imageFindings(o Object, c containerRef) []Finding {
	img := c.C.Image
	if img == "" {
		return nil
	}
	p := c.Path + ".image"
	var out []Finding
	if isShortName(img) {
		out = append(out, warn(o, "short-image-name", p,
			fmt.Sprintf("image %q is a short name: CRI-O in enforcing short-name mode (OpenShift, RHEL) refuses to guess its registry", img),
			"use a fully qualified name such as docker.io/library/"+strings.TrimPrefix(img, "library/")))
	}
	if strings.Contains(img, "@") {
		return out
	}
	switch tag := imageTag(img); tag {
	case "":
		out = append(out, warn(o, "missing-tag", p,
			fmt.Sprintf("image %q has no tag, so it means :latest: what runs changes whenever the image is pushed", img),
			"pin a version tag or a digest"))
	case "latest":
		out = append(out, warn(o, "latest-tag", p,
			fmt.Sprintf("image %q uses the :latest tag: what runs changes whenever the image is pushed, and imagePullPolicy defaults to Always", img),
			"pin a version tag or a digest"))
	}
	return out
}

// isShortName reports whether the image reference names no registry.
func isShortName(img string) bool {
	first, _, found := strings.Cut(img, "/")
	if !found {
		return true
	}
	return !strings.ContainsAny(first, ".:") && first != "localhost"
}

// imageTag returns the tag of an image reference without a digest, or "".
func imageTag(img string) string {
	last := img[strings.LastIndexByte(img, '/')+1:]
	if _, tag, ok := strings.Cut(last, ":"); ok {
		return tag
	}
	return ""
}

func resourceFindings(o Object, c containerRef) []Finding {
	p := c.Path + ".resources"
	var out []Finding
	r := c.C.Resources
	_, cpu := r.Requests[corev1.ResourceCPU]
	_, mem := r.Requests[corev1.ResourceMemory]
	if !cpu || !mem {
		out = append(out, warn(o, "missing-requests", p,
			fmt.Sprintf("container %q sets no cpu and memory requests: the scheduler places it blindly and it is evicted first", c.C.Name),
			"set resources.requests.cpu and resources.requests.memory"))
	}
	if _, ok := r.Limits[corev1.ResourceMemory]; !ok {
		out = append(out, warn(o, "missing-limits", p,
			fmt.Sprintf("container %q sets no memory limit: namespaces with a LimitRange or quota reject or change it", c.C.Name),
			"set resources.limits.memory"))
	}
	return out
}

// portFindings flags ports below 1024 that a non-root process without
// NET_BIND_SERVICE cannot bind (on OpenShift every pod runs as non-root).
func portFindings(o Object, spec *corev1.PodSpec, c containerRef, opts Options) []Finding {
	if !opts.OpenShift && !runsAsNonRoot(spec.SecurityContext, c.C.SecurityContext) {
		return nil
	}
	if sc := c.C.SecurityContext; sc != nil && sc.Capabilities != nil {
		for _, a := range sc.Capabilities.Add {
			if a == "NET_BIND_SERVICE" || a == "CAP_NET_BIND_SERVICE" {
				return nil
			}
		}
	}
	var out []Finding
	for i, port := range c.C.Ports {
		if port.ContainerPort <= 0 || port.ContainerPort >= 1024 {
			continue
		}
		out = append(out, warn(o, "privileged-port", indexPath(c.Path+".ports", i)+".containerPort",
			fmt.Sprintf("port %d is below 1024: a non-root process cannot bind it (OpenShift runs every pod as a non-root UID)", port.ContainerPort),
			"listen on a port >= 1024 (e.g. 8080) and map it in the Service"))
	}
	return out
}

func runsAsNonRoot(psc *corev1.PodSecurityContext, sc *corev1.SecurityContext) bool {
	if nr := effectiveNonRoot(psc, sc); nr != nil && *nr {
		return true
	}
	uid := effectiveUser(psc, sc)
	return uid != nil && *uid > 0
}

// probeFindings flags probes on a port the container does not declare.
func probeFindings(o Object, c containerRef) []Finding {
	var out []Finding
	probes := []struct {
		name string
		p    *corev1.Probe
	}{{"livenessProbe", c.C.LivenessProbe}, {"readinessProbe", c.C.ReadinessProbe}, {"startupProbe", c.C.StartupProbe}}
	for _, pr := range probes {
		if pr.p == nil {
			continue
		}
		port, sub, ok := probePort(pr.p.ProbeHandler)
		if !ok || declaresPort(c.C, port) {
			continue
		}
		p := c.Path + "." + pr.name + "." + sub + ".port"
		msg := fmt.Sprintf("%s checks port %s, which container %q does not declare", pr.name, port.String(), c.C.Name)
		if port.Type == intstr.String {
			msg += ": a named port that is not declared makes the probe fail"
		}
		out = append(out, warn(o, "probe-port", p, msg, "declare the port in ports or probe a declared one"))
	}
	return out
}

func probePort(h corev1.ProbeHandler) (intstr.IntOrString, string, bool) {
	switch {
	case h.HTTPGet != nil:
		return h.HTTPGet.Port, "httpGet", true
	case h.TCPSocket != nil:
		return h.TCPSocket.Port, "tcpSocket", true
	case h.GRPC != nil:
		return intstr.FromInt32(h.GRPC.Port), "grpc", true
	}
	return intstr.IntOrString{}, "", false
}

func declaresPort(c *corev1.Container, port intstr.IntOrString) bool {
	for _, p := range c.Ports {
		if port.Type == intstr.String && p.Name == port.StrVal {
			return true
		}
		if port.Type == intstr.Int && p.ContainerPort == port.IntVal {
			return true
		}
	}
	return false
}

// overlapFindings flags a workload selector that also selects the pods of other
// workloads of the input: the controllers then fight over those pods.
func overlapFindings(o Object, pt podTemplate, pods []namespacedTemplate) []Finding {
	if pt.Selector == nil {
		return nil
	}
	sel, err := metav1.LabelSelectorAsSelector(pt.Selector)
	if err != nil || sel.Empty() {
		return nil
	}
	var others []string
	n, ref, ns := 0, o.ref(), namespaceOf(o)
	for _, p := range pods {
		if p.Ref == ref || p.Namespace != ns || !sel.Matches(labels.Set(p.Meta.Labels)) {
			continue
		}
		if n++; n <= 3 {
			others = append(others, p.Ref)
		}
	}
	if n == 0 {
		return nil
	}
	list := strings.Join(others, ", ")
	if n > len(others) {
		list += fmt.Sprintf(" and %d more", n-len(others))
	}
	return []Finding{warn(o, "selector-overlap", pt.SelectorPath,
		fmt.Sprintf("selector %s also matches the pods of %s: the controllers fight over them", sel.String(), list),
		"give each workload a label of its own and select on it")}
}

// serviceFindings flags a Service whose selector matches none of the pod templates
// of the input (in the same namespace), and named target ports no selected pod declares.
func serviceFindings(o Object, svc *corev1.Service, pods []namespacedTemplate) []Finding {
	if len(svc.Spec.Selector) == 0 || svc.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	var selected []namespacedTemplate
	for _, p := range pods {
		if p.Namespace == namespaceOf(o) && sel.Matches(labels.Set(p.Meta.Labels)) {
			selected = append(selected, p)
		}
	}
	if len(selected) == 0 {
		return []Finding{warn(o, "service-selects-nothing", "spec.selector",
			fmt.Sprintf("selector %s matches no pod template in this input", sel.String()),
			"make spec.selector match the labels of the pod template it fronts")}
	}
	var out []Finding
	for i, sp := range svc.Spec.Ports {
		if sp.TargetPort.Type != intstr.String || anyDeclares(selected, sp.TargetPort) {
			continue
		}
		out = append(out, warn(o, "service-target-port", indexPath("spec.ports", i)+".targetPort",
			fmt.Sprintf("targetPort %q is not a port name of any selected container", sp.TargetPort.StrVal),
			"name the container port "+strconv.Quote(sp.TargetPort.StrVal)+" or use its number"))
	}
	return out
}

func anyDeclares(pods []namespacedTemplate, port intstr.IntOrString) bool {
	for _, p := range pods {
		for _, c := range containers(p.Spec, "") {
			if declaresPort(c.C, port) {
				return true
			}
		}
	}
	return false
}

// namespacedTemplate is a pod template with the namespace of its object.
type namespacedTemplate struct {
	podTemplate
	Namespace string
	Ref       string // Kind/name of the object
}

func namespaceOf(o Object) string {
	if o.Namespace == "" {
		return defaultNamespace
	}
	return o.Namespace
}
