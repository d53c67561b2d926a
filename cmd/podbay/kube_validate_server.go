//go:build !lean

package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/podbay/podbay/cluster"
	"github.com/podbay/podbay/kube/manifest"
	"github.com/podbay/podbay/kube/validate"
)

// Verdicts of one object in kube validate --server.
const (
	verdictAccepted  = "accepted"
	verdictRejected  = "rejected"
	verdictUnchecked = "unchecked"
)

// serverReport is the cluster's verdict on each object next to podbay's own.
type serverReport struct {
	Server  string          `json:"server"`
	Context string          `json:"context"`
	Objects []serverVerdict `json:"objects"`
}

type serverVerdict struct {
	// Object is Kind/name, as the findings name it.
	Object    string `json:"object"`
	Namespace string `json:"namespace,omitempty"`
	// Server is accepted, rejected or unchecked; Message the server's error or why it was not asked.
	Server   string   `json:"server"`
	Message  string   `json:"message,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	// Offline is podbay's own verdict (accepted or rejected) and its first error.
	Offline        string `json:"offline"`
	OfflineMessage string `json:"offlineMessage,omitempty"`
	// Difference says how the two verdicts differ; empty when they agree.
	Difference string `json:"difference,omitempty"`
}

// checkOnServer has the cluster dry-run each object (a server-side apply
// with dryRun=All: validation, defaulting and admission, Pod Security and
// quotas and webhooks included; nothing stored) and sets podbay's offline
// verdict, from findings, beside it.
func checkOnServer(ctx context.Context, f *clusterFlags, set *manifest.Set, findings []validate.Finding, strict bool) (*serverReport, error) {
	c, err := f.connect(ctx)
	if err != nil {
		return nil, err
	}
	results := c.Apply(ctx, setObjects(set), cluster.ApplyOptions{DryRun: true, DefaultNamespace: true})
	rep := &serverReport{Server: c.Server, Context: c.Context}
	for _, r := range results {
		if r.Index < 0 {
			continue // a missing namespace: its objects say so
		}
		o := set.Objects[r.Index]
		v := serverVerdict{Object: o.Ref(), Namespace: r.Namespace, Server: verdictAccepted, Warnings: r.Warnings}
		switch r.Outcome {
		case cluster.Failed:
			v.Server, v.Message = verdictRejected, r.Err.Error()
		case cluster.Unchecked:
			v.Server, v.Message = verdictUnchecked, r.Note
		}
		v.Offline, v.OfflineMessage = offlineVerdict(findings, o.Ref(), strict)
		v.Difference = difference(v)
		rep.Objects = append(rep.Objects, v)
	}
	return rep, nil
}

// offlineVerdict is podbay's verdict on one object: rejected when a finding
// about it is an error (or a warning, with --strict), with the first one.
func offlineVerdict(fs []validate.Finding, ref string, strict bool) (verdict, first string) {
	for _, f := range fs {
		if f.Object == ref && (f.Severity == validate.SeverityError || (strict && f.Severity == validate.SeverityWarning)) {
			return verdictRejected, f.Rule + ": " + f.Message
		}
	}
	return verdictAccepted, ""
}

func difference(v serverVerdict) string {
	switch {
	case v.Server == verdictUnchecked || v.Server == v.Offline:
		return ""
	case v.Server == verdictRejected:
		return fmt.Sprintf("the server rejects %s: %s; podbay's offline check said: ok", v.Object, v.Message)
	}
	return fmt.Sprintf("podbay's offline check rejects %s (%s); the server accepts it", v.Object, v.OfflineMessage)
}

func (r *serverReport) rejected() bool {
	if r == nil {
		return false
	}
	for _, v := range r.Objects {
		if v.Server == verdictRejected {
			return true
		}
	}
	return false
}

// writeServerText prints the server's verdicts, then the differences.
func writeServerText(w io.Writer, r *serverReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\nServer %s (%s), dry run:\n", r.Server, r.Context)
	var diffs []string
	for _, v := range r.Objects {
		where := ""
		if v.Namespace != "" {
			where = " in " + v.Namespace
		}
		line := fmt.Sprintf("  %s%s: %s", v.Object, where, v.Server)
		if v.Message != "" {
			line += ": " + v.Message
		}
		b.WriteString(line + "\n")
		for _, warn := range v.Warnings {
			fmt.Fprintf(&b, "    warning: %s\n", warn)
		}
		if v.Difference != "" {
			diffs = append(diffs, v.Difference)
		}
	}
	if len(diffs) == 0 {
		fmt.Fprintf(&b, "The server and podbay's offline check agree on %s.\n", countOf(len(r.Objects), "object"))
	} else {
		b.WriteString("Differences:\n")
		for _, d := range diffs {
			fmt.Fprintf(&b, "  %s\n", d)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
