#!/usr/bin/env bash
# The demo: a local registry, a pull, containers run, inspected and removed.
set -euo pipefail
cd "$(dirname "$0")/.."
. hack/lib.sh
export PATH=/usr/local/go/bin:$PATH
work=$(mktemp -d /tmp/podbay-demo.XXXXXX)
pb() { bin/podbay --root "$work/root" --runroot "$work/run" "$@"; }
cleanup() {
	pb system reset --force >/dev/null 2>&1 || true
	stop_registry
	rm -rf "$work"
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "a local registry with a busybox image built from busybox-static"
start_registry "$work/registry"
go run ./hack/mkimage -push "$REGISTRY/library/busybox:latest"
echo "registry at $REGISTRY"

step "podbay pull"
pb pull --tls-verify=false "$REGISTRY/library/busybox:latest"
pb images

step "podbay run (foreground: output streamed, exit code kept)"
pb run --rm "$REGISTRY/library/busybox" sh -c 'echo "hello from $(hostname), uid $(id -u)"; exit 3' || echo "exit code: $?"

step "podbay run -d: a web server"
pb run -d --name web -e GREETING=hi --memory 64m "$REGISTRY/library/busybox" \
	sh -c 'echo "serving $GREETING"; exec httpd -f -p 8080 -h /var/www'
pb ps
pb exec web wget -qO- http://127.0.0.1:8080/
pb logs web
pb ps --format json | head -20

step "podbay stop and rm"
pb stop -t 2 web
pb ps -a
pb rm web
pb ps -a
