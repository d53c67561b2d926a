package image

import (
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestNormalizeRef(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{in: "busybox", want: "docker.io/library/busybox:latest"},
		{in: "busybox:1.36", want: "docker.io/library/busybox:1.36"},
		{in: "user/app", want: "docker.io/user/app:latest"},
		{in: "docker.io/library/busybox", want: "docker.io/library/busybox:latest"},
		{in: "index.docker.io/library/busybox:1", want: "docker.io/library/busybox:1"},
		{in: "quay.io/x/y:2", want: "quay.io/x/y:2"},
		{in: "localhost/app", want: "localhost/app:latest"},
		{in: "127.0.0.1:5000/a/b", want: "127.0.0.1:5000/a/b:latest"},
		{in: "busybox@sha256:" + strings.Repeat("a", 64), want: "docker.io/library/busybox@sha256:" + strings.Repeat("a", 64)},
		{in: "Busybox", err: `invalid reference "Busybox"`},
		{in: "", err: `invalid reference ""`},
		{in: "a:b:c", err: `invalid reference "a:b:c"`},
	} {
		got, err := NormalizeRef(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("NormalizeRef(%q) err = %v, want %s", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("NormalizeRef(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestIndexFind(t *testing.T) {
	ix := &index{Images: []*record{
		{ID: "abc123" + strings.Repeat("0", 58), Names: []string{"docker.io/library/busybox:latest"}, Digests: []string{"sha256:" + strings.Repeat("d", 64)}},
		{ID: "abd456" + strings.Repeat("0", 58)},
	}}
	for _, tc := range []struct{ ref, wantID, err string }{
		{ref: "busybox", wantID: "abc123"},
		{ref: "abc", wantID: "abc123"},
		{ref: "sha256:abd4", wantID: "abd456"},
		{ref: "busybox@sha256:" + strings.Repeat("d", 64), wantID: "abc123"},
		{ref: "ab", err: "image not known"},
		{ref: "abx", err: "image not known"},
		{ref: "other", err: `image "other": image not known`},
	} {
		r, err := ix.find(tc.ref)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("find(%q) err = %v", tc.ref, err)
			}
			continue
		}
		if err != nil || !strings.HasPrefix(r.ID, tc.wantID) {
			t.Errorf("find(%q) = %v, %v", tc.ref, r, err)
		}
	}
	ix.Images[1].ID = "abc999" + strings.Repeat("0", 58)
	if _, err := ix.find("abc"); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("ambiguous prefix: %v", err)
	}
}

func TestApplyChanges(t *testing.T) {
	cfg := v1.Config{}
	err := ApplyChanges(&cfg, []string{
		"ENV PATH=/bin", `ENV A="x y" B=2`, "ENV LEGACY some value", `CMD ["sh", "-c", "echo"]`, "ENTRYPOINT /init --flag",
		"WORKDIR /srv", "USER app", "EXPOSE 80 53/udp", `LABEL a=b "c d"=e`, `VOLUME ["/data"]`, "VOLUME /v1 /v2", "cmd=[\"true\"]",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"PATH=/bin", "A=x y", "B=2", "LEGACY=some value"}
	if strings.Join(cfg.Env, "|") != strings.Join(want, "|") {
		t.Errorf("env = %q", cfg.Env)
	}
	if strings.Join(cfg.Cmd, " ") != "true" || strings.Join(cfg.Entrypoint, " ") != "/bin/sh -c /init --flag" {
		t.Errorf("cmd %q entrypoint %q", cfg.Cmd, cfg.Entrypoint)
	}
	if cfg.WorkingDir != "/srv" || cfg.User != "app" || cfg.Labels["c d"] != "e" || cfg.Labels["a"] != "b" {
		t.Errorf("cfg = %+v", cfg)
	}
	for _, k := range []string{"80/tcp", "53/udp"} {
		if _, ok := cfg.ExposedPorts[k]; !ok {
			t.Errorf("missing port %s", k)
		}
	}
	if len(cfg.Volumes) != 3 {
		t.Errorf("volumes = %v", cfg.Volumes)
	}
	for _, tc := range []struct{ change, err string }{
		{"RUN echo", `change "RUN echo": unknown instruction "RUN"`},
		{"CMD [sh", `change "CMD [sh": invalid JSON array`},
		{"EXPOSE 99999", `invalid port "99999"`},
		{"ENV", `missing value`},
		{"VOLUME data", `not an absolute path`},
		{`ENV A="x`, `unterminated quote`},
	} {
		err := ApplyChanges(&v1.Config{}, []string{tc.change})
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: err = %v, want %s", tc.change, err, tc.err)
		}
	}
}
