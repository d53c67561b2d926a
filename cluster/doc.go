// Package cluster is podbay's bridge to a Kubernetes cluster, through client-go:
// server-side apply (kube apply), server dry runs (kube validate --server) and
// fetching a workload with what it references (kube play --from-cluster). Only
// podbay-kube links it; the lean podbay does not.
package cluster
