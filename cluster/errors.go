package cluster

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// reachError explains a failed request that is not about one object: the
// server cannot be reached, or it refuses the credentials or their rights.
func (c *Client) reachError(err error) error {
	var ue *url.Error
	var unknownCA x509.UnknownAuthorityError
	switch {
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("the cluster at %s does not accept the credentials of %s (401 Unauthorized): %w", c.Server, c.Context, err)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("the cluster at %s: %w", c.Server, err)
	case errors.As(err, &unknownCA):
		return fmt.Errorf("the cluster at %s (%s) has a certificate no known authority signed (give its CA with --ca-cert-file FILE, or --ca-cert-file=%s to skip verification): %w",
			c.Server, c.Context, Insecure, unwrapURL(err))
	case errors.As(err, &ue):
		return fmt.Errorf("cannot reach the cluster at %s (%s): %w", c.Server, c.Context, unwrapURL(err))
	}
	return fmt.Errorf("the cluster at %s: %w", c.Server, err)
}

// unwrapURL drops the *url.Error layer, whose message repeats the method and URL.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// objectError is the error of one object's request: the server's own
// message for an API error, else what reachError says.
func (c *Client) objectError(err error) error {
	var se apierrors.APIStatus
	if errors.As(err, &se) && !apierrors.IsUnauthorized(err) {
		return err
	}
	return c.reachError(err)
}

// warnings collects the Warning headers of the requests made with its context.
type warnings struct {
	mu   sync.Mutex
	list []string
}

type warningsKey struct{}

// withWarnings returns a context whose requests' warnings w collects.
func withWarnings(ctx context.Context) (context.Context, *warnings) {
	w := &warnings{}
	return context.WithValue(ctx, warningsKey{}, w), w
}

func (w *warnings) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.list)
}

// warningCollector hands each Warning header to the context's warnings;
// warnings of other requests are dropped (client-go would log them).
type warningCollector struct{}

func (warningCollector) HandleWarningHeaderWithContext(ctx context.Context, code int, _ string, text string) {
	w, ok := ctx.Value(warningsKey{}).(*warnings)
	if code != 299 || !ok || strings.TrimSpace(text) == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !slices.Contains(w.list, text) {
		w.list = append(w.list, text)
	}
}
