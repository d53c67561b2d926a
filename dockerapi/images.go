package dockerapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/podbay/podbay/engine/image"
)

func (s *Server) routeImages(w http.ResponseWriter, r *http.Request, rest string) error {
	switch {
	case rest == "json" && r.Method == http.MethodGet:
		return s.listImages(w, r)
	case rest == "create" && r.Method == http.MethodPost:
		return s.pull(w, r)
	case rest == "load" && r.Method == http.MethodPost:
		return s.load(w, r)
	case rest == "get" && r.Method == http.MethodGet:
		return s.save(w, r, r.URL.Query()["names"])
	}
	ref, action := split(rest, "json", "history", "tag", "get", "push")
	if action == "" && r.Method != http.MethodDelete {
		return notFound("page not found: %s /images/%s", r.Method, rest)
	}
	img, err := s.Images.Get(r.Context(), ref)
	if errors.Is(err, image.ErrNotFound) {
		return notFound("No such image: %s", ref)
	}
	if err != nil {
		return err
	}
	switch r.Method + " " + action {
	case "GET json":
		writeJSON(w, http.StatusOK, imageInspect(img))
		return nil
	case "GET history":
		writeJSON(w, http.StatusOK, imageHistory(img))
		return nil
	case "POST tag":
		return s.tag(w, r, ref)
	case "GET get":
		return s.save(w, r, []string{ref})
	case "DELETE ":
		return s.removeImage(w, r, ref, img)
	}
	return methodNotAllowed(r)
}

// familiar is a canonical name as Docker shows it: docker.io/library/x:t
// is x:t, docker.io/u/x:t is u/x:t.
func familiar(canon string) string {
	if rest, ok := strings.CutPrefix(canon, "docker.io/library/"); ok {
		return rest
	}
	return strings.TrimPrefix(canon, "docker.io/")
}

func repoTagsOf(img *image.Image) (tags, digests []string) {
	tags, digests = []string{}, []string{}
	for _, n := range img.Names {
		tags = append(tags, familiar(n))
		repo := n
		if i := strings.LastIndex(n, ":"); i > strings.LastIndex(n, "/") {
			repo = n[:i]
		}
		if img.Digest != "" {
			digests = append(digests, familiar(repo)+"@"+img.Digest)
		}
	}
	return tags, digests
}

func (s *Server) listImages(w http.ResponseWriter, r *http.Request) error {
	f, err := parseFilters(r)
	if err != nil {
		return err
	}
	imgs, err := s.Images.List(r.Context())
	if err != nil {
		return err
	}
	rows := []map[string]any{}
	for _, img := range imgs {
		if !f.labelsMatch(img.Config.Config.Labels) {
			continue
		}
		if !f.anyOf("reference", func(ref string) bool {
			for _, n := range img.Names {
				if familiar(n) == ref || strings.HasPrefix(familiar(n), ref+":") {
					return true
				}
			}
			return false
		}) {
			continue
		}
		tags, digests := repoTagsOf(img)
		rows = append(rows, map[string]any{"Id": "sha256:" + img.ID, "ParentId": "", "RepoTags": tags, "RepoDigests": digests,
			"Created": img.Created.Unix(), "Size": img.Size, "VirtualSize": img.Size, "SharedSize": -1,
			"Labels": nonNilMap(img.Config.Config.Labels), "Containers": -1})
	}
	writeJSON(w, http.StatusOK, rows)
	return nil
}

func imageInspect(img *image.Image) map[string]any {
	tags, digests := repoTagsOf(img)
	cfg := img.Config.Config
	layers := make([]string, 0, len(img.Layers))
	layers = append(layers, img.Layers...)
	exposed := map[string]struct{}{}
	for p := range cfg.ExposedPorts {
		exposed[p] = struct{}{}
	}
	return map[string]any{
		"Id": "sha256:" + img.ID, "RepoTags": tags, "RepoDigests": digests, "Parent": "", "Comment": "",
		"Created": dockerTime(img.Created), "Container": "", "DockerVersion": "", "Author": img.Config.Author,
		"Architecture": img.Config.Architecture, "Os": img.Config.OS, "Size": img.Size, "VirtualSize": img.Size,
		"Config": map[string]any{"User": cfg.User, "Env": cfg.Env, "Cmd": cfg.Cmd, "Entrypoint": cfg.Entrypoint,
			"WorkingDir": cfg.WorkingDir, "Labels": cfg.Labels, "ExposedPorts": exposed, "Volumes": cfg.Volumes,
			"StopSignal": cfg.StopSignal, "Image": "", "Hostname": "", "Domainname": "", "Tty": false, "OpenStdin": false},
		"GraphDriver": map[string]any{"Name": "overlay", "Data": nil},
		"RootFS":      map[string]any{"Type": "layers", "Layers": layers},
		"Metadata":    map[string]any{"LastTagTime": dockerTime(time.Time{})},
	}
}

func imageHistory(img *image.Image) []map[string]any {
	h := img.Config.History
	out := make([]map[string]any, 0, len(h))
	for i := len(h) - 1; i >= 0; i-- {
		id := "<missing>"
		var tags []string
		if i == len(h)-1 {
			id = "sha256:" + img.ID
			tags, _ = repoTagsOf(img)
		}
		out = append(out, map[string]any{"Id": id, "Created": h[i].Created.Unix(), "CreatedBy": h[i].CreatedBy,
			"Tags": tags, "Size": 0, "Comment": h[i].Comment})
	}
	return out
}

