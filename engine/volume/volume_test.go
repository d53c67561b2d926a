package volume

import (
	"context"
	"errors"
	"os"
	"testing"
)

func TestCreateGetListRemove(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Create(ctx, CreateOptions{Name: "data", Labels: map[string]string{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(v.Mountpoint); err != nil || !fi.IsDir() {
		t.Fatalf("mountpoint %s: %v", v.Mountpoint, err)
	}
	if _, err := s.Create(ctx, CreateOptions{Name: "data"}); !errors.Is(err, ErrExists) {
		t.Errorf("second create: %v, want ErrExists", err)
	}
	if again, err := s.Create(ctx, CreateOptions{Name: "data", IfExists: true}); err != nil || again.Mountpoint != v.Mountpoint {
		t.Errorf("create IfExists: %v %v", again, err)
	}
	if _, err := s.Create(ctx, CreateOptions{Name: "../x"}); err == nil {
		t.Error("a name with a slash was accepted")
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 1 || list[0].Labels["a"] != "b" {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := s.Remove(ctx, "data"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "data"); !errors.Is(err, ErrNotFound) {
		t.Errorf("get after remove: %v", err)
	}
	if err := s.Remove(ctx, "data"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second remove: %v", err)
	}
}
