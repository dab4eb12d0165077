#!/usr/bin/env bash
# cluster.sh: starts, inspects and stops a throwaway real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager) on 127.0.0.1 for Vivo's tests.
#
# Usage:
#   cluster.sh start DIR                 certificates, free ports, etcd + apiserver + controller-manager;
#                                        writes DIR/env, DIR/admin.kubeconfig, DIR/*.log, DIR/audit.log
#   cluster.sh user DIR NAME [GROUPS]    client cert for NAME (GROUPS comma-separated) -> prints DIR/<NAME>.kubeconfig
#   cluster.sh stop-apiserver DIR        stops kube-apiserver only (SIGNAL=KILL for a crash)
#   cluster.sh start-apiserver DIR       starts it again on the same port, waits for /readyz
#   cluster.sh restart-apiserver DIR     both of the above (DOWN_SECONDS=N keeps it down N s)
#   cluster.sh compact DIR               compacts etcd to its current revision; prints the revision
#   cluster.sh stop DIR                  stops what start started (by recorded PID), removes DIR unless KEEP=1
#
# Environment: VIVO_K8S_BIN (bin dir; default: build.sh's output), START_TIMEOUT (s, default 60),
# KCM_CONTROLLERS (default garbagecollector,deployment,replicaset,namespace,serviceaccount),
# WATCH_CACHE=0 (serve watches from etcd, so `compact` alone yields 410 Gone), KEEP=1,
# SERVICE_CIDR (default 10.0.0.0/24: 254 Services; the 1,000-Vivo benchmark asks for a /16).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
START_TIMEOUT=${START_TIMEOUT:-60}
KCM_CONTROLLERS=${KCM_CONTROLLERS:-garbagecollector,deployment,replicaset,namespace,serviceaccount}

