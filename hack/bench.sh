#!/usr/bin/env bash
# podbay side by side with Podman (when installed) and with the floors that
# bound them: bare runc, skopeo. `make bench` runs it. As root.
#
#   hack/bench.sh [CASE...]     cases: run pull pod rss kube kubedown kubegen kubevalidate
#                               kubeloop docker (default: all, in that order)
#
#   BENCH_N=5        timed iterations per case (one extra untimed warm-up first)
#   BENCH_PODMAN=0   podbay and the floors only, even when Podman is installed
#   BENCH_KUBE_N=3   iterations of the heavy kube cases (default: min(BENCH_N, 3))
#   BENCH_LOG=FILE   keep the commands' output there
#   PODBAY=bin/podbay   PODMAN=podman (a name or path; missing: podbay alone)
#
# Each iteration runs podbay and Podman back to back, alternating which goes
# first; the table gives medians and the podbay/Podman ratio (below 1: podbay
# is faster or smaller). Teardown happens outside the timed part. Everything
# lives under one temporary directory (podbay and Podman roots, runc root,
# registry, CNI configs), on networks of its own (podbay: bridge pbbench0,
# 10.232.0.0/24; Podman: bridge pbbenchpm0, 10.233.0.0/24), and is removed at
# the end, with a check that no mount, link or process is left behind.
#
# Podman is configured for a like-for-like comparison: runc, cgroupfs, CNI,
# file events, ulimits clamped to the current hard limits (as podbay does),
# its own --root/--runroot/--tmpdir via CONTAINERS_CONF and
# CONTAINERS_STORAGE_CONF. What the tools still put in global places (the
# blob-info cache in /var/lib/containers/cache, /dev/shm/libpod_lock, /run/runc,
# /var/lib/cni, the /run/netns mount, cgroup parents) is removed at the end
# when this run created it.
#
# New cases: write case_NAME using tm, add and row (see case_run), and list
# NAME in ALL_CASES.
set -euo pipefail
cd "$(dirname "$0")/.."
. hack/lib.sh
export PATH=/usr/local/go/bin:$PATH

