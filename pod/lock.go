package pod

import (
	"os"
	"path/filepath"

	"github.com/podbay/podbay/internal/flock"
)

// lockPath takes an exclusive flock on path (made, with its directory, if
// missing); unlock releases it.
func lockPath(path string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	return flock.Lock(path)
}
