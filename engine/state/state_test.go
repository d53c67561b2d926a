package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func newStore(t *testing.T) *Store {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNamesAndLookups(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	a := &Container{ID: "abc111", Name: "web", Created: time.Now()}
	b := &Container{ID: "abc222", Name: "db", Created: time.Now().Add(time.Second)}
	if err := s.Update(ctx, func(tx *Tx) error {
		if err := tx.PutContainer(a); err != nil {
			return err
		}
		return tx.PutContainer(b)
	}); err != nil {
		t.Fatal(err)
	}
	err := s.Update(ctx, func(tx *Tx) error { return tx.PutContainer(&Container{ID: "zzz", Name: "web"}) })
	if !errors.Is(err, ErrNameInUse) {
		t.Fatalf("a second container named web: %v, want ErrNameInUse", err)
	}
	cases := []struct {
		ref     string
		wantID  string
		wantErr error
	}{
		{"web", "abc111", nil},
		{"abc222", "abc222", nil},
		{"abc2", "abc222", nil},
		{"abc", "", ErrAmbiguous},
		{"nope", "", ErrNotFound},
		{"", "", ErrNotFound},
	}
	for _, c := range cases {
		err := s.View(ctx, func(tx *Tx) error {
			got, err := tx.LookupContainer(c.ref)
			if err == nil && got.ID != c.wantID {
				t.Errorf("lookup %q: got %s, want %s", c.ref, got.ID, c.wantID)
			}
			return err
		})
		if !errors.Is(err, c.wantErr) {
			t.Errorf("lookup %q: err %v, want %v", c.ref, err, c.wantErr)
		}
	}
	if err := s.Update(ctx, func(tx *Tx) error { return tx.DeleteContainer("abc111") }); err != nil {
		t.Fatal(err)
	}
	// The name is free again.
	if err := s.Update(ctx, func(tx *Tx) error { return tx.PutContainer(&Container{ID: "new", Name: "web"}) }); err != nil {
		t.Fatalf("reusing a freed name: %v", err)
	}
	var list []*Container
	_ = s.View(ctx, func(tx *Tx) error { list, err = tx.Containers(); return err })
	if len(list) != 2 || list[0].ID != "new" && list[1].ID != "new" {
		t.Errorf("containers: %+v", list)
	}
}

func TestObjects(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if err := s.Update(ctx, func(tx *Tx) error {
		if err := tx.PutObject("kind", "a", map[string]int{"n": 1}); err != nil {
			return err
		}
		return tx.PutObject("kind", "b", map[string]int{"n": 2})
	}); err != nil {
		t.Fatal(err)
	}
	_ = s.View(ctx, func(tx *Tx) error {
		objs, _ := tx.Objects("kind")
		if len(objs) != 2 || string(objs["b"]) != `{"n":2}` {
			t.Errorf("objects: %q", objs)
		}
		var v map[string]int
		if err := tx.Object("kind", "a", &v); err != nil || v["n"] != 1 {
			t.Errorf("object a: %v %v", v, err)
		}
		if err := tx.Object("kind", "zz", &v); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing object: %v", err)
		}
		return nil
	})
}

// TestConcurrentUpdates: many writers at once (as many podbay processes
// would be) each land their change once, with unique names enforced.
func TestConcurrentUpdates(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs <- s.Update(ctx, func(tx *Tx) error {
				return tx.PutContainer(&Container{ID: fmt.Sprintf("id%02d", i), Name: fmt.Sprintf("n%d", i%20)})
			})
		}(i)
	}
	wg.Wait()
	close(errs)
	ok, inUse := 0, 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ErrNameInUse):
			inUse++
		default:
			t.Error(err)
		}
	}
	if ok != 20 || inUse != 20 {
		t.Errorf("%d stored and %d refused, want 20 and 20", ok, inUse)
	}
}

// TestReadModifyWriteUnderContention: increments from many goroutines,
// with readers in between, are none of them lost; each goroutine opens
// the store as a podbay process would (its own Store value).
func TestReadModifyWriteUnderContention(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	const writers, rounds = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, 2*writers*rounds)
	for w := 0; w < writers; w++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			s, err := Open(dir)
			if err != nil {
				errs <- err
				return
			}
			for r := 0; r < rounds; r++ {
				errs <- s.Update(ctx, func(tx *Tx) error {
					var n int
					if err := tx.Object("counter", "n", &n); err != nil && !errors.Is(err, ErrNotFound) {
						return err
					}
					return tx.PutObject("counter", "n", n+1)
				})
			}
		}()
		go func() {
			defer wg.Done()
			s, err := Open(dir)
			if err != nil {
				errs <- err
				return
			}
			for r := 0; r < rounds; r++ {
				errs <- s.View(ctx, func(tx *Tx) error {
					var n int
					if err := tx.Object("counter", "n", &n); err != nil && !errors.Is(err, ErrNotFound) {
						return err
					}
					return nil
				})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	s, _ := Open(dir)
	var n int
	if err := s.View(ctx, func(tx *Tx) error { return tx.Object("counter", "n", &n) }); err != nil {
		t.Fatal(err)
	}
	if n != writers*rounds {
		t.Fatalf("counter = %d, want %d", n, writers*rounds)
	}
}

// TestLockHonoursContext: a writer waiting for another process' lock gives
// up with the context.
func TestLockHonoursContext(t *testing.T) {
	s := newStore(t)
	// Another process' writer: the lock file held exclusively from another
	// open file description.
	f, err := os.OpenFile(s.Path()+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Update(ctx, func(tx *Tx) error { return nil }) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Update with a held lock and a cancelled context: %v", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(context.Background(), func(tx *Tx) error { return nil }); err != nil {
		t.Fatalf("Update once the lock is free: %v", err)
	}
}

// BenchmarkConcurrentUpdates: the transactions of one play's pods, eight
// at a time.
func BenchmarkConcurrentUpdates(b *testing.B) {
	ctx := context.Background()
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(4)
	var i atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("c%d", i.Add(1))
			if err := s.Update(ctx, func(tx *Tx) error { return tx.PutObject("bench", id, id) }); err != nil {
				b.Error(err)
			}
		}
	})
}
