//go:build integration

package main

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// lines splits output into its lines, without the last newline.
func lines(out string) []string {
	return strings.Split(strings.TrimSuffix(out, "\n"), "\n")
}

// TestFormatTemplates drives --format as Podman users type it: Go templates
// with Podman's field names on ps, pod ps, images, volume ls, network ls and
// the inspect verbs; table headers; json; and the errors of a bad template.
func TestFormatTemplates(t *testing.T) {
	e := pulled(t)
	e.ok("run", "-d", "--name", "web", "-l", "app=shop", e.busybox, "sleep", "1000")
	if r := e.run("run", "--name", "job", e.busybox, "sh", "-c", "exit 3"); r.code != 3 {
		t.Fatalf("run job: exit %d, want 3 (%s)", r.code, r.stderr)
	}
	e.ok("pod", "create", "--name", "shop", "--network", "none", "-l", "tier=front")
	podID := strings.TrimSpace(e.ok("pod", "ps", "-q"))
	e.ok("run", "-d", "--pod", "shop", "--name", "a", e.busybox, "sleep", "1000")

	names := lines(e.ok("ps", "--format", "{{.Names}}"))
	if !slices.Contains(names, "web") || !slices.Contains(names, "a") || slices.Contains(names, "job") || len(names) != 3 {
		t.Errorf("ps --format {{.Names}}: %q, want web, a and the pod's infra", names)
	}
	all := e.ok("ps", "-a", "--format", "{{.Names}} {{.State}} {{.ExitCode}} {{.PodName}}.")
	for _, want := range []string{"web running 0 .\n", "job exited 3 .\n", "a running 0 shop.\n"} {
		if !strings.Contains(all, want) {
			t.Errorf("ps -a --format: %q lacks %q", all, want)
		}
	}
	if out := e.ok("ps", "--format", `{{.Label "app"}}|{{upper .Names}}`, "-q"); !strings.Contains(out, "shop|WEB\n") {
		t.Errorf("ps --format with Label and upper (and -q, which a template wins over): %q", out)
	}
	table := lines(e.ok("ps", "-a", "--format", "table {{.ID}} {{.Names}}"))
	if len(table) != 5 || !regexp.MustCompile(`^CONTAINER ID  NAMES\s*$`).MatchString(table[0]) {
		t.Errorf("ps --format 'table {{.ID}} {{.Names}}': %q, want a header and four rows", table)
	}
	for _, row := range table[1:] {
		if !regexp.MustCompile(`^[0-9a-f]{12}  \S+$`).MatchString(row) {
			t.Errorf("table row %q: want the 12-character ID, two spaces, the name", row)
		}
	}
	var asJSON, asTemplate []map[string]any
	if err := json.Unmarshal([]byte(e.ok("ps", "--format", "json")), &asJSON); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(e.ok("ps", "--format", "{{json .}}")), &asTemplate); err != nil || len(asTemplate) != len(asJSON) || len(asJSON) != 3 {
		t.Errorf("ps --format '{{json .}}': %d rows (%v), --format json %d, want 3 each", len(asTemplate), err, len(asJSON))
	}

	if out := e.ok("inspect", "--format", "{{.State.Status}} {{.State.Running}} {{.State.ExitCode}}", "web", "job"); out != "running true 0\nexited false 3\n" {
		t.Errorf("inspect --format {{.State.Status}}...: %q", out)
	}
	if f := strings.Fields(e.ok("inspect", "--format", "{{.Name}} {{.Pod}} {{.ImageName}}", "a")); len(f) != 3 || f[0] != "a" || !strings.HasPrefix(f[1], podID) || f[2] != e.busybox {
		t.Errorf("inspect --format {{.Name}} {{.Pod}} {{.ImageName}}: %q, want a, %s... and %s", f, podID, e.busybox)
	}
	if out := e.ok("inspect", "--format", "{{range .Config.Env}}{{.}} {{end}}", "web"); !strings.Contains(out, "PATH=") {
		t.Errorf("inspect --format {{.Config.Env}}: %q, want the process's environment", out)
	}
	if out := e.ok("pod", "ps", "--format", "{{.Name}} {{.Status}} {{.NumberOfContainers}} {{.Labels.tier}}"); out != "shop Running 2 front\n" {
		t.Errorf("pod ps --format: %q", out)
	}
	if out := e.ok("pod", "inspect", "--format", "{{.Name}} {{.State}} {{.NumberOfContainers}}", "shop"); out != "shop Running 2\n" {
		t.Errorf("pod inspect --format: %q", out)
	}
	if out := e.ok("images", "--format", "{{.Repository}}:{{.Tag}}"); out != e.busybox+"\n" {
		t.Errorf("images --format {{.Repository}}:{{.Tag}}: %q, want %s", out, e.busybox)
	}
	if out := lines(e.ok("images", "--format", "table {{.ID}} {{.Tag}}")); len(out) != 2 || !regexp.MustCompile(`^IMAGE ID\s+TAG$`).MatchString(out[0]) {
		t.Errorf("images --format 'table {{.ID}} {{.Tag}}': %q", out)
	}
	if out := e.ok("image", "inspect", "--format", "{{.Os}}", e.busybox); out != "linux\n" {
		t.Errorf("image inspect --format {{.Os}}: %q", out)
	}
	e.ok("volume", "create", "data")
	if out := e.ok("volume", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}"); out != "data local local\n" {
		t.Errorf("volume ls --format: %q", out)
	}
	if out := e.ok("volume", "inspect", "--format", "{{.Mountpoint}}", "data"); !strings.HasSuffix(out, "/volumes/data/_data\n") {
		t.Errorf("volume inspect --format {{.Mountpoint}}: %q", out)
	}
	if out := e.ok("network", "ls", "--format", "{{.Name}} {{.Driver}}"); !strings.Contains(out, " bridge\n") {
		t.Errorf("network ls --format: %q", out)
	}
}

