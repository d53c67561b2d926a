package quadlet

import (
	"bytes"
	"fmt"
	"strings"
)

// UnitFile is a parsed systemd unit file: its sections in order, each
// entry with the line it came from (for errors).
type UnitFile struct {
	Path     string
	Sections []*Section
}

// Section is one [Name] block.
type Section struct {
	Name    string
	Line    int
	Entries []Entry
}

// Entry is one Key=Value assignment.
type Entry struct {
	Key, Value string
	Line       int
}

// Error is a problem in an input file, at a line (0: the whole file).
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

func errorAt(file string, line int, format string, args ...any) *Error {
	return &Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// Parse reads a unit file as systemd does: comments start with # or ;,
// a backslash at the end of a line continues it on the next (comment
// lines inside are skipped), whitespace around keys and values is dropped.
func Parse(path string, data []byte) (*UnitFile, error) {
	u := &UnitFile{Path: path}
	var cur *Section
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		lineNo := i + 1
		line := strings.TrimSpace(lines[i])
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			next := strings.TrimSpace(lines[i])
			if strings.HasPrefix(next, "#") || strings.HasPrefix(next, ";") {
				line = strings.TrimSuffix(line, "\\") + "\\"
				continue
			}
			line = strings.TrimSuffix(line, "\\") + " " + next
		}
		line = strings.TrimSuffix(line, "\\")
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
			continue
		case line[0] == '[':
			if !strings.HasSuffix(line, "]") || len(line) < 3 || strings.ContainsAny(line[1:len(line)-1], "[]") {
				return nil, errorAt(path, lineNo, "invalid section header %q", line)
			}
			cur = &Section{Name: line[1 : len(line)-1], Line: lineNo}
			u.Sections = append(u.Sections, cur)
		default:
			key, value, ok := strings.Cut(line, "=")
			key = strings.TrimSpace(key)
			if !ok || key == "" || strings.ContainsAny(key, " \t") {
				return nil, errorAt(path, lineNo, "invalid line %q: want Key=Value", line)
			}
			if cur == nil {
				return nil, errorAt(path, lineNo, "assignment %s= outside of a section", key)
			}
			cur.Entries = append(cur.Entries, Entry{Key: key, Value: strings.TrimSpace(value), Line: lineNo})
		}
	}
	return u, nil
}

// sections returns every section called name (systemd merges repeats).
func (u *UnitFile) sections(name string) []*Section {
	var out []*Section
	for _, s := range u.Sections {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// entries returns the entries of every section called name, in order.
func (u *UnitFile) entries(name string) []Entry {
	var out []Entry
	for _, s := range u.sections(name) {
		out = append(out, s.Entries...)
	}
	return out
}

// Lookup returns the last assignment of key in section.
func (u *UnitFile) Lookup(section, key string) (Entry, bool) {
	var e Entry
	found := false
	for _, x := range u.entries(section) {
		if x.Key == key {
			e, found = x, true
		}
	}
	return e, found
}

// LookupAll returns the assignments of a list-valued key: an empty value
// resets the list, as in systemd.
func (u *UnitFile) LookupAll(section, key string) []Entry {
	var out []Entry
	for _, x := range u.entries(section) {
		if x.Key != key {
			continue
		}
		if x.Value == "" {
			out = out[:0]
			continue
		}
		out = append(out, x)
	}
	return out
}

// Add appends an assignment to section, creating the section at the end
// when it is missing.
func (u *UnitFile) Add(section, key, value string) {
	s := u.section(section)
	s.Entries = append(s.Entries, Entry{Key: key, Value: value})
}

// Has tells whether section assigns key.
func (u *UnitFile) Has(section, key string) bool {
	_, ok := u.Lookup(section, key)
	return ok
}

func (u *UnitFile) section(name string) *Section {
	if ss := u.sections(name); len(ss) > 0 {
		return ss[len(ss)-1]
	}
	s := &Section{Name: name}
	u.Sections = append(u.Sections, s)
	return s
}

// Format writes the unit file back, one blank line between sections.
func (u *UnitFile) Format() []byte {
	var b bytes.Buffer
	for i, s := range u.Sections {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "[%s]\n", s.Name)
		for _, e := range s.Entries {
			fmt.Fprintf(&b, "%s=%s\n", e.Key, e.Value)
		}
	}
	return b.Bytes()
}
