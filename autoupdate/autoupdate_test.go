package autoupdate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// store is a fake local store and registry: the registry's tags point at
// digests, the store's names at image IDs, and a pull makes a name point
// at the image the registry's digest stands for.
type store struct {
	remote  map[string]string   // ref -> digest in the registry
	images  map[string]string   // digest -> image ID it unpacks to
	digests map[string][]string // local image ID -> digests
	names   map[string]string   // ref -> local image ID
	calls   []string
}

func newStore() *store {
	return &store{remote: map[string]string{}, images: map[string]string{}, digests: map[string][]string{}, names: map[string]string{}}
}

// add makes ref name image id (digest d) in the registry and locally.
func (s *store) add(ref, id, d string) {
	s.remote[ref], s.images[d], s.names[ref] = d, id, id
	s.digests[id] = append(s.digests[id], d)
}

// push makes ref name a new image in the registry only.
func (s *store) push(ref, id, d string) {
	s.remote[ref], s.images[d] = d, id
}

var errRegistry = errors.New("registry unreachable")

func (s *store) RemoteDigest(_ context.Context, ref string) (string, error) {
	d, ok := s.remote[ref]
	if !ok {
		return "", fmt.Errorf("checking %q: %w", ref, errRegistry)
	}
	return d, nil
}

func (s *store) Digests(_ context.Context, id string) ([]string, error) { return s.digests[id], nil }

func (s *store) ID(_ context.Context, ref string) (string, error) {
	id, ok := s.names[ref]
	if !ok {
		return "", fmt.Errorf("image %q: not found", ref)
	}
	return id, nil
}

func (s *store) Pull(_ context.Context, ref string) error {
	s.calls = append(s.calls, "pull "+ref)
	d := s.remote[ref]
	id := s.images[d]
	s.names[ref] = id
	s.digests[id] = append(s.digests[id], d)
	return nil
}

func (s *store) Tag(_ context.Context, id, ref string) error {
	s.calls = append(s.calls, "tag "+id+" "+ref)
	s.names[ref] = id
	return nil
}

// units is a fake service manager: a unit fails to start while one of
// the refs it runs names a broken image.
type units struct {
	s        *store
	runs     map[string][]string // unit -> refs its pods use
	broken   map[string]bool     // image IDs that do not start
	restarts []string
}

func (u *units) Restart(_ context.Context, unit string) error {
	u.restarts = append(u.restarts, unit)
	for _, ref := range u.runs[unit] {
		if u.broken[u.s.names[ref]] {
			return fmt.Errorf("job for %s failed", unit)
		}
	}
	return nil
}

const (
	appRef = "registry.example/app:stable"
	dbRef  = "registry.example/db:stable"
)

// world: unit web.service runs two containers of appRef, db.service one
// of dbRef; everything is up to date.
func world() (*store, *units, []Candidate) {
	s := newStore()
	s.add(appRef, "app1", "sha256:a1")
	s.add(dbRef, "db1", "sha256:d1")
	u := &units{s: s, runs: map[string][]string{"web.service": {appRef}, "db.service": {dbRef}}, broken: map[string]bool{}}
	cands := []Candidate{
		{Unit: "web.service", Pod: "web", Container: "web-app", Image: appRef, ImageID: "app1", Policy: Registry},
		{Unit: "web.service", Pod: "web", Container: "web-sidecar", Image: appRef, ImageID: "app1", Policy: Registry},
		{Unit: "db.service", Pod: "db", Container: "db-db", Image: dbRef, ImageID: "db1", Policy: Registry},
	}
	return s, u, cands
}

func outcomes(reports []Report) string {
	var out []string
	for _, r := range reports {
		out = append(out, r.Container+"="+r.Updated)
	}
	return strings.Join(out, " ")
}

func TestUpToDateChangesNothing(t *testing.T) {
	s, u, cands := world()
	reports, err := Run(context.Background(), cands, s, u, Options{})
	if err != nil || outcomes(reports) != "db-db=false web-app=false web-sidecar=false" {
		t.Errorf("%s, %v", outcomes(reports), err)
	}
	if len(s.calls)+len(u.restarts) > 0 {
		t.Errorf("calls %v, restarts %v", s.calls, u.restarts)
	}
}

// TestRegistryUpdate: a new image under the tag is pulled once and its
// unit restarted once; the other unit is left alone.
func TestRegistryUpdate(t *testing.T) {
	s, u, cands := world()
	s.push(appRef, "app2", "sha256:a2")
	reports, err := Run(context.Background(), cands, s, u, Options{})
	if err != nil || outcomes(reports) != "db-db=false web-app=true web-sidecar=true" {
		t.Errorf("%s, %v", outcomes(reports), err)
	}
	if !slices.Equal(s.calls, []string{"pull " + appRef}) || !slices.Equal(u.restarts, []string{"web.service"}) {
		t.Errorf("calls %v, restarts %v", s.calls, u.restarts)
	}
}

