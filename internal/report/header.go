package report

import (
	"strings"
	"text/template/parse"
	"unicode"
)

// header renders the header row of a table's row template: its text as
// written, each action replaced by the header of the first field it names
// ("{{.ID}}\t{{upper .Names}}" gives "CONTAINER ID\tNAMES"). Podman runs the
// row against a map of headers instead, which fails on {{.Labels.app}}.
func header(root *parse.ListNode, names map[string]string) string {
	var b strings.Builder
	for _, n := range root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			b.Write(n.Text)
		case *parse.ActionNode:
			b.WriteString(headerOf(firstField(n.Pipe), names))
		case *parse.IfNode:
			b.WriteString(headerOf(firstField(n.Pipe), names))
		case *parse.RangeNode:
			b.WriteString(headerOf(firstField(n.Pipe), names))
		case *parse.WithNode:
			b.WriteString(headerOf(firstField(n.Pipe), names))
		}
	}
	return b.String()
}

// firstField returns the names of the first field chain a pipeline reads
// from the dot (.State.Status: State, Status), or nil.
func firstField(p *parse.PipeNode) []string {
	if p == nil {
		return nil
	}
	for _, cmd := range p.Cmds {
		for _, arg := range cmd.Args {
			if f := fieldOf(arg); f != nil {
				return f
			}
		}
	}
	return nil
}

func fieldOf(n parse.Node) []string {
	switch n := n.(type) {
	case *parse.FieldNode:
		return n.Ident
	case *parse.PipeNode:
		return firstField(n)
	case *parse.ChainNode:
		if inner := fieldOf(n.Node); inner != nil {
			return append(inner, n.Field...)
		}
	}
	return nil
}

// headerOf names a column: the header given for the field chain or its
// first field, else the fields split at case changes and upper-cased
// (CreatedAt: CREATED AT; State.Status: STATE STATUS).
func headerOf(fields []string, names map[string]string) string {
	if len(fields) == 0 {
		return ""
	}
	if h, ok := names[strings.Join(fields, ".")]; ok {
		return h
	}
	var words []string
	for _, f := range fields {
		words = append(words, splitCamel(f)...)
	}
	return strings.ToUpper(strings.Join(words, " "))
}

// splitCamel splits a Go name where its case changes: ImageID gives Image,
// ID; DNSEnabled gives DNS, Enabled.
func splitCamel(s string) []string {
	r := []rune(s)
	var words []string
	start := 0
	for i := 1; i < len(r); i++ {
		if !unicode.IsUpper(r[i]) {
			continue
		}
		prev := r[i-1]
		nextLower := i+1 < len(r) && unicode.IsLower(r[i+1])
		if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
			words = append(words, string(r[start:i]))
			start = i
		}
	}
	return append(words, string(r[start:]))
}
