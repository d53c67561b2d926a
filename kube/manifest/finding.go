package manifest

import (
	"fmt"
	"strings"
)

// Pos is a place in an input: file name, 1-based line and column (0 when unknown).
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
}

// String formats the position as FILE:LINE:COL, leaving out what is unknown.
func (p Pos) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
		if p.Col > 0 {
			fmt.Fprintf(&b, ":%d", p.Col)
		}
	}
	return b.String()
}

// Severity says whether a finding stops the play.
type Severity int

// Severities of findings.
const (
	SeverityWarning Severity = iota
	SeverityError
)

// String returns "warning" or "error".
func (s Severity) String() string {
	if s == SeverityError {
		return "error"
	}
	return "warning"
}

// MarshalText makes severities readable in JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Finding is a warning or error about the input, with its position.
type Finding struct {
	Pos      `json:"pos"`
	Severity Severity `json:"severity"`
	// Object is "Kind/name" of the object concerned, empty when none.
	Object string `json:"object,omitempty"`
	// Path is the field path, e.g. spec.containers[0].image.
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
	// Hint is a suggestion such as `did you mean "containers"?`.
	Hint string `json:"hint,omitempty"`
}

// String formats FILE:LINE:COL: Kind/name: path: message (hint).
func (f Finding) String() string {
	var b strings.Builder
	if p := f.Pos.String(); p != "" {
		b.WriteString(p)
		b.WriteString(": ")
	}
	if f.Object != "" {
		b.WriteString(f.Object)
		b.WriteString(": ")
	}
	if f.Path != "" {
		b.WriteString(f.Path)
		b.WriteString(": ")
	}
	b.WriteString(f.Message)
	if f.Hint != "" {
		b.WriteString(" (")
		b.WriteString(f.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// Error makes a finding usable as an error.
func (f *Finding) Error() string { return f.String() }
