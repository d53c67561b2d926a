package orchestrate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/kube/generate"
	"github.com/podbay/podbay/podspec"
)

// The labels Docker Compose puts on a project's containers.
const (
	ComposeProjectLabel = "com.docker.compose.project"
	ComposeServiceLabel = "com.docker.compose.service"
	composeNumberLabel  = "com.docker.compose.container-number"
	composeOneoffLabel  = "com.docker.compose.oneoff"
)

// MaxConfigMapFile is the largest bind-mounted file a Compose export
// carries as a ConfigMap (a ConfigMap holds 1 MiB at most); larger files
// and directories stay host paths.
const MaxConfigMapFile = 256 << 10

// ErrNoComposeProject is returned by ExportCompose when no container
// carries the project's label.
var ErrNoComposeProject = errors.New("no container of Compose project")

// HostFiles reads the bind-mounted files a Compose export may carry:
// contents of a regular file of at most limit bytes, ok false for anything
// else (a directory, a larger file, nothing there).
type HostFiles func(path string, limit int64) (data []byte, ok bool)

// ReadSmallFile is the host's HostFiles.
func ReadSmallFile(path string, limit int64) ([]byte, bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > limit {
		return nil, false
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil || int64(len(data)) > limit {
		return nil, false
	}
	return data, true
}

// ExportCompose gathers the containers of a Compose project (those
// labelled com.docker.compose.project=project, one-off runs left out) as
// the pods of one Deployment per service (see ComposePod); files are read
// with read (nil: ReadSmallFile).
func (e *Engine) ExportCompose(ctx context.Context, project string, read HostFiles) ([]generate.Pod, error) {
	if read == nil {
		read = ReadSmallFile
	}
	cs, err := e.Inventory.List(ctx)
	if err != nil {
		return nil, err
	}
	cs = slices.DeleteFunc(slices.Clone(cs), func(c *state.Container) bool {
		return c.Infra || c.Labels[ComposeProjectLabel] != project || c.Labels[composeOneoffLabel] == "True"
	})
	if len(cs) == 0 {
		return nil, fmt.Errorf("%w %q (label %s=%s)", ErrNoComposeProject, project, ComposeProjectLabel, project)
	}
	slices.SortFunc(cs, func(a, b *state.Container) int {
		return cmp.Or(cmp.Compare(a.Labels[ComposeServiceLabel], b.Labels[ComposeServiceLabel]), cmp.Compare(number(a), number(b)))
	})
	x, err := e.recorded(ctx)
	if err != nil {
		return nil, err
	}
	var pods []generate.Pod
	for _, c := range cs {
		gp, err := e.exportRef(ctx, c.ID, x)
		if err != nil {
			return nil, err
		}
		files := map[string][]byte{}
		for _, v := range gp.Spec.Volumes {
			if v.Kind == podspec.VolumeHostPath && v.HostPath != nil {
				if data, ok := read(v.HostPath.Path, MaxConfigMapFile); ok {
					files[v.HostPath.Path] = data
				}
			}
		}
		pods = append(pods, ComposePod(*gp, c.Labels, files))
	}
	return pods, nil
}

// number is a container's number within its Compose service.
func number(c *state.Container) int { return atoi(c.Labels[composeNumberLabel]) }

var configMapKey = regexp.MustCompile(`[^-._a-zA-Z0-9]+`)

// ComposePod turns the exported pod of a Compose service's container into
// a replica of the service's Deployment: named after the service (so its
// Service's name is the name the other services reach it by), labelled
// app.kubernetes.io/name and part-of, restarting Always as a Deployment's
// pods do, on the cluster network (a Compose network is every service on
// one network); a bind-mounted file (in files, by host path) becomes a
// ConfigMap mounted with subPath, a named volume a claim with a
// Kubernetes name. Pure.
func ComposePod(gp generate.Pod, labels map[string]string, files map[string][]byte) generate.Pod {
	project, service := podspec.KubeName(labels[ComposeProjectLabel]), podspec.KubeName(labels[ComposeServiceLabel])
	s := &gp.Spec
	ctrName := ""
	if len(s.Containers) > 0 {
		ctrName = s.Containers[0].Name
	}
	s.Name, s.Hostname, s.RestartPolicy = service, "", "Always"
	s.Labels = map[string]string{"app.kubernetes.io/name": service, "app.kubernetes.io/part-of": project}
	s.Owner = &podspec.Owner{Kind: "Deployment", Name: service, Index: max(0, atoi(labels[composeNumberLabel])-1)}
	s.Network.Networks, s.Network.Aliases = nil, nil
	s.Containers = slices.Clone(s.Containers)
	for i := range s.Containers {
		s.Containers[i].Name = service
	}
	gp.Containers = slices.Clone(gp.Containers)
	for i := range gp.Containers {
		if gp.Containers[i].Name == ctrName {
			gp.Containers[i].Name = service
		}
	}
	s.Volumes = slices.Clone(s.Volumes)
	for i := range s.Volumes {
		v := &s.Volumes[i]
		switch {
		case v.Kind == podspec.VolumePVC:
			v.ClaimName = podspec.KubeName(v.ClaimName)
			if !slices.ContainsFunc(gp.Claims, func(c generate.Claim) bool { return c.Name == v.ClaimName }) {
				gp.Claims = append(gp.Claims, generate.Claim{Name: v.ClaimName, Labels: map[string]string{"app.kubernetes.io/part-of": project}})
			}
		case v.Kind == podspec.VolumeHostPath && v.HostPath != nil && files[v.HostPath.Path] != nil:
			gp.ConfigMaps = append(gp.ConfigMaps, configMapOf(s, v, service, project, files[v.HostPath.Path]))
		}
	}
	return gp
}

// configMapOf makes a bind-mounted file's ConfigMap, turns the volume into
// its projection and mounts it with subPath.
func configMapOf(s *podspec.Pod, v *podspec.Volume, service, project string, data []byte) generate.ConfigMap {
	key := configMapKey.ReplaceAllString(filepath.Base(v.HostPath.Path), "-")
	cm := generate.ConfigMap{Name: podspec.KubeName(service + "-" + key), Labels: map[string]string{"app.kubernetes.io/part-of": project}}
	if utf8.Valid(data) {
		cm.Data = map[string]string{key: string(data)}
	} else {
		cm.BinaryData = map[string][]byte{key: data}
	}
	v.Kind, v.HostPath, v.Source = podspec.VolumeConfigMap, nil, cm.Name
	v.Files = []podspec.File{{Path: key, Mode: 0o644, Data: data}}
	for i := range s.Containers {
		for j := range s.Containers[i].Mounts {
			if m := &s.Containers[i].Mounts[j]; m.Volume == v.Name {
				m.SubPath = key
			}
		}
	}
	return cm
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
