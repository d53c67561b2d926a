//go:build !lean

package main

import (
	"fmt"
	"strings"

	"github.com/podbay/podbay/kube/manifest"
	"github.com/podbay/podbay/kube/validate"
)

// playChecks runs what kube play checks before it runs anything: the API
// server's validation (layer 2) as warnings, and with --openshift the
// restricted-v2 admission: a rejection refuses the play with OpenShift's
// message, and its changes are applied to the pods (the mutated spec runs).
func playChecks(set *manifest.Set, f *kubePlayFlags) ([]string, error) {
	opts := validate.Options{OpenShift: f.openshift, UIDRange: f.uidRange}
	rep := validate.Validate(validatable(set), opts)
	var warnings, fatal []string
	for _, fd := range rep.Findings {
		switch {
		case fd.Rule == "k8s.toolong" && (strings.HasPrefix(fd.Object, "ConfigMap/") || strings.HasPrefix(fd.Object, "Secret/")):
			// Over the API server's 1 MiB: no cluster would store it, and a
			// projection of it would cost many times its size here.
			fatal = append(fatal, oneLine(fd))
		case strings.HasPrefix(fd.Rule, "k8s."):
			warnings = append(warnings, oneLine(fd))
		}
	}
	if len(fatal) > 0 {
		return warnings, fmt.Errorf("%s", strings.Join(fatal, "\n"))
	}
	if !f.openshift {
		return warnings, nil
	}
	var rejections []string
	for _, o := range set.Objects {
		ps := manifest.PodSpecOf(o.Obj)
		if ps == nil {
			continue
		}
		for _, fd := range validate.Mutate(ps, opts) {
			switch fd.Severity {
			case validate.SeverityError:
				if fd.Rule == "openshift.scc.admission" {
					rejections = append(rejections, fmt.Sprintf("%s: %s/%s: %s", o.Source, o.Kind, o.Name, fd.Message))
				}
			case validate.SeverityChange:
				warnings = append(warnings, fmt.Sprintf("%s/%s: openshift changes %s: %s", o.Kind, o.Name, fd.Path, fd.Message))
			}
		}
	}
	if len(rejections) > 0 {
		return warnings, fmt.Errorf("%s", strings.Join(rejections, "\n"))
	}
	return warnings, nil
}

func oneLine(fd validate.Finding) string {
	return fmt.Sprintf("%s: %s: %s: %s (%s)", fd.Position, fd.Object, fd.Path, fd.Message, fd.Rule)
}
