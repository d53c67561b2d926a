package main

import (
	"os"
	"slices"
	"strings"
)

// podbay-kube's package initialisation (the Kubernetes API schemes, the
// API server's validation, feature gates) allocates enough to run the
// garbage collector several times before main, and a kube command keeps
// allocating: at the default GOGC, collection was a third of the CPU of a
// `kube generate`. The lean podbay therefore hands over with a higher GOGC
// (unless the user set one), marked by kubeGCEnv, and podbay-kube removes
// both from its environment at start so that its children (the monitor,
// runc, CNI plugins) run with their defaults.
const (
	kubeGCEnv = "PODBAY_KUBE_GOGC"
	kubeGOGC  = "400"
)

// handoverEnv is env for exec'ing podbay-kube.
func handoverEnv(env []string) []string {
	if slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "GOGC=") }) {
		return env
	}
	return append(env, "GOGC="+kubeGOGC, kubeGCEnv+"=1")
}

// dropHandoverGOGC removes the GOGC that handoverEnv added from this
// process' environment; the runtime has read it already.
func dropHandoverGOGC() {
	if os.Getenv(kubeGCEnv) == "1" {
		os.Unsetenv("GOGC")
		os.Unsetenv(kubeGCEnv)
	}
}
