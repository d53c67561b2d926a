package play

import (
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/podbay/podbay/podspec"
)

// ServiceAddressField returns the runtime field standing for a Service's address in
// service link variables (filled by the runtime like status.podIP).
func ServiceAddressField(namespace, name string) string {
	return "service:" + namespace + "/" + name
}

// serviceEnv returns the docker-link style variables the kubelet sets for the Services
// of the pod's namespace when enableServiceLinks is unset or true.
func (p *podBuilder) serviceEnv() map[string]string {
	if e := p.tmpl.Spec.EnableServiceLinks; e != nil && !*e {
		return nil
	}
	env := map[string]string{}
	for _, s := range p.t.services {
		if nsOr(s.Namespace) != p.ns || s.Spec.ClusterIP == corev1.ClusterIPNone || len(s.Spec.Ports) == 0 {
			continue
		}
		host := p.runtimeRef(ServiceAddressField(p.ns, s.Name))
		prefix := strings.ToUpper(strings.ReplaceAll(s.Name, "-", "_")) + "_"
		env[prefix+"SERVICE_HOST"] = host
		env[prefix+"SERVICE_PORT"] = strconv.Itoa(int(s.Spec.Ports[0].Port))
		for i, sp := range s.Spec.Ports {
			port := strconv.Itoa(int(sp.Port))
			proto := string(sp.Protocol)
			if proto == "" {
				proto = string(corev1.ProtocolTCP)
			}
			if sp.Name != "" {
				env[prefix+"SERVICE_PORT_"+strings.ToUpper(strings.ReplaceAll(sp.Name, "-", "_"))] = port
			}
			url := strings.ToLower(proto) + "://" + host + ":" + port
			if i == 0 {
				env[prefix+"PORT"] = url
			}
			base := prefix + "PORT_" + port + "_" + proto
			env[base] = url
			env[base+"_PROTO"] = strings.ToLower(proto)
			env[base+"_PORT"] = port
			env[base+"_ADDR"] = host
		}
	}
	return env
}

// addServiceEnv appends the service variables the container does not define itself.
func addServiceEnv(e *envResult, svc map[string]string) {
	keys := make([]string, 0, len(svc))
	for k := range svc {
		if _, set := e.values[k]; !set {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		e.set(podspec.EnvVar{Name: k, Value: svc[k], From: &podspec.EnvSource{Kind: "serviceLink"}})
	}
}
