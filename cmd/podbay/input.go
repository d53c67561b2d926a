//go:build !lean

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/podbay/podbay/kube/manifest"
)

// input is one manifest source read into memory: a file, stdin or a URL.
type input struct {
	Name string
	Data []byte
}

// stdinName names the input read from "-".
const stdinName = "<stdin>"

// fetchTimeout bounds the fetch of one URL input, response body included.
const fetchTimeout = 30 * time.Second

// readInputs reads every arg: a file path, "-" for stdin, or an http(s) URL.
// Each input is capped at manifest.MaxInputSize; every unreadable input is reported.
func readInputs(ctx context.Context, args []string, stdin io.Reader) ([]input, error) {
	inputs := make([]input, 0, len(args))
	var errs []error
	stdinRead := false
	for _, arg := range args {
		var in input
		var err error
		switch {
		case arg == "-":
			if stdinRead {
				err = errors.New(`reading stdin: "-" given more than once`)
				break
			}
			stdinRead = true
			in, err = readStdin(stdin)
		case isURL(arg):
			in, err = fetchInput(ctx, arg)
		default:
			in, err = readFileInput(arg)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		inputs = append(inputs, in)
	}
	return inputs, errors.Join(errs...)
}

func isURL(arg string) bool {
	return strings.HasPrefix(arg, "http://") || strings.HasPrefix(arg, "https://")
}

func readStdin(r io.Reader) (input, error) {
	if r == nil {
		r = bytes.NewReader(nil)
	}
	data, err := readCapped(r)
	if err != nil {
		return input{}, fmt.Errorf("reading stdin: %w", err)
	}
	return input{Name: stdinName, Data: data}, nil
}

func readFileInput(path string) (input, error) {
	f, err := os.Open(path)
	if err != nil {
		return input{}, fmt.Errorf("reading %q: %w", path, unwrapPath(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return input{}, fmt.Errorf("reading %q: %w", path, unwrapPath(err))
	}
	if st.IsDir() {
		return input{}, fmt.Errorf("reading %q: is a directory: name the manifest files in it", path)
	}
	data, err := readCapped(f)
	if err != nil {
		return input{}, fmt.Errorf("reading %q: %w", path, unwrapPath(err))
	}
	return input{Name: path, Data: data}, nil
}

// unwrapPath drops the *fs.PathError layer, whose message repeats the path.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func fetchInput(ctx context.Context, rawURL string) (input, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return input{}, fmt.Errorf("fetching %s: %w", rawURL, err)
	}
	req.Header.Set("Accept", "application/yaml, application/json;q=0.9, */*;q=0.8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return input{}, fmt.Errorf("fetching %s: %w", rawURL, unwrapURL(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return input{}, fmt.Errorf("fetching %s: server answered %s", rawURL, resp.Status)
	}
	data, err := readCapped(resp.Body)
	if err != nil {
		return input{}, fmt.Errorf("fetching %s: %w", rawURL, unwrapURL(err))
	}
	return input{Name: rawURL, Data: data}, nil
}

// unwrapURL drops the *url.Error layer, whose message repeats the method and URL.
func unwrapURL(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	if ue.Timeout() {
		return fmt.Errorf("no complete answer within %s: %w", fetchTimeout, ue.Err)
	}
	return ue.Err
}

// errTooBig reports an input larger than manifest.MaxInputSize.
var errTooBig = errors.New("input larger than " + strconv.Itoa(manifest.MaxInputSize>>20) + " MiB")

// readCapped reads all of r, refusing more than manifest.MaxInputSize bytes.
func readCapped(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, manifest.MaxInputSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > manifest.MaxInputSize {
		return nil, errTooBig
	}
	return data, nil
}

// decodeInputs decodes every input into one Set, objects in input order. The error
// joins every problem found, each a *manifest.Finding with FILE:LINE:COL; the Set
// still holds what decoded (objects with errors have a nil Obj).
func decodeInputs(inputs []input) (*manifest.Set, error) {
	set := &manifest.Set{}
	var errs []error
	for _, in := range inputs {
		s, err := manifest.Decode(in.Name, in.Data)
		if s != nil {
			set.Append(s)
		}
		for _, e := range leafErrors(err) {
			errs = append(errs, asFinding(in.Name, e))
		}
	}
	return set, errors.Join(errs...)
}

// leafErrors flattens trees of joined errors.
func leafErrors(err error) []error {
	if err == nil {
		return nil
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, leafErrors(e)...)
	}
	return out
}

// asFinding makes err, from decoding the input name, a *manifest.Finding. Errors
// that are not findings (the decoder's limits) render as "name:LINE:COL: ...".
func asFinding(name string, err error) *manifest.Finding {
	var f *manifest.Finding
	if errors.As(err, &f) {
		return f
	}
	f = &manifest.Finding{Pos: manifest.Pos{File: name}, Severity: manifest.SeverityError, Message: err.Error()}
	rest, ok := strings.CutPrefix(err.Error(), name+":")
	if !ok {
		return f
	}
	var line, col int
	var msg string
	if n, _ := fmt.Sscanf(rest, "%d:%d:", &line, &col); n == 2 {
		prefix := fmt.Sprintf("%d:%d: ", line, col)
		msg, ok = strings.CutPrefix(rest, prefix)
		if ok {
			f.Line, f.Col, f.Message = line, col, msg
		}
	}
	return f
}
