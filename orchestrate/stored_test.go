package orchestrate

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/podbay/podbay/engine/secret"
)

func TestStoredFindsRecordsAndPodbaySecrets(t *testing.T) {
	w := newWorld()
	put := func(kind, key string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if w.objects[kind] == nil {
			w.objects[kind] = map[string][]byte{}
		}
		w.objects[kind][key] = b
	}
	put(KindConfigMap, "shop/settings", map[string]any{"name": "settings", "namespace": "shop", "data": map[string]string{"mode": "prod"}})
	put(secret.Kind, "raw", secret.Secret{Name: "raw", Data: []byte("hunter2")})
	put(secret.Kind, "k8s", secret.Secret{Name: "k8s", Data: []byte("apiVersion: v1\nkind: Secret\nmetadata: {name: whatever}\n" +
		"type: kubernetes.io/basic-auth\nstringData: {username: admin}\ndata: {password: czNjcjN0}\n")})
	st, err := w.engine().Stored(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.ConfigMaps) != 1 || st.ConfigMaps[0].Data["mode"] != "prod" || st.ConfigMaps[0].Namespace != "shop" {
		t.Errorf("configmaps = %+v", st.ConfigMaps)
	}
	got := map[string]map[string]string{}
	for _, s := range st.Secrets {
		if s.Namespace != "" {
			t.Errorf("podbay secret %s has namespace %q: it serves every namespace", s.Name, s.Namespace)
		}
		got[s.Name] = map[string]string{"type": s.Type}
		for k, v := range s.Data {
			got[s.Name][k] = string(v)
		}
	}
	want := map[string]map[string]string{
		"raw": {"type": "Opaque", "raw": "hunter2"},
		"k8s": {"type": "kubernetes.io/basic-auth", "username": "admin", "password": "s3cr3t"},
	}
	for name, kv := range want {
		for k, v := range kv {
			if got[name][k] != v {
				t.Errorf("secret %s: %s = %q, want %q (all: %v)", name, k, got[name][k], v, got[name])
			}
		}
	}
}