func (s *Server) tag(w http.ResponseWriter, r *http.Request, ref string) error {
	repo, tag := r.URL.Query().Get("repo"), r.URL.Query().Get("tag")
	if repo == "" {
		return badRequest("tag: repo is required")
	}
	if tag == "" {
		tag = "latest"
	}
	if err := s.Images.Tag(r.Context(), ref, repo+":"+tag); err != nil {
		return badRequest("%v", err)
	}
	s.emitImage(r.Context(), "tag", repo+":"+tag)
	w.WriteHeader(http.StatusCreated)
	return nil
}

func (s *Server) removeImage(w http.ResponseWriter, r *http.Request, ref string, img *image.Image) error {
	force := boolParam(r, "force")
	cs, err := s.visible(r.Context())
	if err != nil {
		return err
	}
	for _, c := range cs {
		if c.ImageID == img.ID && !force && len(img.Names) <= 1 {
			return conflict("conflict: unable to remove repository reference %q (must force) - container %.12s is using its referenced image %.12s", ref, c.ID, img.ID)
		}
	}
	rep, err := s.Images.Remove(r.Context(), ref, image.RemoveOptions{Force: force})
	if err != nil {
		return conflict("%v", err)
	}
	out := []map[string]string{}
	for _, n := range rep.Untagged {
		out = append(out, map[string]string{"Untagged": familiar(n)})
	}
	for _, id := range rep.Deleted {
		out = append(out, map[string]string{"Deleted": "sha256:" + id})
	}
	s.emitImage(r.Context(), "delete", ref)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// loopbackRegistry tells whether ref's registry is on this machine: Docker
// reaches those over plain HTTP without configuration (127.0.0.0/8 is an
// insecure registry by default), and so does podbay here.
func loopbackRegistry(ref string) bool {
	host, _, _ := strings.Cut(ref, "/")
	if !strings.ContainsAny(host, ".:") && host != "localhost" {
		return false
	}
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// pull serves POST /images/create?fromImage=&tag=: the pull's progress as
// Docker's JSON message stream, an error as its last message.
func (s *Server) pull(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	ref := q.Get("fromImage")
	if ref == "" {
		return badRequest("fromImage is required (importing with fromSrc is not supported)")
	}
	if tag := q.Get("tag"); tag != "" {
		sep := ":"
		if strings.Contains(tag, ":") {
			sep = "@" // a digest
		}
		ref += sep + tag
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	out := flushWriter{w: w}
	enc := json.NewEncoder(out)
	progress := &pullProgress{enc: enc}
	img, err := s.Images.Pull(r.Context(), ref, image.PullOptions{InsecureRegistry: loopbackRegistry(ref), Progress: progress})
	progress.flush()
	if err != nil {
		_ = enc.Encode(map[string]any{"errorDetail": map[string]string{"message": err.Error()}, "error": err.Error()})
		return nil
	}
	_ = enc.Encode(map[string]string{"status": "Digest: " + img.Digest})
	canon, _ := image.NormalizeRef(ref)
	_ = enc.Encode(map[string]string{"status": "Status: Downloaded newer image for " + familiar(canon)})
	s.emitImage(r.Context(), "pull", familiar(canon))
	return nil
}

// pullProgress turns the store's progress lines into Docker's messages.
type pullProgress struct {
	enc  *json.Encoder
	line []byte
}

func (p *pullProgress) Write(b []byte) (int, error) {
	p.line = append(p.line, b...)
	for {
		i := strings.IndexByte(string(p.line), '\n')
		if i < 0 {
			return len(b), nil
		}
		p.message(string(p.line[:i]))
		p.line = p.line[i+1:]
	}
}

func (p *pullProgress) flush() {
	if len(p.line) > 0 {
		p.message(string(p.line))
		p.line = nil
	}
}

func (p *pullProgress) message(l string) {
	f := strings.Fields(l)
	switch {
	case len(f) >= 4 && f[0] == "Copying" && f[1] == "blob":
		status := "Pull complete"
		if f[3] == "skipped" {
			status = "Already exists"
		}
		_ = p.enc.Encode(map[string]any{"status": status, "progressDetail": map[string]any{}, "id": f[2]})
	case len(f) >= 4 && f[0] == "Trying":
		_ = p.enc.Encode(map[string]string{"status": "Pulling from " + strings.TrimSuffix(f[3], "...")})
	default:
		_ = p.enc.Encode(map[string]string{"status": l})
	}
}

// save serves GET /images/{name}/get and /images/get?names=: one image as
// an OCI archive (docker load and podbay load read it).
func (s *Server) save(w http.ResponseWriter, r *http.Request, names []string) error {
	if len(names) != 1 {
		return badRequest("save: name exactly one image (got %d)", len(names))
	}
	dir, err := os.MkdirTemp("", "podbay-save-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	file := dir + "/image.tar"
	if err := s.Images.Save(r.Context(), names[0], file); err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/x-tar")
	w.WriteHeader(http.StatusOK)
	_, err = io.Copy(w, f)
	return err
}

// load serves POST /images/load: a docker-archive or OCI archive body.
func (s *Server) load(w http.ResponseWriter, r *http.Request) error {
	f, err := os.CreateTemp("", "podbay-load-*.tar")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = io.Copy(f, r.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return badRequest("reading the archive: %v", err)
	}
	imgs, err := s.Images.Load(r.Context(), f.Name())
	if err != nil {
		return badRequest("%v", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	for _, img := range imgs {
		name := "sha256:" + img.ID
		if len(img.Names) > 0 {
			name = familiar(img.Names[0])
		}
		_ = enc.Encode(map[string]string{"stream": fmt.Sprintf("Loaded image: %s\n", name)})
		s.emitImage(r.Context(), "load", name)
	}
	return nil
}
