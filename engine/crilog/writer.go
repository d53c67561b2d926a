package crilog

import (
	"bytes"
	"io"
	"sync"
	"time"
)

// Stream names.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// Tags: a full line, or a part of a line continued by the next entry of the same stream.
const (
	TagFull    = "F"
	TagPartial = "P"
)

// DefaultMaxLine is the longest text of one entry, as containerd's default.
const DefaultMaxLine = 16 * 1024

// Writer writes CRI log entries to an underlying writer; it is safe for
// concurrent use by its streams, each entry being one Write.
type Writer struct {
	mu      sync.Mutex
	w       io.Writer
	buf     []byte
	maxLine int
	now     func() time.Time
}

// NewWriter returns a Writer over w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w, maxLine: DefaultMaxLine, now: time.Now}
}

// SetMaxLine changes the longest text of one entry (longer lines are split
// into P entries).
func (w *Writer) SetMaxLine(n int) {
	if n > 0 {
		w.maxLine = n
	}
}

func (w *Writer) entry(stream, tag string, text []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.now().UTC().AppendFormat(w.buf[:0], time.RFC3339Nano)
	b = append(b, ' ')
	b = append(b, stream...)
	b = append(b, ' ')
	b = append(b, tag...)
	b = append(b, ' ')
	b = append(b, text...)
	b = append(b, '\n')
	w.buf = b[:0]
	_, err := w.w.Write(b)
	return err
}

// Stream returns the io.Writer of one stream ("stdout" or "stderr"). Complete
// lines become F entries; the text after the last newline waits for the next
// Write or a Flush. One stream is used by one goroutine at a time.
func (w *Writer) Stream(name string) *StreamWriter {
	return &StreamWriter{w: w, name: name}
}

// StreamWriter is one stream of a Writer.
type StreamWriter struct {
	w       *Writer
	name    string
	partial []byte
}

// Write logs p, splitting it into lines.
func (s *StreamWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.partial = append(s.partial, p...)
			break
		}
		line := p[:i]
		if len(s.partial) > 0 {
			line = append(s.partial, line...)
			s.partial = s.partial[:0]
		}
		if err := s.emit(line, TagFull); err != nil {
			return 0, err
		}
		p = p[i+1:]
	}
	for len(s.partial) > s.w.maxLine {
		if err := s.w.entry(s.name, TagPartial, s.partial[:s.w.maxLine]); err != nil {
			return 0, err
		}
		s.partial = append(s.partial[:0], s.partial[s.w.maxLine:]...)
	}
	return n, nil
}

// emit writes a line, as P entries of maxLine bytes then a last one tagged tag.
func (s *StreamWriter) emit(line []byte, tag string) error {
	for len(line) > s.w.maxLine {
		if err := s.w.entry(s.name, TagPartial, line[:s.w.maxLine]); err != nil {
			return err
		}
		line = line[s.w.maxLine:]
	}
	return s.w.entry(s.name, tag, line)
}

// Flush writes the pending text of an unfinished line as a P entry.
func (s *StreamWriter) Flush() error {
	if len(s.partial) == 0 {
		return nil
	}
	err := s.emit(s.partial, TagPartial)
	s.partial = s.partial[:0]
	return err
}
