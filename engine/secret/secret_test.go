package secret

import (
	"context"
	"errors"
	"testing"

	"github.com/podbay/podbay/engine/state"
)

func newStore(t *testing.T) Store {
	t.Helper()
	st, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return Store{State: st}
}

func TestCreateGetRemove(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	sec, err := s.Create(ctx, CreateOptions{Name: "db-pass", Data: []byte("s3cr3t"), Labels: map[string]string{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"db-pass", sec.ID, sec.ID[:6]} {
		got, err := s.Get(ctx, ref)
		if err != nil {
			t.Fatalf("get %q: %v", ref, err)
		}
		if string(got.Data) != "s3cr3t" || got.Labels["a"] != "b" {
			t.Errorf("get %q = %+v", ref, got)
		}
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 1 || list[0].Data != nil {
		t.Fatalf("list = %+v, %v: want one secret without its data", list, err)
	}
	if _, err := s.Create(ctx, CreateOptions{Name: "db-pass", Data: []byte("x")}); !errors.Is(err, ErrExists) {
		t.Errorf("second create: %v, want ErrExists", err)
	}
	again, err := s.Create(ctx, CreateOptions{Name: "db-pass", Data: []byte("new"), Replace: true})
	if err != nil || again.ID != sec.ID {
		t.Fatalf("replace = %+v, %v: want the same ID %s", again, err, sec.ID)
	}
	if _, err := s.Remove(ctx, "db-pass"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "db-pass"); !errors.Is(err, ErrNotFound) {
		t.Errorf("get after remove: %v, want ErrNotFound", err)
	}
}

func TestCreateRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for _, o := range []CreateOptions{
		{Name: "-bad", Data: []byte("x")},
		{Name: "empty"},
		{Name: "big", Data: make([]byte, MaxSize+1)},
	} {
		if _, err := s.Create(ctx, o); err == nil {
			t.Errorf("create %q (%d bytes): no error", o.Name, len(o.Data))
		}
	}
	if list, _ := s.List(ctx); len(list) != 0 {
		t.Errorf("refused creates left %d secrets", len(list))
	}
}
