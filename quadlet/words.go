package quadlet

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// splitWords splits a value into words as systemd does for command lines
// and Quadlet for PodmanArgs=: whitespace separates words, single and
// double quotes group them, backslash escapes are C escapes.
func splitWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	var quote rune
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '\\':
			if i+1 >= len(rs) {
				return nil, errors.New("trailing backslash")
			}
			n, skip := unescape(rs[i+1:])
			w.WriteString(n)
			i += skip
			inWord = true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				w.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

var simpleEscapes = map[rune]string{'a': "\a", 'b': "\b", 'f': "\f", 'n': "\n", 'r': "\r", 't': "\t",
	'v': "\v", '\\': "\\", '"': "\"", '\'': "'", 's': " "}

// unescape reads the C escape after a backslash (rs starts after it) and
// returns its text and how many runes it used; an unknown escape stands
// for itself, backslash included (systemd's relaxed mode).
func unescape(rs []rune) (string, int) {
	if s, ok := simpleEscapes[rs[0]]; ok {
		return s, 1
	}
	digits := func(n, base int) (string, int, bool) {
		if len(rs) < 1+n {
			return "", 0, false
		}
		v, err := strconv.ParseUint(string(rs[1:1+n]), base, 32)
		if err != nil || v > 0x10ffff {
			return "", 0, false
		}
		return string(rune(v)), n + 1, true
	}
	switch rs[0] {
	case 'x':
		if s, n, ok := digits(2, 16); ok {
			return s, n
		}
	case 'u':
		if s, n, ok := digits(4, 16); ok {
			return s, n
		}
	case 'U':
		if s, n, ok := digits(8, 16); ok {
			return s, n
		}
	case '0', '1', '2', '3':
		rs = append([]rune{'o'}, rs...)
		if s, n, ok := digits(3, 8); ok {
			return s, n - 1
		}
		rs = rs[1:]
	}
	return "\\" + string(rs[0]), 1
}

// quoteWord writes one word of an Exec line so that systemd reads it back
// as it is: plain when it can be, else double-quoted with C escapes.
func quoteWord(w string) string {
	if w == ";" {
		return `\;`
	}
	plain := w != ""
	for _, r := range w {
		if r <= ' ' || r == 0x7f || r == '"' || r == '\'' || r == '\\' {
			plain = false
			break
		}
	}
	if plain {
		return w
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range w {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < ' ' || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// commandLine is an Exec line's value.
func commandLine(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = quoteWord(a)
	}
	return strings.Join(q, " ")
}

// literal escapes what systemd would expand in a value podbay-quadlet
// computed (a directory's path): specifiers and variables.
func literal(s string) string {
	return strings.NewReplacer("%", "%%", "$", "$$").Replace(s)
}
