package play

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/pkg/fieldpath"
	"k8s.io/kubernetes/third_party/forked/golang/expansion"

	"github.com/podbay/podbay/podspec"
)

// hostPathTypes are the hostPath types the kubelet checks.
var hostPathTypes = map[string]bool{"": true, "DirectoryOrCreate": true, "Directory": true, "FileOrCreate": true,
	"File": true, "Socket": true, "CharDevice": true, "BlockDevice": true}

// defaultMode is the file mode of projected files when defaultMode is unset.
const defaultMode = 0o644

func (p *podBuilder) volumes() {
	for i := range p.tmpl.Spec.Volumes {
		v := &p.tmpl.Spec.Volumes[i]
		rel := "spec.volumes[" + itoa(i) + "]"
		if out, ok := p.volume(v, rel); ok {
			p.out.Volumes = append(p.out.Volumes, out)
		}
	}
	p.claimVolumes()
}

// claimVolumes adds a StatefulSet pod's claims from its claim templates; as
// the StatefulSet controller does, a claim replaces a template volume of the
// same name.
func (p *podBuilder) claimVolumes() {
	for _, c := range p.inst.claims {
		v := podspec.Volume{Name: c.volume, Kind: podspec.VolumePVC, ClaimName: c.name, ClaimTemplate: true}
		replaced := false
		for i := range p.out.Volumes {
			if p.out.Volumes[i].Name == c.volume {
				p.out.Volumes[i], replaced = v, true
			}
		}
		if !replaced {
			p.out.Volumes = append(p.out.Volumes, v)
		}
	}
}

func (p *podBuilder) volume(v *corev1.Volume, rel string) (podspec.Volume, bool) {
	out := podspec.Volume{Name: v.Name}
	s := &v.VolumeSource
	switch {
	case s.HostPath != nil:
		out.Kind, out.HostPath = podspec.VolumeHostPath, &podspec.HostPathSource{Path: s.HostPath.Path}
		if s.HostPath.Type != nil {
			out.HostPath.Type = string(*s.HostPath.Type)
		}
		if !hostPathTypes[out.HostPath.Type] {
			p.fail(rel+".hostPath.type", "Unsupported value: %q: supported values: \"\", \"BlockDevice\", "+
				"\"CharDevice\", \"Directory\", \"DirectoryOrCreate\", \"File\", \"FileOrCreate\", \"Socket\"", out.HostPath.Type)
		}
	case s.EmptyDir != nil:
		out.Kind, out.EmptyDir = podspec.VolumeEmptyDir, &podspec.EmptyDirSource{Medium: string(s.EmptyDir.Medium)}
		if s.EmptyDir.SizeLimit != nil {
			out.EmptyDir.SizeLimit = s.EmptyDir.SizeLimit.Value()
		}
	case s.PersistentVolumeClaim != nil:
		out.Kind, out.ClaimName, out.ReadOnly = podspec.VolumePVC, s.PersistentVolumeClaim.ClaimName, s.PersistentVolumeClaim.ReadOnly
	case s.Image != nil:
		out.Kind = podspec.VolumeImage
		out.Image = &podspec.ImageSource{Reference: s.Image.Reference, PullPolicy: pullPolicy(s.Image.PullPolicy, s.Image.Reference)}
	case s.ConfigMap != nil:
		out.Kind, out.Source = podspec.VolumeConfigMap, s.ConfigMap.Name
		out.Files = p.configMapFiles(s.ConfigMap.Name, s.ConfigMap.Items, s.ConfigMap.Optional,
			modeOr(s.ConfigMap.DefaultMode, defaultMode), rel+".configMap")
	case s.Secret != nil:
		out.Kind, out.Source = podspec.VolumeSecret, s.Secret.SecretName
		out.Files = p.secretFiles(s.Secret.SecretName, s.Secret.Items, s.Secret.Optional,
			modeOr(s.Secret.DefaultMode, defaultMode), rel+".secret")
	case s.DownwardAPI != nil:
		out.Kind = podspec.VolumeDownwardAPI
		out.Files = p.downwardFiles(s.DownwardAPI.Items, modeOr(s.DownwardAPI.DefaultMode, defaultMode), rel+".downwardAPI")
	case s.Projected != nil:
		out.Kind = podspec.VolumeProjected
		out.Files = p.projectedFiles(s.Projected, rel+".projected")
	case s.Ephemeral != nil:
		// A generic ephemeral volume lives and dies with its pod, as an emptyDir does.
		out.Kind, out.EmptyDir = podspec.VolumeEmptyDir, &podspec.EmptyDirSource{}
		p.warn(rel+".ephemeral", "volume %q is a generic ephemeral volume, which only a cluster provisions: "+
			"played as an emptyDir (it lives as long as the pod)", v.Name)
	default:
		typ := clusterStorage(s)
		if typ == "" {
			p.fail(rel, "volume %q: this volume type is not supported (hostPath, emptyDir, configMap, secret, "+
				"persistentVolumeClaim, downwardAPI, projected, image and cluster storage are)", v.Name)
			return out, false
		}
		p.substitute(&out, typ, rel)
	}
	sortFiles(out.Files)
	return out, true
}

func modeOr(m *int32, def uint32) uint32 {
	if m == nil {
		return def
	}
	return uint32(*m)
}

func sortFiles(fs []podspec.File) {
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Path < fs[j].Path })
}

