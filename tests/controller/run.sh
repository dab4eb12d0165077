#!/usr/bin/env bash
# run.sh: vivo-controller's tests against a real control plane: build it (cached), start a cluster, run test_controller.py, test_webhook.py and test_fleet.py (TAP), stop it.
#
# The controller binary: $VIVO_CONTROLLER, else $VIVO_BUILD/controller/vivo-controller, else build/check's.
# The cluster runs kube-controller-manager with the garbage collector and the EndpointSlice
# controller but not the Deployment controller: no kubelet runs here, so the tests play its
# part by patching Deployment and pod status.
# KEEP=1 keeps the cluster directory and the controllers' logs.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)

ctl=${VIVO_CONTROLLER:-}
if [[ -z $ctl ]]; then
	for cand in "${VIVO_BUILD:-}/controller/vivo-controller" "$top/build/check/controller/vivo-controller"; do
		[[ -x $cand ]] && { ctl=$cand; break; }
	done
fi
if [[ -z $ctl || ! -x $ctl ]]; then
	echo "Bail out! no vivo-controller binary: build first, or set VIVO_CONTROLLER or VIVO_BUILD"
	exit 1
fi
command -v kubectl >/dev/null || { echo "1..0 # SKIP kubectl not found"; exit 0; }
export VIVO_CONTROLLER=$ctl

if ! bin=$("$top/tests/k8s/build.sh" </dev/null | tail -n 1); then
	echo "Bail out! tests/k8s/build.sh failed"
	exit 1
fi
export VIVO_K8S_BIN=$bin
dir=$(mktemp -d "${TMPDIR:-/tmp}/vivo-controller-test.XXXXXX")
rc=1
cleanup() {
	if [[ $rc -ne 0 || ${KEEP:-0} == 1 ]]; then
		KEEP=1 "$top/tests/k8s/cluster.sh" stop "$dir" >&2 || true
		echo "# cluster directory and logs kept in $dir"
	else
		"$top/tests/k8s/cluster.sh" stop "$dir" >&2 || true
	fi
}
trap cleanup EXIT
# The EndpointSlice controller shows what the headless Services select (test_fleet.py).
if ! KCM_CONTROLLERS=garbagecollector,namespace,serviceaccount,endpointslice "$top/tests/k8s/cluster.sh" start "$dir" 2>"$dir.start.log"; then
	cat "$dir.start.log" >&2
	echo "Bail out! the test cluster did not start"
	exit 1
fi
rm -f "$dir.start.log"
echo "# controller: $ctl"
echo "# cluster: $(grep APISERVER_URL "$dir/env" | cut -d= -f2) in $dir"
timeout 1200 python3 "$here/test_controller.py" "$dir"
rc=$?
# Sidecar mode and the webhook (issue 13), in the same cluster.
timeout 900 python3 "$here/test_webhook.py" "$dir"
rc2=$?
((rc == 0)) && rc=$rc2
# The aggregator and the peers (issue 11), their configs running in vivo-agent.
timeout 600 python3 "$here/test_fleet.py" "$dir"
rc2=$?
((rc == 0)) && rc=$rc2
exit $rc
