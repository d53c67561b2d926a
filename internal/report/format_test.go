package report

import (
	"bytes"
	"strings"
	"testing"
)

type testRow struct {
	Name   string
	Tags   []string
	Labels map[string]string
	Nested struct{ Status string }
}

func (r testRow) ID() string              { return "id-" + r.Name }
func (r testRow) Label(key string) string { return r.Labels[key] }

var testSpec = Spec{
	Name:    "test",
	Default: "{{.ID}}\t{{.Name}}",
	Headers: map[string]string{"ID": "ROW ID"},
	Item:    testRow{},
}

func testRows() []testRow {
	a := testRow{Name: "alpha", Tags: []string{"x", "y"}, Labels: map[string]string{"app": "web"}}
	a.Nested.Status = "running"
	return []testRow{a, {Name: "b", Labels: map[string]string{}}}
}

func render(t *testing.T, format string, spec Spec, items any) (string, error) {
	t.Helper()
	f, err := Parse(format, spec)
	if err != nil {
		return "", err
	}
	if f.JSON() {
		t.Fatalf("%q parsed as JSON", format)
	}
	var buf bytes.Buffer
	err = f.Execute(&buf, items)
	return buf.String(), err
}

func TestParseJSON(t *testing.T) {
	for _, tc := range []struct {
		format string
		spec   Spec
		json   bool
		user   bool
	}{
		{"json", testSpec, true, false},
		{"{{json .}}", testSpec, true, false},
		{" {{ json . }} ", testSpec, true, false},
		{"{{json .Name}}", testSpec, false, true},
		{"", testSpec, false, false},
		{"table", testSpec, false, false},
		{"table {{.Name}}", testSpec, false, true},
		{"", Spec{Name: "inspect"}, true, false},
		{"table", Spec{Name: "inspect"}, true, false},
		{"{{.Name}}", Spec{Name: "inspect"}, false, true},
	} {
		f, err := Parse(tc.format, tc.spec)
		if err != nil {
			t.Errorf("%q: %v", tc.format, err)
			continue
		}
		if f.JSON() != tc.json || f.User() != tc.user {
			t.Errorf("%q (default %q): JSON %v, user's template %v; want %v, %v", tc.format, tc.spec.Default, f.JSON(), f.User(), tc.json, tc.user)
		}
	}
}

func TestExecute(t *testing.T) {
	for _, tc := range []struct {
		name, format, want string
	}{
		{"default table", "", "ROW ID    NAME\nid-alpha  alpha\nid-b      b\n"},
		{"table keyword alone", "table", "ROW ID    NAME\nid-alpha  alpha\nid-b      b\n"},
		{"one field a line", "{{.Name}}", "alpha\nb\n"},
		{"no header without table", "{{.ID}} {{.Name}}", "id-alpha alpha\nid-b b\n"},
		{"escaped tab kept raw", `{{.ID}}\t{{.Name}}`, "id-alpha\talpha\nid-b\tb\n"},
		{"table: spaces split columns", "table {{.Name}}   {{.ID}}", "NAME   ROW ID\nalpha  id-alpha\nb      id-b\n"},
		{"table: escaped tab", `table {{.Name}}\t{{.ID}}`, "NAME   ROW ID\nalpha  id-alpha\nb      id-b\n"},
		{"table: text kept in header", "table name={{.Name}}", "name=NAME\nname=alpha\nname=b\n"},
		{"table: spaces inside actions kept", `table {{join .Tags ", "}} {{.Name}}`, "TAGS  NAME\nx, y  alpha\n      b\n"},
		{"table: nested field header", "table {{.Nested.Status}}", "NESTED STATUS\nrunning\n\n"},
		{"table: header of a function's field", "table {{upper .Name}}", "NAME\nALPHA\nB\n"},
		{"nested field", "{{.Name}}={{.Nested.Status}}", "alpha=running\nb=\n"},
		{"map key", "{{.Labels.app}}", "web\n<no value>\n"},
		{"index", `{{index .Labels "app"}}.`, "web.\n.\n"},
		{"method with argument", `{{.Label "app"}}.`, "web.\n.\n"},
		{"json", "{{json .Tags}}", "[\"x\",\"y\"]\nnull\n"},
		{"json of a row", "{{json .Labels}}", "{\"app\":\"web\"}\n{}\n"},
		{"upper lower title", "{{upper .Name}} {{lower \"AB\"}} {{title .Nested.Status}}", "ALPHA ab Running\nB ab \n"},
		{"truncate pad split", `{{truncate .Name 3}}|{{pad .Name 1 1}}|{{index (split "a:b" ":") 1}}`, "alp| alpha |b\nb| b |b\n"},
		{"if", "{{if .Tags}}tagged{{else}}bare{{end}}", "tagged\nbare\n"},
		{"the user's own range", "{{range .}}{{.Name}},{{end}}", "alpha,b,\n"},
		{"escaped newline", `{{.Name}}\n`, "alpha\nb\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := render(t, tc.format, testSpec, testRows())
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("%q:\n got %q\nwant %q", tc.format, got, tc.want)
			}
		})
	}
}

