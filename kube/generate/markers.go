package generate

import (
	"regexp"
	"strings"
)

// markerRE matches the runtime markers of pod.RuntimeRef: $(podbay:<field>).
var markerRE = regexp.MustCompile(`\$\(podbay:([^)]*)\)`)

// unmark turns runtime markers back into what Kubernetes expands: a Service address
// becomes $(<NAME>_SERVICE_HOST); other fields stay as they are and are noted.
func (g *generator) unmark(pod, s string) string {
	if !strings.Contains(s, "$(podbay:") {
		return s
	}
	return markerRE.ReplaceAllStringFunc(s, func(m string) string {
		field := markerRE.FindStringSubmatch(m)[1]
		if ref, ok := strings.CutPrefix(field, "service:"); ok {
			_, name, _ := strings.Cut(ref, "/")
			return "$(" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_SERVICE_HOST)"
		}
		g.note("pod %q: %s is only known at run time: its placeholder is kept in a command or variable", pod, field)
		return m
	})
}

func (g *generator) unmarkAll(pod string, list []string) []string {
	if list == nil {
		return nil
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = g.unmark(pod, s)
	}
	return out
}
