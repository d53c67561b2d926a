#!/usr/bin/env bash
# Installs what podbay and its tests need on a Debian 12 machine (as root).
set -euo pipefail
pkgs=(curl python3 runc crun containernetworking-plugins iptables iproute2 docker-registry skopeo busybox-static make gcc etcd-server openssl systemd util-linux)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then
	echo "add /usr/local/go/bin to PATH" >&2
fi
