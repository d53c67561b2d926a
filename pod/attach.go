package pod

import (
	"context"
	"fmt"

	"github.com/podbay/podbay/engine/monitor"
	"github.com/podbay/podbay/engine/state"
)

// AttachInput connects to a running container's stdin and terminal
// through its monitor's attach socket (a container made with stdin or a
// terminal has one). Its output is in its log (LogPath), from the start.
func (m *Manager) AttachInput(ctx context.Context, ref string) (*monitor.AttachConn, error) {
	c, err := m.Lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	if c.State != state.StateRunning {
		return nil, fmt.Errorf("attaching to %s: %w", c.Name, ErrNotRunning)
	}
	return monitor.DialAttach(m.monitorDir(c), c.ID)
}

// Cgroup is the cgroup (a path relative to each hierarchy's root) that
// holds container c: its stats are read there.
func (m *Manager) Cgroup(c *state.Container) string { return m.containerCgroup(c) }
