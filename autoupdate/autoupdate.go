package autoupdate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
)

// Policies (the value of the io.containers.autoupdate annotation).
const (
	Registry = "registry"
	Local    = "local"
)

// Outcomes of a container in a report (Podman's UPDATED column).
const (
	NotUpdated = "false"
	Pending    = "pending" // --dry-run: an update is there
	Updated    = "true"
	RolledBack = "rolled back"
	Failed     = "failed"
)

// Candidate is a container under an auto-update policy.
type Candidate struct {
	// Unit is the systemd unit whose service runs the container's pod.
	Unit      string
	Pod       string
	Container string // its runtime name
	// Image is the reference it was created from (fully qualified), and
	// ImageID the image it runs.
	Image   string
	ImageID string
	Policy  string
}

// Images are the local store and the registries.
type Images interface {
	// RemoteDigest is the digest of what ref names in its registry now.
	RemoteDigest(ctx context.Context, ref string) (string, error)
	// Digests lists the manifest digests the local image id is known by.
	Digests(ctx context.Context, id string) ([]string, error)
	// ID is the local image ref names now.
	ID(ctx context.Context, ref string) (string, error)
	// Pull fetches ref, which then names the new image locally.
	Pull(ctx context.Context, ref string) error
	// Tag makes ref name the local image id again (a rollback).
	Tag(ctx context.Context, id, ref string) error
}

// Units restarts systemd units.
type Units interface {
	// Restart restarts the unit and returns once it is up (a Type=notify
	// service: ready) or has failed.
	Restart(ctx context.Context, unit string) error
}

// Options tune Run.
type Options struct {
	// DryRun reports pending updates and changes nothing.
	DryRun bool
	// NoRollback leaves a unit that fails to restart on the new image.
	NoRollback bool
}

// Report is one container's outcome.
type Report struct {
	Unit, Container, Image, Policy string
	Updated                        string
	Err                            error `json:"-"`
}

// Run checks every candidate and updates the units that have a newer
// image: pull (registry), restart, and on a failed restart re-tag the
// previous images and restart again. One report per candidate, sorted by
// unit and container; the error joins every failure.
func Run(ctx context.Context, cands []Candidate, imgs Images, units Units, o Options) ([]Report, error) {
	reports := make([]Report, len(cands))
	stale := make([]bool, len(cands))
	byUnit := map[string][]int{}
	for i, c := range cands {
		reports[i] = Report{Unit: c.Unit, Container: c.Container, Image: c.Image, Policy: c.Policy, Updated: NotUpdated}
		var err error
		if stale[i], err = check(ctx, imgs, c); err != nil {
			reports[i].Updated, reports[i].Err = Failed, err
			continue
		}
		if stale[i] {
			byUnit[c.Unit] = append(byUnit[c.Unit], i)
		}
	}
	for _, unit := range slices.Sorted(maps.Keys(byUnit)) {
		idx := byUnit[unit]
		if o.DryRun {
			for _, i := range idx {
				reports[i].Updated = Pending
			}
			continue
		}
		outcome, err := update(ctx, imgs, units, unit, pick(cands, idx), !o.NoRollback)
		for _, i := range idx {
			reports[i].Updated, reports[i].Err = outcome, err
		}
	}
	sort.SliceStable(reports, func(i, j int) bool {
		if reports[i].Unit != reports[j].Unit {
			return reports[i].Unit < reports[j].Unit
		}
		return reports[i].Container < reports[j].Container
	})
	var errs []error
	for _, r := range reports {
		if r.Err != nil && !slices.ContainsFunc(errs, func(e error) bool { return e == r.Err }) {
			errs = append(errs, r.Err)
		}
	}
	return reports, errors.Join(errs...)
}

func pick(cands []Candidate, idx []int) []Candidate {
	out := make([]Candidate, len(idx))
	for k, i := range idx {
		out[k] = cands[i]
	}
	return out
}

// check tells whether a newer image is there for c.
func check(ctx context.Context, imgs Images, c Candidate) (bool, error) {
	if c.Unit == "" {
		return false, fmt.Errorf("container %s has auto-update policy %s but no systemd unit runs its pod %s: play it from a .kube unit", c.Container, c.Policy, c.Pod)
	}
	if strings.Contains(c.Image, "@") {
		return false, nil // a digest names one image for ever
	}
	switch c.Policy {
	case Registry:
		remote, err := imgs.RemoteDigest(ctx, c.Image)
		if err != nil {
			return false, fmt.Errorf("container %s: %w", c.Container, err)
		}
		have, err := imgs.Digests(ctx, c.ImageID)
		if err != nil {
			return false, fmt.Errorf("container %s: its image %s: %w", c.Container, c.ImageID, err)
		}
		return !slices.Contains(have, remote), nil
	case Local:
		id, err := imgs.ID(ctx, c.Image)
		if err != nil {
			return false, fmt.Errorf("container %s: %w", c.Container, err)
		}
		return id != c.ImageID, nil
	}
	return false, fmt.Errorf("container %s: auto-update policy %q: want registry or local", c.Container, c.Policy)
}

// update pulls a unit's new images (registry policy) and restarts it; when
// the restart fails, it tags every image back and restarts again (the
// update still failed: its error says so).
func update(ctx context.Context, imgs Images, units Units, unit string, cs []Candidate, rollback bool) (string, error) {
	pulled := map[string]bool{}
	for _, c := range cs {
		if c.Policy != Registry || pulled[c.Image] {
			continue
		}
		if err := imgs.Pull(ctx, c.Image); err != nil {
			return Failed, fmt.Errorf("unit %s: %w", unit, err)
		}
		pulled[c.Image] = true
	}
	restartErr := units.Restart(ctx, unit)
	if restartErr == nil {
		return Updated, nil
	}
	restartErr = fmt.Errorf("unit %s: restarting on the new images: %w", unit, restartErr)
	if !rollback {
		return Failed, restartErr
	}
	for _, c := range cs {
		if err := imgs.Tag(ctx, c.ImageID, c.Image); err != nil {
			return Failed, errors.Join(restartErr, fmt.Errorf("unit %s: rolling back %s: %w", unit, c.Image, err))
		}
	}
	if err := units.Restart(ctx, unit); err != nil {
		return Failed, errors.Join(restartErr, fmt.Errorf("unit %s: restarting on the previous images: %w", unit, err))
	}
	return RolledBack, fmt.Errorf("%w; rolled back to the previous images", restartErr)
}
