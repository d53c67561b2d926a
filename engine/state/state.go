package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/podbay/podbay/internal/flock"
)

// Sentinel errors, matched with errors.Is.
var (
	ErrNotFound  = errors.New("no such object")
	ErrNameInUse = errors.New("name already in use")
	ErrAmbiguous = errors.New("more than one object matches")
)

var (
	bucketContainers = []byte("containers")
	bucketPods       = []byte("pods")
	bucketNames      = []byte("names") // name -> id, shared by pods and containers of one kind prefix
	bucketObjects    = []byte("objects")

	buckets = [][]byte{bucketContainers, bucketPods, bucketNames, bucketObjects}
)

// Store is the state database. It holds no open handle between calls: every
// View or Update opens the bbolt file (which takes its file lock), runs one
// transaction and closes it, so many short-lived podbay processes can share it.
type Store struct {
	path    string
	timeout time.Duration
}

// Open prepares the store under root, creating the database on first use.
func Open(root string) (*Store, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("creating state root %q: %w", root, err)
	}
	s := &Store{path: filepath.Join(root, "state.db"), timeout: 60 * time.Second}
	if _, err := os.Stat(s.path); err == nil {
		return s, nil // buckets are created by the first Update, which made the file
	}
	err := s.Update(context.Background(), func(tx *Tx) error { return nil })
	return s, err
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Tx is one transaction over the store.
type Tx struct{ tx *bolt.Tx }

func (s *Store) open(ctx context.Context, readOnly bool) (db *bolt.DB, done func(), err error) {
	timeout := s.timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	unlock, err := s.lock(ctx, !readOnly, timeout)
	if err != nil {
		return nil, nil, err
	}
	// bbolt's shared lock for read-only would let readers run together, but
	// a read-only open cannot create buckets; the store is created in Open.
	db, err = bolt.Open(s.path, 0o600, &bolt.Options{Timeout: timeout, ReadOnly: readOnly, NoFreelistSync: true})
	if err != nil {
		unlock()
		return nil, nil, fmt.Errorf("opening state %s: %w", s.path, err)
	}
	return db, func() { db.Close(); unlock() }, nil
}

// processLocks orders this process' own transactions on a store (by path).
var processLocks sync.Map

// lock takes the store's lock before bbolt takes its own, so that bbolt's
// never waits: bbolt retries a held file lock every 50 ms, which made
// concurrent transactions (the pods of one play, the downs of many) queue
// in 50 ms steps. Here the goroutines of one process queue on a
// read-write mutex, and processes on a lock file (shared for readers,
// exclusive for writers, as bbolt's), polled at 0.5-5 ms.
func (s *Store) lock(ctx context.Context, exclusive bool, timeout time.Duration) (unlock func(), err error) {
	v, _ := processLocks.LoadOrStore(s.path, &sync.RWMutex{})
	mu := v.(*sync.RWMutex)
	mode, release := flock.Shared, mu.RUnlock
	if exclusive {
		mu.Lock()
		mode, release = flock.Exclusive, mu.Unlock
	} else {
		mu.RLock()
	}
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, flock.ErrLocked)
	defer cancel()
	unlockFile, err := flock.LockContext(ctx, s.path+".lock", mode)
	if err != nil {
		release()
		return nil, fmt.Errorf("locking state: %w", err)
	}
	return func() { unlockFile(); release() }, nil
}

// Update runs fn in a read-write transaction: as one of its own or, when
// other goroutines of this process update the store at the same time,
// together with theirs (a group commit). fn must keep its effects to the
// transaction (it may set variables of its caller's): when another fn of
// its group fails, the group's transaction is rolled back and fn runs
// again. Each fn's outcome is as if the fns had run one after the other:
// fn sees what fns before it in its group wrote, and a fn that fails in
// a group runs once more on its own, whose result it returns.
//
// A commit costs two fdatasyncs and an open of the file; under load (a
// ten-pod play: 81 updates, each holding the lock 5 ms on average while
// runc kept both CPUs busy) one process' updates queued behind each other
// for most of the play.
func (s *Store) Update(ctx context.Context, fn func(*Tx) error) error {
	q := committerFor(s.path)
	c := &call{fn: fn, done: make(chan struct{})}
	q.mu.Lock()
	q.pending = append(q.pending, c)
	q.mu.Unlock()
	for {
		select {
		case <-c.done:
			return c.err
		case <-ctx.Done():
			if q.withdraw(c) {
				return fmt.Errorf("updating state %s: %w", s.path, ctx.Err())
			}
			<-c.done // a committer has it
			return c.err
		case q.slot <- struct{}{}:
			s.commit(ctx, q, c)
			<-q.slot
		}
	}
}

// A committer gathers one store's concurrent updates in this process.
type committer struct {
	slot    chan struct{} // held by the goroutine that commits
	mu      sync.Mutex
	pending []*call
}

