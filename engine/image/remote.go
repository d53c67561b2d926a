package image

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// PullOptions tunes how a registry is reached; Push uses the same options.
type PullOptions struct {
	InsecureRegistry bool         // allow plain http and skip TLS verification (--tls-verify=false)
	AuthFile         string       // credentials file; default $XDG_RUNTIME_DIR/containers/auth.json, then ~/.docker/config.json
	Platform         *v1.Platform // default: the host's platform
	Progress         io.Writer    // human progress lines; may be nil
}

// Pull fetches ref from its registry, resolving manifest lists to the platform, and stores it.
func (s *Store) Pull(ctx context.Context, ref string, opts PullOptions) (*Image, error) {
	r, err := parseRef(ref, opts.InsecureRegistry)
	if err != nil {
		return nil, err
	}
	canon := refString(r)
	ropts := remoteOptions(ctx, opts)
	desc, err := remote.Get(r, ropts...)
	if err != nil {
		return nil, fmt.Errorf("pulling %q: %w", canon, registryError(r, err))
	}
	var extra []string
	img, err := desc.Image()
	if desc.MediaType.IsIndex() {
		extra = append(extra, desc.Digest.String())
	}
	if err != nil {
		return nil, fmt.Errorf("pulling %q: %w", canon, registryError(r, err))
	}
	fmt.Fprintf(progressOf(opts.Progress), "Trying to pull %s...\n", canon)
	var names []string
	if _, isDigest := r.(name.Digest); !isDigest {
		names = []string{canon}
	}
	out, err := s.ingest(ctx, ingestRequest{img: img, names: names, digests: extra, progress: opts.Progress, verified: true})
	if err != nil {
		return nil, fmt.Errorf("pulling %q: %w", canon, registryError(r, err))
	}
	s.log.Info("pulled image", "ref", canon, "id", out.ID)
	return out, nil
}

// RemoteDigest asks ref's registry for the digest of the manifest (or
// manifest list) ref names now, without pulling it (a HEAD request).
func (s *Store) RemoteDigest(ctx context.Context, ref string, opts PullOptions) (string, error) {
	r, err := parseRef(ref, opts.InsecureRegistry)
	if err != nil {
		return "", err
	}
	desc, err := remote.Head(r, remoteOptions(ctx, opts)...)
	if err != nil {
		return "", fmt.Errorf("checking %q: %w", refString(r), registryError(r, err))
	}
	return desc.Digest.String(), nil
}

// Push uploads the stored image ref to the registry its name points at.
func (s *Store) Push(ctx context.Context, ref string, opts PullOptions) error {
	img, rec, err := s.v1Image(ref)
	if err != nil {
		return err
	}
	r, err := parseRef(ref, opts.InsecureRegistry)
	if err != nil {
		return err
	}
	if looksLikeID(ref) && len(rec.Names) > 0 && !strings.Contains(ref, "/") {
		if r, err = parseRef(rec.Names[0], opts.InsecureRegistry); err != nil {
			return err
		}
	}
	canon := refString(r)
	fmt.Fprintf(progressOf(opts.Progress), "Pushing %s\n", canon)
	if err := remote.Write(r, img, remoteOptions(ctx, opts)...); err != nil {
		return fmt.Errorf("pushing %q: %w", canon, registryError(r, err))
	}
	return nil
}

// remoteOptions builds ggcr options: context, platform, credentials and transport.
func remoteOptions(ctx context.Context, opts PullOptions) []remote.Option {
	plat := hostPlatform()
	if opts.Platform != nil {
		plat = *opts.Platform
	}
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithPlatform(plat),
		remote.WithAuthFromKeychain(authFiles(opts.AuthFile)),
		remote.WithTransport(newTransport(opts.InsecureRegistry)),
		remote.WithJobs(maxParallelLayers),
	}
}

// hostPlatform is the platform images are resolved to by default.
func hostPlatform() v1.Platform {
	p := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	if runtime.GOARCH == "arm" {
		p.Variant = "v7"
	}
	return p
}

