package main

import (
	"io"
	"strconv"
	"sync"
	"time"
)

// lineLogger writes "time level msg key=value..." lines; it replaces
// log/slog, which would pull encoding/json and reflection into the monitor.
type lineLogger struct {
	mu    sync.Mutex
	w     io.Writer
	debug bool
	attrs []any
}

func (l *lineLogger) Debug(msg string, args ...any) {
	if l.debug {
		l.write("DEBUG", msg, args)
	}
}
func (l *lineLogger) Warn(msg string, args ...any)  { l.write("WARN", msg, args) }
func (l *lineLogger) Error(msg string, args ...any) { l.write("ERROR", msg, args) }

func (l *lineLogger) write(level, msg string, args []any) {
	b := time.Now().UTC().AppendFormat(nil, time.RFC3339Nano)
	b = append(b, " "+level+" "...)
	b = strconv.AppendQuote(b, msg)
	all := append(append([]any{}, l.attrs...), args...)
	for i := 0; i+1 < len(all); i += 2 {
		key, _ := all[i].(string)
		b = append(b, ' ')
		b = append(b, key...)
		b = append(b, '=')
		b = appendValue(b, all[i+1])
	}
	b = append(b, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Write(b)
}

func appendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return strconv.AppendQuote(b, v)
	case error:
		return strconv.AppendQuote(b, v.Error())
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case bool:
		return strconv.AppendBool(b, v)
	default:
		return append(b, "?"...)
	}
}
