// Package secret keeps podbay's secrets (podbay secret create): named
// blobs in the state store that kube play finds when a manifest references
// a Secret its files do not define.
package secret

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/podbay/podbay/engine/state"
)

// Kind is the state object kind of secrets.
const Kind = "secret"

// MaxSize bounds a secret's data, as Podman bounds it (512 KiB).
const MaxSize = 512 << 10

// Sentinel errors, matched with errors.Is.
var (
	ErrNotFound = errors.New("no such secret")
	ErrExists   = errors.New("secret already exists")
)

var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// Secret is one stored secret. Data is only filled by Get with data.
type Secret struct {
	ID        string            `json:"ID"`
	Name      string            `json:"Name"`
	Driver    string            `json:"Driver"`
	Labels    map[string]string `json:"Labels,omitempty"`
	CreatedAt time.Time         `json:"CreatedAt"`
	UpdatedAt time.Time         `json:"UpdatedAt"`
	Data      []byte            `json:"Data,omitempty"`
}

// Store is the secrets of one state store.
type Store struct{ State *state.Store }

// CreateOptions describe a new secret.
type CreateOptions struct {
	Name    string
	Data    []byte
	Labels  map[string]string
	Replace bool // replace a secret of the same name, keeping its ID
}

// Create stores a secret.
func (s Store) Create(ctx context.Context, o CreateOptions) (*Secret, error) {
	if !validName.MatchString(o.Name) || len(o.Name) > 253 {
		return nil, fmt.Errorf("secret name %q: must match [a-zA-Z0-9][a-zA-Z0-9_.-]* (at most 253 characters)", o.Name)
	}
	if len(o.Data) == 0 {
		return nil, fmt.Errorf("secret %s: no data", o.Name)
	}
	if len(o.Data) > MaxSize {
		return nil, fmt.Errorf("secret %s: %d bytes: at most %d", o.Name, len(o.Data), MaxSize)
	}
	now := time.Now().UTC()
	sec := &Secret{ID: newID(), Name: o.Name, Driver: "file", Labels: o.Labels, CreatedAt: now, UpdatedAt: now, Data: o.Data}
	err := s.State.Update(ctx, func(tx *state.Tx) error {
		var old Secret
		switch err := tx.Object(Kind, o.Name, &old); {
		case err == nil && !o.Replace:
			return fmt.Errorf("secret %s: %w", o.Name, ErrExists)
		case err == nil:
			sec.ID, sec.CreatedAt = old.ID, old.CreatedAt
		case !errors.Is(err, state.ErrNotFound):
			return err
		}
		return tx.PutObject(Kind, o.Name, sec)
	})
	if err != nil {
		return nil, err
	}
	return sec, nil
}

// List returns every secret, without data, by name.
func (s Store) List(ctx context.Context) ([]*Secret, error) {
	all, err := s.all(ctx)
	for _, sec := range all {
		sec.Data = nil
	}
	return all, err
}

// All returns every secret with its data, by name.
func (s Store) All(ctx context.Context) ([]*Secret, error) { return s.all(ctx) }

func (s Store) all(ctx context.Context) ([]*Secret, error) {
	var raw map[string][]byte
	err := s.State.View(ctx, func(tx *state.Tx) error {
		var err error
		raw, err = tx.Objects(Kind)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]*Secret, 0, len(raw))
	for name, b := range raw {
		var sec Secret
		if err := json.Unmarshal(b, &sec); err != nil {
			return nil, fmt.Errorf("secret %s: %w", name, err)
		}
		out = append(out, &sec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Get finds a secret by name, ID or unique ID prefix, with its data.
func (s Store) Get(ctx context.Context, ref string) (*Secret, error) {
	all, err := s.all(ctx)
	if err != nil {
		return nil, err
	}
	var match []*Secret
	for _, sec := range all {
		if sec.Name == ref || sec.ID == ref {
			return sec, nil
		}
		if len(ref) >= 3 && strings.HasPrefix(sec.ID, ref) {
			match = append(match, sec)
		}
	}
	if len(match) == 1 {
		return match[0], nil
	}
	if len(match) > 1 {
		return nil, fmt.Errorf("secret %s: the prefix names %d secrets", ref, len(match))
	}
	return nil, fmt.Errorf("secret %s: %w", ref, ErrNotFound)
}

// Remove deletes a secret by name or ID.
func (s Store) Remove(ctx context.Context, ref string) (*Secret, error) {
	sec, err := s.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	return sec, s.State.Update(ctx, func(tx *state.Tx) error { return tx.DeleteObject(Kind, sec.Name) })
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
