#!/usr/bin/env bash
# selftest.sh: checks the test control plane from cluster.sh end to end (API, controllers, garbage collection, RBAC, audit, restart, compaction, stop) and prints TAP.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cluster=$here/cluster.sh
TIMEOUT=${TIMEOUT:-60}
NS=selftest

n=0 failed=0
ok() { n=$((n + 1)); printf 'ok %d - %s\n' "$n" "$1"; }
not_ok() {
	n=$((n + 1)) failed=$((failed + 1))
	printf 'not ok %d - %s\n' "$n" "$1"
	[[ -z ${2:-} ]] || printf '%s\n' "$2" | sed 's/^/# /'
}
# check NAME CMD...: one TAP line from CMD's exit status; its output is shown on failure.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "$out"; fi
}
# eventually SECONDS CMD...: retries CMD every 0.5 s until it succeeds or SECONDS pass.
eventually() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.5
	done
}

# The binaries and kubectl (built when none is installed); a missing tool skips the suite,
# or fails it under CI=true, with a line naming the tool.
# shellcheck source=tests/k8s/prereq.sh
. "$here/prereq.sh"
k8s_prereq
BIN=$VIVO_K8S_BIN

echo "1..14"
t0=$SECONDS
dir=$(mktemp -d "${TMPDIR:-/tmp}/vivo-k8s-selftest.XXXXXX")
# On every path the cluster stops and its directory goes (KEEP=1 keeps it); after a failure the
# end of each component's log goes to the output first.
cleanup() {
	local rc=$?
	if [[ ${KEEP:-0} == 1 ]]; then
		KEEP=1 "$cluster" stop "$dir" >&2 || true
		echo "# KEEP=1: cluster directory and logs kept in $dir"
		return
	fi
	if ((failed)) || ((rc)); then
		k8s_tails "$dir"
		echo "# failed (KEEP=1 keeps the cluster directory and its logs)"
	fi
	"$cluster" stop "$dir" >&2 || true
	rm -rf "$dir"
}
trap cleanup EXIT

if ! out=$("$cluster" start "$dir" 2>&1); then
	not_ok "cluster starts" "$out"
	echo "Bail out! cluster did not start"
	exit 1
fi
ok "cluster starts ($((SECONDS - t0)) s)"
# shellcheck source=/dev/null
. "$dir/env"
k() { kubectl --kubeconfig "$dir/admin.kubeconfig" --request-timeout=20s "$@"; }

# 2: the admin kubeconfig works.
get_ns() {
	local out
	out=$(kubectl --kubeconfig "$dir/admin.kubeconfig" get ns -o name) && echo "$out" &&
		grep -qx namespace/default <<<"$out" && grep -qx namespace/kube-system <<<"$out"
}
check "kubectl get ns lists default and kube-system" get_ns

# 3: the server is the version we built, not v0.0.0-master.
version_is() {
	local out
	out=$(k get --raw /version) && echo "$out" && grep -q "\"gitVersion\": *\"$1\"" <<<"$out"
}
check "/version reports v1.34.3" version_is v1.34.3

k create namespace "$NS" >/dev/null

# 4: deployment controller -> ReplicaSet, replicaset controller -> Pod.
rs_and_pod() {
	[[ -n $(k -n "$NS" get rs -l app=web -o name 2>/dev/null) ]] &&
		[[ -n $(k -n "$NS" get pods -l app=web -o name 2>/dev/null) ]]
}
k -n "$NS" create deployment web --image=registry.invalid/vivo/pause:1 >/dev/null
if eventually "$TIMEOUT" rs_and_pod; then
	ok "Deployment gets a ReplicaSet and a Pod from kube-controller-manager"
else
	not_ok "Deployment gets a ReplicaSet and a Pod from kube-controller-manager" \
		"$(k -n "$NS" get deploy,rs,pods 2>&1)"
fi

