package cluster

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Server-owned metadata: what the API server sets on every object.
var serverMetadata = []string{"uid", "resourceVersion", "generation", "creationTimestamp",
	"deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink", "ownerReferences"}

// Annotations that record what a server or a client did, not what the object is.
var serverAnnotations = []string{
	"kubectl.kubernetes.io/last-applied-configuration",
	"deployment.kubernetes.io/revision",
	"pv.kubernetes.io/bind-completed",
	"pv.kubernetes.io/bound-by-controller",
	"volume.kubernetes.io/selected-node",
	"volume.kubernetes.io/storage-provisioner",
	"volume.beta.kubernetes.io/storage-provisioner",
}

// Labels the Job controller puts on a Job's pod template (and selector),
// which an apply of the cleaned Job would refuse.
var jobLabels = []string{"controller-uid", "batch.kubernetes.io/controller-uid", "job-name", "batch.kubernetes.io/job-name"}

// serviceAccountVolumePrefix names the token volume the ServiceAccount
// admission plugin adds to every pod.
const serviceAccountVolumePrefix = "kube-api-access-"

// Clean drops what the server owns from an object fetched from a cluster, so
// that it reads as a manifest: status, managedFields, resourceVersion, uid,
// timestamps, owners; a Pod's node and service account token volume; a
// Service's cluster IPs (not a headless one's "None"); a Job's generated
// selector and labels; a claim's bound volume. It changes o in place.
func Clean(o *unstructured.Unstructured) {
	m := o.Object
	delete(m, "status")
	md, _ := m["metadata"].(map[string]any)
	for _, k := range serverMetadata {
		delete(md, k)
	}
	dropKeys(md, "annotations", serverAnnotations)
	spec, _ := m["spec"].(map[string]any)
	if spec == nil {
		return
	}
	switch o.GetKind() {
	case "Pod":
		cleanPodSpec(spec)
	case "Service":
		if ip, _ := spec["clusterIP"].(string); ip != "None" {
			delete(spec, "clusterIP")
			delete(spec, "clusterIPs")
		}
		delete(spec, "healthCheckNodePort")
	case "Job":
		if cleanJob(spec) {
			dropKeys(md, "labels", jobLabels)
		}
	case "CronJob":
		if jt, ok := spec["jobTemplate"].(map[string]any); ok {
			if js, ok := jt["spec"].(map[string]any); ok {
				cleanJob(js)
			}
		}
	case "PersistentVolumeClaim":
		delete(spec, "volumeName")
	}
}

// cleanPodSpec drops a pod's node and the service account token volume
// (and its mounts): the ServiceAccount admission plugin adds it on create.
func cleanPodSpec(spec map[string]any) {
	delete(spec, "nodeName")
	vols, _ := spec["volumes"].([]any)
	dropped := map[string]bool{}
	kept := vols[:0:0]
	for _, v := range vols {
		vm, _ := v.(map[string]any)
		name, _ := vm["name"].(string)
		if _, projected := vm["projected"]; projected && strings.HasPrefix(name, serviceAccountVolumePrefix) {
			dropped[name] = true
			continue
		}
		kept = append(kept, v)
	}
	if len(dropped) == 0 {
		return
	}
	setOrDrop(spec, "volumes", kept)
	for _, key := range []string{"initContainers", "containers", "ephemeralContainers"} {
		cs, _ := spec[key].([]any)
		for _, c := range cs {
			cm, _ := c.(map[string]any)
			mounts, _ := cm["volumeMounts"].([]any)
			keep := mounts[:0:0]
			for _, mnt := range mounts {
				mm, _ := mnt.(map[string]any)
				if n, _ := mm["name"].(string); !dropped[n] {
					keep = append(keep, mnt)
				}
			}
			if cm != nil && mounts != nil {
				setOrDrop(cm, "volumeMounts", keep)
			}
		}
	}
}

// cleanJob drops the selector and labels the Job controller generated
// (unless the Job chose its own: manualSelector) and tells whether it did.
func cleanJob(spec map[string]any) bool {
	if manual, _ := spec["manualSelector"].(bool); manual {
		return false
	}
	delete(spec, "selector")
	tmpl, _ := spec["template"].(map[string]any)
	md, _ := tmpl["metadata"].(map[string]any)
	dropKeys(md, "labels", jobLabels)
	return true
}

// dropKeys removes keys from the string map m[field], and the field when
// nothing is left.
func dropKeys(m map[string]any, field string, keys []string) {
	sub, _ := m[field].(map[string]any)
	if sub == nil {
		return
	}
	for _, k := range keys {
		delete(sub, k)
	}
	if len(sub) == 0 {
		delete(m, field)
	}
}

func setOrDrop(m map[string]any, key string, list []any) {
	if len(list) == 0 {
		delete(m, key)
		return
	}
	m[key] = list
}
