package quadlet

import (
	"reflect"
	"testing"
)

func TestSplitWords(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{`--a b`, []string{"--a", "b"}},
		{`  --root "/var/lib/my pods"  `, []string{"--root", "/var/lib/my pods"}},
		{`--label 'a=b c' x`, []string{"--label", "a=b c", "x"}},
		{`--env=A=\"q\" \x41\101\s`, []string{`--env=A="q"`, "AA "}},
		{`a\ b`, []string{`a\ b`}}, // an unknown escape stands for itself
		{`--x="" y`, []string{"--x=", "y"}},
		{`"" ''`, []string{"", ""}},
		{`\q`, []string{`\q`}},
		{`   `, nil},
	} {
		got, err := splitWords(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("splitWords(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{`"open`, `'open`, `end\`} {
		if _, err := splitWords(bad); err == nil {
			t.Errorf("splitWords(%q) succeeded, want an error", bad)
		}
	}
}

// TestQuoteWordRoundTrips: what quoteWord writes, splitWords (as systemd)
// reads back as the same word.
func TestQuoteWordRoundTrips(t *testing.T) {
	for _, w := range []string{"plain", "with space", `q"uote`, `back\slash`, "it's", "", "tab\there", "nl\nx", "\x01", "%t/x", ";"} {
		q := quoteWord(w)
		got, err := splitWords(q)
		if w == ";" {
			if q != `\;` {
				t.Errorf("quoteWord(;) = %q", q)
			}
			continue
		}
		if err != nil || len(got) != 1 || got[0] != w {
			t.Errorf("quoteWord(%q) = %q, read back as %q (%v)", w, q, got, err)
		}
	}
	if got := commandLine([]string{"/usr/bin/podbay", "--root", "/a b", "kube"}); got != `/usr/bin/podbay --root "/a b" kube` {
		t.Errorf("commandLine: %s", got)
	}
}
