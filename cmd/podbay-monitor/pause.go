package main

import (
	"os"
	"os/signal"
	"runtime/debug"

	"golang.org/x/sys/unix"
)

// The infra process of a pod is this binary in pause mode (`/pause pause`):
// it holds the pod's namespaces, reaps orphans when it is PID 1 of a shared
// PID namespace, and exits 0 on SIGTERM or SIGINT. It is chosen before main
// so that nothing else starts.
func init() {
	if len(os.Args) == 2 && os.Args[1] == "pause" {
		pause()
	}
}

func pause() {
	debug.SetGCPercent(10)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT, unix.SIGCHLD)
	for sig := range sigs {
		if sig == unix.SIGCHLD {
			for {
				var ws unix.WaitStatus
				pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
			continue
		}
		os.Exit(0)
	}
}
