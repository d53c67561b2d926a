package runccmd

import (
	"strconv"
	"syscall"
)

// argv collects a command line.
type argv []string

func (a *argv) add(args ...string) { *a = append(*a, args...) }

// opt adds flag and value when value is set.
func (a *argv) opt(flag, value string) {
	if value != "" {
		*a = append(*a, flag, value)
	}
}

// on adds flag when set.
func (a *argv) on(flag string, set bool) {
	if set {
		*a = append(*a, flag)
	}
}

// Global are the flags every invocation starts with. runc and crun take
// the same ones.
type Global struct {
	Root          string // --root: the runtime's state directory
	Log           string // --log: the runtime's own log ("": its stderr)
	LogFormat     string // --log-format: "json" or "text" ("": the runtime's default, text)
	SystemdCgroup bool   // --systemd-cgroup
}

// Args are the global flags alone.
func (g Global) Args() []string {
	a := make(argv, 0, 16)
	a.opt("--root", g.Root)
	a.opt("--log", g.Log)
	a.opt("--log-format", g.LogFormat)
	a.on("--systemd-cgroup", g.SystemdCgroup)
	return a
}

// start is the global flags, then sub.
func (g Global) start(sub string) argv {
	a := argv(g.Args())
	a.add(sub)
	return a
}

// CreateOptions tune Run and Create.
type CreateOptions struct {
	Bundle        string // --bundle ("": the current directory)
	PidFile       string // --pid-file: where the runtime writes the container's pid
	ConsoleSocket string // --console-socket: receives the pty master of a terminal process
	Detach        bool   // --detach (Run only: create always returns)
}

// Run creates and starts container id: `run`.
func (g Global) Run(id string, o CreateOptions) []string {
	a := g.start("run")
	a.on("--detach", o.Detach)
	return o.finish(a, id)
}

// Create creates container id, its process waiting for Start: `create`.
func (g Global) Create(id string, o CreateOptions) []string { return o.finish(g.start("create"), id) }

func (o CreateOptions) finish(a argv, id string) []string {
	a.opt("--console-socket", o.ConsoleSocket)
	a.opt("--pid-file", o.PidFile)
	a.opt("--bundle", o.Bundle)
	a.add(id)
	return a
}

// Start starts the process of a created container.
func (g Global) Start(id string) []string { return g.command("start", id) }

// command is sub with the single argument id.
func (g Global) command(sub, id string) []string {
	a := g.start(sub)
	a.add(id)
	return a
}

// ExecOptions describe a process to run in a running container.
type ExecOptions struct {
	// Process (--process) is a process.json used whole: Args, Tty, Cwd,
	// Env, User and AdditionalGids are then not passed (the runtime reads
	// them from the file).
	Process        string
	Args           []string // the command, after the container id
	Tty            bool     // --tty
	Cwd            string   // --cwd
	Env            []string // --env, one per entry
	User           string   // --user "uid[:gid]"
	AdditionalGids []uint32 // --additional-gids: runc only, crun has no such flag
	ConsoleSocket  string   // --console-socket (with a terminal)
	PidFile        string   // --pid-file
	Detach         bool     // --detach
}

// Exec runs a process in container id: `exec`.
func (g Global) Exec(id string, o ExecOptions) []string {
	a := g.start("exec")
	a.on("--detach", o.Detach)
	a.opt("--console-socket", o.ConsoleSocket)
	a.opt("--pid-file", o.PidFile)
	if o.Process != "" {
		a.add("--process", o.Process, id)
		return a
	}
	a.on("--tty", o.Tty)
	for _, e := range o.Env {
		a.add("--env", e)
	}
	a.opt("--cwd", o.Cwd)
	a.opt("--user", o.User)
	for _, gid := range o.AdditionalGids {
		a.add("--additional-gids", strconv.FormatUint(uint64(gid), 10))
	}
	a.add(id)
	a.add(o.Args...)
	return a
}

// KillOptions tune Kill.
type KillOptions struct {
	All bool // --all: every process of the container, not only its init
}

// Kill sends sig to container id: `kill`, the signal as a number.
func (g Global) Kill(id string, sig syscall.Signal, o KillOptions) []string {
	a := g.start("kill")
	a.on("--all", o.All)
	a.add(id, strconv.Itoa(int(sig)))
	return a
}

// DeleteOptions tune Delete.
type DeleteOptions struct {
	Force bool // --force: kill a running container first
}

// Delete removes container id from the runtime: `delete`.
func (g Global) Delete(id string, o DeleteOptions) []string {
	a := g.start("delete")
	a.on("--force", o.Force)
	a.add(id)
	return a
}

// State prints the state of container id as JSON: `state`.
func (g Global) State(id string) []string { return g.command("state", id) }

// List prints every container of the state root as JSON: `list --format json`.
func (g Global) List() []string {
	a := g.start("list")
	a.add("--format", "json")
	return a
}
