// Package testcluster runs a real Kubernetes API server for tests: Debian's
// etcd and a kube-apiserver built by hack/kube-apiserver.sh, on loopback,
// with token and client-certificate authentication, RBAC and Pod Security
// admission, and writes a kubeconfig for it.
package testcluster