// A call is one Update waiting for its commit.
type call struct {
	fn   func(*Tx) error
	err  error
	done chan struct{} // closed once err is final
}

var committers sync.Map // store path -> *committer

func committerFor(path string) *committer {
	if v, ok := committers.Load(path); ok {
		return v.(*committer)
	}
	v, _ := committers.LoadOrStore(path, &committer{slot: make(chan struct{}, 1)})
	return v.(*committer)
}

// maxGroup bounds the updates committed together.
const maxGroup = 64

// withdraw takes c out of the queue; false if a committer has taken it.
func (q *committer) withdraw(c *call) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, p := range q.pending {
		if p == c {
			q.pending = append(q.pending[:i], q.pending[i+1:]...)
			return true
		}
	}
	return false
}

// take removes own and up to maxGroup-1 other pending calls from the
// queue, own first; nil if own is no longer pending.
func (q *committer) take(own *call) []*call {
	q.mu.Lock()
	defer q.mu.Unlock()
	group := []*call{own}
	rest := q.pending[:0]
	found := false
	for _, p := range q.pending {
		switch {
		case p == own:
			found = true
		case len(group) < maxGroup:
			group = append(group, p)
		default:
			rest = append(rest, p)
		}
	}
	if !found {
		return nil
	}
	clear(q.pending[len(rest):])
	q.pending = rest
	return group
}

// commit opens the store and commits own with the other pending calls. If
// the store cannot be opened, own fails and the others stay queued.
func (s *Store) commit(ctx context.Context, q *committer, own *call) {
	select {
	case <-own.done:
		return // committed by the previous holder of the slot
	default:
	}
	db, done, err := s.open(ctx, false)
	if err != nil {
		if q.withdraw(own) {
			own.err = err
			close(own.done)
		}
		return
	}
	defer done()
	group := q.take(own)
	for len(group) > 0 {
		failed, err := runGroup(db, group)
		if failed < 0 { // committed, or bbolt's own error for all
			for _, c := range group {
				c.err = err
				close(c.done)
			}
			return
		}
		// The failed fn runs on its own; the rest of the group again.
		solo := group[failed]
		group = append(group[:failed:failed], group[failed+1:]...)
		_, solo.err = runGroup(db, []*call{solo})
		close(solo.done)
	}
}

// runGroup runs the fns of group one after the other in one transaction of
// db: the index of the fn that failed (-1 if none) and the transaction's
// error.
func runGroup(db *bolt.DB, group []*call) (failed int, err error) {
	failed = -1
	err = db.Update(func(btx *bolt.Tx) error {
		if err := ensureBuckets(btx); err != nil {
			return err
		}
		for i, c := range group {
			if err := c.fn(&Tx{tx: btx}); err != nil {
				failed = i
				return err
			}
		}
		return nil
	})
	return failed, err
}

func ensureBuckets(btx *bolt.Tx) error {
	for _, b := range buckets {
		if _, err := btx.CreateBucketIfNotExists(b); err != nil {
			return fmt.Errorf("creating bucket %s: %w", b, err)
		}
	}
	return nil
}

// View runs fn in one read-only transaction.
func (s *Store) View(ctx context.Context, fn func(*Tx) error) error {
	db, done, err := s.open(ctx, true)
	if err != nil {
		return err
	}
	missing := false
	err = db.View(func(btx *bolt.Tx) error {
		for _, b := range buckets {
			if btx.Bucket(b) == nil {
				missing = true // a store whose creation was cut short
				return nil
			}
		}
		return fn(&Tx{tx: btx})
	})
	done()
	if missing {
		return s.Update(ctx, fn)
	}
	return err
}

func nameKey(kind, name string) []byte { return []byte(kind + "/" + name) }

func put(b *bolt.Bucket, id string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", id, err)
	}
	return b.Put([]byte(id), data)
}

// PutContainer stores c, claiming its name. A name held by another container
// is ErrNameInUse.
func (t *Tx) PutContainer(c *Container) error {
	return t.putNamed("container", bucketContainers, c.ID, c.Name, c)
}

// PutPod stores p, claiming its name.
func (t *Tx) PutPod(p *Pod) error { return t.putNamed("pod", bucketPods, p.ID, p.Name, p) }

func (t *Tx) putNamed(kind string, bucket []byte, id, name string, v any) error {
	names := t.tx.Bucket(bucketNames)
	if name != "" {
		if owner := names.Get(nameKey(kind, name)); owner != nil && string(owner) != id {
			return fmt.Errorf("%s name %q: %w by %.12s", kind, name, ErrNameInUse, owner)
		}
		if err := names.Put(nameKey(kind, name), []byte(id)); err != nil {
			return err
		}
	}
	return put(t.tx.Bucket(bucket), id, v)
}

// Container returns the container with the given ID.
func (t *Tx) Container(id string) (*Container, error) {
	var c Container
	if err := t.get(bucketContainers, id, &c); err != nil {
		return nil, fmt.Errorf("container %q: %w", id, err)
	}
	return &c, nil
}

