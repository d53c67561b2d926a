# Shared shell helpers for hack/ scripts: a throw-away local registry.

# start_registry DIR: runs Debian's docker-registry on 127.0.0.1 on a free port
# with its storage under DIR; sets REGISTRY (host:port) and REGISTRY_PID.
start_registry() {
	local dir=$1 port
	mkdir -p "$dir/storage"
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	cat >"$dir/config.yml" <<CFG
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $dir/storage}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port}
CFG
	docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
	REGISTRY_PID=$!
	REGISTRY=127.0.0.1:$port
	local deadline=$((SECONDS + 20))
	until curl -fsS "http://$REGISTRY/v2/" >/dev/null 2>&1; do
		if ((SECONDS > deadline)) || ! kill -0 "$REGISTRY_PID" 2>/dev/null; then
			echo "registry did not start; its log:" >&2
			cat "$dir/registry.log" >&2
			return 1
		fi
		sleep 0.05
	done
}

stop_registry() {
	if [ -n "${REGISTRY_PID:-}" ]; then
		kill "$REGISTRY_PID" 2>/dev/null || true
		wait "$REGISTRY_PID" 2>/dev/null || true
	fi
	return 0
}