// TestFormatErrors: a bad template is a usage error (exit 125) naming the
// flag and the field, before anything runs, even with nothing to list.
func TestFormatErrors(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"ps", "--format", "{{.Nmes}}"}, []string{"--format: template: ps:1:2: can't evaluate field Nmes in type containerItem", "Names"}},
		{[]string{"pod", "ps", "--format", "table {{.Nme}}"}, []string{"--format: template: pod ps:1:2: can't evaluate field Nme"}},
		{[]string{"images", "--format", "{{.Repository"}, []string{"--format: template: images:", "unclosed action"}},
		{[]string{"volume", "ls", "--format", "{{nosuch .Name}}"}, []string{`--format: template: volume ls:1: function "nosuch" not defined`}},
		{[]string{"network", "ls", "--format", "{{.Subnt}}"}, []string{"can't evaluate field Subnt"}},
	} {
		if r := e.fails(tc.want, tc.args...); r.code != 125 || r.stdout != "" {
			t.Errorf("podbay %s: exit %d, stdout %q; want 125 and nothing", strings.Join(tc.args, " "), r.code, r.stdout)
		}
	}
	e.ok("pull", "-q", "--tls-verify=false", e.busybox)
	e.ok("create", "--name", "c", e.busybox, "true")
	if r := e.fails([]string{`--format: template: inspect:1:8: executing "inspect" at <.State.Sttus>: map has no entry for key "Sttus"`},
		"inspect", "--format", "{{.State.Sttus}}", "c"); r.code != 125 {
		t.Errorf("inspect with an unknown field: exit %d, want 125", r.code)
	}
}

// TestPodLogsEveryContainer: pod logs prints each container's output, each
// line after the container's name, stdout to stdout and stderr to stderr;
// -c picks one container.
func TestPodLogsEveryContainer(t *testing.T) {
	e := pulled(t)
	e.ok("pod", "create", "--name", "duo", "--network", "none")
	e.ok("run", "-d", "--pod", "duo", "--name", "one", e.busybox, "sh", "-c", "echo from-one; echo two lines; exec sleep 1000")
	e.ok("run", "-d", "--pod", "duo", "--name", "two", e.busybox, "sh", "-c", "echo from-two; echo oops >&2; exec sleep 1000")
	var r result
	waitFor(t, "both containers' output", 10*time.Second, func() bool {
		r = e.run("pod", "logs", "duo")
		return r.stdout == "one from-one\none two lines\ntwo from-two\n" && r.stderr == "two oops\n"
	})
	if out := e.ok("pod", "logs", "-c", "two", "--names", "duo"); out != "two from-two\n" {
		t.Errorf("pod logs -c two: %q", out)
	}
	// Container two writes its two streams through two pipes: which of its
	// lines its log holds last is not fixed, but there is one per container.
	r = e.run("pod", "logs", "--tail", "1", "duo")
	var one, two []string
	for _, l := range strings.Split(strings.TrimSpace(r.stdout+"\n"+r.stderr), "\n") {
		switch {
		case strings.HasPrefix(l, "one "):
			one = append(one, l)
		case strings.HasPrefix(l, "two "):
			two = append(two, l)
		}
	}
	if len(one) != 1 || one[0] != "one two lines" || len(two) != 1 {
		t.Errorf("pod logs --tail 1: stdout %q, stderr %q; want each container's last line", r.stdout, r.stderr)
	}
	e.fails([]string{`--container "three": pod duo has no such container`}, "pod", "logs", "-c", "three", "duo")
}
