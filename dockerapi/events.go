package dockerapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/podbay/podbay/engine/network"
	"github.com/podbay/podbay/engine/state"
)

// event is one message of GET /events.
type event struct {
	Type     string `json:"Type"`
	Action   string `json:"Action"`
	Actor    actor  `json:"Actor"`
	Scope    string `json:"scope"`
	Time     int64  `json:"time"`
	TimeNano int64  `json:"timeNano"`
	// The pre-1.22 fields, which some clients still read.
	Status string `json:"status,omitempty"`
	ID     string `json:"id,omitempty"`
	From   string `json:"from,omitempty"`
}

type actor struct {
	ID         string            `json:"ID"`
	Attributes map[string]string `json:"Attributes"`
}

// events fans the server's own image, network and volume events out to
// the streams. Container events are not sent here: each stream watches
// the state store, so it sees what every podbay process does (a container
// started by the CLI, one that exited on its own), not only this server.
type events struct {
	mu   sync.Mutex
	subs map[chan event]bool
}

func (e *events) subscribe() chan event {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.subs == nil {
		e.subs = map[chan event]bool{}
	}
	ch := make(chan event, 64)
	e.subs[ch] = true
	return ch
}

func (e *events) unsubscribe(ch chan event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.subs, ch)
}

func (e *events) publish(ev event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for ch := range e.subs {
		select {
		case ch <- ev:
		default: // a stream that does not read loses events, never blocks the server
		}
	}
}

func newEvent(typ, action, id string, attrs map[string]string) event {
	now := time.Now()
	return event{Type: typ, Action: action, Actor: actor{ID: id, Attributes: attrs}, Scope: "local",
		Time: now.Unix(), TimeNano: now.UnixNano(), Status: action, ID: id}
}

func (s *Server) emitImage(_ context.Context, action, name string) {
	s.events.publish(newEvent("image", action, name, map[string]string{"name": name}))
}

func (s *Server) emitNetwork(_ context.Context, action string, n *network.Network) {
	s.events.publish(newEvent("network", action, networkID(n.Name), map[string]string{"name": dockerNetworkName(n), "type": "bridge"}))
}

func (s *Server) emitVolume(_ context.Context, action, name string) {
	s.events.publish(newEvent("volume", action, name, map[string]string{"driver": "local"}))
}

// containerEvent is a container's event, with Docker's attributes: its
// name, image and labels.
func containerEvent(action string, c *state.Container) event {
	attrs := map[string]string{"name": c.Name, "image": c.Image}
	for k, v := range c.Labels {
		attrs[k] = v
	}
	if action == "die" {
		attrs["exitCode"] = strconv.Itoa(c.ExitCode)
	}
	ev := newEvent("container", action, c.ID, attrs)
	ev.From = c.Image
	return ev
}

// containerChanges compares two listings and returns their events: create,
// start, die, destroy.
func containerChanges(before, after map[string]*state.Container) []event {
	var out []event
	for id, c := range after {
		prev, ok := before[id]
		switch {
		case !ok:
			out = append(out, containerEvent("create", c))
			if c.State == state.StateRunning {
				out = append(out, containerEvent("start", c))
			}
		case c.State == state.StateRunning && (prev.State != state.StateRunning || !prev.StartedAt.Equal(c.StartedAt)):
			if prev.State == state.StateRunning {
				out = append(out, containerEvent("die", prev))
			}
			out = append(out, containerEvent("start", c))
		case c.State == state.StateExited && prev.State == state.StateRunning:
			out = append(out, containerEvent("die", c))
		}
	}
	for id, c := range before {
		if _, ok := after[id]; !ok {
			if c.State == state.StateRunning {
				out = append(out, containerEvent("die", c))
			}
			out = append(out, containerEvent("destroy", c))
		}
	}
	return out
}

func (s *Server) snapshot(ctx context.Context) map[string]*state.Container {
	cs, err := s.visible(ctx)
	out := map[string]*state.Container{}
	if err != nil {
		return out
	}
	for _, c := range cs {
		out[c.ID] = c
	}
	return out
}

// eventMatch applies the filters of docker events: type, event, container,
// image, label.
func (f filters) eventMatch(ev event) bool {
	return f.anyOf("type", func(t string) bool { return t == ev.Type }) &&
		f.anyOf("event", func(a string) bool { return a == ev.Action }) &&
		f.anyOf("container", func(c string) bool {
			return ev.Type == "container" && (strings.HasPrefix(ev.Actor.ID, c) || ev.Actor.Attributes["name"] == c)
		}) &&
		f.anyOf("image", func(i string) bool { return ev.Actor.Attributes["image"] == i || ev.From == i }) &&
		f.labelsMatch(ev.Actor.Attributes)
}

// eventPoll is how often a stream looks at the state store for container
// changes.
const eventPoll = 250 * time.Millisecond

// streamEvents serves GET /events: a stream of JSON messages until the
// client leaves or ?until= passes.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	f, err := parseFilters(r)
	if err != nil {
		return err
	}
	var until <-chan time.Time
	if u := r.URL.Query().Get("until"); u != "" {
		secs, err := strconv.ParseFloat(u, 64)
		if err != nil {
			return badRequest("until %q: want a unix time", u)
		}
		t := time.NewTimer(time.Until(time.Unix(0, int64(secs*1e9))))
		defer t.Stop()
		until = t.C
	}
	ch := s.events.subscribe()
	defer s.events.unsubscribe(ch)
	seen := s.snapshot(ctx)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	out := flushWriter{w: w}
	out.Write(nil)
	enc := json.NewEncoder(out)
	tick := time.NewTicker(eventPoll)
	defer tick.Stop()
	send := func(ev event) error {
		if !f.eventMatch(ev) {
			return nil
		}
		return enc.Encode(ev)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-until:
			return nil
		case ev := <-ch:
			if send(ev) != nil {
				return nil
			}
		case <-tick.C:
			now := s.snapshot(ctx)
			for _, ev := range containerChanges(seen, now) {
				if send(ev) != nil {
					return nil
				}
			}
			seen = now
		}
	}
}
