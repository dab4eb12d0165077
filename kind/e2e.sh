#!/usr/bin/env bash
# e2e.sh: the KIND end-to-end run: build both images, load them into a KIND cluster, helm install, apply a Vivo, wait for Ready, port-forward and push one record over HTTP and one over Forward, read both back from 2025 and through 8000.
#
# usage: kind/e2e.sh
# Needs a Docker engine that can pull images, and kind, kubectl, helm, curl on PATH
# (.github/workflows/kind.yml installs the pinned versions). It cannot run where Docker or
# image pulls are unavailable; tests/packaging/run.sh proves the same steps there against a
# real API server with local processes instead of pods.
#
# Environment: KIND_CLUSTER_NAME (default vivo-e2e), IMAGE_TAG (default e2e),
# KEEP_CLUSTER=1 (leave the cluster up), REUSE_CLUSTER=1 (use a running cluster of that name),
# ARTIFACTS=DIR (diagnostics on failure), WAIT (default 300s).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
# shellcheck source=kind/checks.sh
. "$here/checks.sh"

CLUSTER=${KIND_CLUSTER_NAME:-vivo-e2e}
TAG=${IMAGE_TAG:-e2e}
WAIT=${WAIT:-300s}
ARTIFACTS=${ARTIFACTS:-}
NS=vivo-system          # the chart's release namespace (controller and default Vivo)
RUN=e2e-$$-$RANDOM      # marks this run's records
KCTX=kind-$CLUSTER
created=0
pf_pid=''
pf_log=''

log() { printf '\n== e2e.sh: %s\n' "$*"; }
die() { printf 'e2e.sh: error: %s\n' "$*" >&2; exit 1; }
k() { kubectl --context "$KCTX" "$@"; }

diagnostics() {
	k get vivos,deployments,replicasets,pods,services,configmaps -A -o wide || true
	k get events -A --sort-by=.lastTimestamp || true
	k describe vivos -A || true
	k -n "$NS" logs deployment/vivo-controller --tail=200 || true
	k -n default logs deployment/demo --all-containers --tail=100 || true
}

# On failure, show (and keep in ARTIFACTS) what explains it; then remove what this run created.
finish() {
	local rc=$?
	[[ -n $pf_pid ]] && kill "$pf_pid" 2>/dev/null
	if ((rc != 0)) && { ((created)) || [[ ${REUSE_CLUSTER:-0} == 1 ]]; }; then
		log "FAILED (exit $rc); diagnostics"
		if [[ -n $ARTIFACTS ]]; then
			diagnostics 2>&1 | tee "$ARTIFACTS/diagnostics.txt"
			[[ -z $pf_log ]] || cp "$pf_log" "$ARTIFACTS/port-forward.log" || true
			kind export logs --name "$CLUSTER" "$ARTIFACTS/kind-logs" >/dev/null 2>&1 || true
		else
			diagnostics 2>&1
		fi
	fi
	if ((created)) && [[ ${KEEP_CLUSTER:-0} != 1 ]]; then
		kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
	fi
	[[ -n $pf_log ]] && rm -f "$pf_log"
	exit "$rc"
}
trap finish EXIT

for tool in docker kind kubectl helm curl; do
	command -v "$tool" >/dev/null || die "$tool not found on PATH"
done
[[ -n $ARTIFACTS ]] && mkdir -p "$ARTIFACTS"

log "build images vivo-agent:$TAG and vivo-controller:$TAG"
docker build -f "$top/Dockerfile.agent" -t "vivo-agent:$TAG" "$top"
docker build -f "$top/Dockerfile.controller" -t "vivo-controller:$TAG" "$top"

if [[ ${REUSE_CLUSTER:-0} == 1 ]] && kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
	log "reuse KIND cluster $CLUSTER"
else
	log "create KIND cluster $CLUSTER"
	created=1
	kind create cluster --name "$CLUSTER" --config "$here/cluster.yaml" --wait 120s
fi

