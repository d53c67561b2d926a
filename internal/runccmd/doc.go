// Package runccmd builds the command lines of an OCI runtime (runc, crun),
// shared by engine/runtime and the lean monitor: pure functions over
// strings, importing nothing but strconv and syscall.
package runccmd
