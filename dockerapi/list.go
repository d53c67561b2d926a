package dockerapi

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/pod"
	"github.com/podbay/podbay/podspec"
)

// filters are Docker's ?filters=: {"label": ["k=v"], ...}; old clients
// send {"label": {"k=v": true}}.
type filters map[string][]string

func parseFilters(r *http.Request) (filters, error) {
	raw := r.URL.Query().Get("filters")
	if raw == "" {
		return filters{}, nil
	}
	var f filters
	if err := json.Unmarshal([]byte(raw), &f); err == nil {
		return f, nil
	}
	var old map[string]map[string]bool
	if err := json.Unmarshal([]byte(raw), &old); err != nil {
		return nil, badRequest("filters %q: %v", raw, err)
	}
	f = filters{}
	for k, set := range old {
		for v, on := range set {
			if on {
				f[k] = append(f[k], v)
			}
		}
	}
	return f, nil
}

// labelsMatch tells whether labels satisfy every label filter (KEY or KEY=VALUE).
func (f filters) labelsMatch(labels map[string]string) bool {
	for _, want := range f["label"] {
		k, v, hasValue := strings.Cut(want, "=")
		got, ok := labels[k]
		if !ok || hasValue && got != v {
			return false
		}
	}
	return true
}

// anyOf tells whether a filter is unset or one of its values matches.
func (f filters) anyOf(key string, match func(string) bool) bool {
	vals := f[key]
	if len(vals) == 0 {
		return true
	}
	for _, v := range vals {
		if match(v) {
			return true
		}
	}
	return false
}

// containerMatch applies docker ps's filters: label, name, id, status,
// ancestor, network.
func (f filters) containerMatch(c *state.Container, v *podspec.Pod) bool {
	return f.labelsMatch(c.Labels) &&
		f.anyOf("name", func(n string) bool { return strings.Contains(c.Name, strings.TrimPrefix(n, "/")) }) &&
		f.anyOf("id", func(id string) bool { return strings.HasPrefix(c.ID, id) }) &&
		f.anyOf("status", func(st string) bool { return st == dockerState(c) }) &&
		f.anyOf("ancestor", func(img string) bool { return c.Image == img || strings.Contains(c.Image, "/"+img) }) &&
		f.anyOf("network", func(n string) bool { return networkMode(v) == n })
}

func (s *Server) listContainers(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	f, err := parseFilters(r)
	if err != nil {
		return err
	}
	all := boolParam(r, "all")
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	cs, err := s.visible(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	rows := []map[string]any{}
	for i := len(cs) - 1; i >= 0; i-- { // newest first
		c := cs[i]
		if !all && c.State != state.StateRunning && len(f["status"]) == 0 {
			continue
		}
		v := pod.ViewOf(c)
		if !f.containerMatch(c, &v) {
			continue
		}
		n, err := s.netInfo(ctx, c, &v)
		if err != nil {
			return err
		}
		rows = append(rows, summaryOf(c, &v, n, s.volumeDir(), now))
		if limit > 0 && len(rows) == limit {
			break
		}
	}
	writeJSON(w, http.StatusOK, rows)
	return nil
}

func (s *Server) pruneContainers(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	f, err := parseFilters(r)
	if err != nil {
		return err
	}
	cs, err := s.visible(ctx)
	if err != nil {
		return err
	}
	deleted := []string{}
	for _, c := range cs {
		if c.State == state.StateRunning || !f.labelsMatch(c.Labels) {
			continue
		}
		if err := s.remove(ctx, c, false); err != nil {
			return err
		}
		deleted = append(deleted, c.ID)
	}
	writeJSON(w, http.StatusOK, map[string]any{"ContainersDeleted": deleted, "SpaceReclaimed": 0})
	return nil
}

// netInfo finds a container's place on its network (its pod's attachment).
func (s *Server) netInfo(ctx context.Context, c *state.Container, v *podspec.Pod) (netInfo, error) {
	if v.Network.Mode != podspec.NetworkBridge || c.PodID == "" {
		return netInfo{}, nil
	}
	n, err := s.findNetwork(ctx, v.NetworkName())
	if err != nil {
		return netInfo{Name: networkMode(v)}, nil // removed behind our back: shown by name
	}
	out := netInfo{Name: dockerNetworkName(n), ID: networkID(n.Name), Gateway: n.Gateway}
	p, err := s.Manager.LookupPod(ctx, c.PodID)
	if err != nil {
		return out, nil
	}
	att, err := s.Manager.PodAttachment(ctx, p)
	if err != nil || att == nil {
		return out, nil
	}
	out.IP, out.MAC = att.IP, att.MAC
	if _, bits, ok := strings.Cut(att.Prefix, "/"); ok {
		out.PrefixLen, _ = strconv.Atoi(bits)
	}
	return out, nil
}

// health is State.Health.Status of a container with a HEALTHCHECK (a
// readiness probe): healthy once ready, starting until its failures could
// have made it unhealthy, then unhealthy; "" without one.
func (s *Server) health(c *state.Container, v *podspec.Pod) string {
	ctr := v.Container()
	if ctr == nil || ctr.Readiness == nil {
		return ""
	}
	if c.State == state.StateRunning && s.Manager.ContainerReady(c) {
		return "healthy"
	}
	p := ctr.Readiness
	grace := time.Duration(p.InitialDelaySeconds+p.PeriodSeconds*p.FailureThreshold) * time.Second
	if c.State == state.StateRunning && time.Since(c.StartedAt) < grace {
		return "starting"
	}
	return "unhealthy"
}

// volumeDir is where named volumes live.
func (s *Server) volumeDir() string { return filepath.Join(s.Manager.Root, "volumes") }
