package orchestrate

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"

	"github.com/podbay/podbay/engine/secret"
	"github.com/podbay/podbay/kube/manifest"
	"github.com/podbay/podbay/kube/play"
)

// Stored returns the ConfigMaps and Secrets a play may reference without
// defining them: those earlier plays recorded, and podbay's secrets (podbay
// secret create), which serve every namespace.
func (e *Engine) Stored(ctx context.Context) (play.Stored, error) {
	var st play.Stored
	if err := e.decodeKind(ctx, KindConfigMap, func(b []byte) error {
		var c play.ConfigMap
		err := json.Unmarshal(b, &c)
		st.ConfigMaps = append(st.ConfigMaps, c)
		return err
	}); err != nil {
		return st, err
	}
	if err := e.decodeKind(ctx, KindSecret, func(b []byte) error {
		var s play.Secret
		err := json.Unmarshal(b, &s)
		st.Secrets = append(st.Secrets, s)
		return err
	}); err != nil {
		return st, err
	}
	err := e.decodeKind(ctx, secret.Kind, func(b []byte) error {
		var s secret.Secret
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		st.Secrets = append(st.Secrets, podbaySecret(&s))
		return nil
	})
	return st, err
}

// decodeKind hands every record of kind to fn, in key order.
func (e *Engine) decodeKind(ctx context.Context, kind string, fn func([]byte) error) error {
	objs, err := e.Objects.Objects(ctx, kind)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(objs))
	for k := range objs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := fn(objs[k]); err != nil {
			return fmt.Errorf("%s %s: %w", kind, k, err)
		}
	}
	return nil
}

// podbaySecret is a podbay secret as a Kubernetes Secret of its name: the
// keys of the Kubernetes Secret its data holds, else its data as the one
// key of its name.
func podbaySecret(s *secret.Secret) play.Secret {
	out := play.Secret{Name: s.Name, Labels: s.Labels, Type: string(corev1.SecretTypeOpaque)}
	if set, err := manifest.Decode(s.Name, s.Data); err == nil && len(set.Objects) == 1 {
		if k, ok := set.Objects[0].Obj.(*corev1.Secret); ok {
			out.Data = map[string][]byte{}
			for key, v := range k.Data {
				out.Data[key] = v
			}
			for key, v := range k.StringData {
				out.Data[key] = []byte(v)
			}
			if k.Type != "" {
				out.Type = string(k.Type)
			}
			return out
		}
	}
	out.Data = map[string][]byte{s.Name: s.Data}
	return out
}