log "load images into $CLUSTER"
kind load docker-image --name "$CLUSTER" "vivo-agent:$TAG" "vivo-controller:$TAG"

# The same chart and values path as tests/packaging/run.sh's helm install; only the images
# differ (the ones just built, never pulled).
log "helm install vivo helm/vivo (namespace $NS)"
helm --kube-context "$KCTX" upgrade --install vivo "$top/helm/vivo" \
	--namespace "$NS" --create-namespace \
	--set image.controller.repository=vivo-controller \
	--set image.controller.tag="$TAG" \
	--set image.controller.pullPolicy=Never \
	--set image.agent.repository=vivo-agent \
	--set image.agent.tag="$TAG" \
	--wait --timeout "$WAIT"
k -n "$NS" rollout status deployment/vivo-controller --timeout "$WAIT"

log "the chart's default Vivo becomes Ready"
k -n "$NS" wait vivo/vivo --for=condition=Ready --timeout "$WAIT"

log "apply a Vivo (manifests/vivo-cr.yaml) and wait for Ready"
k apply -f "$top/manifests/vivo-cr.yaml"
k -n default wait vivo/demo --for=condition=Ready --timeout "$WAIT"
k -n default get vivo demo -o wide

log "Service demo exposes 8000/9000/9010/2025"
ports=$(k -n default get service demo -o jsonpath='{range .spec.ports[*]}{.port}{" "}{end}')
for p in 8000 9000 9010 2025; do
	[[ " $ports" == *" $p "* ]] || die "Service demo lacks port $p (has: $ports)"
done

log "port-forward svc/demo 8000 9000 9010 2025 (local ports picked by kubectl)"
pf_log=$(mktemp)
k -n default port-forward svc/demo :8000 :9000 :9010 :2025 >"$pf_log" 2>&1 &
pf_pid=$!
# local_port REMOTE: the local port kubectl chose ("Forwarding from 127.0.0.1:LOCAL -> REMOTE").
local_port() { sed -n "s/^Forwarding from 127\.0\.0\.1:\([0-9]*\) -> $1\$/\1/p" "$pf_log" | head -n 1; }
for ((i = 0; i < 100; i++)); do
	[[ -n $(local_port 8000) && -n $(local_port 9000) && -n $(local_port 9010) && -n $(local_port 2025) ]] && break
	kill -0 "$pf_pid" 2>/dev/null || { cat "$pf_log" >&2; die "kubectl port-forward exited"; }
	sleep 0.2
done
ui=$(local_port 8000) fwd=$(local_port 9000) http=$(local_port 9010) exporter=$(local_port 2025)
[[ -n $ui && -n $fwd && -n $http && -n $exporter ]] || { cat "$pf_log" >&2; die "port-forward did not come up"; }

log "send a record over HTTP (:9010) and one over Forward (:9000), run $RUN"
vivo_send_http "$http" "$RUN"
vivo_send_forward "$fwd" "$RUN"

log "read both back from the exporter (:2025) and through the UI port (:8000)"
vivo_expect_logs "$exporter" "$ui" "$RUN" 60
vivo_expect_ui "$ui"
kill "$pf_pid" 2>/dev/null || true
pf_pid=''

log "upgrade: CRD first (helm upgrade leaves it alone), then the release"
k apply --server-side --force-conflicts -f "$top/helm/vivo/crds/"
helm --kube-context "$KCTX" upgrade vivo "$top/helm/vivo" --namespace "$NS" --reuse-values \
	--wait --timeout "$WAIT"
k -n "$NS" wait vivo/vivo --for=condition=Ready --timeout "$WAIT"

log "delete the Vivo: its Deployment, Service and ConfigMap are garbage-collected"
k -n default delete vivo demo --wait --timeout "$WAIT"
k -n default wait deployment/demo --for=delete --timeout "$WAIT" 2>/dev/null || true
if k -n default get deployment/demo service/demo >/dev/null 2>&1; then
	die "objects of the deleted Vivo demo are still there"
fi

log "PASS"
