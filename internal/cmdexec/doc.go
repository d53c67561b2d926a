// Package cmdexec is the seam through which podbay runs external commands
// (the OCI runtime, iptables): the host's os/exec in real use, a fake that
// records argv and stdin in unit tests (package cmdexectest).
package cmdexec
