// Package report renders a command's list or inspect output as Podman does:
// the command's default table, JSON, or the user's Go template (--format),
// where a "table" prefix adds a header row and aligns the columns.
package report

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strings"
	"text/tabwriter"
	"text/template"
)

// Spec describes what a command's --format may render.
type Spec struct {
	// Name names the template in errors: "ps", "pod ps", "inspect".
	Name string
	// Default is the row of the command's default table, fields separated by
	// tabs ("{{.ID}}\t{{.Names}}"); empty when the default is JSON (inspect).
	Default string
	// Headers gives the header of each field whose header is not its name
	// split at case changes and upper-cased ("ID": "CONTAINER ID").
	Headers map[string]string
	// Item is a zero item (a struct), whose fields and methods a template may
	// name: unknown ones are refused before anything runs. Nil for maps.
	Item any
}

// Format is a parsed --format value.
type Format struct {
	json   bool
	user   bool
	table  bool
	each   bool // the template is one item's row
	header string
	tmpl   *template.Template
}

var (
	jsonFormat = regexp.MustCompile(`^\s*(json|\{\{\s*json\s+\.\s*\}\})\s*$`)
	ranges     = regexp.MustCompile(`\{\{-?\s*range\s+\.\s*-?\}\}`)
)

// Parse reads a --format value: "" and "table" are spec's default (JSON
// when it has no table), "json" and "{{json .}}" JSON, anything else a Go
// template run for each item, with Podman's functions (json, upper, lower,
// title, join, split, truncate, pad). "table TEMPLATE" prints a header row
// first and aligns the columns: spaces and \t between fields separate them.
func Parse(text string, spec Spec) (*Format, error) {
	switch {
	case (text == "" || text == "table") && spec.Default == "":
		return &Format{json: true}, nil
	case text == "" || text == "table":
		text = "table " + spec.Default
	case jsonFormat.MatchString(text):
		return &Format{json: true}, nil
	}
	f := &Format{user: text != "table "+spec.Default}
	row := text
	if rest, ok := strings.CutPrefix(text, "table "); ok {
		f.table = true
		row = columns(unescape(strings.TrimLeft(rest, " ")))
	} else {
		row = unescape(text)
	}
	if !strings.HasSuffix(row, "\n") {
		row += "\n"
	}
	tmpl, err := template.New(spec.Name).Funcs(funcs).Parse(row)
	if err != nil {
		return nil, fmt.Errorf("--format: %w", err)
	}
	// Like Podman, run the row once for each item, unless it ranges over
	// the items itself.
	f.each = !ranges.MatchString(row)
	if f.each {
		if err := checkFields(tmpl, spec.Item); err != nil {
			return nil, fmt.Errorf("--format: %w", err)
		}
		if f.table {
			f.header = header(tmpl.Tree.Root, spec.Headers)
		}
	}
	f.tmpl = tmpl
	return f, nil
}

// JSON reports that the command should print its JSON.
func (f *Format) JSON() bool { return f.json }

// User reports that the user gave a template (not the default table), which
// -q gives way to, as in Podman.
func (f *Format) User() bool { return f.user }

// Execute renders items, a slice, and writes the result to w; on an error
// nothing is written. Items that are maps refuse missing keys, as a struct
// refuses unknown fields.
func (f *Format) Execute(w io.Writer, items any) error {
	if f.tmpl == nil {
		return fmt.Errorf("--format: json is printed by the command, not a template")
	}
	v := reflect.ValueOf(items)
	if v.Kind() != reflect.Slice && v.Kind() != reflect.Array {
		return fmt.Errorf("--format: want a list to render, not %T", items)
	}
	tmpl := f.tmpl
	if v.Type().Elem().Kind() == reflect.Map {
		tmpl = template.Must(tmpl.Clone()).Option("missingkey=error")
	}
	var buf bytes.Buffer
	out := io.Writer(&buf)
	var tw *tabwriter.Writer
	if f.table {
		tw = tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
		out = tw
		io.WriteString(tw, f.header)
	}
	if err := execute(tmpl, out, v, f.each); err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	if tw != nil {
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func execute(tmpl *template.Template, w io.Writer, items reflect.Value, each bool) error {
	if !each {
		return tmpl.Execute(w, items.Interface())
	}
	for i := range items.Len() {
		if err := tmpl.Execute(w, items.Index(i).Interface()); err != nil {
			return err
		}
	}
	return nil
}

var escapes = strings.NewReplacer(`\t`, "\t", `\n`, "\n")

// unescape turns the \t and \n a shell leaves as typed into tabs and newlines.
func unescape(s string) string { return escapes.Replace(s) }

// columns makes each run of spaces outside {{ }} a column break (a tab), as
// Podman's table formats do, leaving spaces inside actions (", " in a join)
// alone.
func columns(s string) string {
	var b strings.Builder
	depth, space := 0, false
	for i := 0; i < len(s); i++ {
		switch {
		case strings.HasPrefix(s[i:], "{{"):
			depth++
		case strings.HasPrefix(s[i:], "}}") && depth > 0:
			depth--
			b.WriteString("}}")
			i++
			continue
		}
		if s[i] == ' ' && depth == 0 {
			space = true
			continue
		}
		if space {
			b.WriteByte('\t')
			space = false
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
