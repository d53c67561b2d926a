package play

import (
	"errors"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"

	"github.com/podbay/podbay/kube/manifest"
	"github.com/podbay/podbay/podspec"
)

// Play is everything a play creates, in start order.
type Play struct {
	Pods []podspec.Pod `json:"pods"`
	// Origins[i] says where Pods[i] came from, so runtime errors can name FILE:LINE:COL.
	Origins    []Origin           `json:"origins"`
	Volumes    []NamedVolume      `json:"volumes,omitempty"`
	ConfigMaps []ConfigMap        `json:"configMaps,omitempty"`
	Secrets    []Secret           `json:"secrets,omitempty"`
	Services   []Service          `json:"services,omitempty"`
	Namespaces []Namespace        `json:"namespaces,omitempty"`
	Warnings   []manifest.Finding `json:"warnings,omitempty"`
}

// Origin is the manifest object a pod was made from.
type Origin struct {
	// Object is "Kind/name" and Pos where the object starts.
	Object string       `json:"object"`
	Pos    manifest.Pos `json:"pos"`
	obj    *manifest.Object
	base   string
}

// PosOf returns the position of a pod-relative field path such as
// "spec.containers[0].image" in the object the pod came from.
func (o Origin) PosOf(rel string) manifest.Pos {
	if o.obj == nil {
		return o.Pos
	}
	if o.base != "" {
		rel = o.base + "." + rel
	}
	return o.obj.PosOf(rel)
}

// Options are the play's command-line choices.
type Options struct {
	// ConfigMaps holds the decoded --configmap files: their ConfigMaps and Secrets can
	// be referenced by the pods but are not recorded as created by the play.
	ConfigMaps *manifest.Set
	// Publish are --publish values: [[hostIP:][hostPort]:]containerPort[/protocol].
	Publish []string
	// PublishAll publishes every declared container port on the same host port.
	PublishAll bool
	// Network is --network: "host", "none", or comma-separated network names.
	Network string
	// RunCronJobs runs each CronJob's job template once instead of warning.
	RunCronJobs bool
	// Mutators run on every translated pod, in order (OpenShift SCC defaulting plugs in here).
	Mutators []func(*podspec.Pod) error
	// Stored are ConfigMaps and Secrets kept from earlier plays or made by
	// podbay secret create: a reference finds them when neither the files
	// nor --configmap define the object. A Secret without a namespace
	// serves every namespace.
	Stored Stored
}

// Stored are objects known from outside the files being played.
type Stored struct {
	ConfigMaps []ConfigMap
	Secrets    []Secret
}

// NamedVolume is a named volume made from a PersistentVolumeClaim.
type NamedVolume struct {
	Name         string            `json:"name"`
	Namespace    string            `json:"namespace"`
	Labels       map[string]string `json:"labels,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	AccessModes  []string          `json:"accessModes,omitempty"`
	Storage      int64             `json:"storage,omitempty"`
	StorageClass string            `json:"storageClass,omitempty"`
	VolumeMode   string            `json:"volumeMode,omitempty"`
}

// ConfigMap is a ConfigMap of the play, kept for the record.
type ConfigMap struct {
	Name       string            `json:"name"`
	Namespace  string            `json:"namespace"`
	Labels     map[string]string `json:"labels,omitempty"`
	Data       map[string]string `json:"data,omitempty"`
	BinaryData map[string][]byte `json:"binaryData,omitempty"`
}

// Secret is a Secret of the play (stringData merged into data), kept for the record.
type Secret struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels,omitempty"`
	Type      string            `json:"type,omitempty"`
	Data      map[string][]byte `json:"data,omitempty"`
}

// Service is a Service of the play: its name resolves to the ready pods it selects.
type Service struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Type      string            `json:"type"`
	ClusterIP string            `json:"clusterIP,omitempty"`
	Selector  map[string]string `json:"selector,omitempty"`
	Ports     []ServicePort     `json:"ports,omitempty"`
}

// ServicePort maps a Service port to a pod port, by number or by container port name.
type ServicePort struct {
	Name           string `json:"name,omitempty"`
	Protocol       string `json:"protocol"`
	Port           int32  `json:"port"`
	TargetPort     int32  `json:"targetPort,omitempty"`
	TargetPortName string `json:"targetPortName,omitempty"`
	NodePort       int32  `json:"nodePort,omitempty"`
}

