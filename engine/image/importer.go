package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Import creates a one-layer image from a root filesystem tarball (plain, gzip or zstd),
// applies Dockerfile-style changes (ENV, CMD, ENTRYPOINT, WORKDIR, USER, EXPOSE, LABEL, VOLUME)
// and names it ref (which may be empty).
func (s *Store) Import(ctx context.Context, file, ref string, changes []string) (*Image, error) {
	var names []string
	if ref != "" {
		canon, err := NormalizeRef(ref)
		if err != nil {
			return nil, err
		}
		names = []string{canon}
	}
	cfg := v1.Config{}
	if err := ApplyChanges(&cfg, changes); err != nil {
		return nil, fmt.Errorf("importing %q: %w", file, err)
	}
	if _, err := archiveKind(file); err != nil && !errors.Is(err, errNotImageArchive) { // a readable tar
		return nil, fmt.Errorf("importing %q: %w", file, err)
	}
	layer, err := tarball.LayerFromFile(file)
	if err != nil {
		return nil, fmt.Errorf("importing %q: %w", file, err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, fmt.Errorf("importing %q: %w", file, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("importing %q: %w", file, err)
	}
	cf = cf.DeepCopy()
	plat := hostPlatform()
	cf.OS, cf.Architecture, cf.Variant = plat.OS, plat.Architecture, plat.Variant
	cf.Created = v1.Time{Time: time.Now().UTC()}
	cf.Config = cfg
	cf.History = []v1.History{{Created: cf.Created, CreatedBy: "podbay import " + file, Comment: "imported from tarball"}}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, fmt.Errorf("importing %q: %w", file, err)
	}
	out, err := s.ingest(ctx, ingestRequest{img: img, names: names})
	if err != nil {
		return nil, fmt.Errorf("importing %q: %w", file, err)
	}
	return out, nil
}

// ApplyChanges applies Podman's --change instructions (like 'ENV PATH=/bin' or 'CMD ["sh"]') to cfg.
func ApplyChanges(cfg *v1.Config, changes []string) error {
	for _, c := range changes {
		if err := applyChange(cfg, c); err != nil {
			return fmt.Errorf("change %q: %w", c, err)
		}
	}
	return nil
}

func applyChange(cfg *v1.Config, change string) error {
	change = strings.TrimSpace(change)
	i := strings.IndexAny(change, " \t=")
	if i < 0 {
		return fmt.Errorf("missing value for instruction %q", change)
	}
	instr, arg := strings.ToUpper(change[:i]), strings.TrimSpace(change[i+1:])
	if arg == "" {
		return fmt.Errorf("missing value for %s", instr)
	}
	switch instr {
	case "CMD", "ENTRYPOINT":
		args, err := execForm(arg)
		if err != nil {
			return err
		}
		if instr == "CMD" {
			cfg.Cmd = args
		} else {
			cfg.Entrypoint = args
		}
	case "ENV":
		kvs, err := keyValues(arg)
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			cfg.Env = setEnv(cfg.Env, kv[0], kv[1])
		}
	case "LABEL":
		kvs, err := keyValues(arg)
		if err != nil {
			return err
		}
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		for _, kv := range kvs {
			cfg.Labels[kv[0]] = kv[1]
		}
	case "WORKDIR":
		cfg.WorkingDir = unquote(arg)
	case "USER":
		cfg.User = unquote(arg)
	case "EXPOSE":
		return expose(cfg, arg)
	case "VOLUME":
		return volume(cfg, arg)
	default:
		return fmt.Errorf("unknown instruction %q (valid: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR)", instr)
	}
	return nil
}

// execForm parses a JSON array, or wraps a shell form in /bin/sh -c.
func execForm(arg string) ([]string, error) {
	if strings.HasPrefix(arg, "[") {
		var out []string
		if err := json.Unmarshal([]byte(arg), &out); err != nil {
			return nil, fmt.Errorf("invalid JSON array %s: %w", arg, err)
		}
		return out, nil
	}
	return []string{"/bin/sh", "-c", arg}, nil
}

// keyValues parses "K=V K2='v 2'" or the legacy single "K V" form.
func keyValues(arg string) ([][2]string, error) {
	words, err := splitWords(arg)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(words[0], "=") {
		k, v, _ := strings.Cut(arg, " ")
		return [][2]string{{k, unquote(strings.TrimSpace(v))}}, nil
	}
	var out [][2]string
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not KEY=VALUE", w)
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

// splitWords splits on blanks, honouring single and double quotes (which it removes).
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	var quote rune
	inWord := false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words, inWord = append(words, cur.String()), false
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("missing value")
	}
	return words, nil
}

func unquote(s string) string {
	if w, err := splitWords(s); err == nil && len(w) == 1 {
		return w[0]
	}
	return s
}

func setEnv(env []string, k, v string) []string {
	for i, e := range env {
		if strings.HasPrefix(e, k+"=") {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

func expose(cfg *v1.Config, arg string) error {
	if cfg.ExposedPorts == nil {
		cfg.ExposedPorts = map[string]struct{}{}
	}
	for _, p := range strings.Fields(arg) {
		port, proto, _ := strings.Cut(p, "/")
		if proto == "" {
			proto = "tcp"
		}
		var n int
		if _, err := fmt.Sscanf(port, "%d", &n); err != nil || n < 1 || n > 65535 || fmt.Sprint(n) != port {
			return fmt.Errorf("invalid port %q", p)
		}
		if proto != "tcp" && proto != "udp" && proto != "sctp" {
			return fmt.Errorf("invalid protocol in %q", p)
		}
		cfg.ExposedPorts[port+"/"+proto] = struct{}{}
	}
	return nil
}

func volume(cfg *v1.Config, arg string) error {
	var vols []string
	if strings.HasPrefix(arg, "[") {
		if err := json.Unmarshal([]byte(arg), &vols); err != nil {
			return fmt.Errorf("invalid JSON array %s: %w", arg, err)
		}
	} else {
		vols = strings.Fields(arg)
	}
	if cfg.Volumes == nil {
		cfg.Volumes = map[string]struct{}{}
	}
	for _, v := range vols {
		if !strings.HasPrefix(v, "/") {
			return fmt.Errorf("volume %q is not an absolute path", v)
		}
		cfg.Volumes[v] = struct{}{}
	}
	return nil
}
