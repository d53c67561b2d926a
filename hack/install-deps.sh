#!/usr/bin/env bash
# Installs what podbay and its tests need on a Debian 12 machine (as root).
set -euo pipefail
pkgs=(curl python3 runc crun containernetworking-plugins iptables iproute2 docker-registry skopeo busybox-static make gcc etcd-server openssl systemd util-linux docker-compose)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The docker CLI, for the Docker API tests (podbay system service): the
# machine's, else the client alone out of Debian's docker.io (installing the
# package would start a Docker daemon, with its own bridge and iptables rules).
if ! command -v docker >/dev/null; then
	tmp=$(mktemp -d)
	(cd "$tmp" && { apt-get download -qq docker.io 2>/dev/null || { apt-get update -qq && apt-get download -qq docker.io; }; } &&
		dpkg-deb -x docker.io_*.deb x && install -m 0755 x/usr/bin/docker /usr/local/bin/docker)
	rm -rf "$tmp"
fi
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then
	echo "add /usr/local/go/bin to PATH" >&2
fi
