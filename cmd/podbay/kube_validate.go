//go:build !lean

package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/podbay/podbay/kube/manifest"
	"github.com/podbay/podbay/kube/validate"
)

// Exit statuses of kube validate.
const (
	exitRejected   = 1 // a cluster would reject something
	exitUnreadable = 2 // an input could not be read
)

type kubeValidateFlags struct {
	openshift bool
	pss       string
	uidRange  string
	strict    bool
	output    string
	validate  string
	server    bool
	cluster   clusterFlags
}

func newKubeValidateCommand(g *globals) *cobra.Command {
	var f kubeValidateFlags
	cmd := &cobra.Command{
		Use:   "validate [flags] FILE...|-|URL",
		Short: "Check what Kubernetes and OpenShift would reject or change: offline, or --server asks the cluster too",
		Long: `Check Kubernetes YAML offline the way a cluster would on create (kubectl apply):
reading (syntax, unknown fields, types, duplicate keys), the API server's validation
after defaulting, Pod Security Standards and, with --openshift, the restricted-v2 SCC,
plus portability warnings. Inputs are files, - for stdin, or http(s) URLs.

Field names match case-sensitively, as the API server matches them (ContainerPort
is an unknown field, not containerPort). An unknown field is an error, as kubectl apply's default
strict field validation makes it; --validate=warn makes it a warning and
--validate=ignore drops it, as kubectl's --validate does. A key written twice in
one mapping is a warning: kubectl sends its last value, and so it is checked.

With --server, the cluster of the kubeconfig (as kube apply finds it) checks
each object too, with a server-side apply dry run: its validation and its
admission (the namespace's Pod Security level, quotas, webhooks), storing
nothing. Its verdict is printed next to podbay's and every difference is
pointed out. -n names the namespace of objects that name none. An object
whose namespace does not exist is not checked.

Exit status: 0 when nothing would be rejected, 1 when something would (an error,
or a warning with --strict, or the server's refusal), 2 when an input cannot be
read or the server cannot be asked.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runKubeValidate(cmd, g, args, f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.openshift, "openshift", false, "check OpenShift's restricted-v2 SCC: what it rejects and what it changes")
	fl.StringVar(&f.pss, "pss", "", "enforce a Pod Security Standards level: baseline or restricted (default: baseline failures are warnings)")
	fl.StringVar(&f.uidRange, "uid-range", validate.DefaultUIDRange, "the namespace's openshift.io/sa.scc.uid-range, FIRST/SIZE")
	fl.BoolVar(&f.strict, "strict", false, "reject on warnings too")
	fl.StringVarP(&f.output, "output", "o", "text", "output format: text or json")
	fl.StringVar(&f.validate, "validate", string(validateStrict),
		"how to report unknown fields, as kubectl's --validate: strict (or true) as errors, warn as warnings, ignore (or false) not at all")
	fl.Lookup("validate").NoOptDefVal = string(validateStrict)
	fl.BoolVar(&f.server, "server", false, "ask the cluster too (a server dry run) and point out where it and podbay differ")
	f.cluster.add(cmd)
	return cmd
}

// fieldValidation is kubectl's --validate: what an unknown field is.
type fieldValidation string

const (
	validateStrict fieldValidation = "strict" // an error: the API server refuses the object
	validateWarn   fieldValidation = "warn"   // a warning: the API server drops the field
	validateIgnore fieldValidation = "ignore" // not reported
)

// parseFieldValidation reads --validate as kubectl does: a boolean (true is
// strict, false is ignore) or strict, warn, ignore.
func parseFieldValidation(s string) (fieldValidation, error) {
	if b, err := strconv.ParseBool(s); err == nil {
		if b {
			return validateStrict, nil
		}
		return validateIgnore, nil
	}
	switch v := fieldValidation(s); v {
	case validateStrict, validateWarn, validateIgnore:
		return v, nil
	}
	return "", fmt.Errorf("--validate %q: want strict (or true), warn, or ignore (or false)", s)
}

func (f kubeValidateFlags) options() (validate.Options, error) {
	switch f.pss {
	case "", "privileged", "baseline", "restricted":
	default:
		return validate.Options{}, fmt.Errorf("--pss %q: want baseline or restricted", f.pss)
	}
	if _, err := validate.ParseUIDRange(f.uidRange); err != nil {
		return validate.Options{}, fmt.Errorf("--uid-range: %w", err)
	}
	if f.output != "text" && f.output != "json" {
		return validate.Options{}, fmt.Errorf("--output %q: want text or json", f.output)
	}
	return validate.Options{OpenShift: f.openshift, PSS: f.pss, UIDRange: f.uidRange, Strict: f.strict}, nil
}

func runKubeValidate(cmd *cobra.Command, g *globals, args []string, f kubeValidateFlags) error {
	opts, err := f.options()
	if err != nil {
		return err
	}
	fields, err := parseFieldValidation(f.validate)
	if err != nil {
		return err
	}
	inputs, err := readInputs(cmd.Context(), args, cmd.InOrStdin())
	if err != nil {
		return &exitError{code: exitUnreadable, err: err}
	}
	set, decodeErr := decodeInputs(inputs)
	findings := readingFindings(set, decodeErr, fields)
	start := time.Now()
	report := validate.Validate(validatable(set), opts)
	g.log.Debug("validated", "objects", len(set.Objects), "findings", len(report.Findings), "elapsed", time.Since(start))
	findings = append(findings, report.Findings...)
	sortByInput(findings, inputs)

	var srv *serverReport
	if f.server {
		if srv, err = checkOnServer(cmd.Context(), &f.cluster, set, findings, opts.Strict); err != nil {
			return &exitError{code: exitUnreadable, err: err}
		}
	}
	if err := writeValidate(cmd.OutOrStdout(), f.output, findings, len(set.Objects), srv); err != nil {
		return err
	}
	if rejected(findings, opts.Strict) || srv.rejected() {
		return &exitError{code: exitRejected}
	}
	return nil
}

// validatable returns the objects worth checking: those that decoded, and those of
// kinds podbay does not decode (validate reports them); an object of a known kind
// that failed to decode already has its reading findings.
func validatable(set *manifest.Set) []validate.Object {
	known := map[string]bool{}
	for _, k := range manifest.KnownKinds() {
		known[k[strings.LastIndexByte(k, '/')+1:]] = true
	}
	objs := make([]validate.Object, 0, len(set.Objects))
	for _, o := range set.Objects {
		if o.Obj == nil && known[o.Kind] {
			continue
		}
		objs = append(objs, validateObject(o))
	}
	return objs
}

// validateObject adapts a decoded object, with its positions, to kube/validate.
func validateObject(o *manifest.Object) validate.Object {
	return validate.Object{
		Kind: o.Kind, Name: o.Name, Namespace: o.Namespace, Obj: o.Obj,
		Pos: func(path string) validate.Position {
			p := o.PosOf(path)
			return validate.Position{File: p.File, Line: p.Line, Col: p.Col}
		},
	}
}

// readingFindings turns the decoder's warnings and errors into findings, unknown
// fields as fields says (the decoder makes them warnings, as kube play prints them).
func readingFindings(set *manifest.Set, decodeErr error, fields fieldValidation) []validate.Finding {
	var out []validate.Finding
	add := func(f *manifest.Finding) {
		rf := readingFinding(f)
		if rf.Rule == ruleUnknownField {
			switch fields {
			case validateIgnore:
				return
			case validateStrict:
				rf.Severity = validate.SeverityError
			}
		}
		out = append(out, rf)
	}
	for i := range set.Warnings {
		add(&set.Warnings[i])
	}
	for _, err := range leafErrors(decodeErr) {
		var f *manifest.Finding
		if !errors.As(err, &f) {
			f = &manifest.Finding{Severity: manifest.SeverityError, Message: err.Error()}
		}
		add(f)
	}
	return out
}

func readingFinding(f *manifest.Finding) validate.Finding {
	sev := validate.SeverityWarning
	if f.Severity == manifest.SeverityError {
		sev = validate.SeverityError
	}
	rule := readingRule(f.Message)
	hint := f.Hint
	if rule == "manifest.api-version" {
		// The API server has no such version: kubectl apply fails with "no matches for kind".
		sev = validate.SeverityError
		hint = `the API server does not serve it (kubectl apply fails with "no matches for kind"): change apiVersion as the message says`
	}
	object := f.Object
	if object == "" {
		object = "-"
	}
	return validate.Finding{Rule: rule, Severity: sev,
		Position: validate.Position{File: f.File, Line: f.Line, Col: f.Col},
		Path:     f.Path, Object: object, Message: f.Message, Hint: hint}
}

const ruleUnknownField = "manifest.unknown-field"

// readingRules maps the decoder's messages to stable rule ids.
var readingRules = []struct{ prefix, rule string }{
	{"unknown field", ruleUnknownField},
	{"invalid YAML", "manifest.syntax"},
	{"duplicate key", "manifest.duplicate-key"},
	{"wrong type", "manifest.wrong-type"},
	{"missing \"kind\"", "manifest.missing-kind"},
	{"document is a", "manifest.not-an-object"},
	{"apiVersion ", "manifest.api-version"},
	{"input is ", "manifest.too-large"},
}

func readingRule(msg string) string {
	for _, r := range readingRules {
		if strings.HasPrefix(msg, r.prefix) {
			return r.rule
		}
	}
	return "manifest.invalid"
}

// sortByInput orders findings by input (in the order given), line and column,
// keeping validate's order (severity, path, rule) among equals.
func sortByInput(fs []validate.Finding, inputs []input) {
	order := make(map[string]int, len(inputs))
	for i, in := range inputs {
		order[in.Name] = i + 1
	}
	slices.SortStableFunc(fs, func(a, b validate.Finding) int {
		return cmp.Or(
			cmp.Compare(order[a.File], order[b.File]),
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Col, b.Col),
		)
	})
}

func rejected(fs []validate.Finding, strict bool) bool {
	for _, f := range fs {
		if f.Severity == validate.SeverityError || (strict && f.Severity == validate.SeverityWarning) {
			return true
		}
	}
	return false
}

// writeValidate prints the findings (and the server's verdicts) as text or JSON.
func writeValidate(w io.Writer, format string, fs []validate.Finding, objects int, srv *serverReport) error {
	if format == "json" {
		if srv == nil {
			return writeFindingsJSON(w, fs)
		}
		if fs == nil {
			fs = []validate.Finding{}
		}
		return encodeJSON(w, struct {
			Findings []validate.Finding `json:"findings"`
			Server   *serverReport      `json:"server"`
		}{fs, srv})
	}
	if err := writeValidateText(w, fs, objects); err != nil || srv == nil {
		return err
	}
	return writeServerText(w, srv)
}

// writeFindingsJSON prints findings as a JSON array, "[]" when there are none.
func writeFindingsJSON(w io.Writer, fs []validate.Finding) error {
	if fs == nil {
		fs = []validate.Finding{}
	}
	return encodeJSON(w, fs)
}

// encodeJSON prints v indented, "<" and ">" as they are.
func encodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "    ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// writeValidateText prints each finding, then a summary line.
func writeValidateText(w io.Writer, fs []validate.Finding, objects int) error {
	var b strings.Builder
	count := map[string]int{}
	for _, f := range fs {
		b.WriteString(f.String())
		b.WriteByte('\n')
		count[f.Severity]++
	}
	fmt.Fprintf(&b, "%s, %s, %s in %s\n", countOf(count[validate.SeverityError], "error"),
		countOf(count[validate.SeverityWarning], "warning"), countOf(count[validate.SeverityChange], "change"),
		countOf(objects, "object"))
	_, err := io.WriteString(w, b.String())
	return err
}

func countOf(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
