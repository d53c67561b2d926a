#!/usr/bin/env bash
# The demo: play manifests/demo.yaml, show it working, export it back, take it down;
# then, when a kube-apiserver is built already, send it to a real API server and back.
# Everything lives in a throw-away --root/--runroot, network and registry.
set -euo pipefail
cd "$(dirname "$0")/.."
. hack/lib.sh
export PATH=/usr/local/go/bin:$PATH
work=$(mktemp -d /tmp/podbay-demo.XXXXXX)
export PODBAY_DEFAULT_NETWORK=podbay-demo PODBAY_DEFAULT_BRIDGE=pbdemo0 PODBAY_DEFAULT_SUBNET=10.239.0.0/24
pb() { bin/podbay --root "$work/root" --runroot "$work/run" "$@"; }
cleanup() {
	pb system reset --force >/dev/null 2>&1 || true
	ip link del pbdemo0 2>/dev/null || true
	stop_cluster
	stop_registry
	rm -rf "$work"
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "a local registry holding busybox (built from busybox-static: no internet needed)"
start_registry "$work/registry"
go run ./hack/mkimage -push "$REGISTRY/library/busybox:1.36"
pb pull -q --tls-verify=false "$REGISTRY/library/busybox:1.36" >/dev/null
pb tag "$REGISTRY/library/busybox:1.36" docker.io/library/busybox:1.36
pb images

step "podbay kube validate manifests/demo.yaml --openshift"
pb kube validate --openshift manifests/demo.yaml || true

step "podbay kube play manifests/demo.yaml"
pb kube play manifests/demo.yaml
pb pod ps
pb ps

step "it answers on the published port"
deadline=$((SECONDS + 10))
until curl -fsS http://127.0.0.1:18080/; do
	((SECONDS < deadline)) || { echo "no answer on 127.0.0.1:18080" >&2; exit 1; }
	sleep 0.1
done
pb exec web-pod-0-server sh -c 'echo "inside: GREETING=$GREETING POD_IP=$POD_IP"; cat /sys/fs/cgroup/memory/memory.limit_in_bytes'
pb logs --tail 2 web-pod-0-checker

if pb kube --help | grep -q '^  generate'; then
	step "podbay kube generate web-pod-0"
	pb kube generate web-pod-0
fi

step "podbay kube down manifests/demo.yaml"
pb kube down manifests/demo.yaml
pb pod ps
pb ps -a

# The last step needs a kube-apiserver: it runs only when one is built
# already (hack/kube-apiserver.sh builds it, about 10 minutes the first
# time), so that the demo stays quick.
if ! apiserver=$(bash hack/kube-apiserver.sh --path) || ! command -v etcd >/dev/null; then
	step "(the cluster step is skipped: build kube-apiserver once with hack/kube-apiserver.sh; etcd comes with make deps)"
	exit 0
fi
step "a real API server on 127.0.0.1 (kube-apiserver on etcd): podbay kube apply --ns demo -f manifests/demo.yaml"
start_cluster "$work/cluster" "$apiserver"
kc=(--kubeconfig "$KUBECONFIG_DEMO")
pb kube apply "${kc[@]}" --ns demo -f manifests/demo.yaml
pb kube apply "${kc[@]}" --ns demo -f manifests/demo.yaml

step "podbay kube validate --server: the server's verdict next to podbay's"
pb kube validate --server "${kc[@]}" -n demo manifests/demo.yaml || true

step "podbay kube play --from-cluster -n demo deployment/web: the cluster's workload, run here"
pb kube play --from-cluster "${kc[@]}" -n demo deployment/web
deadline=$((SECONDS + 10))
until curl -fsS http://127.0.0.1:18080/; do
	((SECONDS < deadline)) || { echo "no answer on 127.0.0.1:18080" >&2; exit 1; }
	sleep 0.1
done
pb kube play --down --from-cluster "${kc[@]}" -n demo deployment/web
