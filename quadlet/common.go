package quadlet

import (
	"path/filepath"
	"slices"
	"strings"
)

// Sections every Quadlet file may have besides its own: systemd's, passed
// through, and [Quadlet], the generator's own settings.
var passedSections = []string{"Unit", "Service", "Install"}

// begin checks a file's sections and keys, and its [Service] (typ, and
// the KillMode= values allowed), copies what passes through and adds the
// defaults of [Unit] (the network dependencies only when network and the
// [Quadlet] section allows them).
func (t *translation) begin(own string, keys []string, typ string, network bool, killModes ...string) {
	t.checkSections(own)
	t.checkKeys(own, keys, "ContainersConfModule")
	t.checkService(typ, killModes...)
	deps := t.checkQuadlet()
	t.passThrough(own)
	t.unitDefaults(network && deps)
}

// checkSections refuses sections systemd would not understand in the
// service (X- sections are extensions systemd ignores).
func (t *translation) checkSections(own string) {
	for _, s := range t.src.Sections {
		if s.Name == own || s.Name == "Quadlet" || slices.Contains(passedSections, s.Name) || strings.HasPrefix(s.Name, "X-") {
			continue
		}
		t.errorf(s.Line, "unsupported section [%s] in a %s file", s.Name, filepath.Ext(t.src.Path))
	}
	if len(t.src.sections(own)) == 0 {
		t.errorf(0, "no [%s] section", own)
	}
}

// checkKeys refuses keys of section that the generator does not know;
// ignored keys get a warning.
func (t *translation) checkKeys(section string, supported []string, ignored ...string) {
	for _, e := range t.src.entries(section) {
		switch {
		case slices.Contains(ignored, e.Key):
			t.warnf(e.Line, "%s= in [%s] is ignored by podbay", e.Key, section)
		case !slices.Contains(supported, e.Key):
			t.errorf(e.Line, "unsupported key %s= in [%s]", e.Key, section)
		}
	}
}

// checkQuadlet reads the [Quadlet] section: DefaultDependencies= (default
// true) adds the network dependencies of a system service.
func (t *translation) checkQuadlet() (defaultDeps bool) {
	t.checkKeys("Quadlet", []string{"DefaultDependencies"})
	return t.boolean("Quadlet", "DefaultDependencies", true)
}

var (
	trueWords  = []string{"1", "yes", "y", "true", "t", "on"}
	falseWords = []string{"0", "no", "n", "false", "f", "off"}
)

// boolean reads a systemd boolean.
func (t *translation) boolean(section, key string, def bool) bool {
	e, ok := t.src.Lookup(section, key)
	if !ok || e.Value == "" {
		return def
	}
	v := strings.ToLower(e.Value)
	switch {
	case slices.Contains(trueWords, v):
		return true
	case slices.Contains(falseWords, v):
		return false
	}
	t.errorf(e.Line, "%s=%s: not a boolean", key, e.Value)
	return def
}

// oneOf reads a key whose value must be one of allowed ("" when unset).
func (t *translation) oneOf(section, key string, allowed ...string) string {
	e, ok := t.src.Lookup(section, key)
	if !ok || e.Value == "" {
		return ""
	}
	if !slices.Contains(allowed, e.Value) {
		t.errorf(e.Line, "%s=%s: want one of %s", key, e.Value, strings.Join(allowed, ", "))
		return ""
	}
	return e.Value
}

// args reads a list of command-line words (PodmanArgs=, GlobalArgs=).
func (t *translation) args(section, key string) []string {
	var out []string
	for _, e := range t.src.LookupAll(section, key) {
		w, err := splitWords(e.Value)
		if err != nil {
			t.errorf(e.Line, "%s=%s: %v", key, e.Value, err)
			continue
		}
		out = append(out, w...)
	}
	return out
}

// values reads a list-valued key whose every assignment is one value.
func (t *translation) values(section, key string) []Entry {
	return t.src.LookupAll(section, key)
}

