package image

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// NormalizeRef qualifies a reference the way Podman users expect
// (busybox -> docker.io/library/busybox:latest) and returns its canonical string.
func NormalizeRef(ref string) (string, error) {
	r, err := parseRef(ref, false)
	if err != nil {
		return "", err
	}
	return refString(r), nil
}

// parseRef parses ref with ggcr, adding the default tag; insecure allows plain http.
func parseRef(ref string, insecure bool) (name.Reference, error) {
	if ref == "" {
		return nil, fmt.Errorf("invalid reference \"\": empty")
	}
	opts := []name.Option{name.WithDefaultTag("latest")}
	if insecure {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("invalid reference %q: %w", ref, err)
	}
	return r, nil
}

// refString renders r with Docker Hub spelled docker.io, as Podman shows it.
func refString(r name.Reference) string {
	repo := repoString(r.Context())
	switch v := r.(type) {
	case name.Digest:
		return repo + "@" + v.DigestStr()
	case name.Tag:
		return repo + ":" + v.TagStr()
	}
	return r.Name()
}

// repoString renders a repository with Docker Hub spelled docker.io.
func repoString(repo name.Repository) string {
	host := repo.RegistryStr()
	if host == name.DefaultRegistry {
		host = "docker.io"
	}
	return host + "/" + repo.RepositoryStr()
}

// looksLikeID reports whether s could be an image ID or an ID prefix.
func looksLikeID(s string) bool {
	s = strings.TrimPrefix(s, "sha256:")
	if len(s) < 3 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
