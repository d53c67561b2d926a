package orchestrate

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/podbay/podbay/kube/play"
)

// Kinds of the records plays keep in the state store, for generate to
// export with the pods that use them and for later plays to find.
const (
	KindConfigMap = "kube-configmap"
	KindSecret    = "kube-secret"
	KindClaim     = "kube-claim"
)

// objectsOf is what a play records, per kind and key (namespace/name).
func objectsOf(p *play.Play) (map[string]map[string][]byte, error) {
	out := map[string]map[string][]byte{}
	add := func(kind, ns, name string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("recording %s %s/%s: %w", kind, ns, name, err)
		}
		if out[kind] == nil {
			out[kind] = map[string][]byte{}
		}
		out[kind][ns+"/"+name] = b
		return nil
	}
	for _, c := range p.ConfigMaps {
		if err := add(KindConfigMap, c.Namespace, c.Name, c); err != nil {
			return nil, err
		}
	}
	for _, s := range p.Secrets {
		if err := add(KindSecret, s.Namespace, s.Name, s); err != nil {
			return nil, err
		}
	}
	for _, v := range p.Volumes {
		if err := add(KindClaim, v.Namespace, v.Name, v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// recordObjects keeps the play's ConfigMaps, Secrets and claims; what the
// keys held before goes into rec, to be put back by an undo.
func (e *Engine) recordObjects(ctx context.Context, p *play.Play, rec *Record) error {
	objs, err := objectsOf(p)
	if err != nil {
		return err
	}
	for _, kind := range []string{KindConfigMap, KindSecret, KindClaim} {
		if len(objs[kind]) == 0 {
			continue
		}
		prev, err := e.Objects.Swap(ctx, kind, objs[kind])
		if err != nil {
			return err
		}
		if rec.Objects == nil {
			rec.Objects = map[string]map[string][]byte{}
		}
		rec.Objects[kind] = prev
	}
	return nil
}

// forgetObjects drops what a play recorded; the claims only with force,
// as their volumes stay otherwise.
func (e *Engine) forgetObjects(ctx context.Context, p *play.Play, force bool) error {
	objs, err := objectsOf(p)
	if err != nil {
		return err
	}
	for kind, vals := range objs {
		if kind == KindClaim && !force {
			continue
		}
		for k := range vals {
			vals[k] = nil
		}
		if _, err := e.Objects.Swap(ctx, kind, vals); err != nil {
			return err
		}
	}
	return nil
}
