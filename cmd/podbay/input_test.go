//go:build !lean

package main

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podbay/podbay/kube/manifest"
)

const podYAML = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: quay.io/a/b:1}]\n"

func TestReadInputs(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pod.yaml")
	if err := os.WriteFile(file, []byte(podYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/pod.yaml":
			io.WriteString(w, podYAML)
		case "/big.yaml":
			chunk := make([]byte, 1<<20)
			for range manifest.MaxInputSize>>20 + 1 {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		case "/slow.yaml":
			<-r.Context().Done()
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	cases := []struct {
		name    string
		args    []string
		want    []string // names of the inputs read
		wantErr []string // substrings of the error
	}{
		{name: "file", args: []string{file}, want: []string{file}},
		{name: "stdin", args: []string{"-"}, want: []string{"<stdin>"}},
		{name: "url", args: []string{srv.URL + "/pod.yaml"}, want: []string{srv.URL + "/pod.yaml"}},
		{name: "several in order", args: []string{srv.URL + "/pod.yaml", "-", file},
			want: []string{srv.URL + "/pod.yaml", "<stdin>", file}},
		{name: "missing file", args: []string{filepath.Join(dir, "nope.yaml")},
			wantErr: []string{`reading "` + filepath.Join(dir, "nope.yaml") + `": no such file or directory`}},
		{name: "directory", args: []string{dir}, wantErr: []string{`reading "` + dir + `": is a directory`}},
		{name: "http status", args: []string{srv.URL + "/gone.yaml"},
			wantErr: []string{"fetching " + srv.URL + "/gone.yaml: server answered 404 Not Found"}},
		{name: "too big", args: []string{srv.URL + "/big.yaml"},
			wantErr: []string{"fetching " + srv.URL + "/big.yaml: input larger than 32 MiB"}},
		{name: "unreachable", args: []string{"http://127.0.0.1:1/x.yaml"},
			wantErr: []string{"fetching http://127.0.0.1:1/x.yaml: ", "connection refused"}},
		{name: "stdin twice", args: []string{"-", "-"}, want: []string{"<stdin>"},
			wantErr: []string{`"-" given more than once`}},
		{name: "every error kept", args: []string{filepath.Join(dir, "a.yaml"), file, filepath.Join(dir, "b.yaml")},
			want:    []string{file},
			wantErr: []string{filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inputs, err := readInputs(context.Background(), tc.args, strings.NewReader(podYAML))
			checkErr(t, err, tc.wantErr)
			var names []string
			for _, in := range inputs {
				names = append(names, in.Name)
				if string(in.Data) != podYAML {
					t.Errorf("%s: data %q", in.Name, in.Data)
				}
			}
			if strings.Join(names, " ") != strings.Join(tc.want, " ") {
				t.Errorf("inputs %q, want %q", names, tc.want)
			}
		})
	}

	t.Run("missing file is fs.ErrNotExist", func(t *testing.T) {
		_, err := readInputs(context.Background(), []string{filepath.Join(dir, "nope.yaml")}, nil)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("error %v: want fs.ErrNotExist", err)
		}
	})
	t.Run("url deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := readInputs(ctx, []string{srv.URL + "/slow.yaml"}, nil)
		checkErr(t, err, []string{"fetching " + srv.URL + "/slow.yaml: no complete answer within 30s"})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v: want context.DeadlineExceeded", err)
		}
	})
}

func checkErr(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want one containing %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

func TestDecodeInputs(t *testing.T) {
	bad := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  a: x\n  a: y\n---\nkind: Pod\nmetadata: {name: [}\n"
	deep := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\nx: " + strings.Repeat("[", 150) + strings.Repeat("]", 150) + "\n"
	set, err := decodeInputs([]input{
		{Name: "a.yaml", Data: []byte(podYAML)},
		{Name: "b.yaml", Data: []byte(bad)},
		{Name: "c.yaml", Data: []byte(podYAML)},
		{Name: "d.yaml", Data: []byte(deep)},
	})
	var got []string
	for _, o := range set.Objects {
		got = append(got, o.Source.String()+" "+o.Ref())
		if o.Index != len(got)-1 {
			t.Errorf("%s: index %d, want %d", o.Ref(), o.Index, len(got)-1)
		}
	}
	if want := "a.yaml:1:1 Pod/p|b.yaml:1:1 ConfigMap/c|c.yaml:1:1 Pod/p"; strings.Join(got, "|") != want {
		t.Errorf("objects %q, want %s", got, want)
	}
	errs := leafErrors(err)
	var msgs []string
	for _, e := range errs {
		var f *manifest.Finding
		if !errors.As(e, &f) || f.Severity != manifest.SeverityError {
			t.Errorf("error %v is not an error *manifest.Finding", e)
			continue
		}
		msgs = append(msgs, f.Pos.String()+" "+f.Message)
	}
	want := []string{
		`b.yaml:8 invalid YAML: did not find expected node content`,
		`d.yaml:4:104 x` + strings.Repeat("[0]", 100) + `: nesting deeper than 100 levels`,
	}
	if strings.Join(msgs, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors\n got: %q\nwant: %q", msgs, want)
	}
	wantWarn := `b.yaml:6:3: ConfigMap/c: data.a: duplicate key "a" (first at line 5); the last value is used`
	if len(set.Warnings) != 1 || set.Warnings[0].String() != wantWarn {
		t.Errorf("warnings %q, want %q", set.Warnings, wantWarn)
	}
}

func TestAsFindingKeepsUnknownErrors(t *testing.T) {
	f := asFinding("x.yaml", errors.New("something else"))
	if f.File != "x.yaml" || f.Line != 0 || f.Message != "something else" {
		t.Errorf("finding %+v", f)
	}
}
