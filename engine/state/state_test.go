package state

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podbay/podbay/internal/flock"
)

func newStore(t testing.TB) *Store {
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
// up with the context, or at the store's timeout saying the lock is held.
func TestLockHonoursContext(t *testing.T) {
	s := newStore(t)
	// Another process' writer: the lock file held exclusively from another
	// open file description.
	f, err := flock.Open(s.Path() + ".lock")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Lock(flock.Exclusive); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Update(ctx, func(tx *Tx) error { return nil }) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Update with a held lock and a cancelled context: %v", err)
	}
	s.timeout = time.Millisecond
	if err := s.View(context.Background(), func(tx *Tx) error { return nil }); !errors.Is(err, flock.ErrLocked) {
		t.Fatalf("View with a held lock past the store's timeout: %v, want %v", err, flock.ErrLocked)
	}
	if err := f.Close(); err != nil {
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
	s := newStore(b)
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

func BenchmarkUpdate(b *testing.B) {
	ctx := context.Background()
	s := newStore(b)
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("c%d", i)
		if err := s.Update(ctx, func(tx *Tx) error { return tx.PutObject("bench", id, id) }); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkView(b *testing.B) {
	ctx := context.Background()
	s := newStore(b)
	for i := 0; i < b.N; i++ {
		if err := s.View(ctx, func(tx *Tx) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// queueUpdates holds the commit slot of s while n Updates by fns queue
// up, then lets them go; it returns their errors in the order of fns.
func queueUpdates(t *testing.T, ctx context.Context, s *Store, fns ...func(*Tx) error) []error {
	t.Helper()
	q := committerFor(s.path)
	q.slot <- struct{}{}
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Go(func() { errs[i] = s.Update(ctx, fn) })
	}
	waitQueued(t, q, len(fns))
	<-q.slot
	wg.Wait()
	return errs
}

// waitQueued waits until n updates wait in q.
func waitQueued(t *testing.T, q *committer, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		q.mu.Lock()
		have := len(q.pending)
		q.mu.Unlock()
		if have == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d updates queued", have, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestConcurrentUpdatesCommitTogether: updates that queue while another
// commits run in one transaction, in which each sees the ones before it.
func TestConcurrentUpdatesCommitTogether(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	var mu sync.Mutex
	txs := map[any]bool{}
	var fns []func(*Tx) error
	for i := range 10 {
		fns = append(fns, func(tx *Tx) error {
			mu.Lock()
			txs[tx.tx] = true
			mu.Unlock()
			var n int
			if err := tx.Object("count", "n", &n); err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			if err := tx.PutObject("count", "n", n+1); err != nil {
				return err
			}
			return tx.PutObject("item", fmt.Sprint(i), i)
		})
	}
	for i, err := range queueUpdates(t, ctx, s, fns...) {
		if err != nil {
			t.Errorf("update %d: %v", i, err)
		}
	}
	if len(txs) != 1 {
		t.Errorf("10 queued updates ran in %d transactions, want 1", len(txs))
	}
	err := s.View(ctx, func(tx *Tx) error {
		var n int
		if err := tx.Object("count", "n", &n); err != nil {
			return err
		}
		if n != 10 {
			t.Errorf("count %d, want 10: an update did not see the ones before it", n)
		}
		items, err := tx.Objects("item")
		if len(items) != 10 {
			t.Errorf("%d items, want 10", len(items))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestFailedUpdateInAGroupFailsAlone: a failing update gets its own error
// and leaves nothing; the others of its group are committed.
func TestFailedUpdateInAGroupFailsAlone(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	errBad := errors.New("bad")
	put := func(key string) func(*Tx) error {
		return func(tx *Tx) error { return tx.PutObject("k", key, key) }
	}
	bad := func(tx *Tx) error {
		if err := tx.PutObject("k", "bad", "bad"); err != nil {
			return err
		}
		return errBad
	}
	errs := queueUpdates(t, ctx, s, put("a"), bad, put("b"), bad, put("c"))
	for i, err := range errs {
		want := error(nil)
		if i == 1 || i == 3 {
			want = errBad
		}
		if !errors.Is(err, want) || (want == nil && err != nil) {
			t.Errorf("update %d: %v, want %v", i, err, want)
		}
	}
	err := s.View(ctx, func(tx *Tx) error {
		got, err := tx.Objects("k")
		if len(got) != 3 || got["bad"] != nil {
			t.Errorf("objects %q, want a, b and c only", got)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCancelledQueuedUpdateDoesNotRun: an update whose context ends while
// it waits for its turn returns the context's error and never runs.
func TestCancelledQueuedUpdateDoesNotRun(t *testing.T) {
	s := newStore(t)
	q := committerFor(s.path)
	q.slot <- struct{}{}
	ctx, cancel := context.WithCancel(context.Background())
	var ran atomic.Bool
	done := make(chan error, 1)
	go func() { done <- s.Update(ctx, func(tx *Tx) error { ran.Store(true); return nil }) }()
	waitQueued(t, q, 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled update: %v, want context.Canceled", err)
	}
	<-q.slot
	if err := s.Update(context.Background(), func(tx *Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if ran.Load() {
		t.Error("a cancelled update ran")
	}
}
