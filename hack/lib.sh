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

# free_port: a TCP port nobody listens on, on 127.0.0.1.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_cluster DIR APISERVER: runs Debian's etcd and kube-apiserver on
# 127.0.0.1 on free ports, files under DIR (its own self-signed certificate,
# a token file, a service account key), and writes DIR/kubeconfig (admin
# token, the certificate as authority); sets KUBECONFIG_DEMO, ETCD_PID and
# APISERVER_PID.
start_cluster() {
	local dir=$1 apiserver=$2 client peer port token
	mkdir -p "$dir/etcd" "$dir/certs"
	client=$(free_port) peer=$(free_port) port=$(free_port)
	etcd --name demo --data-dir "$dir/etcd" --logger zap --log-level warn \
		--listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
		--listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
		--initial-cluster "demo=http://127.0.0.1:$peer" >"$dir/etcd.log" 2>&1 &
	ETCD_PID=$!
	token=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
	echo "$token,admin,1,\"system:masters\"" >"$dir/tokens.csv"
	openssl ecparam -genkey -name prime256v1 -noout -out "$dir/sa.key" 2>/dev/null
	"$apiserver" --etcd-servers "http://127.0.0.1:$client" \
		--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$port" --cert-dir "$dir/certs" \
		--token-auth-file "$dir/tokens.csv" --authorization-mode RBAC --allow-privileged=true \
		--service-account-issuer https://kubernetes.default.svc.cluster.local \
		--service-account-key-file "$dir/sa.key" --service-account-signing-key-file "$dir/sa.key" \
		--service-cluster-ip-range 10.0.0.0/24 --endpoint-reconciler-type none --profiling=false >"$dir/kube-apiserver.log" 2>&1 &
	APISERVER_PID=$!
	local deadline=$((SECONDS + 120))
	until curl -fsS --cacert "$dir/certs/apiserver.crt" -H "Authorization: Bearer $token" "https://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
		if ((SECONDS > deadline)) || ! kill -0 "$APISERVER_PID" 2>/dev/null; then
			echo "kube-apiserver did not start; its log:" >&2
			tail -20 "$dir/kube-apiserver.log" >&2
			return 1
		fi
		sleep 0.2
	done
	KUBECONFIG_DEMO=$dir/kubeconfig
	cat >"$KUBECONFIG_DEMO" <<KC
apiVersion: v1
kind: Config
clusters: [{name: demo, cluster: {server: "https://127.0.0.1:$port", certificate-authority: "$dir/certs/apiserver.crt"}}]
users: [{name: admin, user: {token: "$token"}}]
contexts: [{name: demo, context: {cluster: demo, user: admin}}]
current-context: demo
KC
}

stop_cluster() {
	local pid
	for pid in "${APISERVER_PID:-}" "${ETCD_PID:-}"; do
		[ -n "$pid" ] || continue
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	return 0
}