func TestDryRunOnlyReports(t *testing.T) {
	s, u, cands := world()
	s.push(appRef, "app2", "sha256:a2")
	reports, err := Run(context.Background(), cands, s, u, Options{DryRun: true})
	if err != nil || outcomes(reports) != "db-db=false web-app=pending web-sidecar=pending" {
		t.Errorf("%s, %v", outcomes(reports), err)
	}
	if len(s.calls)+len(u.restarts) > 0 || s.names[appRef] != "app1" {
		t.Errorf("a dry run changed things: calls %v, restarts %v", s.calls, u.restarts)
	}
}

// TestFailedRestartRollsBack: when the unit does not come up on the new
// image, the tag goes back to the image it ran and the unit is restarted
// on it; the report says rolled back and the error why.
func TestFailedRestartRollsBack(t *testing.T) {
	s, u, cands := world()
	s.push(appRef, "broken", "sha256:bad")
	u.broken["broken"] = true
	reports, err := Run(context.Background(), cands, s, u, Options{})
	if outcomes(reports) != "db-db=false web-app=rolled back web-sidecar=rolled back" {
		t.Errorf("outcomes: %s", outcomes(reports))
	}
	if err == nil || !strings.Contains(err.Error(), "job for web.service failed") || !strings.Contains(err.Error(), "rolled back") {
		t.Errorf("error: %v", err)
	}
	if s.names[appRef] != "app1" || !slices.Equal(u.restarts, []string{"web.service", "web.service"}) {
		t.Errorf("after the rollback %s names %s; restarts %v", appRef, s.names[appRef], u.restarts)
	}
	if !slices.Contains(s.calls, "tag app1 "+appRef) {
		t.Errorf("calls %v", s.calls)
	}
}

func TestRollbackThatFailsToo(t *testing.T) {
	s, u, cands := world()
	s.push(appRef, "broken", "sha256:bad")
	u.broken["broken"], u.broken["app1"] = true, true
	reports, err := Run(context.Background(), cands, s, u, Options{})
	if outcomes(reports) != "db-db=false web-app=failed web-sidecar=failed" || err == nil ||
		!strings.Contains(err.Error(), "restarting on the previous images") {
		t.Errorf("%s, %v", outcomes(reports), err)
	}
}

func TestNoRollback(t *testing.T) {
	s, u, cands := world()
	s.push(appRef, "broken", "sha256:bad")
	u.broken["broken"] = true
	reports, err := Run(context.Background(), cands, s, u, Options{NoRollback: true})
	if outcomes(reports) != "db-db=false web-app=failed web-sidecar=failed" || err == nil || s.names[appRef] != "broken" || len(u.restarts) != 1 {
		t.Errorf("%s, %v, names %s, restarts %v", outcomes(reports), err, s.names[appRef], u.restarts)
	}
}

// TestLocalPolicy: a local tag moved to a rebuilt image restarts the unit
// without pulling.
func TestLocalPolicy(t *testing.T) {
	s, u, cands := world()
	cands[2].Policy = Local
	s.names[dbRef] = "db2"
	reports, err := Run(context.Background(), cands, s, u, Options{})
	if err != nil || outcomes(reports) != "db-db=true web-app=false web-sidecar=false" {
		t.Errorf("%s, %v", outcomes(reports), err)
	}
	if len(s.calls) != 0 || !slices.Equal(u.restarts, []string{"db.service"}) {
		t.Errorf("calls %v, restarts %v", s.calls, u.restarts)
	}
}

// TestFailuresAreReportedPerContainer: a container no unit runs, one whose
// registry cannot be reached and one with an unknown policy fail alone;
// the others are still updated.
func TestFailuresAreReportedPerContainer(t *testing.T) {
	s, u, cands := world()
	s.push(dbRef, "db2", "sha256:d2")
	cands = append(cands,
		Candidate{Pod: "loose", Container: "loose-c", Image: appRef, ImageID: "app1", Policy: Registry},
		Candidate{Unit: "gone.service", Container: "gone-c", Image: "registry.example/gone:1", ImageID: "x", Policy: Registry},
		Candidate{Unit: "odd.service", Container: "odd-c", Image: appRef, ImageID: "app1", Policy: "always"},
		Candidate{Unit: "pinned.service", Container: "pinned-c", Image: appRef + "@sha256:a1", ImageID: "app1", Policy: Registry},
	)
	reports, err := Run(context.Background(), cands, s, u, Options{})
	if got := outcomes(reports); got != "loose-c=failed db-db=true gone-c=failed odd-c=failed pinned-c=false web-app=false web-sidecar=false" {
		t.Errorf("outcomes: %s", got)
	}
	for _, want := range []string{"no systemd unit runs its pod loose", "registry unreachable", `policy "always"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}
