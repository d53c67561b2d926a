package monitor

import (
	"bytes"
	"os"
	"strconv"
	"strings"
)

// runtimeMessage extracts the error messages of a runtime's JSON log file
// ({"level":"error","msg":"...","time":"..."} lines). It scans the lines by
// hand to keep encoding/json out of the monitor.
func runtimeMessage(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var msgs []string
	for _, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if line[0] != '{' {
			msgs = append(msgs, string(line))
			continue
		}
		level, _ := jsonField(line, "level")
		if level != "error" && level != "fatal" {
			continue
		}
		if msg, ok := jsonField(line, "msg"); ok {
			msgs = append(msgs, msg)
		}
	}
	return strings.Join(msgs, ": ")
}

// jsonField returns the string value of key in a flat JSON object line.
func jsonField(line []byte, key string) (string, bool) {
	i := bytes.Index(line, []byte(`"`+key+`":"`))
	if i < 0 {
		return "", false
	}
	start := i + len(key) + 4 // past `"key":"`
	for j := start; j < len(line); j++ {
		switch line[j] {
		case '\\':
			j++
		case '"':
			raw := string(line[start-1 : j+1])
			s, err := strconv.Unquote(strings.ReplaceAll(raw, `\/`, `/`))
			if err != nil {
				return raw[1 : len(raw)-1], true
			}
			return s, true
		}
	}
	return "", false
}
