package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"text/template"
	"unicode"
	"unicode/utf8"
)

// funcs are the template functions Podman gives --format.
var funcs = template.FuncMap{
	"json":     toJSON,
	"upper":    strings.ToUpper,
	"lower":    strings.ToLower,
	"title":    title,
	"join":     strings.Join,
	"split":    strings.Split,
	"truncate": truncate,
	"pad":      pad,
}

// toJSON renders v on one line, without HTML escapes, as Podman's json.
func toJSON(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// title upper-cases the first letter of each word.
func title(s string) string {
	var b strings.Builder
	start := true
	for _, r := range s {
		if start {
			r = unicode.ToTitle(r)
		}
		b.WriteRune(r)
		start = unicode.IsSpace(r) || r == '-' || r == '_'
	}
	return b.String()
}

// truncate keeps the first n characters of s.
func truncate(s string, n int) string {
	if n < 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// pad puts before spaces ahead of s and after spaces behind it.
func pad(s string, before, after int) string {
	return strings.Repeat(" ", max(before, 0)) + s + strings.Repeat(" ", max(after, 0))
}