# 5: garbage collector removes a dependent whose owner was deleted.
k -n "$NS" create configmap owner --from-literal=a=1 >/dev/null
uid=$(k -n "$NS" get configmap owner -o jsonpath='{.metadata.uid}')
k -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: dependent
  ownerReferences:
  - apiVersion: v1
    kind: ConfigMap
    name: owner
    uid: $uid
data:
  b: "2"
EOF
k -n "$NS" delete configmap owner --wait=false >/dev/null
dependent_gone() { ! k -n "$NS" get configmap dependent >/dev/null 2>&1; }
if eventually "$TIMEOUT" dependent_gone; then
	ok "garbage collector deletes the dependent ConfigMap after its owner"
else
	not_ok "garbage collector deletes the dependent ConfigMap after its owner" \
		"$(k -n "$NS" get configmap dependent -o yaml 2>&1)"
fi

# 6, 7: an ordinary user is denied, then allowed through a RoleBinding to a ClusterRole.
userkc=$("$cluster" user "$dir" selftest-user selftest-group)
can_list() { [[ $(kubectl --kubeconfig "$userkc" auth can-i list configmaps -n "$NS" 2>/dev/null) == yes ]]; }
out=$(kubectl --kubeconfig "$userkc" auth can-i list configmaps -n "$NS" 2>&1 || true)
if [[ $out == no ]]; then ok "user selftest-user is denied before a RoleBinding"; else
	not_ok "user selftest-user is denied before a RoleBinding" "$out"; fi
k create clusterrole selftest-cm-reader --verb=get,list,watch --resource=configmaps >/dev/null
k -n "$NS" create rolebinding selftest-user-reads --clusterrole=selftest-cm-reader \
	--user=selftest-user >/dev/null
if eventually 20 can_list && kubectl --kubeconfig "$userkc" -n "$NS" get configmaps >/dev/null 2>&1 &&
	! kubectl --kubeconfig "$userkc" -n default get configmaps >/dev/null 2>&1; then
	ok "user selftest-user is allowed after the RoleBinding (in $NS only)"
else
	not_ok "user selftest-user is allowed after the RoleBinding (in $NS only)" \
		"$(kubectl --kubeconfig "$userkc" auth can-i list configmaps -n "$NS" 2>&1)"
fi

# 8: audit log records writes at Metadata level, per user.
# (grep -c, not -q: under pipefail an early exit would fail the pipeline)
creates=$(grep -F '"verb":"create"' "$AUDIT_LOG" | grep -F '"username":"vivo-test-admin"' |
	grep -cF '"resource":"configmaps"' || true)
reads=$(grep -cE '"verb":"(get|list|watch)"' "$AUDIT_LOG" || true)
if ((creates >= 2 && reads == 0)); then
	ok "audit log has the admin's ConfigMap creates and no reads ($(wc -l <"$AUDIT_LOG") events)"
else
	not_ok "audit log has the admin's ConfigMap creates and no reads" "$(tail -n 3 "$AUDIT_LOG" 2>&1)"
fi

# list_rv NAMESPACE: the resourceVersion of a ConfigMap list (the list's own comes first).
list_rv() {
	k get --raw "/api/v1/namespaces/$1/configmaps" | grep -o '"resourceVersion":"[0-9]*"' |
		head -n 1 | grep -o '[0-9][0-9]*'
}

# 9: restart-apiserver keeps the port and the data.
rv_before=$(list_rv "$NS")
# a write after rv_before: the restarted apiserver's watch cache then starts above rv_before
k -n "$NS" create configmap before-restart >/dev/null
port_before=$APISERVER_PORT
# shellcheck source=/dev/null
if out=$("$cluster" restart-apiserver "$dir" 2>&1) && . "$dir/env" &&
	[[ $APISERVER_PORT == "$port_before" ]] && k -n "$NS" get deployment web >/dev/null 2>&1; then
	ok "restart-apiserver comes back on port $APISERVER_PORT with the data"
