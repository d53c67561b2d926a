//go:build !lean

package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/podbay/podbay/cluster"
	"github.com/podbay/podbay/kube/validate"
)

// Each object gets its line: outcomes on stdout, warnings and errors (the
// server's message) on stderr, then the count of failures.
func TestPrintApplied(t *testing.T) {
	results := []cluster.Result{
		{Ref: "namespace/dev", Outcome: cluster.Created, Note: "objects go into it", Index: -1},
		{Ref: "deployment.apps/web", Outcome: cluster.Configured, Warnings: []string{`would violate PodSecurity "restricted:latest": privileged`}},
		{Ref: "pod/priv", Outcome: cluster.Failed, Err: errors.New(`pods "priv" is forbidden: violates PodSecurity "restricted:latest"`)},
		{Ref: "configmap/c", Outcome: cluster.Unchanged},
	}
	var out, errb bytes.Buffer
	if n := printApplied(&out, &errb, results, true); n != 1 {
		t.Errorf("%d failures counted, want 1", n)
	}
	wantOut := "namespace/dev created (server dry run): objects go into it\ndeployment.apps/web configured (server dry run)\nconfigmap/c unchanged (server dry run)\n"
	if out.String() != wantOut {
		t.Errorf("stdout:\n%s\nwant:\n%s", out.String(), wantOut)
	}
	wantErr := `Warning: deployment.apps/web: would violate PodSecurity "restricted:latest": privileged
Error: pod/priv: pods "priv" is forbidden: violates PodSecurity "restricted:latest"
Error: 1 of 4 objects failed
`
	if errb.String() != wantErr {
		t.Errorf("stderr:\n%s\nwant:\n%s", errb.String(), wantErr)
	}
}

// validate --server points out where the server and podbay disagree, in
// both directions, and says nothing where they agree.
func TestServerVerdictDifferences(t *testing.T) {
	findings := []validate.Finding{
		{Rule: "pss.restricted.privileged", Severity: validate.SeverityError, Object: "Pod/strict", Message: "privileged"},
		{Rule: "portability.missing-tag", Severity: validate.SeverityWarning, Object: "Pod/loose", Message: "no tag"},
	}
	verdict := func(object, server, msg string, strict bool) serverVerdict {
		v := serverVerdict{Object: object, Server: server, Message: msg}
		v.Offline, v.OfflineMessage = offlineVerdict(findings, object, strict)
		v.Difference = difference(v)
		return v
	}
	cases := []struct {
		v    serverVerdict
		want string
	}{
		{verdict("Pod/loose", verdictRejected, "violates PodSecurity", false), "the server rejects Pod/loose: violates PodSecurity; podbay's offline check said: ok"},
		{verdict("Pod/strict", verdictAccepted, "", false), "podbay's offline check rejects Pod/strict (pss.restricted.privileged: privileged); the server accepts it"},
		{verdict("Pod/strict", verdictRejected, "violates", false), ""},
		{verdict("Pod/loose", verdictAccepted, "", false), ""},
		{verdict("Pod/loose", verdictAccepted, "", true), "podbay's offline check rejects Pod/loose (portability.missing-tag: no tag); the server accepts it"},
		{verdict("Pod/loose", verdictUnchecked, "namespace missing", false), ""},
	}
	for _, tc := range cases {
		if tc.v.Difference != tc.want {
			t.Errorf("%s (server %s, offline %s): difference %q, want %q", tc.v.Object, tc.v.Server, tc.v.Offline, tc.v.Difference, tc.want)
		}
	}
	var b bytes.Buffer
	rep := &serverReport{Server: "https://127.0.0.1:6443", Context: `context "dev" of /k`, Objects: []serverVerdict{cases[0].v, cases[3].v}}
	if err := writeServerText(&b, rep); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"Server https://127.0.0.1:6443 (context \"dev\" of /k), dry run:", "  Pod/loose: rejected: violates PodSecurity",
		"Differences:\n  the server rejects Pod/loose"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("report does not say %q:\n%s", w, b.String())
		}
	}
	if !rep.rejected() || (&serverReport{Objects: []serverVerdict{cases[3].v}}).rejected() {
		t.Error("rejected() does not follow the server's verdicts")
	}
}