// Namespace records a Namespace object's metadata.
type Namespace struct {
	Name        string            `json:"name"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// DefaultNamespace is the namespace of objects that name none.
const DefaultNamespace = "default"

// translator carries the state of one Translate call.
type translator struct {
	opts       Options
	play       *Play
	configMaps map[string][]*corev1.ConfigMap
	secrets    map[string][]*corev1.Secret
	services   []*corev1.Service
	published  map[string]string // "ip:port/proto" -> pod publishing it
	warned     map[string]bool   // warnings given, by text
	publish    []publishSpec
	errs       []error
}

// Translate turns a decoded set into a Play. It is pure: it reads nothing but its
// arguments. Errors are *manifest.Finding values naming file, line, object and field.
func Translate(set *manifest.Set, opts Options) (*Play, error) {
	t := &translator{opts: opts, play: &Play{Pods: []podspec.Pod{}, Origins: []Origin{}}, configMaps: map[string][]*corev1.ConfigMap{},
		secrets: map[string][]*corev1.Secret{}, published: map[string]string{}, warned: map[string]bool{}}
	t.play.Warnings = append(t.play.Warnings, set.Warnings...)
	pubs, err := parsePublish(opts.Publish)
	if err != nil {
		return nil, err
	}
	t.publish = pubs
	if opts.ConfigMaps != nil {
		t.index(opts.ConfigMaps, false)
	}
	t.index(set, true)
	t.indexStored(opts.Stored)
	for _, o := range set.Objects {
		t.object(o)
	}
	t.checkPublish()
	if len(t.errs) > 0 {
		return nil, errors.Join(t.errs...)
	}
	return t.play, nil
}

// index records the ConfigMaps and Secrets that pods may reference.
func (t *translator) index(set *manifest.Set, record bool) {
	for _, o := range set.Objects {
		switch x := o.Obj.(type) {
		case *corev1.ConfigMap:
			t.configMaps[x.Name] = append(t.configMaps[x.Name], x)
			if record {
				t.play.ConfigMaps = append(t.play.ConfigMaps, ConfigMap{Name: x.Name,
					Namespace: nsOr(x.Namespace), Labels: x.Labels, Data: x.Data, BinaryData: x.BinaryData})
			}
		case *corev1.Service:
			if record {
				t.services = append(t.services, x)
			}
		case *corev1.Secret:
			s := normalizeSecret(x)
			t.secrets[s.Name] = append(t.secrets[s.Name], s)
			if record {
				t.play.Secrets = append(t.play.Secrets, Secret{Name: s.Name, Namespace: nsOr(s.Namespace),
					Labels: s.Labels, Type: string(s.Type), Data: s.Data})
			}
		}
	}
}

// indexStored makes stored objects findable after the files' own.
func (t *translator) indexStored(st Stored) {
	for _, c := range st.ConfigMaps {
		cm := &corev1.ConfigMap{Data: c.Data, BinaryData: c.BinaryData}
		cm.Name, cm.Namespace, cm.Labels = c.Name, c.Namespace, c.Labels
		t.configMaps[c.Name] = append(t.configMaps[c.Name], cm)
	}
	for _, s := range st.Secrets {
		sec := &corev1.Secret{Data: s.Data, Type: corev1.SecretType(s.Type)}
		sec.Name, sec.Namespace, sec.Labels = s.Name, s.Namespace, s.Labels
		t.secrets[s.Name] = append(t.secrets[s.Name], sec)
	}
}

// normalizeSecret merges stringData into data as the API server does on write.
func normalizeSecret(s *corev1.Secret) *corev1.Secret {
	if len(s.StringData) == 0 {
		return s
	}
	c := s.DeepCopy()
	if c.Data == nil {
		c.Data = map[string][]byte{}
	}
	for k, v := range c.StringData {
		c.Data[k] = []byte(v)
	}
	c.StringData = nil
	return c
}

func (t *translator) configMap(ns, name string) *corev1.ConfigMap {
	for _, c := range t.configMaps[name] {
		if c.Namespace == "" || nsOr(c.Namespace) == ns {
			return c
		}
	}
	return nil
}

func (t *translator) secret(ns, name string) *corev1.Secret {
	for _, s := range t.secrets[name] {
		if s.Namespace == "" || nsOr(s.Namespace) == ns {
			return s
		}
	}
	return nil
}

func nsOr(ns string) string {
	if ns == "" {
		return DefaultNamespace
	}
	return ns
}

// warn records a warning once: a workload's replicas share their template's.
func (t *translator) warn(f manifest.Finding) {
	key := f.Error()
	if t.warned[key] {
		return
	}
	t.warned[key] = true
	t.play.Warnings = append(t.play.Warnings, f)
}

func (t *translator) fail(err error) { t.errs = append(t.errs, err) }

// object dispatches one decoded object on its kind.
func (t *translator) object(o *manifest.Object) {
	switch x := o.Obj.(type) {
	case nil:
		t.warn(o.Warning("", "kind %s (apiVersion %q) is not run", o.Kind, o.APIVersion))
	case *corev1.ConfigMap, *corev1.Secret:
		// indexed beforehand
	case *corev1.PersistentVolumeClaim:
		t.pvc(x)
	case *corev1.Service:
		t.service(x)
	case *corev1.Namespace:
		t.play.Namespaces = append(t.play.Namespaces, Namespace{Name: x.Name, Labels: x.Labels, Annotations: x.Annotations})
	default:
		t.workload(o)
	}
}

func (t *translator) pvc(x *corev1.PersistentVolumeClaim) {
	v := NamedVolume{Name: x.Name, Namespace: nsOr(x.Namespace), Labels: x.Labels, Annotations: x.Annotations}
	for _, m := range x.Spec.AccessModes {
		v.AccessModes = append(v.AccessModes, string(m))
	}
	if q, ok := x.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
		v.Storage = q.Value()
	}
	if x.Spec.StorageClassName != nil {
		v.StorageClass = *x.Spec.StorageClassName
	}
	if x.Spec.VolumeMode != nil {
		v.VolumeMode = string(*x.Spec.VolumeMode)
	}
	t.play.Volumes = append(t.play.Volumes, v)
}

func (t *translator) service(x *corev1.Service) {
	s := Service{Name: x.Name, Namespace: nsOr(x.Namespace), Type: string(x.Spec.Type),
		ClusterIP: x.Spec.ClusterIP, Selector: x.Spec.Selector}
	if s.Type == "" {
		s.Type = string(corev1.ServiceTypeClusterIP)
	}
	for _, p := range x.Spec.Ports {
		sp := ServicePort{Name: p.Name, Protocol: string(p.Protocol), Port: p.Port, NodePort: p.NodePort}
		if sp.Protocol == "" {
			sp.Protocol = string(corev1.ProtocolTCP)
		}
		switch {
		case p.TargetPort.StrVal != "":
			sp.TargetPortName = p.TargetPort.StrVal
		case p.TargetPort.IntVal != 0:
			sp.TargetPort = p.TargetPort.IntVal
		default:
			sp.TargetPort = p.Port
		}
		s.Ports = append(s.Ports, sp)
	}
	t.play.Services = append(t.play.Services, s)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
