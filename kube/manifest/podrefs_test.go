package manifest

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestReferencesOfAWorkload(t *testing.T) {
	in := `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      initContainers:
      - {name: init, image: i, envFrom: [{secretRef: {name: creds}}]}
      containers:
      - name: c
        image: i
        envFrom: [{configMapRef: {name: settings, optional: true}}]
        env:
        - {name: A, valueFrom: {configMapKeyRef: {name: settings, key: a}}}
        - {name: B, valueFrom: {secretKeyRef: {name: other, key: b, optional: true}}}
      volumes:
      - {name: conf, configMap: {name: files}}
      - {name: tls, secret: {secretName: creds}}
      - {name: data, persistentVolumeClaim: {claimName: data}}
      - name: all
        projected: {sources: [{configMap: {name: projected-cm}}, {secret: {name: projected-secret, optional: true}}]}
`
	set, err := Decode("d.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	spec := PodSpecOf(set.Objects[0].Obj)
	if spec == nil {
		t.Fatal("no pod spec found in a Deployment")
	}
	got := References(spec)
	want := PodRefs{
		// settings: optional in envFrom, required by env: required.
		ConfigMaps: []Ref{{"files", false}, {"projected-cm", false}, {"settings", false}},
		Secrets:    []Ref{{"creds", false}, {"projected-secret", true}, {"other", true}},
		Claims:     []Ref{{"data", false}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("References:\n got %+v\nwant %+v", got, want)
	}
	var sum PodRefs
	sum.Add(PodRefs{Secrets: []Ref{{"other", true}, {"new", true}}})
	sum.Add(got)
	if len(sum.Secrets) != 4 || sum.Secrets[0] != (Ref{"other", true}) || sum.Secrets[1] != (Ref{"new", true}) {
		t.Errorf("Add: %+v", sum.Secrets)
	}
	if PodSpecOf(&corev1.ConfigMap{}) != nil {
		t.Error("a ConfigMap runs no pod")
	}
}
