package image

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"
)

// TestRootCause: when one layer fails (a full disk) and cancels the others,
// the pull reports the disk, not a sibling's "context canceled", whatever
// the layers' order. (It reported the cancellation when a cancelled layer
// came first: found by TestReliabilityFullDisk.)
func TestRootCause(t *testing.T) {
	canceled := fmt.Errorf("layer sha256:aaa: %w", context.Canceled)
	full := fmt.Errorf("layer sha256:bbb: writing: %w", syscall.ENOSPC)
	for _, tc := range []struct {
		name string
		errs []error
		want error
	}{
		{"cancelled first", []error{nil, canceled, full}, full},
		{"cause first", []error{full, canceled}, full},
		{"only cancelled", []error{nil, canceled, canceled}, canceled},
		{"none", []error{nil, nil}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rootCause(tc.errs); !errors.Is(got, tc.want) && got != tc.want {
				t.Errorf("rootCause = %v, want %v", got, tc.want)
			}
		})
	}
}
