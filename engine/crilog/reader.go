package crilog

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// AllLines as ReadOptions.Tail shows the whole log.
const AllLines = -1

// ReadOptions tune Read.
type ReadOptions struct {
	Follow     bool
	Tail       int  // show only the last Tail lines; AllLines (any negative) for all, as Podman's --tail
	Timestamps bool // prefix each line with its timestamp
	// Until, while following, reports that no more entries will come (the
	// container has exited); Read then drains the file and returns.
	Until func() bool
	// Offset starts reading at this byte of the file (a position an
	// earlier Size gave: the start of the next run's output).
	Offset int64
}

// Entry is one parsed log entry.
type Entry struct {
	Time    string // RFC3339Nano, as written
	Stream  string
	Partial bool
	Text    []byte
}

// ParseEntry parses one log line (without its newline).
func ParseEntry(line []byte) (Entry, error) {
	parts := bytes.SplitN(line, []byte(" "), 4)
	if len(parts) < 3 {
		return Entry{}, fmt.Errorf("parsing log entry %q: too few fields", truncate(line))
	}
	e := Entry{Time: string(parts[0]), Stream: string(parts[1])}
	if len(parts) == 4 {
		e.Text = parts[3]
	}
	tag, _, _ := bytes.Cut(parts[2], []byte(":"))
	switch string(tag) {
	case TagFull:
	case TagPartial:
		e.Partial = true
	default:
		return Entry{}, fmt.Errorf("parsing log entry %q: unknown tag %q", truncate(line), tag)
	}
	return e, nil
}

func truncate(b []byte) []byte {
	if len(b) > 60 {
		return b[:60]
	}
	return b
}

// Read copies the log at path to stdout and stderr (stdout when stderr is
// nil), joining partial entries, honouring opts.
func Read(ctx context.Context, path string, opts ReadOptions, stdout, stderr io.Writer) error {
	if stderr == nil {
		stderr = stdout
	}
	skip := 0
	if opts.Tail >= 0 {
		total, err := countLines(path)
		if err != nil {
			return err
		}
		skip = max(total-opts.Tail, 0)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("reading log: %w", err)
	}
	defer f.Close()
	if opts.Offset > 0 {
		if _, err := f.Seek(opts.Offset, io.SeekStart); err != nil {
			return fmt.Errorf("reading log: %w", err)
		}
	}
	p := &printer{opts: opts, skip: skip, out: map[string]io.Writer{Stdout: stdout, Stderr: stderr}}
	var w *watcher
	if opts.Follow {
		w = newWatcher(path)
		defer w.close()
	}
	return p.copy(ctx, f, w)
}

// countLines counts the logical lines of a log: F entries plus one per
// stream ending in an unfinished line.
func countLines(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("reading log: %w", err)
	}
	defer f.Close()
	n, open := 0, map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 4*DefaultMaxLine)
	for sc.Scan() {
		e, err := ParseEntry(sc.Bytes())
		if err != nil {
			continue
		}
		open[e.Stream] = e.Partial
		if !e.Partial {
			n++
		}
	}
	for _, o := range open {
		if o {
			n++
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("reading log %q: %w", path, err)
	}
	return n, nil
}

type printer struct {
	opts    ReadOptions
	skip    int // logical lines still to skip (tail)
	seen    int // logical lines completed
	out     map[string]io.Writer
	pending map[string][]Entry // partial entries held while skipping
	midLine map[string]bool
}

// copy reads entries until EOF, or while following until ctx ends or Until
// reports the end and the file is drained.
func (p *printer) copy(ctx context.Context, f *os.File, w *watcher) error {
	br := bufio.NewReaderSize(f, 32*1024)
	var raw []byte
	done := false
	for {
		chunk, err := br.ReadBytes('\n')
		raw = append(raw, chunk...)
		if err == nil {
			if perr := p.line(raw[:len(raw)-1]); perr != nil {
				return perr
			}
			raw = raw[:0]
			continue
		}
		if !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading log: %w", err)
		}
		if w == nil || done {
			if len(raw) > 0 {
				return p.line(raw)
			}
			return nil
		}
		if p.opts.Until != nil && p.opts.Until() {
			done = true // one more pass drains what was written before the end
			continue
		}
		if err := w.wait(ctx); err != nil {
			return nil
		}
	}
}

func (p *printer) line(raw []byte) error {
	e, err := ParseEntry(raw)
	if err != nil {
		return nil // a torn or foreign line is not worth failing the whole read
	}
	if p.seen < p.skip {
		if e.Partial {
			if p.pending == nil {
				p.pending = map[string][]Entry{}
			}
			e.Text = bytes.Clone(e.Text)
			p.pending[e.Stream] = append(p.pending[e.Stream], e)
			return nil
		}
		p.seen++
		delete(p.pending, e.Stream)
		return nil
	}
	for _, pe := range p.pending[e.Stream] {
		if err := p.print(pe); err != nil {
			return err
		}
	}
	delete(p.pending, e.Stream)
	if !e.Partial {
		p.seen++
	}
	return p.print(e)
}

func (p *printer) print(e Entry) error {
	w := p.out[e.Stream]
	if w == nil {
		w = p.out[Stdout]
	}
	if p.midLine == nil {
		p.midLine = map[string]bool{}
	}
	var b []byte
	if p.opts.Timestamps && !p.midLine[e.Stream] {
		b = append(b, e.Time...)
		b = append(b, ' ')
	}
	b = append(b, e.Text...)
	if !e.Partial {
		b = append(b, '\n')
	}
	p.midLine[e.Stream] = e.Partial
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("writing log output: %w", err)
	}
	return nil
}
