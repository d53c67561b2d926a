package play

import (
	"errors"
	"strings"
	"testing"

	"github.com/podbay/podbay/kube/manifest"
)

const podHead = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"

func TestTranslateErrors(t *testing.T) {
	cases := []struct {
		name, in string
		opts     Options
		want     string
	}{
		{
			name: "a Deployment of more replicas than podbay plays",
			in: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: 999999999\n" +
				"  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n" +
				"    spec: {containers: [{name: c, image: x}]}\n",
			want: `in.yaml:5:3: Deployment/d: spec.replicas: 999999999 pods: podbay plays at most 10000 pods of one object`,
		},
		{
			name: "a Job of more parallel pods than podbay plays",
			in: "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  parallelism: 20000\n" +
				"  template:\n    spec: {restartPolicy: Never, containers: [{name: c, image: x}]}\n",
			want: `in.yaml:5:3: Job/j: spec.parallelism: 20000 pods: podbay plays at most 10000 pods of one object`,
		},
		{
			name: "missing configmap volume",
			in:   podHead + "  containers: [{name: c, image: x}]\n  volumes:\n  - name: v\n    configMap: {name: fizz}\n",
			want: `in.yaml:8:17: Pod/p: spec.volumes[0].configMap.name: configmaps "fizz" not found`,
		},
		{
			name: "missing secret volume",
			in:   podHead + "  containers: [{name: c, image: x}]\n  volumes:\n  - name: v\n    secret:\n      secretName: buzz\n",
			want: `in.yaml:9:7: Pod/p: spec.volumes[0].secret.secretName: secrets "buzz" not found`,
		},
		{
			name: "missing configmap key in items",
			in: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fizz}\ndata: {a: b}\n---\n" + podHead +
				"  containers: [{name: c, image: x}]\n  volumes:\n  - name: v\n    configMap:\n      name: fizz\n      items:\n      - key: nope\n        path: x\n",
			want: `in.yaml:16:9: Pod/p: spec.volumes[0].configMap.items[0].key: configmap references non-existent config key: nope`,
		},
		{
			name: "missing secret key in items",
			in: "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {a: b}\n---\n" + podHead +
				"  containers: [{name: c, image: x}]\n  volumes:\n  - name: v\n    secret:\n      secretName: s\n      items: [{key: k, path: x}]\n",
			want: `in.yaml:15:16: Pod/p: spec.volumes[0].secret.items[0].key: references non-existent secret key: k`,
		},
		{
			name: "env configMapKeyRef missing configmap",
			in: podHead + "  containers:\n  - name: c\n    image: x\n    env:\n    - name: A\n" +
				"      valueFrom:\n        configMapKeyRef: {name: fizz, key: k}\n",
			want: `in.yaml:11:27: Pod/p: spec.containers[0].env[0].valueFrom.configMapKeyRef.name: configmaps "fizz" not found`,
		},
		{
			name: "env configMapKeyRef missing key",
			in: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fizz}\ndata: {a: b}\n---\n" + podHead +
				"  containers:\n  - name: c\n    image: x\n    env:\n    - name: A\n" +
				"      valueFrom:\n        configMapKeyRef: {name: fizz, key: k}\n",
			want: `in.yaml:16:39: Pod/p: spec.containers[0].env[0].valueFrom.configMapKeyRef.key: couldn't find key k in ConfigMap default/fizz`,
		},
		{
			name: "env secretKeyRef missing key",
			in: "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: prod}\ndata: {a: Yg==}\n---\n" +
				"apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: prod}\nspec:\n" +
				"  containers:\n  - name: c\n    image: x\n    env:\n    - name: A\n" +
				"      valueFrom:\n        secretKeyRef: {name: s, key: k}\n",
			want: `in.yaml:16:33: Pod/p: spec.containers[0].env[0].valueFrom.secretKeyRef.key: couldn't find key k in Secret prod/s`,
		},
		{
			name: "envFrom missing secret",
			in:   podHead + "  containers:\n  - name: c\n    image: x\n    envFrom:\n    - secretRef: {name: gone}\n",
			want: `in.yaml:9:19: Pod/p: spec.containers[0].envFrom[0].secretRef.name: secrets "gone" not found`,
		},
		{
			name: "secret in another namespace",
			in: "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: other}\n---\n" + podHead +
				"  containers:\n  - name: c\n    image: x\n    envFrom:\n    - secretRef: {name: s}\n",
			want: `in.yaml:13:19: Pod/p: spec.containers[0].envFrom[0].secretRef.name: secrets "s" not found`,
		},
		{
			name: "mount of undeclared volume",
			in:   podHead + "  containers:\n  - name: c\n    image: x\n    volumeMounts:\n    - {name: data, mountPath: /d}\n",
			want: `in.yaml:9:8: Pod/p: spec.containers[0].volumeMounts[0].name: Not found: "data": no volume of that name in the pod`,
		},
		{
			name: "unknown named probe port",
			in:   podHead + "  containers:\n  - name: c\n    image: x\n    livenessProbe:\n      httpGet: {port: web}\n",
			want: `in.yaml:9:17: Pod/p: spec.containers[0].livenessProbe.httpGet.port: container "c" has no port named "web"`,
		},
		{
			name: "unsupported volume type",
			in:   podHead + "  containers: [{name: c, image: x}]\n  volumes:\n  - name: n\n    gitRepo: {repository: https://example.com/r.git}\n",
			want: `in.yaml:7:5: Pod/p: spec.volumes[0]: volume "n": this volume type is not supported (hostPath, emptyDir, configMap, secret, persistentVolumeClaim, downwardAPI, projected, image and cluster storage are)`,
		},
		{
			name: "job with restartPolicy Always",
			in: "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n" +
				"      restartPolicy: Always\n      containers: [{name: c, image: x}]\n",
			want: `in.yaml:7:7: Job/j: spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"`,
		},
		{
			name: "bad fieldRef",
			in: podHead + "  containers:\n  - name: c\n    image: x\n    env:\n    - name: A\n" +
				"      valueFrom:\n        fieldRef: {fieldPath: spec.bogus}\n",
			want: `in.yaml:11:20: Pod/p: spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: unsupported fieldPath: spec.bogus`,
		},
		{
			name: "bad hostPath type",
			in:   podHead + "  containers: [{name: c, image: x}]\n  volumes:\n  - name: h\n    hostPath: {path: /x, type: Dir}\n",
			want: `in.yaml:8:26: Pod/p: spec.volumes[0].hostPath.type: Unsupported value: "Dir": supported values: "", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"`,
		},
		{
			name: "bad publish",
			in:   podHead + "  containers: [{name: c, image: x}]\n",
			opts: Options{Publish: []string{"80:x"}},
			want: `--publish "80:x": container port: invalid port "x"`,
		},
		{
			name: "bad publish protocol",
			in:   podHead + "  containers: [{name: c, image: x}]\n",
			opts: Options{Publish: []string{"80/icmp"}},
			want: `--publish "80/icmp": unknown protocol "icmp"`,
		},
		{
			name: "several errors joined",
			in:   podHead + "  containers: [{name: c, image: x, envFrom: [{configMapRef: {name: a}}, {secretRef: {name: b}}]}]\n",
			want: "in.yaml:5:62: Pod/p: spec.containers[0].envFrom[0].configMapRef.name: configmaps \"a\" not found\n" +
				"in.yaml:5:86: Pod/p: spec.containers[0].envFrom[1].secretRef.name: secrets \"b\" not found",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			set, err := manifest.Decode("in.yaml", []byte(tc.in))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			_, err = Translate(set, tc.opts)
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("error\n got: %s\nwant: %s", got, tc.want)
			}
		})
	}
}

func TestTranslateErrorIsFinding(t *testing.T) {
	set, err := manifest.Decode("in.yaml", []byte(podHead+"  containers: [{name: c, image: x, envFrom: [{configMapRef: {name: a}}]}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Translate(set, Options{})
	var f *manifest.Finding
	if !asFinding(err, &f) || f.Path != "spec.containers[0].envFrom[0].configMapRef.name" || f.Line != 5 {
		t.Fatalf("error %v is not a positioned finding", err)
	}
	if !strings.Contains(err.Error(), "Pod/p") {
		t.Errorf("error %q does not name the object", err)
	}
}

func asFinding(err error, f **manifest.Finding) bool { return errors.As(err, f) }

func TestOriginPosOf(t *testing.T) {
	in := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: 2\n  template:\n    spec:\n" +
		"      containers:\n      - name: c\n        image: x\n"
	set, err := manifest.Decode("in.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Translate(set, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Origins) != 2 || p.Origins[1].Object != "Deployment/d" {
		t.Fatalf("origins %+v", p.Origins)
	}
	if got := p.Origins[1].PosOf("spec.containers[0].image").String(); got != "in.yaml:10:9" {
		t.Errorf("PosOf = %s, want in.yaml:10:9", got)
	}
}
