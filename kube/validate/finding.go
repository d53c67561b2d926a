package validate

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
)

// Severities of a Finding.
const (
	SeverityError   = "error"   // the cluster would reject the object
	SeverityWarning = "warning" // accepted, but likely to misbehave or be rejected elsewhere
	SeverityChange  = "change"  // accepted after admission silently changes it
)

// Position is a place in an input file; Line and Col start at 1, 0 means unknown.
type Position struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

// String renders FILE:LINE:COL, dropping the parts that are unknown.
func (p Position) String() string {
	file := p.File
	if file == "" {
		file = "-"
	}
	switch {
	case p.Line <= 0:
		return file
	case p.Col <= 0:
		return fmt.Sprintf("%s:%d", file, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", file, p.Line, p.Col)
}

// Object is one decoded input document.
type Object struct {
	Kind      string
	Name      string
	Namespace string
	// Obj is the typed k8s.io/api object (e.g. *appsv1.Deployment); nil for kinds
	// podbay cannot decode such as apps.openshift.io/v1 DeploymentConfig.
	Obj runtime.Object
	// Pos returns where a field path (spec.template.spec.containers[0].image) is in the
	// input; it may be nil, and it should fall back to the nearest enclosing field.
	Pos func(fieldPath string) Position
}

func (o Object) ref() string {
	if o.Name == "" {
		return o.Kind
	}
	return o.Kind + "/" + o.Name
}

func (o Object) pos(path string) Position {
	if o.Pos == nil {
		return Position{}
	}
	return o.Pos(path)
}

// Finding is one problem or change found in one object.
type Finding struct {
	// Rule is a stable id such as "k8s.invalid", "pss.baseline.privileged",
	// "openshift.scc.privileged" or "portability.short-image-name".
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Position
	// Path is the field path in the object, e.g. spec.template.spec.containers[0].image.
	Path string `json:"path,omitempty"`
	// Object names the object as Kind/name.
	Object  string `json:"object"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

// String renders the finding as FILE:LINE:COL: severity: Kind/name: path: message (rule),
// followed by an indented hint line when there is a hint.
func (f Finding) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s: %s: ", f.Position, f.Severity, f.Object)
	if f.Path != "" {
		b.WriteString(f.Path + ": ")
	}
	fmt.Fprintf(&b, "%s (%s)", f.Message, f.Rule)
	if f.Hint != "" {
		b.WriteString("\n  hint: " + f.Hint)
	}
	return b.String()
}

// Options selects the layers of checks and how strict they are.
type Options struct {
	// OpenShift enables the SecurityContextConstraints checks (restricted-v2 and friends).
	OpenShift bool
	// PSS is the Pod Security Standards level enforced: "" (baseline failures are
	// reported as warnings, restricted ones not at all), "privileged" (no checks),
	// "baseline" or "restricted" (failures up to that level are errors).
	PSS string
	// UIDRange is the namespace's openshift.io/sa.scc.uid-range, "1000650000/10000" by default.
	UIDRange string
	// Strict makes warnings reject the input too.
	Strict bool
}

// Report is the outcome of Validate.
type Report struct {
	Findings []Finding `json:"findings"`
	// Rejected is true when a finding is an error (or a warning, with Strict).
	Rejected bool `json:"rejected"`
}

// Text renders every finding, one per line (plus hint lines).
func (r Report) Text() string {
	var b strings.Builder
	for _, f := range r.Findings {
		b.WriteString(f.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func severityRank(s string) int {
	switch s {
	case SeverityError:
		return 0
	case SeverityWarning:
		return 1
	}
	return 2
}

// sortFindings orders findings by file position, then severity, path and rule, keeping
// each object's findings together when positions are unknown.
func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Col, b.Col),
			cmp.Compare(severityRank(a.Severity), severityRank(b.Severity)),
			cmp.Compare(a.Path, b.Path),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Message, b.Message),
		)
	})
}