N=${BENCH_N:-5}
PODBAY=${PODBAY:-$PWD/bin/podbay}
PODMAN=${PODMAN:-podman}
ALL_CASES=(run pull pod rss kube kubedown kubegen kubevalidate kubeloop docker)
CASES=("$@")
((${#CASES[@]})) || CASES=("${ALL_CASES[@]}")
for c in "${CASES[@]}"; do
	[[ " ${ALL_CASES[*]} " == *" $c "* ]] || { echo "bench: unknown case $c (cases: ${ALL_CASES[*]})" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
[ -x "$PODBAY" ] || { echo "bench: $PODBAY missing: run make build" >&2; exit 1; }

PB_NET=pbbench0 PB_SUBNET=10.232.0.0/24
PM_NET=pbbenchpm PM_BRIDGE=pbbenchpm0 PM_SUBNET=10.233.0.0/24
for l in $PB_NET $PM_BRIDGE; do
	! ip link show "$l" >/dev/null 2>&1 || { echo "bench: link $l exists (another bench running?)" >&2; exit 1; }
done

W=$(mktemp -d /tmp/podbay-bench.XXXXXX)
LOG=$W/bench.log
declare -A S=()       # samples: key -> "v1 v2 ..."
declare -A PRE=()     # host paths that existed before we started
declare -A FAIL=()    # sample keys whose case failed (see the failures below the table)
declare -A DOWNS=() LEFT=() # "who file" -> kube downs checked; pods each failed one left
ROWS=()
for p in /run/netns /run/mount /run/runc /var/lib/cni /var/lib/containers /dev/shm/libpod_lock \
	/sys/fs/cgroup/memory/libpod_parent /sys/fs/cgroup/memory/podbay; do
	[ -e "$p" ] && PRE[$p]=1
done
ip link show cni-podman0 >/dev/null 2>&1 && PRE[cni-podman0]=1 # Podman's default bridge: never ours to use

say() { printf '%s\n' "$*" >&2; }
die() { say "bench: $*"; [ -s "$LOG" ] && tail -n 15 "$LOG" >&2; exit 1; }

# --- podbay -----------------------------------------------------------------

export PODBAY_DEFAULT_NETWORK=$PB_NET PODBAY_DEFAULT_BRIDGE=$PB_NET PODBAY_DEFAULT_SUBNET=$PB_SUBNET
pb() { "$PODBAY" --root "$W/pb/root" --runroot "$W/pb/run" "$@"; }
# pbat DIR ARGS: podbay on a store of its own under DIR
pbat() { local d=$1; shift; "$PODBAY" --root "$d/root" --runroot "$d/run" "$@"; }

# --- Podman -----------------------------------------------------------------

PODMAN_NOTE="podman: not installed"
HAVE_PODMAN=0
pm() { "$PODMAN" --root "$W/pm/root" --runroot "$W/pm/run" "$@"; }
pmat() { local d=$1; shift; "$PODMAN" --root "$d/root" --runroot "$d/run" --tmpdir "$d/tmp" "$@"; }

setup_podman() {
	if [ "${BENCH_PODMAN:-}" = 0 ]; then PODMAN_NOTE="podman: skipped (BENCH_PODMAN=0)"; return; fi
	command -v "$PODMAN" >/dev/null || return 0
	# Podman's defaults (nofile 1048576, nproc 4194304) exceed the hard limits
	# here; podman 4.3 also runs itself (hence conmon and runc) with
	# RLIMIT_NPROC 32768, so its containers cannot ask for more than that.
	local hn hu c=$W/pm
	hn=$(ulimit -Hn) hu=$(ulimit -Hu)
	[ "$hn" = unlimited ] && hn=1048576
	if [ "$hu" = unlimited ] || ((hu > 32768)); then hu=32768; fi
	mkdir -p "$c/tmp" "$c/cni"
	cat >"$c/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$hn:$hn", "nproc=$hu:$hu"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$c/tmp"
image_copy_tmp_dir = "$c/tmp"
[network]
network_backend = "cni"
network_config_dir = "$c/cni"
EOF
	cat >"$c/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$c/root"
runroot = "$c/run"
EOF
	export CONTAINERS_CONF=$c/containers.conf CONTAINERS_STORAGE_CONF=$c/storage.conf
	local err
	if ! err=$(pm info 2>&1 >/dev/null); then
		PODMAN_NOTE="podman: unusable here: $(printf '%s' "$err" | tail -n 1)"
		return
	fi
	HAVE_PODMAN=1
	PODMAN_NOTE="podman: $("$PODMAN" version --format '{{.Client.Version}}' 2>/dev/null) (runc, cgroupfs, CNI, ulimits nofile=$hn nproc=$hu)"
}

# --- registry and images -----------------------------------------------------

BUSYBOX= BIG=
need_registry() {
	[ -n "${REGISTRY:-}" ] && return
	start_registry "$W/registry"
	go build -o "$W/mkimage" ./hack/mkimage
}
need_busybox() {
	[ -n "$BUSYBOX" ] && return
	need_registry
	BUSYBOX=$REGISTRY/library/busybox:latest
	"$W/mkimage" -push "$BUSYBOX" >>"$LOG" 2>&1 || die "pushing busybox"
	pb pull --tls-verify=false "$BUSYBOX" >>"$LOG" 2>&1 || die "podbay pull busybox"
	if ((HAVE_PODMAN)); then
		pm pull --tls-verify=false "$BUSYBOX" >>"$LOG" 2>&1 || die "podman pull busybox"
	fi
}
need_big() {
	[ -n "$BIG" ] && return
	need_registry
	BIG=$REGISTRY/library/big:latest
	"$W/mkimage" -big -push "$BIG" >>"$LOG" 2>&1 || die "pushing the big image"
}
need_pm_network() {
	((HAVE_PODMAN)) || return 0
	pm network exists "$PM_NET" >/dev/null 2>&1 && return
	pm network create --subnet "$PM_SUBNET" "$PM_NET" >>"$LOG" 2>&1 || die "podman network create"
	# Podman 4.3 cannot name the bridge (no --interface-name) and picks the
	# first free cni-podmanN: rename it in the CNI config it wrote.
	sed -i -E "s/\"bridge\": *\"cni-podman[0-9]+\"/\"bridge\": \"$PM_BRIDGE\"/" "$W/pm/cni/$PM_NET.conflist"
	grep -q "\"$PM_BRIDGE\"" "$W/pm/cni/$PM_NET.conflist" || die "renaming Podman's bridge"
}

# --- measuring ---------------------------------------------------------------

# tm CMD...: runs CMD (output to the log) and sets T to its wall time in ms.
tm() {
	local s e
	s=$EPOCHREALTIME
	"$@" >>"$LOG" 2>&1 </dev/null || die "failed: $*"
	e=$EPOCHREALTIME
	T=$(((${e/./} - ${s/./}) / 100))
	T=$((T / 10)).$((T % 10))
}
# add KEY VALUE: one sample (skipped during the warm-up, iteration 0)
add() { ((I > 0)) && S[$1]+=" $2"; return 0; }
median() {
	[ -n "${FAIL[$1]:-}" ] && { echo FAIL; return; }
	[ -n "${S[$1]:-}" ] || { echo -; return; }
	printf '%s\n' ${S[$1]} | sort -g | awk '{a[NR]=$1} END {m = NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.1f\n", m}'
}
ratio() { [[ $1$2 == *[!0-9.]* ]] && { echo -; return; }; awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx\n", a / b}'; }
# row LABEL UNIT PBKEY PMKEY [FLOORLABEL FLOORKEY]
row() {
	local pbm pmm fl=-
	pbm=$(median "$3") pmm=$(median "$4")
	[ -n "${6:-}" ] && fl="$5 $(median "$6")"
	ROWS+=("| $1 ($2) | $pbm | $pmm | $(ratio "$pbm" "$pmm") | $fl |")
	say "  ${ROWS[-1]}"
}
# podman_first: alternate who goes first, iteration by iteration
podman_first() { ((HAVE_PODMAN && I % 2 == 1)); }
podman_second() { ((HAVE_PODMAN && I % 2 == 0)); }

# --- cases -------------------------------------------------------------------

# 1. run -d of a busybox sleep; bare `runc run -d` of podbay's own bundle as the floor.
case_run() {
	need_busybox
	local id cfg
	id=$(pb create --name pbb-floor "$BUSYBOX" sleep 1000 2>>"$LOG") || die "podbay create"
	cfg=$W/pb/root/containers/$id/config.json
	[ -f "$cfg" ] || die "no config.json for $id"
	mkdir -p "$W/runc"
	for ((I = 0; I <= N; I++)); do
		podman_first && run_pm
		tm pb run -d --name "pbb-run-$I" "$BUSYBOX" sleep 1000
		add run.pb "$T"
		pb rm -f "pbb-run-$I" >>"$LOG" 2>&1
		podman_second && run_pm
		"$W/benchutil" bundle "$cfg" "$W/floor/$I" "/pbbench-floor-$$-$I"
		tm runc --root "$W/runc" run -d --bundle "$W/floor/$I" "pbbench-floor-$I"
		add run.floor "$T"
		runc --root "$W/runc" delete -f "pbbench-floor-$I" >>"$LOG" 2>&1
	done
	pb rm -f pbb-floor >>"$LOG" 2>&1
	row "run -d busybox" ms run.pb run.pm "runc run -d" run.floor
}
run_pm() {
	tm pm run -d --network none --name "pbb-run-$I" "$BUSYBOX" sleep 1000
	add run.pm "$T"
	pm rm -f -t 0 "pbb-run-$I" >>"$LOG" 2>&1
}

# 2. pull of the 3-layer ~120 MB image into an empty store; skopeo copy to dir: as the floor.
case_pull() {
	need_big
	local d
	for ((I = 0; I <= N; I++)); do
		podman_first && pull_pm
		d=$W/pull-pb
		tm pbat "$d" pull --tls-verify=false "$BIG"
		add pull.pb "$T"
		pbat "$d" system reset --force >>"$LOG" 2>&1
		rm -rf "$d"
		podman_second && pull_pm
		if command -v skopeo >/dev/null; then
			tm skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$BIG" "dir:$W/skopeo"
			add pull.floor "$T"
			rm -rf "$W/skopeo"
		fi
	done
	row "pull 3 layers, 120 MB" ms pull.pb pull.pm "skopeo copy" pull.floor
}
pull_pm() {
	local d=$W/pull-pm
	mkdir -p "$d/tmp"
	tm pmat "$d" pull --tls-verify=false "$BIG"
	add pull.pm "$T"
	pmat "$d" system reset -f >>"$LOG" 2>&1
	rm -rf "$d"
}

# 3. a pod with infra and two containers, created and running; the steps
# are timed one by one (pod create; each run -d --pod) and summed.
case_pod() {
	need_busybox
	need_pm_network
	for ((I = 0; I <= N; I++)); do
		podman_first && pod_timed pm pod_pm_up
		pod_timed pb pod_pb_up
		pb pod rm -f -t 0 "pbb-pod-$I" >>"$LOG" 2>&1
		podman_second && pod_timed pm pod_pm_up
	done
	row "pod: infra + 2 containers" ms pod.pb pod.pm
	row "  of which pod create" ms podcreate.pb podcreate.pm
	row "  of which run -d --pod, each" ms podrun.pb podrun.pm
}
# pod_timed pb|pm UPFUNC: UPFUNC names the three steps; each one is timed.
pod_timed() {
	local who=$1 up=$2 p=pbb-pod-$I total=0 step=0
	TIMED=1
	"$up" "$p"
	for t in $STEPS; do
		total=$(awk -v a="$total" -v b="$t" 'BEGIN {print a + b}')
		if ((step++ == 0)); then add "podcreate.$who" "$t"; else add "podrun.$who" "$t"; fi
	done
	add "pod.$who" "$total"
	TIMED=0
	[ "$who" = pm ] && pm pod rm -f -t 0 "$p" >>"$LOG" 2>&1
	return 0
}
# step CMD...: runs CMD, timed when pod_timed asks (STEPS collects the times)
TIMED=0 STEPS=
step() {
	if ((TIMED)); then
		tm "$@"
		STEPS+=" $T"
	else
		"$@"
	fi
}
pod_pb_up() {
	STEPS=
	step pb pod create --name "$1" &&
		step pb run -d --pod "$1" --name "$1-a" "$BUSYBOX" sleep 1000 &&
		step pb run -d --pod "$1" --name "$1-b" "$BUSYBOX" sleep 1000
}
pod_pm_up() {
	STEPS=
	step pm pod create --name "$1" --network "$PM_NET" &&
		step pm run -d --pod "$1" --name "$1-a" "$BUSYBOX" sleep 1000 &&
		step pm run -d --pod "$1" --name "$1-b" "$BUSYBOX" sleep 1000
}

# 4. memory: peak RSS of the `run -d` command; steady RSS of the monitors of a
# two-container pod (podbay-monitor processes; Podman: its conmons, infra's included).
case_rss() {
	need_busybox
	need_pm_network
	local f=$W/maxrss
	for ((I = 0; I <= N; I++)); do
		"$W/benchutil" maxrss "$f" -- "$PODBAY" --root "$W/pb/root" --runroot "$W/pb/run" \
			run -d --name "pbb-rss-$I" "$BUSYBOX" sleep 1000 >>"$LOG" 2>&1 || die "podbay run -d (rss)"
		add peak.pb "$(awk '{printf "%.1f", $1 / 1024}' "$f")"
		pb rm -f "pbb-rss-$I" >>"$LOG" 2>&1
		((HAVE_PODMAN)) || continue
		"$W/benchutil" maxrss "$f" -- "$PODMAN" --root "$W/pm/root" --runroot "$W/pm/run" \
			run -d --network none --name "pbb-rss-$I" "$BUSYBOX" sleep 1000 >>"$LOG" 2>&1 || die "podman run -d (rss)"
		add peak.pm "$(awk '{printf "%.1f", $1 / 1024}' "$f")"
		pm rm -f -t 0 "pbb-rss-$I" >>"$LOG" 2>&1
	done
	row "peak RSS of run -d" MiB peak.pb peak.pm
	pod_pb_up pbb-rsspod >>"$LOG" 2>&1 || die "podbay pod (rss)"
	((HAVE_PODMAN)) && { pod_pm_up pbb-rsspod >>"$LOG" 2>&1 || die "podman pod (rss)"; }
	sleep 1
	local n kib pbn=0 pmn=0
	for ((I = 1; I <= N; I++)); do
		read -r n kib < <("$W/benchutil" rss podbay-monitor "$W/pb/run/")
		pbn=$n
		add mon.pb "$(awk -v k="$kib" 'BEGIN {printf "%.1f", k / 1024}')"
		if ((HAVE_PODMAN)); then
			read -r n kib < <("$W/benchutil" rss conmon "$W/pm/run/")
			pmn=$n
			add mon.pm "$(awk -v k="$kib" 'BEGIN {printf "%.1f", k / 1024}')"
		fi
		sleep 0.2
	done
	local procs="podbay $pbn"
	((HAVE_PODMAN)) && procs+=", podman $pmn"
	row "monitors of a 2-container pod ($procs processes), RSS" MiB mon.pb mon.pm
	pb pod rm -f -t 0 pbb-rsspod >>"$LOG" 2>&1
	((HAVE_PODMAN)) && pm pod rm -f -t 0 pbb-rsspod >>"$LOG" 2>&1
	rss_kube
}
# The same for kube play: peak RSS of the command playing the ten pods (podbay:
# podbay, then the podbay-kube it execs), and the monitors of the played
# two-container pod.
rss_kube() {
	need_kube
	local f=$W/maxrss who n kib pbn=0 pmn=0
	for ((I = 1; I <= KN; I++)); do
		for who in $(engines); do
			if [ "$who" = pb ]; then
				set -- "$PODBAY" --root "$W/pb/root" --runroot "$W/pb/run" kube play --tls-verify=false
			else
				set -- "$PODMAN" --root "$W/pm/root" --runroot "$W/pm/run" kube play --network "$PM_NET"
			fi
			"$W/benchutil" maxrss "$f" -- "$@" "$KD/pods10.yaml" >>"$LOG" 2>&1 || die "$who kube play (rss)"
			add "kpeak.$who" "$(awk '{printf "%.1f", $1 / 1024}' "$f")"
			"${who}down" "$KD/pods10.yaml" >>"$LOG" 2>&1 || die "$who kube down (rss)"
			down_check "$who" "$KD/pods10.yaml" || true
		done
	done
	krow "peak RSS of kube play, 10 pods" MiB kpeak.pb kpeak.pm
	for who in $(engines); do
		"${who}play" "$KD/pods1.yaml" >>"$LOG" 2>&1 || die "$who kube play (rss)"
	done
	sleep 1
	for ((I = 1; I <= N; I++)); do
		read -r n kib < <("$W/benchutil" rss podbay-monitor "$W/pb/run/")
		pbn=$n
		add kmon.pb "$(awk -v k="$kib" 'BEGIN {printf "%.1f", k / 1024}')"
		if ((HAVE_PODMAN)); then
			read -r n kib < <("$W/benchutil" rss conmon "$W/pm/run/")
			pmn=$n
			add kmon.pm "$(awk -v k="$kib" 'BEGIN {printf "%.1f", k / 1024}')"
		fi
		sleep 0.2
	done
	local procs="podbay $pbn"
	((HAVE_PODMAN)) && procs+=", podman $pmn"
	row "monitors of a played 2-container pod ($procs processes), RSS" MiB kmon.pb kmon.pm
	for who in $(engines); do
		"${who}down" "$KD/pods1.yaml" >>"$LOG" 2>&1 || die "$who kube down (rss)"
		down_check "$who" "$KD/pods1.yaml" || true
	done
	return 0
}

# --- kube cases ------------------------------------------------------------------
#
# The manifests name an image both stores already hold (KUBE_IMAGE, tagged
# from the registry's busybox; imagePullPolicy IfNotPresent), so no pull is
# timed. Podman plays onto its bench network (--network), podbay onto its own
# default network (PODBAY_DEFAULT_NETWORK). The kube cases run KN iterations
# (BENCH_KUBE_N, default min(BENCH_N, 3)); only the one-pod play has a warm-up
# (the first play of a run), the others none.

KN=${BENCH_KUBE_N:-$((N < 3 ? N : 3))}
KUBE_IMAGE=docker.io/library/busybox:1.36
# A sleep that ends on SIGTERM: a bare `sleep` is PID 1 of its container and
# ignores SIGTERM, so every down would wait out the grace period (podbay:
# Kubernetes' 30 s; Podman: its own 10 s) instead of measuring the engines.
KUBE_CMD="[\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 1000 & wait\"]"
KD=
need_kube() {
	[ -n "$KD" ] && return
	need_busybox
	need_pm_network
	pb tag "$BUSYBOX" "$KUBE_IMAGE" >>"$LOG" 2>&1 || die "podbay tag"
	if ((HAVE_PODMAN)); then pm tag "$BUSYBOX" "$KUBE_IMAGE" >>"$LOG" 2>&1 || die "podman tag"; fi
	KD=$W/kube
	mkdir -p "$KD"
	kube_pods 1 pbk1 >"$KD/pods1.yaml"
	kube_pods 10 pbk10 >"$KD/pods10.yaml"
	kube_pods 30 pbk30 >"$KD/pods30.yaml"
	kube_deploy pbkdep "$KUBE_CMD" "" >"$KD/deploy.yaml"
	kube_deploy pbkterm "[\"sh\", \"-c\", \"trap '' TERM; while true; do sleep 1; done\"]" 2 >"$KD/term.yaml"
}
# kube_ctrs CMD: the two containers of every kube pod (IND: extra indent)
kube_ctrs() {
	local c
	for c in a b; do
		cat <<EOF
${IND}    - name: $c
${IND}      image: $KUBE_IMAGE
${IND}      imagePullPolicy: IfNotPresent
${IND}      command: $1
EOF
	done
}
# kube_pods COUNT PREFIX: COUNT Pod documents, PREFIX-0 ..., two busybox sleeps each
kube_pods() {
	local i
	for ((i = 0; i < $1; i++)); do
		printf -- '---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: %s-%d\n  labels: {app: %s}\nspec:\n  containers:\n' "$2" "$i" "$2"
		IND= kube_ctrs "$KUBE_CMD"
	done
}
# kube_deploy NAME CMD GRACE: a 10-replica Deployment of the two-container pod
kube_deploy() {
	cat <<EOF
apiVersion: apps/v1
kind: Deployment
metadata:
  name: $1
spec:
  replicas: 10
  selector:
    matchLabels: {app: $1}
  template:
    metadata:
      labels: {app: $1}
    spec:
EOF
	if [ -n "$3" ]; then echo "      terminationGracePeriodSeconds: $3"; fi
	echo "      containers:"
	IND="    " kube_ctrs "$2"
}
# kube_validate_docs COUNT: COUNT valid documents, a Deployment and a Service per app
kube_validate_docs() {
	local i
	for ((i = 0; i < $1 / 2; i++)); do
		cat <<EOF
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-$i
  labels: {app: app-$i}
spec:
  replicas: 2
  selector:
    matchLabels: {app: app-$i}
  template:
    metadata:
      labels: {app: app-$i}
    spec:
      containers:
        - name: web
          image: $KUBE_IMAGE
          command: ["httpd", "-f", "-p", "8080"]
          ports:
            - containerPort: 8080
          env:
            - {name: INDEX, value: "$i"}
          resources:
            requests: {cpu: 10m, memory: 16Mi}
            limits: {cpu: 100m, memory: 32Mi}
          readinessProbe:
            tcpSocket: {port: 8080}
---
apiVersion: v1
kind: Service
metadata:
  name: app-$i
spec:
  selector: {app: app-$i}
  ports:
    - port: 80
      targetPort: 8080
EOF
	done
}

# pbplay / pmplay FILE; pbdown / pmdown FILE
pbplay() { pb kube play --tls-verify=false "$1"; }
pbdown() { pb kube down "$1"; }
pmplay() { pm kube play --network "$PM_NET" "$1"; }
pmdown() { pm kube down "$1"; }
# engines: the order of this iteration (podbay and Podman take turns going first)
engines() {
	if podman_first; then echo pm pb; elif ((HAVE_PODMAN)); then echo pb pm; else echo pb; fi
}
# krow: row, with the medians of KN samples
krow() {
	local n=$N
	N=$KN
	row "$@"
	N=$n
}

# down_check WHO FILE [KEY [CMD]]: after WHO's kube down of FILE, every pod
# must be gone. A pod left behind is a failure of the engine (noted, and
# KEY.WHO shows FAIL); the pods left are then removed, untimed, so that the
# next cases start clean. CMD runs the engine on the store that played
# (default: WHO, the case's shared store). Returns 1 when the down failed.
down_check() {
	local who=$1 file=$2 key=${3:-} cmd=${4:-$1} left n
	DOWNS["$who $file"]=$((${DOWNS["$who $file"]:-0} + 1))
	left=$("$cmd" pod ps 2>>"$LOG" | awk 'NR > 1 {print $2}' | sort | tr '\n' ' ')
	[ -z "$left" ] && return 0
	n=$(wc -w <<<"$left")
	LEFT["$who $file"]+=" $n"
	say "  FAILED: $who kube down $file exited 0 but left $n pods: $left"
	if [ -n "$key" ] && ((I > 0)); then FAIL[$key.$who]=1; fi
	# shellcheck disable=SC2086
	"$cmd" pod rm -f -t 0 $left >>"$LOG" 2>&1 || die "$who pod rm of the pods kube down left"
	return 1
}

# kube_pair KEY FILE [DOWNKEY]: play FILE with each engine, each followed by
# its down (timed into DOWNKEY when given).
kube_pair() {
	local who
	for who in $(engines); do
		tm "${who}play" "$2"
		add "$1.$who" "$T"
		tm "${who}down" "$2"
		if down_check "$who" "$2" "${3:-$1-down}" && [ -n "${3:-}" ]; then add "$3.$who" "$T"; fi
	done
	return 0
}

# 5. kube play of one, ten and thirty two-container pods and of a 10-replica
# Deployment; kube down of the thirty.
case_kube() {
	need_kube
	for ((I = 0; I <= KN; I++)); do
		kube_pair play1 "$KD/pods1.yaml"
		((I > 0)) || continue # the warm-up: one pod is enough
		kube_pair play10 "$KD/pods10.yaml"
		kube_pair deploy "$KD/deploy.yaml"
		kube_pair play30 "$KD/pods30.yaml" down30
	done
	krow "kube play: 1 pod, 2 containers" ms play1.pb play1.pm
	krow "kube play: 10 pods, 2 containers each" ms play10.pb play10.pm
	krow "kube play: 30 pods, 2 containers each" ms play30.pb play30.pm
	krow "kube play: Deployment, 10 replicas" ms deploy.pb deploy.pm
	krow "kube down: the 30 pods" ms down30.pb down30.pm
}

# 6. kube down of a 10-replica Deployment whose processes ignore SIGTERM
# (terminationGracePeriodSeconds 2): goal within 2.4 s.
case_kubedown() {
	need_kube
	local who
	for ((I = 1; I <= KN; I++)); do
		for who in $(engines); do
			"${who}play" "$KD/term.yaml" >>"$LOG" 2>&1 || die "$who kube play (kubedown)"
			sleep 0.5 # every trap is set
			tm "${who}down" "$KD/term.yaml"
			down_check "$who" "$KD/term.yaml" termdown && add "termdown.$who" "$T"
		done
	done
	krow "kube down: Deployment, 10 replicas ignoring SIGTERM, grace 2 s" ms termdown.pb termdown.pm
}

# 7. kube generate of ten running pods.
case_kubegen() {
	need_kube
	local who pods
	pods=$(printf 'pbk10-%d ' {0..9})
	for who in $(engines); do
		"${who}play" "$KD/pods10.yaml" >>"$LOG" 2>&1 || die "$who kube play (kubegen)"
	done
	for ((I = 0; I <= N; I++)); do
		for who in $(engines); do
			# shellcheck disable=SC2086
			tm "$who" kube generate $pods
			add "gen.$who" "$T"
		done
	done
	row "kube generate: 10 running pods" ms gen.pb gen.pm
	for who in $(engines); do
		"${who}down" "$KD/pods10.yaml" >>"$LOG" 2>&1 || die "$who kube down (kubegen)"
		down_check "$who" "$KD/pods10.yaml" || true
	done
	return 0
}

# 8. kube validate of 1,000 documents (500 Deployments, 500 Services); podbay
# only: Podman has no equivalent. Goal: under 2 s.
case_kubevalidate() {
	need_kube
	kube_validate_docs 1000 >"$KD/validate.yaml"
	for ((I = 0; I <= N; I++)); do
		tm pb kube validate "$KD/validate.yaml"
		add validate.pb "$T"
	done
	row "kube validate: 1,000 documents" ms validate.pb validate.pm
}

# 9. kube play then kube down, in a loop as a user runs it: every play and
# down on a fresh store (--root/--runroot of its own, the image pulled and
# tagged into it untimed), of one two-container pod and of ten. The network
# is set up again by every play: podbay's default network (the
# PODBAY_DEFAULT_* names above, no `network create`) is created with the
# store, its bridge by the play's first CNI ADD, and its iptables rules by
# its first attachment; the down removes the rules with the last one.
# Podman plays onto its bench network as in the other kube cases: a CNI
# config outside its --root (network_config_dir), as its default network
# "podman" is (that one would use cni-podman0, which may be the host's);
# its bridge plugin adds each pod's masquerade chain and firewall rules at
# play and removes them at down. Neither engine deletes its bridge at down;
# both bridges are deleted before every play (untimed: podbay's with the
# previous store's `system reset`, Podman's with `ip link del`), so each
# play creates its bridge, as on a fresh host. Podman keeps its network
# config across iterations (it is not part of a store; its `system reset`
# removes it, and need_pm_network makes it again, untimed). Podman builds
# its infra image (localhost/podman-pause) in a store's first pod, a cost a
# store pays once, not per play: an untimed `pod create` builds it first
# (podbay's infra runs podbay-monitor, bind-mounted: no image).
case_kubeloop() {
	need_kube
	local who f
	for ((I = 0; I <= N; I++)); do
		for f in 1 10; do
			for who in $(engines); do
				loop_once "$who" "$f"
			done
		done
	done
	for f in 1 10; do
		local what="$f pods"
		if ((f == 1)); then what="1 pod"; fi
		row "kube loop, fresh store: play, $what" ms "lplay$f.pb" "lplay$f.pm"
		row "kube loop, fresh store: down, $what" ms "ldown$f.pb" "ldown$f.pm"
		row "kube loop, fresh store: play + down, $what" ms "lboth$f.pb" "lboth$f.pm"
	done
}
# loop_once WHO COUNT: one timed play and down of KD/podsCOUNT.yaml by WHO
# on a fresh store (LD), made and removed untimed.
LD=
lpb() { pbat "$LD" "$@"; }
lpm() { pmat "$LD" "$@"; }
lpbplay() { lpb kube play --tls-verify=false "$1"; }
lpmplay() { lpm kube play --network "$PM_NET" "$1"; }
lpbdown() { lpb kube down "$1"; }
lpmdown() { lpm kube down "$1"; }
loop_once() {
	local who=$1 file=$KD/pods$2.yaml play
	loop_store "$who"
	tm "l${who}play" "$file"
	play=$T
	tm "l${who}down" "$file"
	if down_check "$who" "$file" "lboth$2" "l$who"; then
		add "lplay$2.$who" "$play"
		add "ldown$2.$who" "$T"
		add "lboth$2.$who" "$(awk -v a="$play" -v b="$T" 'BEGIN {printf "%.1f", a + b}')"
	elif ((I > 0)); then
		FAIL[ldown$2.$who]=1
	fi
	if [ "$who" = pb ]; then
		lpb system reset --force >>"$LOG" 2>&1 || die "podbay system reset (kubeloop)"
	else
		lpm pod rm -fa -t 0 >>"$LOG" 2>&1
		# The `podman container cleanup` a conmon runs when its container
		# exits may still be writing to the store's events file: once more.
		lpm system reset -f >>"$LOG" 2>&1 || { sleep 1 && lpm system reset -f >>"$LOG" 2>&1; } ||
			die "podman system reset (kubeloop)"
	fi
	rm -rf "$LD"
}
# loop_store WHO: a fresh store for WHO (LD) holding the image, no bridge.
loop_store() {
	LD=$W/loop-$1
	mkdir -p "$LD/tmp"
	"l$1" pull --tls-verify=false "$BUSYBOX" >>"$LOG" 2>&1 || die "$1 pull (kubeloop)"
	"l$1" tag "$BUSYBOX" "$KUBE_IMAGE" >>"$LOG" 2>&1 || die "$1 tag (kubeloop)"
	if [ "$1" = pm ]; then
		{ lpm pod create --network none --name pbkloop-warm && lpm pod rm pbkloop-warm; } >>"$LOG" 2>&1 ||
			die "podman pod create (kubeloop: its infra image)"
		need_pm_network
	fi
	local l
	for l in $PB_NET $PM_BRIDGE; do
		if ip link show "$l" >/dev/null 2>&1; then ip link del "$l" >>"$LOG" 2>&1 || die "deleting bridge $l"; fi
	done
}

# 10. docker run -d through the Docker API: the docker CLI against podbay's
# socket (podbay system service) and Podman's (podman system service), each
# service started once, before the timed runs. With --network none (a
# standalone container on both) and on a bridge network (podbay: a pod of
# one on its default network; Podman: its CNI network). The floor is the
# docker CLI's own start-up (docker --version), in both figures.
SERVICES=()
case_docker() {
	need_busybox
	need_pm_network
	command -v docker >/dev/null || die "the docker CLI is needed (hack/install-deps.sh)"
	mkdir -p "$W/docker-config"
	"$PODBAY" --root "$W/pb/root" --runroot "$W/pb/run" system service --time 0 "unix://$W/pb.sock" >>"$LOG" 2>&1 &
	SERVICES+=($!)
	if ((HAVE_PODMAN)); then
		"$PODMAN" --root "$W/pm/root" --runroot "$W/pm/run" system service --time 0 "unix://$W/pm.sock" >>"$LOG" 2>&1 &
		SERVICES+=($!)
	fi
	local s
	for s in pb $( ((HAVE_PODMAN)) && echo pm); do
		for ((i = 0; i < 300; i++)); do dk "$s" version >/dev/null 2>&1 && break; sleep 0.1; done
		dk "$s" version >>"$LOG" 2>&1 || die "the $s service does not answer"
	done
	for ((I = 0; I <= N; I++)); do
		podman_first && docker_pm
		tm dk pb run -d --network none --name "pbb-dk-$I" "$BUSYBOX" sleep 1000
		add docker.pb "$T"
		tm dk pb run -d --network bridge --name "pbb-dkn-$I" "$BUSYBOX" sleep 1000
		add dockernet.pb "$T"
		dk pb rm -f "pbb-dk-$I" "pbb-dkn-$I" >>"$LOG" 2>&1
		tm docker --version
		add docker.floor "$T"
		podman_second && docker_pm
	done
	row "docker run -d, network none" ms docker.pb docker.pm "docker --version" docker.floor
	row "docker run -d, bridge network" ms dockernet.pb dockernet.pm "docker --version" docker.floor
}
# dk pb|pm ARGS: the docker CLI against podbay's or Podman's service
dk() { local s=$1; shift; DOCKER_HOST=unix://$W/$s.sock DOCKER_CONFIG=$W/docker-config docker "$@"; }
docker_pm() {
	tm dk pm run -d --network none --name "pbb-dk-$I" "$BUSYBOX" sleep 1000
	add docker.pm "$T"
	tm dk pm run -d --network "$PM_NET" --name "pbb-dkn-$I" "$BUSYBOX" sleep 1000
	add dockernet.pm "$T"
	dk pm rm -f "pbb-dk-$I" "pbb-dkn-$I" >>"$LOG" 2>&1
}

# --- clean-up ------------------------------------------------------------------

cleanup() {
	set +e
	local d
	[ -n "${BENCH_LOG:-}" ] && cp "$LOG" "$BENCH_LOG"
	for d in "${SERVICES[@]}"; do kill "$d" 2>/dev/null && wait "$d" 2>/dev/null; done
	if [ -d "$W/runc" ]; then
		for d in $(runc --root "$W/runc" list -q 2>/dev/null); do runc --root "$W/runc" delete -f "$d"; done
	fi
	for d in "$W/pb" "$W/pull-pb" "$W/loop-pb"; do
		[ -d "$d" ] && pbat "$d" system reset --force >/dev/null 2>&1
	done
	if ((HAVE_PODMAN)); then
		pm pod rm -fa -t 0 >/dev/null 2>&1
		pm rm -fa -t 0 >/dev/null 2>&1
		pm network rm -f "$PM_NET" >/dev/null 2>&1
		pm system reset -f >/dev/null 2>&1
		for d in "$W/pull-pm" "$W/loop-pm"; do
			[ -d "$d" ] || continue
			pmat "$d" pod rm -fa -t 0 >/dev/null 2>&1
			pmat "$d" system reset -f >/dev/null 2>&1
		done
	fi
	stop_registry
	# What the engines leave on the host by design (bridges, CNI's default
	# dirs, Podman's shm lock and cgroup parent, runc's default root, a shared
	# /run/netns mount): removed only when this run created it.
	for d in $PB_NET $PM_BRIDGE; do ip link show "$d" >/dev/null 2>&1 && ip link del "$d"; done
	rm -rf "/var/lib/cni/networks/$PM_NET" "/var/lib/cni/networks/$PB_NET"
	[ -z "${PRE[/var/lib/cni]:-}" ] && [ -d /var/lib/cni ] && find /var/lib/cni -depth -type d -empty -delete
	[ -z "${PRE[/dev/shm/libpod_lock]:-}" ] && rm -f /dev/shm/libpod_lock
	if [ -z "${PRE[/var/lib/containers]:-}" ]; then # skopeo's and Podman's blob-info cache
		rm -rf /var/lib/containers/cache
		rmdir /var/lib/containers 2>/dev/null
	fi
	[ -z "${PRE[/run/runc]:-}" ] && rmdir /run/runc 2>/dev/null
	if [ -z "${PRE[/run/netns]:-}" ] && [ -d /run/netns ] && [ -z "$(ls -A /run/netns)" ]; then
		while mountpoint -q /run/netns; do umount /run/netns || break; done
		rmdir /run/netns
	fi
	[ -z "${PRE[/run/mount]:-}" ] && rmdir /run/mount 2>/dev/null # libmount's, made by that umount
	for d in libpod_parent podbay; do
		[ -z "${PRE[/sys/fs/cgroup/memory/$d]:-}" ] || continue
		for c in /sys/fs/cgroup/*/"$d"; do [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null; done
	done
	local left
	left=$(
		grep " $W" /proc/mounts
		ip -o link show | grep -E " ($PB_NET|$PM_BRIDGE)[:@]"
		[ -z "${PRE[cni-podman0]:-}" ] && ip -o link show cni-podman0 2>/dev/null
		iptables-save 2>/dev/null | grep -F -e "${PB_SUBNET%.0/24}." -e "${PM_SUBNET%.0/24}."
		for d in /proc/[0-9]*; do
			[[ $(tr '\0' ' ' 2>/dev/null <"$d/cmdline") == *"$W"* || $(readlink "$d/root" 2>/dev/null) == "$W"* ]] &&
				echo "process ${d#/proc/}: $(tr '\0' ' ' 2>/dev/null <"$d/cmdline")"
		done
	)
	[ -n "$left" ] && say "bench: LEFT BEHIND:" && say "$left"
	grep -o " $W[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- main ----------------------------------------------------------------------

go build -o "$W/benchutil" ./hack/benchutil
# Run a copy of podbay and its helpers (podbay-kube, podbay-monitor, found
# beside it), so that a rebuild of bin/ during the run cannot mix versions.
mkdir -p "$W/bin"
for b in "$PODBAY" "$(dirname "$PODBAY")"/podbay-kube "$(dirname "$PODBAY")"/podbay-monitor; do
	if [ -x "$b" ]; then cp "$b" "$W/bin/"; fi
done
PODBAY=$W/bin/$(basename "$PODBAY")
setup_podman
LOAD0=$(cut -d' ' -f1 /proc/loadavg)
say "bench: N=$N, $PODMAN_NOTE, work dir $W"
for c in "${CASES[@]}"; do
	say "bench: case $c"
	"case_$c"
done

cat <<EOF

podbay $("$PODBAY" version 2>/dev/null | awk 'NR == 1 {print $2}'); $PODMAN_NOTE
$(nproc) CPUs, kernel $(uname -r), $(runc --version | head -n 1); medians of $N runs; load average $LOAD0 before, $(cut -d' ' -f1 /proc/loadavg) after

| case | podbay | podman | podbay/podman | floor |
|---|---|---|---|---|
EOF
printf '%s\n' "${ROWS[@]}"
if ((${#LEFT[@]})); then
	printf '\nFailures (FAIL: no valid sample):\n'
	for k in "${!LEFT[@]}"; do
		set -- ${LEFT[$k]}
		printf -- '- %s `kube down %s` exited 0 but left pods running, in %d of %d downs (pods left:%s)\n' \
			"${k%% *}" "$(basename "${k#* }")" $# "${DOWNS[$k]}" "${LEFT[$k]}"
	done
fi
