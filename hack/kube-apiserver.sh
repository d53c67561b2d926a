#!/usr/bin/env bash
# Builds kube-apiserver from k8s.io/kubernetes (the version go.mod pins) through
# the Go module proxy, once, into a cache directory keyed by version, and prints
# the binary's path. The cluster tests (cmd/podbay/cluster_integration_test.go)
# and hack/demo.sh run it against Debian's etcd.
#
#   hack/kube-apiserver.sh          build when missing, print the path
#   hack/kube-apiserver.sh --path   print the path only (no build); exit 1 when missing
#
# The first build takes about 10 minutes on a 2-core machine; later runs reuse
# the binary. PODBAY_KUBE_APISERVER_CACHE overrides the cache directory
# (default ${XDG_CACHE_HOME:-$HOME/.cache}/podbay).
set -euo pipefail
# The whole script is one function, read before it runs: an edit of this
# file during a build does not change the build.
main() {
	cd "$(dirname "$0")/.."
	export PATH=/usr/local/go/bin:$PATH
	export CGO_ENABLED=0

	version=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
	cache=${PODBAY_KUBE_APISERVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/podbay}
	bin=$cache/kube-apiserver-$version

	if [ "${1:-}" = --path ]; then
		[ -x "$bin" ] || exit 1
		echo "$bin"
		exit 0
	fi
	if [ -x "$bin" ]; then
		echo "$bin"
		exit 0
	fi

	# A throw-away module requiring k8s.io/kubernetes: its go.mod's replace lines
	# (./staging/src/k8s.io/X) do not apply to a dependency, so each staging module
	# is pinned here to the matching v0.<minor>.<patch>.
	work=$cache/kube-apiserver-$version.build
	rm -rf "$work"
	mkdir -p "$work"
	trap 'rm -rf "$work"' EXIT
	staging=v0.${version#v1.}
	kmod=$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
	[ -n "$kmod" ] || { echo "kube-apiserver: no go.mod for k8s.io/kubernetes@$version" >&2; exit 1; }
	{
		echo "module podbay.local/kube-apiserver"
		echo
		grep -E '^(go|godebug) ' "$kmod"
		echo
		echo "require k8s.io/kubernetes $version"
		echo
		sed -n 's#^[[:space:]]*\(replace[[:space:]]*\)\{0,1\}\(k8s\.io/[a-z0-9-]*\) => \./staging/.*$#replace \2 => \2 '"$staging"'#p' "$kmod"
	} >"$work/go.mod"
	cat >"$work/tools.go" <<'GO'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
GO
	echo "kube-apiserver: building $version into $bin (about 10 minutes the first time)" >&2
	start=$SECONDS
	(
		cd "$work"
		go mod tidy -e >tidy.log 2>&1 || { cat tidy.log >&2; exit 1; }
		pkg=k8s.io/component-base/version minor=${version#v1.}
		go build -trimpath -o "$bin.tmp" \
			-ldflags "-s -w -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=${minor%%.*} -X $pkg.gitTreeState=clean" \
			k8s.io/kubernetes/cmd/kube-apiserver
	)
	mv "$bin.tmp" "$bin"
	echo "kube-apiserver: built in $((SECONDS - start)) s" >&2
	echo "$bin"
}

main "$@"
