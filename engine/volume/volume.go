package volume

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"github.com/podbay/podbay/internal/flock"
)

// Sentinel errors, matched with errors.Is.
var (
	ErrNotFound = errors.New("no such volume")
	ErrExists   = errors.New("volume already exists")
)

var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// Volume is a named volume: a directory under the store, with metadata.
type Volume struct {
	Name       string            `json:"Name"`
	Driver     string            `json:"Driver"`
	Mountpoint string            `json:"Mountpoint"`
	CreatedAt  time.Time         `json:"CreatedAt"`
	Labels     map[string]string `json:"Labels,omitempty"`
	Options    map[string]string `json:"Options,omitempty"`
}

// Store keeps named volumes under <root>/volumes/<name>/_data, as Podman does.
type Store struct{ dir string }

// Open returns the store under root.
func Open(root string) (*Store, error) {
	dir := filepath.Join(root, "volumes")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating volume store %s: %w", dir, err)
	}
	return &Store{dir: dir}, nil
}

// CreateOptions describe a new volume.
type CreateOptions struct {
	Name     string
	Labels   map[string]string
	Options  map[string]string
	IfExists bool // return the existing volume instead of ErrExists
}

func (s *Store) lock() (func(), error) {
	unlock, err := flock.Lock(filepath.Join(s.dir, ".lock"))
	if err != nil {
		return nil, fmt.Errorf("locking volumes: %w", err)
	}
	return unlock, nil
}

// Create makes a named volume.
func (s *Store) Create(ctx context.Context, o CreateOptions) (*Volume, error) {
	if !validName.MatchString(o.Name) {
		return nil, fmt.Errorf("volume name %q: must match [a-zA-Z0-9][a-zA-Z0-9_.-]*", o.Name)
	}
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if v, err := s.read(o.Name); err == nil {
		if o.IfExists {
			return v, nil
		}
		return nil, fmt.Errorf("volume %s: %w", o.Name, ErrExists)
	}
	v := &Volume{Name: o.Name, Driver: "local", Mountpoint: filepath.Join(s.dir, o.Name, "_data"),
		CreatedAt: time.Now().UTC(), Labels: o.Labels, Options: o.Options}
	if err := os.MkdirAll(v.Mountpoint, 0o755); err != nil {
		return nil, fmt.Errorf("creating volume %s: %w", o.Name, err)
	}
	data, _ := json.Marshal(v)
	tmp := filepath.Join(s.dir, o.Name, "volume.json.tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return nil, err
	}
	return v, os.Rename(tmp, filepath.Join(s.dir, o.Name, "volume.json"))
}

func (s *Store) read(name string) (*Volume, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, name, "volume.json"))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("volume %s: %w", name, ErrNotFound)
		}
		return nil, err
	}
	var v Volume
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("volume %s: %w", name, err)
	}
	return &v, nil
}

// Get returns a volume by name.
func (s *Store) Get(ctx context.Context, name string) (*Volume, error) {
	if !validName.MatchString(name) {
		return nil, fmt.Errorf("volume %s: %w", name, ErrNotFound)
	}
	return s.read(name)
}

// List returns every volume, by name.
func (s *Store) List(ctx context.Context) ([]*Volume, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var out []*Volume
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		if v, err := s.read(e.Name()); err == nil {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Remove deletes a volume and its data.
func (s *Store) Remove(ctx context.Context, name string) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := s.read(name); err != nil {
		return err
	}
	if err := os.RemoveAll(filepath.Join(s.dir, name)); err != nil {
		return fmt.Errorf("removing volume %s: %w", name, err)
	}
	return nil
}