// configMapFiles projects a ConfigMap's data and binaryData as the kubelet does.
func (p *podBuilder) configMapFiles(name string, items []corev1.KeyToPath, optional *bool, mode uint32, rel string) []podspec.File {
	cm := p.t.configMap(p.ns, name)
	if cm == nil {
		if !isTrue(optional) {
			p.fail(rel+".name", "configmaps %q not found", name)
		}
		return nil
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return p.keyFiles(data, items, optional, mode, rel, "configmap references non-existent config key: %s")
}

func (p *podBuilder) secretFiles(name string, items []corev1.KeyToPath, optional *bool, mode uint32, rel string) []podspec.File {
	s := p.t.secret(p.ns, name)
	if s == nil {
		if !isTrue(optional) {
			p.fail(rel+".secretName", "secrets %q not found", name)
		}
		return nil
	}
	return p.keyFiles(s.Data, items, optional, mode, rel, "references non-existent secret key: %s")
}

// keyFiles turns data into files: every key, or the listed items with their modes.
func (p *podBuilder) keyFiles(data map[string][]byte, items []corev1.KeyToPath, optional *bool, mode uint32, rel, missing string) []podspec.File {
	var out []podspec.File
	if len(items) == 0 {
		for _, k := range sortedKeys(data) {
			out = append(out, podspec.File{Path: k, Mode: mode, Data: data[k]})
		}
		return out
	}
	for i, it := range items {
		d, ok := data[it.Key]
		if !ok {
			if !isTrue(optional) {
				p.fail(rel+".items["+itoa(i)+"].key", missing, it.Key)
			}
			continue
		}
		out = append(out, podspec.File{Path: it.Path, Mode: modeOr(it.Mode, mode), Data: d})
	}
	return out
}

// downwardFiles writes pod fields (labels and annotations in the kubelet's format) as files.
func (p *podBuilder) downwardFiles(items []corev1.DownwardAPIVolumeFile, mode uint32, rel string) []podspec.File {
	var out []podspec.File
	for i, it := range items {
		path := rel + ".items[" + itoa(i) + "]"
		var (
			v   string
			err error
		)
		switch {
		case it.FieldRef != nil:
			v, err = p.downwardField(it.FieldRef.FieldPath)
		case it.ResourceFieldRef != nil:
			c := p.findContainer(it.ResourceFieldRef.ContainerName)
			if c == nil {
				err = errorf("container %q not found", it.ResourceFieldRef.ContainerName)
				break
			}
			v, err = p.resourceValue(c, it.ResourceFieldRef)
		}
		if err != nil {
			p.fail(path, "%v", err)
			continue
		}
		out = append(out, podspec.File{Path: it.Path, Mode: modeOr(it.Mode, mode), Data: []byte(v)})
	}
	return out
}

func (p *podBuilder) downwardField(fp string) (string, error) {
	switch fp {
	case "metadata.labels":
		return fieldpath.FormatMap(p.tmpl.Labels), nil
	case "metadata.annotations":
		return fieldpath.FormatMap(p.tmpl.Annotations), nil
	}
	return p.fieldValue(fp)
}

func (p *podBuilder) projectedFiles(pr *corev1.ProjectedVolumeSource, rel string) []podspec.File {
	mode := modeOr(pr.DefaultMode, defaultMode)
	var out []podspec.File
	for i, s := range pr.Sources {
		path := rel + ".sources[" + itoa(i) + "]"
		switch {
		case s.ConfigMap != nil:
			out = append(out, p.configMapFiles(s.ConfigMap.Name, s.ConfigMap.Items, s.ConfigMap.Optional, mode, path+".configMap")...)
		case s.Secret != nil:
			out = append(out, p.secretFiles(s.Secret.Name, s.Secret.Items, s.Secret.Optional, mode, path+".secret")...)
		case s.DownwardAPI != nil:
			out = append(out, p.downwardFiles(s.DownwardAPI.Items, mode, path+".downwardAPI")...)
		case s.ServiceAccountToken != nil:
			p.warn(path+".serviceAccountToken", "service account tokens are not projected: there is no API server")
		default:
			p.warn(path, "this projected source is not supported")
		}
	}
	return out
}

// mounts converts volumeMounts; subPathExpr expands against the container's environment.
func (p *podBuilder) mounts(c *corev1.Container, rel string, mapping func(string) string) []podspec.Mount {
	var out []podspec.Mount
	for i, m := range c.VolumeMounts {
		path := rel + ".volumeMounts[" + itoa(i) + "]"
		if !p.hasVolume(m.Name) {
			p.fail(path+".name", "Not found: %q: no volume of that name in the pod", m.Name)
			continue
		}
		pm := podspec.Mount{Volume: m.Name, Destination: m.MountPath, SubPath: m.SubPath, ReadOnly: m.ReadOnly}
		if m.SubPathExpr != "" {
			pm.SubPath = expansion.Expand(m.SubPathExpr, mapping)
		}
		if m.MountPropagation != nil {
			pm.Propagation = string(*m.MountPropagation)
		}
		out = append(out, pm)
	}
	return out
}

func (p *podBuilder) hasVolume(name string) bool {
	for _, v := range p.tmpl.Spec.Volumes {
		if v.Name == name {
			return true
		}
	}
	for _, c := range p.inst.claims {
		if c.volume == name {
			return true
		}
	}
	return false
}
