//go:build !lean

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podbay/podbay/kube/manifest"
	"github.com/podbay/podbay/kube/validate"
)

func TestParseFieldValidation(t *testing.T) {
	for in, want := range map[string]fieldValidation{
		"strict": validateStrict, "true": validateStrict, "1": validateStrict, "TRUE": validateStrict,
		"warn":   validateWarn,
		"ignore": validateIgnore, "false": validateIgnore, "0": validateIgnore, "False": validateIgnore,
	} {
		if got, err := parseFieldValidation(in); got != want || err != nil {
			t.Errorf("parseFieldValidation(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "Strict", "warning", "yes"} {
		want := fmt.Sprintf("--validate %q: want strict (or true), warn, or ignore (or false)", in)
		if _, err := parseFieldValidation(in); err == nil || err.Error() != want {
			t.Errorf("parseFieldValidation(%q): error %v, want %s", in, err, want)
		}
	}
}

// typoPod has a key in the wrong case, a misspelt one and a repeated one.
const typoPod = `apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
  - name: a
    image: quay.io/a/b:1
    comand: [sh]
    resources:
      requests: {cpu: 10m, memory: 16Mi}
      limits: {memory: 32Mi}
    ports:
    - ContainerPort: 8080
      containerPort: 80
    - containerPort: 81
      containerPort: 82
`

// TestReadingFindingsFieldValidation: unknown fields are errors, warnings or
// nothing as --validate says; a repeated key stays a warning; the messages and
// hints are the decoder's, which kube play prints.
func TestReadingFindingsFieldValidation(t *testing.T) {
	set, err := manifest.Decode("p.yaml", []byte(typoPod))
	if err != nil {
		t.Fatal(err)
	}
	decoded := map[string]manifest.Finding{}
	for _, w := range set.Warnings {
		decoded[w.Path] = w
	}
	cases := []struct {
		fields fieldValidation
		want   []string
	}{
		{validateStrict, []string{
			"9:5 error manifest.unknown-field spec.containers[0].comand",
			"14:7 error manifest.unknown-field spec.containers[0].ports[0].ContainerPort",
			"17:7 warning manifest.duplicate-key spec.containers[0].ports[1].containerPort",
		}},
		{validateWarn, []string{
			"9:5 warning manifest.unknown-field spec.containers[0].comand",
			"14:7 warning manifest.unknown-field spec.containers[0].ports[0].ContainerPort",
			"17:7 warning manifest.duplicate-key spec.containers[0].ports[1].containerPort",
		}},
		{validateIgnore, []string{
			"17:7 warning manifest.duplicate-key spec.containers[0].ports[1].containerPort",
		}},
	}
	for _, tc := range cases {
		t.Run(string(tc.fields), func(t *testing.T) {
			var got []string
			for _, f := range readingFindings(set, nil, tc.fields) {
				got = append(got, fmt.Sprintf("%d:%d %s %s %s", f.Line, f.Col, f.Severity, f.Rule, f.Path))
				d := decoded[f.Path]
				if f.Message != d.Message || f.Hint != d.Hint || f.Object != d.Object {
					t.Errorf("finding %+v does not read as the decoder's %+v", f, d)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("findings\n got: %q\nwant: %q", got, tc.want)
			}
		})
	}
	if h := decoded["spec.containers[0].ports[0].ContainerPort"].Hint; h != `did you mean "containerPort"? field names are case-sensitive` {
		t.Errorf("hint %q", h)
	}
}

// runValidate runs podbay kube validate in-process and returns its output and exit status.
func runValidate(t *testing.T, args ...string) (string, int) {
	t.Helper()
	dir := t.TempDir()
	cmd := newRootCommand()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(append([]string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"),
		"kube", "validate"}, args...))
	err := cmd.Execute()
	code := 0
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		code = ee.code
	case err != nil:
		t.Fatalf("kube validate %q: %v", args, err)
	}
	if errb.Len() > 0 {
		t.Errorf("kube validate %q: stderr %s", args, errb.String())
	}
	return out.String(), code
}

// TestKubeValidateFieldValidationVerdicts: an unknown field rejects by default, as
// kubectl apply's strict field validation does; --validate=warn accepts it (unless
// --strict) and --validate=ignore does not report it.
func TestKubeValidateFieldValidationVerdicts(t *testing.T) {
	file := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(file, []byte(typoPod), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args     []string
		code     int
		severity string
	}{
		{nil, exitRejected, validate.SeverityError},
		{[]string{"--validate"}, exitRejected, validate.SeverityError},
		{[]string{"--validate=true"}, exitRejected, validate.SeverityError},
		{[]string{"--validate=warn"}, 0, validate.SeverityWarning},
		{[]string{"--validate=warn", "--strict"}, exitRejected, validate.SeverityWarning},
		{[]string{"--validate=ignore"}, 0, ""},
		{[]string{"--validate=false"}, 0, ""},
		{[]string{"--validate=ignore", "--strict"}, exitRejected, ""}, // the repeated key
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, code := runValidate(t, append(tc.args, "-o", "json", file)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, out)
			}
			var fs []validate.Finding
			if err := json.Unmarshal([]byte(out), &fs); err != nil {
				t.Fatalf("-o json: %v\n%s", err, out)
			}
			var severities []string
			for _, f := range fs {
				if f.Rule == ruleUnknownField {
					severities = append(severities, f.Severity)
				}
			}
			want := []string{tc.severity, tc.severity}
			if tc.severity == "" {
				want = nil
			}
			if fmt.Sprint(severities) != fmt.Sprint(want) {
				t.Errorf("unknown-field severities %q, want %q", severities, want)
			}
		})
	}
}
