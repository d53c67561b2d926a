package network

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/podbay/podbay/internal/flock"
)

// lockFile takes an exclusive lock on path, shared by every podbay process
// that uses the same root, creating it and its directory if needed. It
// blocks until the lock is free.
func lockFile(path string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating lock directory for %s: %w", path, err)
	}
	return flock.Lock(path)
}
