package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/podbay/podbay/internal/report"
)

// addFormatFlag adds --format, read with report.Parse; example is a template
// for the help, as Podman users type it.
func addFormatFlag(cmd *cobra.Command, format *string, example string) {
	cmd.Flags().StringVar(format, "format", "", "output: json or a Go template with Podman's field names, e.g. '"+example+"' (a \"table \" prefix adds headers)")
}

// render prints items through f (the command's table or the user's
// template) or, for json, what jsonOf returns.
func render(cmd *cobra.Command, f *report.Format, items any, jsonOf func() any) error {
	if f.JSON() {
		return writeJSON(cmd.OutOrStdout(), jsonOf())
	}
	return f.Execute(cmd.OutOrStdout(), items)
}

// printQuiet prints each item's ID, one a line, when -q asks for IDs and
// neither a template nor JSON was asked for instead, as Podman does; it
// reports whether it printed.
func printQuiet[T any](cmd *cobra.Command, f *report.Format, quiet bool, items []T, id func(T) string) bool {
	if !quiet || f.User() || f.JSON() {
		return false
	}
	for _, it := range items {
		fmt.Fprintln(cmd.OutOrStdout(), id(it))
	}
	return true
}

// short is an ID as Podman lists it: its first 12 characters.
func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "    ")
	return enc.Encode(v)
}

// humanDuration renders how long ago t was, as Podman does ("2 minutes ago").
func humanDuration(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := time.Since(t)
	switch {
	case d < time.Second:
		return "Less than a second ago"
	case d < time.Minute:
		return plural(int(d.Seconds()), "second") + " ago"
	case d < time.Hour:
		return plural(int(d.Minutes()), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d.Hours()), "hour") + " ago"
	default:
		return plural(int(d.Hours()/24), "day") + " ago"
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		if unit == "hour" {
			return "About an hour"
		}
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// humanSize renders bytes in decimal units, as Podman does.
func humanSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	f := float64(n)
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d %s", n, units[0])
	}
	return fmt.Sprintf("%.3g %s", f, units[i])
}

func newShortID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
