package quadlet

import (
	"strings"
	"testing"
)

func TestParseAsSystemdReads(t *testing.T) {
	u, err := Parse("/x/a.kube", []byte(`# comment
; another
[Kube]
Yaml = one.yaml
PodmanArgs=--a \
# a comment inside a continuation is skipped
  --b \
  --c
Network=a
Network=
Network=b
[Service]
Restart=always
[Kube]
Yaml=two.yaml
`))
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := u.Lookup("Kube", "PodmanArgs"); e.Value != "--a  --b  --c" || e.Line != 5 {
		t.Errorf("continued line: %q at %d", e.Value, e.Line)
	}
	var yamls []string
	for _, e := range u.LookupAll("Kube", "Yaml") {
		yamls = append(yamls, e.Value)
	}
	if strings.Join(yamls, ",") != "one.yaml,two.yaml" {
		t.Errorf("a repeated section merges: %v", yamls)
	}
	if n := u.LookupAll("Kube", "Network"); len(n) != 1 || n[0].Value != "b" || n[0].Line != 11 {
		t.Errorf("an empty assignment resets a list: %+v", n)
	}
	if e, ok := u.Lookup("Service", "Restart"); !ok || e.Value != "always" {
		t.Errorf("Restart: %+v", e)
	}
	if !strings.HasPrefix(string(u.Format()), "[Kube]\nYaml=one.yaml\nPodmanArgs=--a  --b  --c\n") {
		t.Errorf("Format:\n%s", u.Format())
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	for in, want := range map[string]string{
		"Yaml=x\n":             "/x/a.kube:1: assignment Yaml= outside of a section",
		"[Kube]\n\n[Bad\n":     `/x/a.kube:3: invalid section header "[Bad"`,
		"[Kube]\nno equals\n":  `/x/a.kube:2: invalid line "no equals": want Key=Value`,
		"[Kube]\nA B=c\n":      `/x/a.kube:2: invalid line "A B=c": want Key=Value`,
		"[Kube]\n=value\n":     `/x/a.kube:2: invalid line "=value": want Key=Value`,
		"[]\n":                 `/x/a.kube:1: invalid section header "[]"`,
		"[Kube]\n[a]b]\nk=v\n": `/x/a.kube:2: invalid section header "[a]b]"`,
	} {
		_, err := Parse("/x/a.kube", []byte(in))
		if err == nil || err.Error() != want {
			t.Errorf("Parse(%q): %v, want %s", in, err, want)
		}
	}
}

func TestCheckPublish(t *testing.T) {
	for _, ok := range []string{"80", "8080:80", ":80", "127.0.0.1:8080:80", "127.0.0.1::80", "[::1]:8080:80", "53:53/udp"} {
		if err := checkPublish(ok); err != nil {
			t.Errorf("checkPublish(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "0", "x:80", "1:2:3:4", ":1:80", "80/icmp", "[::1:80", "[]:1:2", "[::1]:1:2:3", "8080:"} {
		if err := checkPublish(bad); err == nil {
			t.Errorf("checkPublish(%q) succeeded, want an error", bad)
		}
	}
}

func TestAutoUpdateAnnotation(t *testing.T) {
	for in, want := range map[string]string{
		"registry":     "io.containers.autoupdate=registry",
		"local":        "io.containers.autoupdate=local",
		"web/registry": "io.containers.autoupdate/web=registry",
	} {
		if got, err := autoUpdateAnnotation(in); err != nil || got != want {
			t.Errorf("autoUpdateAnnotation(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"always", "Web/registry", "/registry", "web/"} {
		if _, err := autoUpdateAnnotation(bad); err == nil {
			t.Errorf("autoUpdateAnnotation(%q) succeeded", bad)
		}
	}
}
