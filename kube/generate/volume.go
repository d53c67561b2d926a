package generate

import (
	"bytes"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/podbay/podbay/podspec"
)

// defaultFileMode is the mode of projected files when defaultMode is unset.
const defaultFileMode = 0o644

// deriveVolumes spells the pod's volumes: named volume -> persistentVolumeClaim,
// bind mount -> hostPath, tmpfs -> emptyDir Memory, configMap and secret projections.
func (g *generator) deriveVolumes(p *Pod) []corev1.Volume {
	var out []corev1.Volume
	for i := range p.Spec.Volumes {
		v := &p.Spec.Volumes[i]
		if !g.keepsVolume(p, v.Name) {
			g.note("pod %q: volume %q (%s) cannot be rebuilt without its manifest: left out with its mounts",
				p.Spec.Name, v.Name, v.Kind)
			continue
		}
		out = append(out, corev1.Volume{Name: v.Name, VolumeSource: volumeSource(p, v)})
	}
	return out
}

// keepsVolume reports whether a volume can be exported from the runtime's description.
func (g *generator) keepsVolume(p *Pod, name string) bool {
	for _, v := range p.Spec.Volumes {
		if v.Name == name {
			return v.Kind != podspec.VolumeDownwardAPI && v.Kind != podspec.VolumeProjected
		}
	}
	return false
}

func volumeSource(p *Pod, v *podspec.Volume) corev1.VolumeSource {
	var s corev1.VolumeSource
	switch v.Kind {
	case podspec.VolumeHostPath:
		if v.HostPath == nil {
			v.HostPath = &podspec.HostPathSource{}
		}
		s.HostPath = &corev1.HostPathVolumeSource{Path: v.HostPath.Path}
		if v.HostPath.Type != "" {
			s.HostPath.Type = ptr(corev1.HostPathType(v.HostPath.Type))
		}
	case podspec.VolumeEmptyDir:
		s.EmptyDir = &corev1.EmptyDirVolumeSource{}
		if e := v.EmptyDir; e != nil {
			s.EmptyDir.Medium = corev1.StorageMedium(e.Medium)
			if e.SizeLimit > 0 {
				s.EmptyDir.SizeLimit = resource.NewQuantity(e.SizeLimit, resource.BinarySI)
			}
		}
	case podspec.VolumePVC:
		s.PersistentVolumeClaim = &corev1.PersistentVolumeClaimVolumeSource{ClaimName: v.ClaimName, ReadOnly: v.ReadOnly}
	case podspec.VolumeImage:
		if v.Image == nil {
			v.Image = &podspec.ImageSource{}
		}
		s.Image = &corev1.ImageVolumeSource{Reference: v.Image.Reference}
		if v.Image.PullPolicy != defaultPullPolicy(v.Image.Reference) {
			s.Image.PullPolicy = corev1.PullPolicy(v.Image.PullPolicy)
		}
	case podspec.VolumeConfigMap:
		var keys map[string][]byte
		if cm := p.configMap(v.Source); cm != nil {
			keys = cm.files()
		}
		items, mode := projection(v.Files, keys)
		s.ConfigMap = &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: v.Source},
			Items: items, DefaultMode: mode}
	case podspec.VolumeSecret:
		var keys map[string][]byte
		if sec := p.secret(v.Source); sec != nil {
			keys = sec.Data
		}
		items, mode := projection(v.Files, keys)
		s.Secret = &corev1.SecretVolumeSource{SecretName: v.Source, Items: items, DefaultMode: mode}
	}
	return s
}

// projection returns the items and defaultMode that project files from data: no items
// when every key is projected under its own name.
func projection(files []podspec.File, data map[string][]byte) ([]corev1.KeyToPath, *int32) {
	var mode *int32
	if len(files) > 0 && files[0].Mode != defaultFileMode {
		mode = ptr(int32(files[0].Mode))
	}
	whole := len(files) == len(data)
	for _, f := range files {
		if d, ok := data[f.Path]; !ok || !bytes.Equal(d, f.Data) || (mode == nil && f.Mode != defaultFileMode) ||
			(mode != nil && int32(f.Mode) != *mode) {
			whole = false
		}
	}
	if whole || len(data) == 0 {
		return nil, mode
	}
	var items []corev1.KeyToPath
	for _, f := range files {
		key := keyOf(data, f)
		if key == "" {
			continue
		}
		it := corev1.KeyToPath{Key: key, Path: f.Path}
		if mode == nil || int32(f.Mode) != *mode {
			if f.Mode != defaultFileMode || mode != nil {
				it.Mode = ptr(int32(f.Mode))
			}
		}
		items = append(items, it)
	}
	return items, mode
}

// keyOf finds the key a file was projected from: its own name, else the first key with its data.
func keyOf(data map[string][]byte, f podspec.File) string {
	if d, ok := data[f.Path]; ok && bytes.Equal(d, f.Data) {
		return f.Path
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if bytes.Equal(data[k], f.Data) {
			return k
		}
	}
	return ""
}

// files returns a ConfigMap's data and binaryData as projected files.
func (c *ConfigMap) files() map[string][]byte {
	out := map[string][]byte{}
	for k, v := range c.Data {
		out[k] = []byte(v)
	}
	for k, v := range c.BinaryData {
		out[k] = v
	}
	return out
}

// configMap finds a ConfigMap of the pod's namespace by name.
func (p *Pod) configMap(name string) *ConfigMap {
	for i := range p.ConfigMaps {
		if c := &p.ConfigMaps[i]; c.Name == name && sameNamespace(c.Namespace, p.Spec.Namespace) {
			return c
		}
	}
	return nil
}

func (p *Pod) secret(name string) *Secret {
	for i := range p.Secrets {
		if s := &p.Secrets[i]; s.Name == name && sameNamespace(s.Namespace, p.Spec.Namespace) {
			return s
		}
	}
	return nil
}

func (p *Pod) claim(name string) *Claim {
	for i := range p.Claims {
		if c := &p.Claims[i]; c.Name == name && sameNamespace(c.Namespace, p.Spec.Namespace) {
			return c
		}
	}
	return nil
}

// sameNamespace compares namespaces, "" standing for default.
func sameNamespace(a, b string) bool { return cmpOr(a, "default") == cmpOr(b, "default") }
