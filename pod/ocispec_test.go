package pod

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/podbay/podbay/engine/runtime"
	"github.com/podbay/podbay/podspec"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// ociCase is one testdata/oci/NAME.json: a container made on the command
// line (flags) or a played one (pod, its one container), its image's
// configuration and the host paths its volumes were prepared at.
type ociCase struct {
	Flags   *podspec.ContainerFlags
	Pod     *podspec.Pod
	InPod   bool
	Image   v1.Config
	Volumes map[string]string
}

// TestOCISpecGolden builds each case's OCI spec with ociOptions and
// compares its config.json with NAME.config.json (or its error with
// NAME.error). The rlimits, which follow the machine's hard limits, and
// the seccomp profile's rules, which are the runtime's default, are left
// out of the comparison.
func TestOCISpecGolden(t *testing.T) {
	cases, err := filepath.Glob("testdata/oci/*.json")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, in := range cases {
		if strings.HasSuffix(in, ".config.json") {
			continue
		}
		n++
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			got, wantFile := ociGolden(t, in)
			if *update {
				os.Remove(strings.TrimSuffix(in, ".json") + ".config.json")
				os.Remove(strings.TrimSuffix(in, ".json") + ".error")
				if err := os.WriteFile(wantFile, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatalf("%v (go test ./pod -run TestOCISpecGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs (go test ./pod -run TestOCISpecGolden -update to accept):\n%s", wantFile, got)
			}
		})
	}
	if n < 5 {
		t.Fatalf("%d cases, want at least 5", n)
	}
}

// ociGolden returns a case's normalized config.json, or its error, and the
// golden file it goes to.
func ociGolden(t *testing.T, in string) ([]byte, string) {
	t.Helper()
	data, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	var c ociCase
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	view := c.Pod
	if c.Flags != nil {
		p, err := podspec.FromContainerFlags(*c.Flags)
		if err != nil {
			t.Fatal(err)
		}
		view = &p
	}
	vols := map[string]preparedVolume{}
	for name, src := range c.Volumes {
		vols[name] = preparedVolume{source: src}
	}
	base := strings.TrimSuffix(in, ".json")
	spec, err := ociSpec(view, c, vols)
	if err != nil {
		return []byte(err.Error() + "\n"), base + ".error"
	}
	spec.Process.Rlimits = nil
	if spec.Linux.Seccomp != nil {
		spec.Linux.Seccomp.Syscalls = nil
	}
	out, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n'), base + ".config.json"
}

func ociSpec(view *podspec.Pod, c ociCase, vols map[string]preparedVolume) (*specs.Spec, error) {
	mounts, err := mountOptions(view.Container(), vols)
	if err != nil {
		return nil, err
	}
	in := ociInput{Name: "ctr", View: view, Image: c.Image, Rootfs: "testdata/oci/rootfs", InPod: c.InPod,
		Etc:    etcFiles{hosts: "/run/podbay/x/hosts", resolv: "/run/podbay/x/resolv.conf", hostname: "/run/podbay/x/hostname"},
		Cgroup: "/podbay/ctr", Mounts: mounts}
	if !c.InPod {
		in.Hostname = "0123456789ab"
	}
	opts, err := ociOptions(in)
	if err != nil {
		return nil, err
	}
	s, err := runtime.NewSpec(opts...)
	if err != nil {
		return nil, fmt.Errorf("applying the options: %w", err)
	}
	return s, nil
}

// TestEachOCIOptionAlone: every option ociOptions adds changes the spec,
// and the options each case needs are there (the count guards against an
// option silently dropped).
func TestEachOCIOptionAlone(t *testing.T) {
	p, err := podspec.FromContainerFlags(podspec.ContainerFlags{Name: "x", Image: "busybox", Args: []string{"true"}, Env: []string{"A=1"},
		Workdir: "/srv", User: "www", Memory: "8m", CPUs: 1, Tty: true, Privileged: true, SecurityOpts: []string{"no-new-privileges"}})
	if err != nil {
		t.Fatal(err)
	}
	in := ociInput{View: &p, Image: v1.Config{Cmd: []string{"sh"}}, Rootfs: "testdata/oci/rootfs", Hostname: "h", Cgroup: "/podbay/x",
		Etc: etcFiles{hosts: "/h", resolv: "/r", hostname: "/n"}}
	opts, err := ociOptions(in)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := runtime.NewSpec()
	baseJSON, _ := json.Marshal(base)
	for i, o := range opts {
		s, _ := runtime.NewSpec()
		if err := o(s); err != nil {
			t.Fatalf("option %d: %v", i, err)
		}
		if b, _ := json.Marshal(s); bytes.Equal(b, baseJSON) {
			t.Errorf("option %d changes nothing", i)
		}
	}
}