func TestExecuteEmpty(t *testing.T) {
	for format, want := range map[string]string{
		"":                    "ROW ID  NAME\n",
		"table {{.Name}}":     "NAME\n",
		"{{.Name}}":           "",
		"{{range .}}x{{end}}": "\n",
	} {
		got, err := render(t, format, testSpec, []testRow{})
		if err != nil || got != want {
			t.Errorf("%q on nothing: %q, %v; want %q", format, got, err, want)
		}
	}
}

func TestExecuteMaps(t *testing.T) {
	spec := Spec{Name: "inspect"}
	items := []map[string]any{{"Name": "a", "State": map[string]any{"Status": "running", "Pid": 42}}}
	got, err := render(t, "{{.Name}} {{.State.Status}} {{.State.Pid}}", spec, items)
	if err != nil || got != "a running 42\n" {
		t.Errorf("got %q, %v", got, err)
	}
	got, err = render(t, "{{.State.Sttus}}", spec, items)
	if err == nil || got != "" {
		t.Fatalf("missing key: got %q, %v; want an error and no output", got, err)
	}
	if want := `--format: template: inspect:1:8: executing "inspect" at <.State.Sttus>: map has no entry for key "Sttus"`; err.Error() != want {
		t.Errorf("missing key:\n got %s\nwant %s", err, want)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, format, want string
	}{
		{"unknown field", "{{.Nmes}}", "--format: template: test:1:2: can't evaluate field Nmes in type testRow (it has ID, Label, Labels, Name, Nested, Tags)"},
		{"unknown field in a table", "table {{.ID}} {{.Nmes}}", "--format: template: test:1:10: can't evaluate field Nmes in type testRow"},
		{"unknown nested field", "{{.Nested.Stat}}", "can't evaluate field Stat in type struct { Status string }"},
		{"unknown field in a function call", "{{upper .Nmes}}", "can't evaluate field Nmes"},
		{"unknown field in an if", "{{if .Name}}{{.Nmes}}{{end}}", "can't evaluate field Nmes"},
		{"unclosed action", "{{.Name", "--format: template: test:2: unclosed action started at test:1"},
		{"unknown function", "{{nosuch .Name}}", `--format: template: test:1: function "nosuch" not defined`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.format, testSpec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%q: error %v, want %q", tc.format, err, tc.want)
			}
		})
	}
}

func TestExecuteErrorWritesNothing(t *testing.T) {
	f, err := Parse("table {{.Name}} {{join .Name \",\"}}", testSpec)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	err = f.Execute(&buf, testRows())
	if err == nil || !strings.HasPrefix(err.Error(), "--format: template: test:1:") || !strings.Contains(err.Error(), "wrong type for value") {
		t.Errorf("error %v", err)
	}
	if buf.Len() != 0 {
		t.Errorf("wrote %q before failing", buf.String())
	}
}

// wrapped embeds a pointer, as a command's row does to add Podman's names
// to a type's own.
type wrapped struct{ *testRow }

func (w wrapped) Extra() string { return "x" }

func TestEmbeddedFields(t *testing.T) {
	spec := Spec{Name: "test", Item: wrapped{}}
	rows := []wrapped{{&testRows()[0]}}
	got, err := render(t, "{{.Name}} {{.ID}} {{.Extra}}", spec, rows)
	if err != nil || got != "alpha id-alpha x\n" {
		t.Errorf("got %q, %v", got, err)
	}
	_, err = Parse("{{.Nmae}}", spec)
	if want := "can't evaluate field Nmae in type wrapped (it has Extra, ID, Label, Labels, Name, Nested, Tags)"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %q", err, want)
	}
}

func TestExecuteJSONFormat(t *testing.T) {
	f, err := Parse("json", testSpec)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Execute(&bytes.Buffer{}, testRows()); err == nil {
		t.Error("Execute of the json format: no error")
	}
}

func TestHeaderOf(t *testing.T) {
	names := map[string]string{"ID": "CONTAINER ID", "State.Status": "STATUS"}
	for _, tc := range []struct {
		fields []string
		want   string
	}{
		{[]string{"ID"}, "CONTAINER ID"},
		{[]string{"Names"}, "NAMES"},
		{[]string{"ImageID"}, "IMAGE ID"},
		{[]string{"CreatedAt"}, "CREATED AT"},
		{[]string{"NumberOfContainers"}, "NUMBER OF CONTAINERS"},
		{[]string{"DNSEnabled"}, "DNS ENABLED"},
		{[]string{"IPAddress"}, "IP ADDRESS"},
		{[]string{"State", "Status"}, "STATUS"},
		{[]string{"State", "ExitCode"}, "STATE EXIT CODE"},
		{nil, ""},
	} {
		if got := headerOf(tc.fields, names); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.fields, got, tc.want)
		}
	}
}

func TestColumns(t *testing.T) {
	for in, want := range map[string]string{
		"{{.A}} {{.B}}":           "{{.A}}\t{{.B}}",
		"{{.A}}   {{.B}}":         "{{.A}}\t{{.B}}",
		`{{join .A ", "}} {{.B}}`: "{{join .A \", \"}}\t{{.B}}",
		"{{.A}}\t{{.B}}":          "{{.A}}\t{{.B}}",
		"a b":                     "a\tb",
		"{{.A}} ":                 "{{.A}}",
	} {
		if got := columns(in); got != want {
			t.Errorf("columns(%q) = %q, want %q", in, got, want)
		}
	}
}
