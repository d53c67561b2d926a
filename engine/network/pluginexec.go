package network

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	goruntime "runtime"
	"syscall"

	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
)

// pluginExec runs CNI plugins as libcni's RawExec does, but each plugin dies
// with the podbay process that started it (PR_SET_PDEATHSIG): a killed
// command leaves no plugin racing the next command's clean-up.
type pluginExec struct {
	stderr io.Writer
	version.PluginDecoder
}

var _ invoke.Exec = (*pluginExec)(nil)

func (e *pluginExec) ExecPlugin(ctx context.Context, pluginPath string, stdinData []byte, environ []string) ([]byte, error) {
	stdout := &bytes.Buffer{}
	cmd := exec.CommandContext(ctx, pluginPath)
	cmd.Env = environ
	cmd.Stdin = bytes.NewBuffer(stdinData)
	cmd.Stdout = stdout
	cmd.Stderr = e.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	// The death signal follows the thread that forked: keep it alive until
	// the plugin is done.
	goruntime.LockOSThread()
	err := cmd.Run()
	goruntime.UnlockOSThread()
	if err != nil {
		return nil, pluginErr(err, stdout.Bytes())
	}
	return stdout.Bytes(), nil
}

// pluginErr turns a plugin's JSON error on stdout into the error, as RawExec does.
func pluginErr(err error, output []byte) error {
	if len(output) > 0 {
		var e types.Error
		if json.Unmarshal(output, &e) == nil && (e.Msg != "" || e.Code != 0) {
			return &e
		}
		return fmt.Errorf("netplugin failed: %q", output)
	}
	return err
}

func (e *pluginExec) FindInPath(plugin string, paths []string) (string, error) {
	return invoke.FindInPath(plugin, paths)
}