// newTransport refuses plain http unless insecure, and then also skips TLS verification.
func newTransport(insecure bool) http.RoundTripper {
	t := remote.DefaultTransport.(*http.Transport).Clone()
	if insecure {
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // --tls-verify=false
		return t
	}
	return httpsOnly{t}
}

type httpsOnly struct{ next http.RoundTripper }

func (h httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" {
		return nil, fmt.Errorf("%s: %w", req.URL.Host, errPlainHTTP)
	}
	return h.next.RoundTrip(req)
}

// registryError turns ggcr errors into one clear line saying what the registry said.
func registryError(r name.Reference, err error) error {
	host := r.Context().RegistryStr()
	var te *transport.Error
	if errors.As(err, &te) {
		var msgs []string
		for _, d := range te.Errors {
			msgs = append(msgs, strings.ToLower(d.Message))
		}
		if len(msgs) == 0 {
			msgs = append(msgs, strings.ToLower(http.StatusText(te.StatusCode)))
		}
		return &RegistryError{Registry: host, Message: strings.Join(msgs, "; "), StatusCode: te.StatusCode}
	}
	if errors.Is(err, http.ErrSchemeMismatch) || errors.Is(err, errPlainHTTP) {
		return fmt.Errorf("registry %s is not served over https: %w", host, errPlainHTTP)
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return fmt.Errorf("registry %s unreachable: %w", host, oe)
	}
	// A syscall.Errno is a net.Error too: a local file error (a full disk
	// while unpacking) is not the registry's.
	var ne net.Error
	var pe *os.PathError
	if errors.As(err, &ne) && !errors.As(err, &pe) {
		return fmt.Errorf("registry %s unreachable: %w", host, err)
	}
	return err
}

// errPlainHTTP is returned when a registry needs plain http and it was not allowed.
var errPlainHTTP = errors.New("use --tls-verify=false to allow plain http")

// RegistryError is what a registry answered (unknown image, denied, ...).
type RegistryError struct {
	Registry   string
	Message    string // e.g. "manifest unknown"
	StatusCode int
}

func (e *RegistryError) Error() string {
	return fmt.Sprintf("registry %s says: %s (HTTP %d)", e.Registry, e.Message, e.StatusCode)
}

// authFiles returns a keychain over the first existing credentials file.
func authFiles(explicit string) authn.Keychain {
	if explicit != "" {
		return fileKeychain{paths: []string{explicit}}
	}
	var paths []string
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		paths = append(paths, filepath.Join(d, "containers", "auth.json"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		paths = append(paths, filepath.Join(home, ".docker", "config.json"))
	}
	return fileKeychain{paths: paths}
}

// fileKeychain reads credentials from containers-auth.json / Docker config files.
type fileKeychain struct{ paths []string }

func (k fileKeychain) Resolve(res authn.Resource) (authn.Authenticator, error) {
	for _, p := range k.paths {
		data, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading credentials %s: %w", p, err)
		}
		var f struct {
			Auths map[string]authn.AuthConfig `json:"auths"`
		}
		if err := json.Unmarshal(data, &f); err != nil {
			return nil, fmt.Errorf("decoding credentials %s: %w", p, err)
		}
		if cfg, ok := lookupAuth(f.Auths, res); ok {
			return authn.FromConfig(cfg), nil
		}
	}
	return authn.Anonymous, nil
}

// lookupAuth finds the most specific entry: registry/repository, then registry.
func lookupAuth(auths map[string]authn.AuthConfig, res authn.Resource) (authn.AuthConfig, bool) {
	host := res.RegistryStr()
	keys := []string{}
	if repo, ok := res.(name.Repository); ok {
		path := host + "/" + repo.RepositoryStr()
		for p := path; strings.Contains(p, "/"); p = p[:strings.LastIndex(p, "/")] {
			keys = append(keys, p)
		}
	}
	keys = append(keys, host, "https://"+host, "http://"+host)
	if host == name.DefaultRegistry {
		keys = append(keys, "docker.io", "https://index.docker.io/v1/")
	}
	for _, k := range keys {
		if cfg, ok := auths[k]; ok {
			return cfg, true
		}
	}
	return authn.AuthConfig{}, false
}
