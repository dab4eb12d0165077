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
export VIVO_CONTROLLER=$ctl
# The control plane's binaries and kubectl (built when none is installed); a missing tool skips
# the suite, or fails it under CI=true, with a line naming the tool.
# shellcheck source=tests/k8s/prereq.sh
. "$top/tests/k8s/prereq.sh"
k8s_prereq
dir=$(mktemp -d "${TMPDIR:-/tmp}/vivo-controller-test.XXXXXX")
rc=1
# On every path the cluster stops and its directory goes (KEEP=1 keeps it); after a failure the
# end of each component's log goes to the output first.
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [[ ${KEEP:-0} == 1 ]]; then
		KEEP=1 "$top/tests/k8s/cluster.sh" stop "$dir" >&2 || true
		echo "# KEEP=1: cluster directory and logs kept in $dir"
		return
	fi
	if [[ $rc -ne 0 ]]; then
		k8s_tails "$dir"
		echo "# (KEEP=1 keeps the cluster directory and its logs)"
	fi
	"$top/tests/k8s/cluster.sh" stop "$dir" >&2 || true
	rm -rf "$dir"
}
trap cleanup EXIT
# The EndpointSlice controller shows what the headless Services select (test_fleet.py).
if ! out=$(KCM_CONTROLLERS=garbagecollector,namespace,serviceaccount,endpointslice "$top/tests/k8s/cluster.sh" start "$dir" 2>&1); then
	printf '%s\n' "$out" >&2
	echo "Bail out! the test cluster did not start"
	exit 1
fi
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
