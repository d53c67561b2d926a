package runtime

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// WriteBundle writes spec as dir/config.json, atomically, creating dir.
func WriteBundle(dir string, spec *specs.Spec) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating bundle %q: %w", dir, err)
	}
	data, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("encoding spec for bundle %q: %w", dir, err)
	}
	return writeFileAtomic(filepath.Join(dir, "config.json"), data)
}

// ReadBundle reads dir/config.json.
func ReadBundle(dir string) (*specs.Spec, error) {
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("reading bundle: %w", err)
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("decoding bundle %q: %w", dir, err)
	}
	return &s, nil
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Close()
	} else {
		tmp.Close()
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %q: %w", path, err)
	}
	return nil
}