else
	not_ok "restart-apiserver comes back on the same port with the data" "$out"
fi

# 10: a watch resuming from a resourceVersion older than the restarted apiserver's watch
# cache (which starts at the current revision) gets 410 Gone; the controller must re-list.
# (a 429 means the watch cache is still initializing: retry, as a real client would)
watch_old() {
	local i out
	for ((i = 0; i < 20; i++)); do
		out=$(curl -s --max-time 5 --cacert "$CA_CERT" --cert "$ADMIN_CERT" --key "$ADMIN_KEY" \
			"$APISERVER_URL/api/v1/namespaces/${2:-$NS}/configmaps?watch=1&resourceVersion=$1&timeoutSeconds=2" || true)
		[[ $out == *'"code":429'* ]] || break
		sleep 0.5
	done
	printf '%s\n' "$out"
}
k -n "$NS" create configmap after-restart >/dev/null
out=$(watch_old "$rv_before")
if [[ $out == *'"code":410'* ]]; then
	ok "watch from resourceVersion $rv_before after an apiserver restart gets 410 Gone"
else
	not_ok "watch from resourceVersion $rv_before after an apiserver restart gets 410 Gone" "$out"
fi

# 11: compact reaches etcd (the revision moves to the compacted one).
rev=$("$cluster" compact "$dir" 2>/dev/null || true)
out=$("$BIN/etcdctl" --endpoints="$ETCD_URL" get /registry/namespaces/default \
	--rev=$((${rev:-1} - 1)) 2>&1 || true)
if [[ $rev =~ ^[0-9]+$ && $out == *'required revision has been compacted'* ]]; then
	ok "compact compacts etcd to revision $rev"
else
	not_ok "compact compacts etcd" "rev=$rev $out"
fi

# 12: listing still works after compaction.
check "API still serves after compaction" k -n "$NS" get configmaps

# 13: stop kills what start started and removes the directory.
pids="$ETCD_PID $APISERVER_PID $KCM_PID"
"$cluster" stop "$dir" >&2
alive=""
for p in $pids; do
	# a zombie (empty cmdline) has exited; its new parent just has not reaped it yet
	if [[ -n $(tr -d '\0' <"/proc/$p/cmdline" 2>/dev/null) ]]; then alive+=" $p"; fi
done
if [[ -z $alive && ! -e $dir ]]; then
	ok "stop ends etcd, kube-apiserver, kube-controller-manager and removes the directory"
else
	not_ok "stop ends all processes and removes the directory" "alive:$alive"
fi

# 14: with WATCH_CACHE=0 watches are served by etcd, so `compact` alone yields 410 Gone.
dir=$(mktemp -d "${TMPDIR:-/tmp}/vivo-k8s-selftest.XXXXXX")
if out=$(WATCH_CACHE=0 "$cluster" start "$dir" 2>&1); then
	# shellcheck source=/dev/null
	. "$dir/env"
	rv_old=$(list_rv default)
	# two writes: etcd keeps the compaction revision itself, so a watch from rv_old (which
	# starts at rv_old+1) is refused only if rv_old+1 is below the compacted revision
	k -n default create configmap churn-1 >/dev/null
	k -n default create configmap churn-2 >/dev/null
	"$cluster" compact "$dir" >/dev/null 2>&1
	out=$(watch_old "$rv_old" default)
fi
if [[ $out == *'"code":410'* ]]; then
	ok "WATCH_CACHE=0: watch from resourceVersion $rv_old after compact gets 410 Gone"
else
	not_ok "WATCH_CACHE=0: watch from a compacted resourceVersion gets 410 Gone" "$out"
fi
if ((failed == 0)); then
	"$cluster" stop "$dir" >&2
	trap - EXIT
fi

echo "# $n tests, $failed failed, $((SECONDS - t0)) s"
((failed == 0))
