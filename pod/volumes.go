package pod

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/podbay/podbay/engine/volume"
	"github.com/podbay/podbay/podspec"
)

// preparedVolume is a pod volume made ready on the host.
type preparedVolume struct {
	source   string // host path to bind
	readOnly bool
}

func (m *Manager) podVolumeDir(podID, name string) string {
	return filepath.Join(m.Root, "pods", podID, "volumes", name)
}

func (m *Manager) podFilesDir(podID, name string) string {
	return filepath.Join(m.podRunDir(podID), "volumes", name)
}

// prepareVolumes makes every volume of a played pod ready: emptyDir
// directories (a tmpfs for medium Memory), projected files with their
// modes, hostPath checked by type, named volumes for claims; fsGroup owns
// what the pod writes. Each is one host directory that every container
// naming the volume bind-mounts.
func (m *Manager) prepareVolumes(ctx context.Context, podID string, spec *podspec.Pod) (map[string]preparedVolume, error) {
	out := map[string]preparedVolume{}
	for _, v := range spec.Volumes {
		pv, err := m.prepareVolume(ctx, podID, spec, v)
		if err != nil {
			return nil, fmt.Errorf("pod %s: volume %q: %w", spec.Name, v.Name, err)
		}
		out[v.Name] = pv
	}
	return out, nil
}

func (m *Manager) prepareVolume(ctx context.Context, podID string, spec *podspec.Pod, v podspec.Volume) (preparedVolume, error) {
	switch v.Kind {
	case podspec.VolumeEmptyDir:
		if v.EmptyDir != nil && v.EmptyDir.Medium == "Memory" {
			dir := m.podFilesDir(podID, v.Name)
			if err := m.host().MountTmpfs(dir, memoryVolumeSize(spec, v.EmptyDir.SizeLimit)); err != nil {
				return preparedVolume{}, err
			}
			return preparedVolume{source: dir}, fsGroupOwn(dir, spec.Security.FSGroup)
		}
		dir := m.podVolumeDir(podID, v.Name)
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return preparedVolume{}, err
		}
		if err := os.Chmod(dir, 0o777); err != nil {
			return preparedVolume{}, err
		}
		return preparedVolume{source: dir}, fsGroupOwn(dir, spec.Security.FSGroup)
	case podspec.VolumeHostPath:
		return preparedVolume{source: v.HostPath.Path}, checkHostPath(v.HostPath.Path, v.HostPath.Type)
	case podspec.VolumePVC:
		vol, err := m.volumes().Create(ctx, volume.CreateOptions{Name: v.ClaimName, IfExists: true})
		if err != nil {
			return preparedVolume{}, err
		}
		return preparedVolume{source: vol.Mountpoint, readOnly: v.ReadOnly}, fsGroupOwn(vol.Mountpoint, spec.Security.FSGroup)
	case podspec.VolumeConfigMap, podspec.VolumeSecret, podspec.VolumeDownwardAPI, podspec.VolumeProjected:
		dir := m.podFilesDir(podID, v.Name)
		if err := writeProjected(dir, v.Files, spec.Security.FSGroup); err != nil {
			return preparedVolume{}, err
		}
		return preparedVolume{source: dir, readOnly: true}, nil
	}
	return preparedVolume{}, fmt.Errorf("volumes of kind %s are not supported yet", v.Kind)
}

func (m *Manager) volumes() *volume.Store {
	s, err := volume.Open(m.Root)
	if err != nil {
		panic(err) // Open only creates a directory under --root, which exists
	}
	return s
}

// writeProjected writes a configMap/secret/downwardAPI volume's files.
func writeProjected(dir string, files []podspec.File, fsGroup *int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		p := filepath.Join(dir, filepath.Clean("/"+f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.Data, os.FileMode(f.Mode)&0o777); err != nil {
			return err
		}
		if err := os.Chmod(p, os.FileMode(f.Mode)&0o777); err != nil {
			return err
		}
		if fsGroup != nil {
			// As the kubelet's SetVolumeOwnership: the group owns it and may read it.
			if err := os.Lchown(p, -1, int(*fsGroup)); err != nil {
				return err
			}
			if err := os.Chmod(p, os.FileMode(f.Mode)&0o777|0o440); err != nil {
				return err
			}
		}
	}
	return nil
}

// fsGroupOwn gives a volume directory to the pod's fsGroup, setgid, as the
// kubelet does.
func fsGroupOwn(dir string, fsGroup *int64) error {
	if fsGroup == nil {
		return nil
	}
	if err := os.Lchown(dir, -1, int(*fsGroup)); err != nil {
		return err
	}
	return os.Chmod(dir, 0o777|os.ModeSetgid)
}

// checkHostPath applies the kubelet's hostPath type checks.
func checkHostPath(path, typ string) error {
	fi, err := os.Stat(path)
	exists := err == nil
	switch typ {
	case "", "Unset":
		// The kubelet checks nothing, and the runtime would fail later, darkly.
		if !exists {
			return fmt.Errorf("hostPath %s: %w", path, err)
		}
		return nil
	case "DirectoryOrCreate":
		if !exists {
			return os.MkdirAll(path, 0o755)
		}
		typ = "Directory"
	case "FileOrCreate":
		if !exists {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			return f.Close()
		}
		typ = "File"
	}
	if !exists {
		return fmt.Errorf("hostPath type check failed: %s is not a %s", path, article(typ))
	}
	var st unix.Stat_t
	_ = unix.Stat(path, &st)
	ok := map[string]bool{
		"Directory":   fi.IsDir(),
		"File":        fi.Mode().IsRegular(),
		"Socket":      fi.Mode()&os.ModeSocket != 0,
		"CharDevice":  fi.Mode()&os.ModeCharDevice != 0,
		"BlockDevice": fi.Mode()&os.ModeDevice != 0 && fi.Mode()&os.ModeCharDevice == 0,
	}
	good, known := ok[typ]
	if !known {
		return fmt.Errorf("hostPath type %q is not supported", typ)
	}
	if !good {
		return fmt.Errorf("hostPath type check failed: %s is not a %s", path, article(typ))
	}
	return nil
}

func article(typ string) string {
	return map[string]string{"Directory": "directory", "File": "file", "Socket": "socket",
		"CharDevice": "character device", "BlockDevice": "block device"}[typ]
}

// mountOptions turns a container's volume mounts into runtime mounts.
func mountOptions(c *podspec.Container, vols map[string]preparedVolume) ([]mountOption, error) {
	var out []mountOption
	for _, mt := range c.Mounts {
		pv, ok := vols[mt.Volume]
		if !ok {
			return nil, fmt.Errorf("container %s: mount of unknown volume %q", c.Name, mt.Volume)
		}
		src := pv.source
		if mt.SubPath != "" {
			src = filepath.Join(src, filepath.Clean("/"+mt.SubPath))
			if _, err := os.Stat(src); errors.Is(err, os.ErrNotExist) {
				if err := os.MkdirAll(src, 0o755); err != nil {
					return nil, fmt.Errorf("container %s: subPath %q: %w", c.Name, mt.SubPath, err)
				}
			}
		}
		opts := []string{propagation(mt.Propagation)}
		if mt.ReadOnly || pv.readOnly {
			opts = append(opts, "ro")
		}
		out = append(out, mountOption{Type: "bind", Source: src, Destination: mt.Destination, Options: opts})
	}
	return out, nil
}

func propagation(p string) string {
	switch strings.ToLower(p) {
	case "hosttocontainer":
		return "rslave"
	case "bidirectional":
		return "rshared"
	}
	return "rprivate"
}