log() { printf 'cluster.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
usage() { sed -n '4,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2; exit 2; }

# ---- binaries ---------------------------------------------------------------------------

find_bin() {
	if [[ -n ${VIVO_K8S_BIN:-} ]]; then
		BIN=$VIVO_K8S_BIN
	else
		BIN=$("$here/build.sh" </dev/null | tail -n 1)
	fi
	local b
	for b in etcd etcdctl kube-apiserver kube-controller-manager; do
		[[ -x $BIN/$b ]] || die "$BIN/$b missing (run tests/k8s/build.sh)"
	done
	command -v openssl >/dev/null || die "openssl not found"
	command -v curl >/dev/null || die "curl not found"
}

# ---- ports ------------------------------------------------------------------------------

PICKED=" "

# port_busy PORT: true if any TCP socket on this host uses PORT.
port_busy() {
	if command -v ss >/dev/null; then
		[[ -n $(ss -Htan "( sport = :$1 )" 2>/dev/null) ]]
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}

# free_port: sets PORT to a random free port below the kernel's ephemeral range, so that it can
# not collide with the source port of an outgoing connection; never a fixed port.
free_port() {
	local lo hi base span p i
	read -r lo hi </proc/sys/net/ipv4/ip_local_port_range || { lo=32768 hi=60999; }
	if ((lo > 12000)); then
		base=10000 span=$((lo - 10000))
	else
		base=$((hi + 1)) span=$((65535 - hi))
	fi
	for ((i = 0; i < 500; i++)); do
		p=$((base + (RANDOM * 32768 + RANDOM) % span))
		[[ $PICKED == *" $p "* ]] && continue
		port_busy "$p" && continue
		PICKED+="$p "
		PORT=$p
		return 0
	done
	die "no free port found"
}

# ---- certificates -----------------------------------------------------------------------

write_openssl_cnf() {
	cat >"$PKI/openssl.cnf" <<'EOF'
# openssl.cnf: extensions for the throwaway test CA and the certificates it signs.
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
EOF
}

# new_key FILE: an ECDSA P-256 private key (fast to make; Go, OpenSSL and curl all take it).
new_key() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
	chmod 600 "$1"
}

# sign NAME SUBJ EXT: NAME.key + NAME.crt signed by the test CA with extension section EXT.
sign() {
	local name=$1 subj=$2 ext=$3
	new_key "$PKI/$name.key"
	openssl req -new -config "$PKI/openssl.cnf" -key "$PKI/$name.key" -subj "$subj" \
		-out "$PKI/$name.csr"
	openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" \
		-CAcreateserial -days 30 -extfile "$PKI/openssl.cnf" -extensions "$ext" \
		-out "$PKI/$name.crt" 2>/dev/null
	rm -f "$PKI/$name.csr"
}

make_pki() {
	mkdir -p "$PKI"
	write_openssl_cnf
	new_key "$PKI/ca.key"
	openssl req -x509 -new -config "$PKI/openssl.cnf" -key "$PKI/ca.key" \
		-subj "/CN=vivo-test-ca-$$" -days 30 -extensions ca -out "$PKI/ca.crt"
	sign apiserver "/CN=kube-apiserver" server
	sign admin "/O=system:masters/CN=vivo-test-admin" client
	sign kube-controller-manager "/O=system:masters/CN=system:kube-controller-manager" client
	# Service-account token signing key: RSA, as kubeadm makes it.
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$PKI/sa.key" 2>/dev/null
	chmod 600 "$PKI/sa.key"
	openssl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub"
}

b64() { base64 -w0 <"$1"; }

# write_kubeconfig FILE USER CERT KEY: a self-contained kubeconfig (data embedded).
write_kubeconfig() {
	cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: vivo-test
  cluster:
    server: $APISERVER_URL
    certificate-authority-data: $(b64 "$PKI/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $(b64 "$3")
    client-key-data: $(b64 "$4")
contexts:
- name: vivo-test
  context:
    cluster: vivo-test
    user: $2
current-context: vivo-test
EOF
	chmod 600 "$1"
}

# ---- processes --------------------------------------------------------------------------

# ours PID NAME: true if PID is alive and is the NAME binary this cluster started.
ours() {
	local pid=$1 name=$2 arg0
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
	arg0=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n 1) || return 1
	[[ $arg0 == "$K8S_BIN/$name" ]]
}

# halt PID NAME: SIGNAL (default TERM) to PID if it is ours, then wait up to 20 s, then KILL.
halt() {
	local pid=$1 name=$2 i
	ours "$pid" "$name" || return 0
	kill "-${SIGNAL:-TERM}" "$pid" 2>/dev/null || true
	for ((i = 0; i < 200; i++)); do
		ours "$pid" "$name" || return 0
		sleep 0.1
	done
	log "$name ($pid) ignored SIG${SIGNAL:-TERM} for 20 s; killing it"
	kill -KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		ours "$pid" "$name" || return 0
		sleep 0.1
	done
}

# launch NAME ARGFILE: starts $K8S_BIN/NAME with the arguments in ARGFILE (one per line),
# output appended to DIR/NAME.log; sets LAUNCHED to its PID.
launch() {
	local name=$1 args
	mapfile -t args <"$2"
	printf '\n==== %s start %s\n' "$name" "$(date -u +%FT%TZ)" >>"$DIR/$name.log"
	"$K8S_BIN/$name" "${args[@]}" </dev/null >>"$DIR/$name.log" 2>&1 9>&- &
	LAUNCHED=$!
}

tails() {
	local f
	for f in "$DIR"/etcd.log "$DIR"/kube-apiserver.log "$DIR"/kube-controller-manager.log; do
		[[ -s $f ]] || continue
		printf '\n---- last 25 lines of %s\n' "$f" >&2
		tail -n 25 "$f" >&2
	done
}

# wait_up NAME PID CMD...: polls CMD (must print "ok") until START_TIMEOUT; fails if PID dies.
wait_up() {
	local name=$1 pid=$2 deadline=$((SECONDS + START_TIMEOUT))
	shift 2
	while ((SECONDS < deadline)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			log "$name (pid $pid) exited during start"
			return 1
		fi
		[[ $("$@" 2>/dev/null) == ok ]] && return 0
		sleep 0.2
	done
	log "$name not ready after ${START_TIMEOUT} s"
	return 1
}

etcd_ok() {
	local out
	out=$(curl -s --max-time 2 "$ETCD_URL/health") || return 1
	[[ $out == *'"health":"true"'* ]] && echo ok
}
apiserver_ok() {
	curl -s --max-time 2 --cacert "$PKI/ca.crt" "$APISERVER_URL/readyz"
}
kcm_ok() {
	curl -sk --max-time 2 "https://127.0.0.1:$KCM_PORT/healthz"
}

write_env() {
	{
		printf '# env: state of the test cluster in this directory (written by tests/k8s/cluster.sh).\n'
		local k
		for k in K8S_BIN APISERVER_URL APISERVER_PORT ETCD_URL ETCD_PEER_PORT KCM_PORT \
			KUBECONFIG CA_CERT ADMIN_CERT ADMIN_KEY AUDIT_LOG ETCD_PID APISERVER_PID KCM_PID; do
			printf 'export %s=%q\n' "$k" "${!k}"
		done
	} >"$DIR/env.tmp"
	mv -f "$DIR/env.tmp" "$DIR/env"
}

load_env() {
	[[ -f $DIR/env ]] || die "$DIR/env not found: no cluster started there"
	# shellcheck source=/dev/null
	. "$DIR/env"
	PKI=$DIR/pki
}

# ---- components -------------------------------------------------------------------------

start_etcd() {
	local try
	for try in 1 2 3; do
		free_port
		ETCD_PORT=$PORT
		free_port
		ETCD_PEER_PORT=$PORT
		ETCD_URL=http://127.0.0.1:$ETCD_PORT
		local peer=http://127.0.0.1:$ETCD_PEER_PORT
		cat >"$DIR/etcd.args" <<EOF
--name=vivo-test
--data-dir=$DIR/etcd-data
--listen-client-urls=$ETCD_URL
--advertise-client-urls=$ETCD_URL
--listen-peer-urls=$peer
--initial-advertise-peer-urls=$peer
--initial-cluster=vivo-test=$peer
--unsafe-no-fsync=true
EOF
		launch etcd "$DIR/etcd.args"
		ETCD_PID=$LAUNCHED
		wait_up etcd "$ETCD_PID" etcd_ok && return 0
		halt "$ETCD_PID" etcd
		grep -q 'address already in use' "$DIR/etcd.log" || return 1
		log "etcd port taken, retrying ($try)"
		rm -rf "$DIR/etcd-data"
	done
	return 1
}

write_apiserver_args() {
	cat >"$DIR/kube-apiserver.args" <<EOF
--etcd-servers=$ETCD_URL
--bind-address=127.0.0.1
--advertise-address=127.0.0.1
--endpoint-reconciler-type=none
--secure-port=$APISERVER_PORT
--cert-dir=$DIR/apiserver-certs
--tls-cert-file=$PKI/apiserver.crt
--tls-private-key-file=$PKI/apiserver.key
--client-ca-file=$PKI/ca.crt
--service-cluster-ip-range=${SERVICE_CIDR:-10.0.0.0/24}
--allow-privileged=true
--disable-admission-plugins=ServiceAccount
--authorization-mode=RBAC
--service-account-issuer=$APISERVER_URL/
--service-account-key-file=$PKI/sa.pub
--service-account-signing-key-file=$PKI/sa.key
--audit-policy-file=$DIR/audit-policy.yaml
--audit-log-path=$AUDIT_LOG
--audit-log-mode=blocking
--audit-log-format=json
--shutdown-send-retry-after=true
--watch-cache=$([[ ${WATCH_CACHE:-1} == 0 ]] && echo false || echo true)
EOF
}

start_apiserver() {
	launch kube-apiserver "$DIR/kube-apiserver.args"
	APISERVER_PID=$LAUNCHED
	wait_up kube-apiserver "$APISERVER_PID" apiserver_ok
}

start_kcm() {
	local try
	for try in 1 2 3; do
		free_port
		KCM_PORT=$PORT
		cat >"$DIR/kube-controller-manager.args" <<EOF
--kubeconfig=$DIR/kube-controller-manager.kubeconfig
--bind-address=127.0.0.1
--secure-port=$KCM_PORT
--cert-dir=$DIR/kcm-certs
--controllers=$KCM_CONTROLLERS
--leader-elect=false
--service-account-private-key-file=$PKI/sa.key
--root-ca-file=$PKI/ca.crt
--use-service-account-credentials=false
EOF
		launch kube-controller-manager "$DIR/kube-controller-manager.args"
		KCM_PID=$LAUNCHED
		wait_up kube-controller-manager "$KCM_PID" kcm_ok && return 0
		halt "$KCM_PID" kube-controller-manager
		grep -q 'address already in use' "$DIR/kube-controller-manager.log" || return 1
		log "controller-manager port taken, retrying ($try)"
	done
	return 1
}

# ---- subcommands ------------------------------------------------------------------------

cmd_start() {
	[[ -f $DIR/env ]] && die "$DIR/env exists: a cluster was already started there"
	find_bin
	K8S_BIN=$BIN
	mkdir -p "$DIR"
	DIR=$(cd "$DIR" && pwd)
	PKI=$DIR/pki
	: >"$DIR/.vivo-k8s-cluster"
	make_pki
	# shellcheck disable=SC2034 # written out by write_env through ${!k}
	CA_CERT=$PKI/ca.crt ADMIN_CERT=$PKI/admin.crt ADMIN_KEY=$PKI/admin.key
	AUDIT_LOG=$DIR/audit.log
	KUBECONFIG=$DIR/admin.kubeconfig
	ETCD_PID='' APISERVER_PID='' KCM_PID='' ETCD_URL='' ETCD_PEER_PORT='' KCM_PORT=''
	cat >"$DIR/audit-policy.yaml" <<'EOF'
# audit-policy.yaml: one Metadata event per API write (tests count writes per user).
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  verbs: ["create", "update", "patch", "delete", "deletecollection"]
- level: None
EOF

	local t0=$SECONDS try ok=0
	STARTED=0
	trap start_failed EXIT
	start_etcd
	for try in 1 2 3; do
		free_port
		APISERVER_PORT=$PORT
		APISERVER_URL=https://127.0.0.1:$APISERVER_PORT
		write_env
		write_kubeconfig "$KUBECONFIG" admin "$ADMIN_CERT" "$ADMIN_KEY"
		write_kubeconfig "$DIR/kube-controller-manager.kubeconfig" kube-controller-manager \
			"$PKI/kube-controller-manager.crt" "$PKI/kube-controller-manager.key"
		write_apiserver_args
		if start_apiserver; then
			ok=1
			break
		fi
		halt "$APISERVER_PID" kube-apiserver
		grep -q 'address already in use' "$DIR/kube-apiserver.log" || break
		log "apiserver port taken, retrying ($try)"
	done
	((ok))
	write_env
	start_kcm
	write_env
	STARTED=1
	log "up in $((SECONDS - t0)) s: $APISERVER_URL (etcd $ETCD_URL); . $DIR/env"
}

# start_failed: EXIT trap of start; on failure shows the logs and kills what was started.
start_failed() {
	((STARTED)) && return 0
	log "start failed; logs kept in $DIR"
	tails
	SIGNAL=KILL cmd_kill_all
}

cmd_kill_all() {
	halt "${KCM_PID:-}" kube-controller-manager
	halt "${APISERVER_PID:-}" kube-apiserver
	halt "${ETCD_PID:-}" etcd
}

cmd_stop() {
	if [[ ! -f $DIR/env ]]; then
		log "no cluster in $DIR"
		return 0
	fi
	load_env
	cmd_kill_all
	if [[ ${KEEP:-0} == 1 ]]; then
		log "stopped; kept $DIR"
	elif [[ -f $DIR/.vivo-k8s-cluster ]]; then
		rm -rf "$DIR"
	fi
}

cmd_user() {
	local name=$1 groups=${2:-} subj="" g file gs
	[[ $name =~ ^[A-Za-z0-9._:@-]+$ ]] || die "user name '$name': use [A-Za-z0-9._:@-]"
	[[ -z $groups || $groups =~ ^[A-Za-z0-9._:@,-]+$ ]] || die "groups '$groups': use [A-Za-z0-9._:@-], comma-separated"
	load_env
	file=${name//[^A-Za-z0-9._-]/_}
	if [[ -n $groups ]]; then
		IFS=, read -ra gs <<<"$groups"
		for g in "${gs[@]}"; do subj+="/O=$g"; done
	fi
	sign "user-$file" "$subj/CN=$name" client
	write_kubeconfig "$DIR/$file.kubeconfig" "$name" "$PKI/user-$file.crt" "$PKI/user-$file.key"
	printf '%s\n' "$DIR/$file.kubeconfig"
}

cmd_stop_apiserver() {
	load_env
	halt "$APISERVER_PID" kube-apiserver
}

cmd_start_apiserver() {
	load_env
	if ours "$APISERVER_PID" kube-apiserver; then
		log "kube-apiserver already running (pid $APISERVER_PID)"
		return 0
	fi
	local i
	for ((i = 0; i < 50; i++)); do
		port_busy_listen "$APISERVER_PORT" || break
		sleep 0.1
	done
	if ! start_apiserver; then
		tails
		die "kube-apiserver did not come back on $APISERVER_URL"
	fi
	write_env
}

# port_busy_listen PORT: true if something listens on PORT (TIME_WAIT does not block a rebind).
port_busy_listen() {
	if command -v ss >/dev/null; then
		[[ -n $(ss -Htln "( sport = :$1 )" 2>/dev/null) ]]
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}

cmd_compact() {
	load_env
	local rev
	rev=$("$K8S_BIN/etcdctl" --endpoints="$ETCD_URL" endpoint status -w json |
		grep -o '"revision":[0-9]*' | head -n 1 | cut -d: -f2)
	[[ -n $rev ]] || die "cannot read etcd's revision"
	"$K8S_BIN/etcdctl" --endpoints="$ETCD_URL" compact --physical "$rev" >&2
	printf '%s\n' "$rev"
}

(($# >= 2)) || usage
cmd=$1 DIR=$2
shift 2
case $cmd in
start) (($# == 0)) || usage; cmd_start ;;
stop) (($# == 0)) || usage; cmd_stop ;;
user) (($# >= 1 && $# <= 2)) || usage; cmd_user "$@" ;;
stop-apiserver) cmd_stop_apiserver ;;
start-apiserver) cmd_start_apiserver ;;
restart-apiserver)
	cmd_stop_apiserver
	sleep "${DOWN_SECONDS:-0}"
	cmd_start_apiserver
	;;
compact) cmd_compact ;;
*) usage ;;
esac