// Pod returns the pod with the given ID.
func (t *Tx) Pod(id string) (*Pod, error) {
	var p Pod
	if err := t.get(bucketPods, id, &p); err != nil {
		return nil, fmt.Errorf("pod %q: %w", id, err)
	}
	return &p, nil
}

func (t *Tx) get(bucket []byte, id string, v any) error {
	data := t.tx.Bucket(bucket).Get([]byte(id))
	if data == nil {
		return ErrNotFound
	}
	return json.Unmarshal(data, v)
}

// LookupContainer finds a container by name, full ID or unique ID prefix.
func (t *Tx) LookupContainer(ref string) (*Container, error) {
	id, err := t.lookup("container", bucketContainers, ref)
	if err != nil {
		return nil, fmt.Errorf("no container with name or ID %q found: %w", ref, err)
	}
	return t.Container(id)
}

// LookupPod finds a pod by name, full ID or unique ID prefix.
func (t *Tx) LookupPod(ref string) (*Pod, error) {
	id, err := t.lookup("pod", bucketPods, ref)
	if err != nil {
		return nil, fmt.Errorf("no pod with name or ID %q found: %w", ref, err)
	}
	return t.Pod(id)
}

func (t *Tx) lookup(kind string, bucket []byte, ref string) (string, error) {
	if ref == "" {
		return "", ErrNotFound
	}
	if id := t.tx.Bucket(bucketNames).Get(nameKey(kind, ref)); id != nil {
		return string(id), nil
	}
	b := t.tx.Bucket(bucket)
	if b.Get([]byte(ref)) != nil {
		return ref, nil
	}
	var found []string
	c := b.Cursor()
	for k, _ := c.Seek([]byte(ref)); k != nil && strings.HasPrefix(string(k), ref); k, _ = c.Next() {
		found = append(found, string(k))
	}
	switch len(found) {
	case 0:
		return "", ErrNotFound
	case 1:
		return found[0], nil
	default:
		return "", ErrAmbiguous
	}
}

// Containers lists every container, oldest first.
func (t *Tx) Containers() ([]*Container, error) {
	var out []*Container
	err := t.tx.Bucket(bucketContainers).ForEach(func(k, v []byte) error {
		var c Container
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("decoding container %s: %w", k, err)
		}
		out = append(out, &c)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, err
}

// Pods lists every pod, oldest first.
func (t *Tx) Pods() ([]*Pod, error) {
	var out []*Pod
	err := t.tx.Bucket(bucketPods).ForEach(func(k, v []byte) error {
		var p Pod
		if err := json.Unmarshal(v, &p); err != nil {
			return fmt.Errorf("decoding pod %s: %w", k, err)
		}
		out = append(out, &p)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, err
}

// DeleteContainer removes a container and frees its name.
func (t *Tx) DeleteContainer(id string) error {
	c, err := t.Container(id)
	if err != nil {
		return err
	}
	if err := t.tx.Bucket(bucketNames).Delete(nameKey("container", c.Name)); err != nil {
		return err
	}
	return t.tx.Bucket(bucketContainers).Delete([]byte(id))
}

// DeletePod removes a pod record and frees its name.
func (t *Tx) DeletePod(id string) error {
	p, err := t.Pod(id)
	if err != nil {
		return err
	}
	if err := t.tx.Bucket(bucketNames).Delete(nameKey("pod", p.Name)); err != nil {
		return err
	}
	return t.tx.Bucket(bucketPods).Delete([]byte(id))
}

// PutObject stores an opaque JSON object under kind/key (networks, volumes,
// played manifests): packages above the store own their shapes.
func (t *Tx) PutObject(kind, key string, v any) error {
	return put(t.tx.Bucket(bucketObjects), kind+"/"+key, v)
}

// Object decodes the object kind/key into v.
func (t *Tx) Object(kind, key string, v any) error {
	if err := t.get(bucketObjects, kind+"/"+key, v); err != nil {
		return fmt.Errorf("%s %q: %w", kind, key, err)
	}
	return nil
}

// DeleteObject removes kind/key; a missing object is not an error.
func (t *Tx) DeleteObject(kind, key string) error {
	return t.tx.Bucket(bucketObjects).Delete([]byte(kind + "/" + key))
}

// Objects returns the raw JSON of every object of kind, by key.
func (t *Tx) Objects(kind string) (map[string][]byte, error) {
	out := map[string][]byte{}
	prefix := []byte(kind + "/")
	c := t.tx.Bucket(bucketObjects).Cursor()
	for k, v := c.Seek(prefix); k != nil && strings.HasPrefix(string(k), string(prefix)); k, v = c.Next() {
		out[strings.TrimPrefix(string(k), string(prefix))] = append([]byte(nil), v...)
	}
	return out, nil
}