// path makes a path named in the file absolute: relative ones are
// relative to the file's directory; one starting with a specifier (%h/...)
// is left to systemd.
func (t *translation) path(v string) string {
	if strings.HasPrefix(v, "/") || strings.HasPrefix(v, "%") {
		return v
	}
	dir := filepath.Dir(t.src.Path)
	if strings.ContainsAny(v, "%$") {
		return literal(dir) + "/" + v
	}
	return literal(filepath.Join(dir, v))
}

// command starts an Exec line: podbay and the GlobalArgs= of section.
func (t *translation) command(section string) []string {
	return append([]string{t.opts.Binary}, t.args(section, "GlobalArgs")...)
}

// passThrough copies the sections systemd reads, and the file's own
// section renamed X-<own> (which systemd ignores), into the output in a
// fixed order: [Unit], [X-own], [Service], [Install], the rest.
func (t *translation) passThrough(own string) {
	for _, name := range []string{"Unit", own, "Service", "Install"} {
		out := name
		if name == own {
			out = "X-" + own
		}
		s := &Section{Name: out, Entries: slices.Clone(t.src.entries(name))}
		if name != "Install" || len(s.Entries) > 0 {
			t.out.Sections = append(t.out.Sections, s)
		}
	}
	for _, s := range t.src.Sections {
		if strings.HasPrefix(s.Name, "X-") {
			t.out.Sections = append(t.out.Sections, &Section{Name: s.Name, Entries: slices.Clone(s.Entries)})
		}
	}
	t.readInstall()
}

// readInstall collects the links [Install] asks for.
func (t *translation) readInstall() {
	for _, e := range t.src.entries("Install") {
		words := strings.Fields(e.Value)
		switch e.Key {
		case "WantedBy":
			t.install.WantedBy = append(t.install.WantedBy, words...)
		case "RequiredBy":
			t.install.RequiredBy = append(t.install.RequiredBy, words...)
		case "UpheldBy":
			t.install.UpheldBy = append(t.install.UpheldBy, words...)
		case "Alias":
			t.install.Alias = append(t.install.Alias, words...)
		}
	}
}

// unitDefaults adds what every generated service needs in [Unit]: where
// it came from, podbay's run-time directory (%t/podbay: /run/podbay for
// the system, $XDG_RUNTIME_DIR/podbay for a user, the roots podbay uses
// in each), and for a system service that reaches the network, the
// network being up.
func (t *translation) unitDefaults(network bool) {
	t.out.Add("Unit", "SourcePath", literal(t.src.Path))
	t.out.Add("Unit", "RequiresMountsFor", "%t/podbay")
	if network && !t.opts.User {
		t.out.Add("Unit", "Wants", "network-online.target")
		t.out.Add("Unit", "After", "network-online.target")
	}
}

// requireUnit orders the service after another generated unit and
// requires it.
func (t *translation) requireUnit(name string) {
	t.out.Add("Unit", "Requires", name)
	t.out.Add("Unit", "After", name)
}

// checkService refuses [Service] settings that would break the service:
// the generator writes ExecStart=, and Type= and KillMode= must be what
// it needs.
func (t *translation) checkService(typ string, killModes ...string) {
	for _, e := range t.src.entries("Service") {
		switch {
		case e.Key == "ExecStart":
			t.errorf(e.Line, "ExecStart= in [Service]: podbay-quadlet writes the service's command")
		case e.Key == "Type" && e.Value != typ:
			t.errorf(e.Line, "Type=%s in [Service]: a %s service is Type=%s", e.Value, filepath.Ext(t.src.Path), typ)
		case e.Key == "KillMode" && len(killModes) > 0 && !slices.Contains(killModes, e.Value):
			t.errorf(e.Line, "KillMode=%s in [Service]: want %s", e.Value, strings.Join(killModes, " or "))
		}
	}
}

// setService sets a [Service] key unless the file sets it.
func (t *translation) setService(key, value string) {
	if !t.src.Has("Service", key) {
		t.out.Add("Service", key, value)
	}
}
