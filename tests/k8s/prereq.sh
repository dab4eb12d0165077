# prereq.sh: sourced by the suites that need the test control plane: gets its binaries and kubectl (tests/k8s/build.sh), or reports the missing tool as TAP and exits.
# shellcheck shell=bash
#
# k8s_prereq: sets and exports VIVO_K8S_BIN, and puts kubectl on PATH (the installed one, else
# the one build.sh built into VIVO_K8S_BIN). A missing tool (kubectl, or Go to build the
# binaries) is one skipped suite, "1..0 # SKIP <tool> ...", exit 0; with CI=true it is a failed
# test naming the tool, exit 1. A build that fails otherwise is "Bail out!", exit 1.
# k8s_tails DIR: the end of each component's log in a cluster directory, as TAP comments.

# k8s_missing TOOL WHY: the TAP for a suite that cannot run without TOOL; exits.
k8s_missing() {
	case ${CI:-} in
	true | 1 | yes)
		printf 'not ok 1 - %s is missing: %s (CI=true: a missing tool is a failure, not a skip)\n1..1\n' "$1" "$2"
		exit 1
		;;
	esac
	printf '1..0 # SKIP %s is missing: %s\n' "$1" "$2"
	exit 0
}

k8s_prereq() {
	local k8s_dir rc=0
	k8s_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	if ! command -v kubectl >/dev/null 2>&1 && [[ ${VIVO_NO_TOOL_BUILD:-0} == 1 ]]; then
		k8s_missing kubectl "not on PATH, and VIVO_NO_TOOL_BUILD=1 keeps tests/k8s/build.sh from building it (install kubectl >= 1.32, or unset VIVO_NO_TOOL_BUILD)"
	fi
	VIVO_K8S_BIN=$("$k8s_dir/build.sh" </dev/null) || rc=$?
	VIVO_K8S_BIN=${VIVO_K8S_BIN##*$'\n'}
	case $rc in
	0) ;;
	3) k8s_missing go "tests/k8s/build.sh found no Go new enough to build the control plane and fetched none (its message above says how to get one)" ;;
	*)
		echo "Bail out! tests/k8s/build.sh failed (exit $rc)"
		exit 1
		;;
	esac
	export VIVO_K8S_BIN
	if ! command -v kubectl >/dev/null 2>&1; then
		[[ -x $VIVO_K8S_BIN/kubectl ]] || k8s_missing kubectl "not on PATH and not in $VIVO_K8S_BIN"
		PATH=$PATH:$VIVO_K8S_BIN
		export PATH
	fi
}

k8s_tails() {
	local f
	for f in etcd kube-apiserver kube-controller-manager; do
		[[ -s $1/$f.log ]] || continue
		printf '# ---- last 20 lines of %s.log\n' "$f"
		tail -n 20 "$1/$f.log" | sed 's/^/# /'
	done
}
