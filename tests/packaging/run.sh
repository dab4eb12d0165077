#!/usr/bin/env bash
# run.sh: the packaging suite (TAP): Dockerfiles, compose, make install/uninstall and the systemd unit, manifests, Helm chart, KIND job files; then, on a real test API server, dry-runs, helm install, and the installed controller reconciling the default Vivo.
#
# usage: tests/packaging/run.sh          (scripts/test.sh runs it; exit 1 if any test fails)
# Environment: VIVO_BUILD (a configured build tree; default build/check, then build/release,
# then the source tree), VIVO_AGENT (default $VIVO_BUILD/agent/vivo-agent),
# VIVO_CONTROLLER (default $VIVO_BUILD/controller/vivo-controller), VIVO_K8S_BIN (binaries of
# tests/k8s/build.sh), KEEP=1 (keep the scratch directory and the cluster's logs).
# Every wait is bounded; the API server and every process started here are stopped at exit.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top" || exit 1
# shellcheck source=kind/checks.sh
. "$top/kind/checks.sh"

CHECK=(python3 "$here/check.py")
YAMLLINT=(yamllint -s -c "$here/yamllint.yaml")
WAIT=${WAIT:-60}          # seconds for any one thing to happen on the API server

# ---- TAP --------------------------------------------------------------------------------

n=0
failed=0
work=$(mktemp -d "${TMPDIR:-/tmp}/vivo-packaging.XXXXXX")
out=$work/out

ok() { n=$((n + 1)); printf 'ok %d - %s\n' "$n" "$1"; }
not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	printf 'not ok %d - %s\n' "$n" "$1"
	[[ -s $out ]] && sed -e 's/^/# /' "$out" | head -n 60
	return 0
}
skip() { n=$((n + 1)); printf 'ok %d - %s # SKIP %s\n' "$n" "$1" "$2"; }
note() { printf '# %s\n' "$*"; }

# t DESC CMD...: one test; CMD's output is shown only when it fails.
t() {
	local desc=$1
	shift
	if "$@" >"$out" 2>&1; then ok "$desc"; else not_ok "$desc"; fi
}

# ---- processes and cleanup --------------------------------------------------------------

pids=()
cluster=''
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	if [[ -n $cluster ]]; then
		KEEP=${KEEP:-0} "$top/tests/k8s/cluster.sh" stop "$cluster" >/dev/null 2>&1
	fi
	if [[ ${KEEP:-0} == 1 ]]; then
		note "kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for SECONDS CMD...: CMD succeeds within SECONDS.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		((SECONDS >= deadline)) && return 1
		sleep 0.5
	done
}

# agent_port LOG NAME: the port the agent logged for listener NAME.
agent_port() { sed -n "s/.*listening $2 on [0-9.]*:\([0-9]*\)\$/\1/p" "$1" | tail -n 1; }

# ---- the build tree ---------------------------------------------------------------------

B=${VIVO_BUILD:-}
if [[ -z $B ]]; then
	for d in "$top/build/check" "$top/build/release" "$top"; do
		[[ -f $d/Makefile ]] && { B=$d; break; }
	done
fi
AGENT=${VIVO_AGENT:-${B:+$B/agent/vivo-agent}}
CONTROLLER=${VIVO_CONTROLLER:-${B:+$B/controller/vivo-controller}}
note "build tree: ${B:-none}; agent: ${AGENT:-none}; controller: ${CONTROLLER:-none}"

# =========================================================================================
# 1. Container images
# =========================================================================================

t "Dockerfile.agent: checklist (pinned bookworm bases, multi-stage, numeric non-root USER, HEALTHCHECK, EXPOSE 8000 9000 9010 2025 4318 4317 2020, no ADD, apt lists cleaned)" \
	"${CHECK[@]}" dockerfile Dockerfile.agent --ports 8000,9000,9010,2025,4318,4317,2020 --binary /usr/bin/vivo-agent
t "Dockerfile.controller: checklist (pinned bookworm bases, multi-stage, numeric non-root USER, HEALTHCHECK, EXPOSE 8080 8081, no ADD, apt lists cleaned)" \
	"${CHECK[@]}" dockerfile Dockerfile.controller --ports 8080,8081 --binary /usr/bin/vivo-controller
t ".dockerignore keeps every source the image build needs and drops build outputs" \
	"${CHECK[@]}" dockerignore .dockerignore "$top"

# runtime_libs DOCKERFILE BINARY: every library BINARY uses (its DT_NEEDED entries less those
# `ldd -u` finds unused, which a linker with --as-needed, like the images' build, drops) comes
# from a package the runtime stage installs, or from the base image's libc6. Resolved with
# dpkg on this host, the same Debian release as the images. Sanitizer runtimes are the test
# build's own. (The images also run `vivo-* --version` in the runtime stage, so a missing
# library fails the image build itself.)
runtime_libs() {
	local df=$1 bin=$2 pkgs lib path pkg missing=0 unused
	pkgs=" libc6 libgcc-s1 $("${CHECK[@]}" dockerfile-packages "$df") "
	unused=" $(ldd -u "$bin" 2>/dev/null | sed -n 's|^[[:space:]]*/.*/||p' | tr '\n' ' ') "
	while read -r lib; do
		case $lib in libasan.so* | libubsan.so* | liblsan.so* | libtsan.so* | libstdc++.so*) continue ;; esac
		[[ $unused == *" $lib "* ]] && continue
		path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64|x86_64|AArch64|aarch64/ { print $NF; exit }')
		[[ -n $path ]] || path=$(ldconfig -p | awk -v l="$lib" '$1 == l { print $NF; exit }')
		pkg=''
		[[ -n $path ]] && pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null || dpkg -S "$path" 2>/dev/null ||
			dpkg -S "${path/#\/lib\///usr/lib/}" 2>/dev/null || dpkg -S "${path/#\/usr\/lib\///lib/}" 2>/dev/null)
		pkg=${pkg%%:*}
		if [[ -z $pkg ]]; then
			echo "$bin needs $lib, which no Debian package provides here"
			missing=1
		elif [[ $pkgs != *" $pkg "* ]]; then
			echo "$bin needs $lib from $pkg, which $df does not install (installs:$pkgs)"
			missing=1
		fi
	done < <(objdump -p "$bin" | awk '$1 == "NEEDED" { print $2 }')
	return "$missing"
}
if [[ -x ${AGENT:-} ]] && command -v objdump >/dev/null; then
	t "Dockerfile.agent's runtime packages provide every library vivo-agent links" runtime_libs Dockerfile.agent "$AGENT"
else
	skip "Dockerfile.agent's runtime packages provide every library vivo-agent links" "no built vivo-agent or no objdump"
fi
if [[ -x ${CONTROLLER:-} ]] && command -v objdump >/dev/null; then
	t "Dockerfile.controller's runtime packages provide every library vivo-controller links" \
		runtime_libs Dockerfile.controller "$CONTROLLER"
else
	skip "Dockerfile.controller's runtime packages provide every library vivo-controller links" \
		"vivo-controller is not built yet (${CONTROLLER:-no build tree})"
fi

# The images' HEALTHCHECK script against a real agent: 0 on its health endpoint, 1 otherwise.
healthcheck() {
	local log=$work/hc-agent.log port rc=0
	"$AGENT" --listen 127.0.0.1 --ui-port 0 --exporter-port 0 --ops-port 0 --http-port 0 \
		--forward-port 0 --otlp-port 0 --otlp-grpc-port 0 >"$log" 2>&1 &
	local pid=$!
	pids+=("$pid")
	wait_for 10 grep -q 'listening ops on' "$log" || { cat "$log"; return 1; }
	port=$(agent_port "$log" ops)
	dist/docker/vivo-healthcheck "$port" /api/v1/health || { echo "healthy agent reported unhealthy"; rc=1; }
	if dist/docker/vivo-healthcheck "$port" /no-such-path 2>/dev/null; then echo "404 reported healthy"; rc=1; fi
	kill "$pid"
	wait "$pid" 2>/dev/null
	if dist/docker/vivo-healthcheck "$port" /api/v1/health 2>/dev/null; then echo "closed port reported healthy"; rc=1; fi
	return "$rc"
}
if [[ -x ${AGENT:-} ]]; then
	t "dist/docker/vivo-healthcheck (the images' HEALTHCHECK): 0 on the agent's /api/v1/health, 1 on a 404 and on a closed port" healthcheck
else
	skip "dist/docker/vivo-healthcheck against a real agent" "no built vivo-agent"
fi

t "docker-compose.yml: agent built from Dockerfile.agent, 8000/9000/9010/2025/4318/4317 published, listens on 0.0.0.0, read-only, no capabilities" \
	"${CHECK[@]}" compose docker-compose.yml

# =========================================================================================
# 2. make install / uninstall and the systemd unit
# =========================================================================================

# make_var NAME: a variable of the build tree's Makefile, expanded (marked: make may first
# regenerate the Makefile, and print configure's output, when configure.ac changed).
make_var() {
	make -s -C "$B" --no-print-directory --eval="print-var: ; @echo 'vivo-make-var=\$($1)'" print-var 2>/dev/null |
		sed -n 's/^vivo-make-var=//p' | tail -n 1
}

install_matches_docker() {
	local d=$work/docker-staging ddest dprefix dsrc bindir prefix
	read -r ddest dprefix dsrc < <("${CHECK[@]}" dockerfile-copy Dockerfile.agent vivo-agent) || return 1
	[[ -n $dsrc ]] || return 1
	# The Dockerfile runs configure --prefix=$dprefix and make install DESTDIR=$ddest, then
	# copies $dsrc: that is $ddest$dprefix/bin/vivo-agent exactly when bindir is $prefix/bin.
	[[ $dsrc == "$ddest$dprefix/bin/vivo-agent" ]] || { echo "COPY $dsrc is not DESTDIR $ddest + prefix $dprefix + /bin/vivo-agent"; return 1; }
	bindir=$(make_var bindir) prefix=$(make_var prefix)
	[[ $bindir == "$prefix/bin" ]] || { echo "bindir $bindir is not prefix/bin ($prefix/bin)"; return 1; }
	make -s -C "$B" install DESTDIR="$d" >/dev/null || return 1
	[[ -f $d$prefix/bin/vivo-agent ]] || { echo "make install put no file at DESTDIR$prefix/bin/vivo-agent"; return 1; }
	cmp "$d$prefix/bin/vivo-agent" "$B/agent/vivo-agent" || { echo "the installed agent differs from the built one"; return 1; }
	make -s -C "$B" uninstall DESTDIR="$d" >/dev/null
	echo "Dockerfile copies $dsrc = DESTDIR + prefix + /bin/vivo-agent, where make install puts the built agent"
}

install_uninstall() {
	local d=$work/destdir bindir unitdir unit left
	bindir=$(make_var bindir) unitdir=$(make_var systemdunitdir)
	make -s -C "$B" install DESTDIR="$d" >/dev/null || return 1
	[[ -x $d$bindir/vivo-agent ]] || { echo "no $bindir/vivo-agent"; return 1; }
	cmp "$d$bindir/vivo-agent" "$B/agent/vivo-agent" || return 1
	if [[ -x $B/controller/vivo-controller ]]; then
		[[ -x $d$bindir/vivo-controller ]] || { echo "vivo-controller is built but not installed"; return 1; }
	fi
	unit=$d$unitdir/vivo-agent.service
	[[ -f $unit ]] || { echo "no $unitdir/vivo-agent.service"; return 1; }
	grep -qx "ExecStart=$bindir/vivo-agent \$VIVO_AGENT_ARGS" "$unit" || { grep ExecStart "$unit"; echo "ExecStart is not $bindir/vivo-agent"; return 1; }
	make -s -C "$B" uninstall DESTDIR="$d" >/dev/null || return 1
	left=$(find "$d" -type f -o -type l)
	[[ -z $left ]] || { echo "left after make uninstall: $left"; return 1; }
}

systemd_unit() {
	local d=$work/destdir-unit bindir unitdir u=$work/vivo-agent.service
	bindir=$(make_var bindir) unitdir=$(make_var systemdunitdir)
	make -s -C "$B" install DESTDIR="$d" >/dev/null || return 1
	# Verify it as installed, with ExecStart pointing into DESTDIR so the binary is found.
	sed "s|^ExecStart=$bindir/|ExecStart=$d$bindir/|" "$d$unitdir/vivo-agent.service" >"$u"
	systemd-analyze verify "$u" || return 1
	systemd-analyze security --offline=yes --threshold=3 "$u" | tail -n 1
}

if [[ -n $B && -f $B/Makefile && -x $B/agent/vivo-agent ]]; then
	t "make install puts bin/vivo-agent where Dockerfile.agent copies it from, byte-identical to the built agent" install_matches_docker
	t "make install DESTDIR= installs bin/vivo-agent (and bin/vivo-controller when built) and the systemd unit; make uninstall removes them all" install_uninstall
	if command -v systemd-analyze >/dev/null; then
		t "systemd unit: systemd-analyze verify passes; offline exposure score at most 3 (sandboxed)" systemd_unit
	else
		skip "systemd unit: systemd-analyze verify" "systemd-analyze not installed"
	fi
else
	skip "make install puts bin/vivo-agent where Dockerfile.agent copies it from" "no built tree (VIVO_BUILD)"
	skip "make install / make uninstall" "no built tree (VIVO_BUILD)"
	skip "systemd unit: systemd-analyze verify" "no built tree (VIVO_BUILD)"
fi

# =========================================================================================
# 3. Lint: shell, YAML, workflow pins, generated files
# =========================================================================================

t "shellcheck: kind/e2e.sh kind/checks.sh manifests/generate.sh tests/packaging/run.sh dist/docker/vivo-healthcheck" \
	shellcheck -x kind/e2e.sh kind/checks.sh manifests/generate.sh tests/packaging/run.sh dist/docker/vivo-healthcheck
t "yamllint: workflow, KIND config, compose, manifests, chart metadata and values" \
	"${YAMLLINT[@]}" .github/workflows/kind.yml kind/cluster.yaml docker-compose.yml manifests/controller.yaml \
	manifests/vivo-cr.yaml helm/vivo/Chart.yaml helm/vivo/values.yaml tests/packaging/values-all.yaml \
	tests/packaging/yamllint.yaml
t ".github/workflows/kind.yml: every action pinned to a full commit SHA" "${CHECK[@]}" workflow .github/workflows/kind.yml

# The KIND job runs what this suite proves: same chart, same Kubernetes minor, same helm.
kind_matches_local() {
	local helm_local helm_ci kind_minor local_minor
	helm_local=$(sed -n 's/^HELM_VERSION=//p' tests/k8s/build.sh)
	helm_ci=$(sed -n 's/^ *HELM_VERSION: *//p' .github/workflows/kind.yml)
	[[ -n $helm_local && $helm_local == "$helm_ci" ]] || { echo "helm: tests/k8s $helm_local, workflow $helm_ci"; return 1; }
	local_minor=$(awk '$1 == "k8s.io/kubernetes" { print $2 } $1 == "require" && $2 == "k8s.io/kubernetes" { print $3 }' tests/k8s/tools/go.mod | head -n 1 | cut -d. -f1,2)
	kind_minor=$(sed -n 's/.*image: kindest\/node:\(v[0-9]*\.[0-9]*\)\..*/\1/p' kind/cluster.yaml)
	[[ -n $local_minor && $local_minor == "$kind_minor" ]] || { echo "Kubernetes: test API server $local_minor, KIND node $kind_minor"; return 1; }
	grep -q 'run: kind/e2e.sh' .github/workflows/kind.yml || { echo "the workflow does not run kind/e2e.sh"; return 1; }
	# The steps of e2e.sh that this suite mirrors, in order (literal text of the script).
	local step last=0 at
	# shellcheck disable=SC2016
	for step in 'docker build -f "$top/Dockerfile.agent"' 'docker build -f "$top/Dockerfile.controller"' \
		'kind load docker-image' 'upgrade --install vivo "$top/helm/vivo"' 'wait vivo/vivo --for=condition=Ready' \
		'apply -f "$top/manifests/vivo-cr.yaml"' 'wait vivo/demo --for=condition=Ready' \
		'port-forward svc/demo :8000 :9000 :9010 :2025' 'vivo_send_http' 'vivo_send_forward' 'vivo_expect_logs' \
		'apply --server-side --force-conflicts -f "$top/helm/vivo/crds/"'; do
		at=$(grep -nF -- "$step" kind/e2e.sh | head -n 1 | cut -d: -f1)
		[[ -n $at ]] || { echo "kind/e2e.sh lacks: $step"; return 1; }
		((at > last)) || { echo "kind/e2e.sh: '$step' is out of order"; return 1; }
		last=$at
	done
	echo "helm $helm_local, Kubernetes $local_minor, steps in order"
}
t "kind/e2e.sh and the workflow run the steps this suite proves locally (same helm, same Kubernetes minor, same chart and checks)" kind_matches_local

have_sources=1
for f in manifests/crd.yaml manifests/rbac.yaml; do
	[[ -f $f ]] || have_sources=0
done
if ((have_sources)); then
	t "manifests/install.yaml, helm/vivo/crds/ and helm/vivo/files/rbac.yaml are current (manifests/generate.sh --check)" manifests/generate.sh --check
	t "helm/vivo/crds/vivo.dev_vivos.yaml is byte-identical to manifests/crd.yaml" cmp manifests/crd.yaml helm/vivo/crds/vivo.dev_vivos.yaml
	t "yamllint (relaxed): manifests/crd.yaml, manifests/rbac.yaml, manifests/install.yaml" \
		yamllint -d '{extends: relaxed, rules: {line-length: disable}}' manifests/crd.yaml manifests/rbac.yaml manifests/install.yaml
else
	skip "manifests/install.yaml and the chart's copies are current" "manifests/crd.yaml or manifests/rbac.yaml does not exist yet"
	skip "helm/vivo/crds/ CRD is byte-identical to manifests/crd.yaml" "manifests/crd.yaml does not exist yet"
	skip "yamllint: manifests/crd.yaml, manifests/rbac.yaml, manifests/install.yaml" "not there yet"
fi

# =========================================================================================
# 4. The chart, rendered
# =========================================================================================

HELM=''
K8S_BIN=${VIVO_K8S_BIN:-}
if [[ -z $K8S_BIN ]]; then
	K8S_BIN=$("$top/tests/k8s/build.sh" 2>"$work/build-k8s.log" </dev/null | tail -n 1)
fi
if [[ -x $K8S_BIN/helm ]]; then
	HELM=$K8S_BIN/helm
	note "helm $("$HELM" version --template '{{.Version}}'), binaries in $K8S_BIN"
else
	note "no helm in ${K8S_BIN:-the output of tests/k8s/build.sh}: $(tail -n 3 "$work/build-k8s.log" 2>/dev/null | tr '\n' ' ')"
fi

VALUES_ALL=$here/values-all.yaml
render() { "$HELM" template "$@"; }

t "values.yaml documents every key" "${CHECK[@]}" values-documented helm/vivo/values.yaml
t "values-all.yaml sets every value of values.yaml" "${CHECK[@]}" values-coverage helm/vivo/values.yaml "$VALUES_ALL"

if [[ -n $HELM ]] && ((have_sources)); then
	t "helm lint --strict helm/vivo (default values)" "$HELM" lint --strict helm/vivo
	t "helm lint --strict helm/vivo -f values-all.yaml (every documented value set)" "$HELM" lint --strict helm/vivo -f "$VALUES_ALL"
	schema_refuses() {
		if render x helm/vivo --set controller.replicas=-1; then echo "replicas=-1 accepted"; return 1; fi
		if render x helm/vivo --set defaultInstance.spec.service.type=Foo; then echo "service type Foo accepted"; return 1; fi
		return 0
	}
	t "values.schema.json refuses a bad value (controller.replicas=-1, service type Foo)" schema_refuses

	# render_to FILE ARGS...: helm template ARGS > FILE
	render_to() {
		local f=$1
		shift
		render "$@" >"$f"
	}
	t "helm template: default values render" render_to "$work/default.yaml" vivo helm/vivo --namespace vivo-system
	t "helm template: every documented value set renders" render_to "$work/all.yaml" dryall helm/vivo --namespace vivo-rel -f "$VALUES_ALL"
	t "helm template: the switches off (defaultInstance, rbac, serviceAccount, leader election) render" \
		render_to "$work/off.yaml" dryoff helm/vivo --namespace vivo-rel \
		--set defaultInstance.enabled=false,rbac.create=false,serviceAccount.create=false \
		--set serviceAccount.name=existing,controller.leaderElection.enabled=false
	render_yaml11() {
		render_to "$work/yaml11.yaml" on helm/vivo --namespace y \
			--set controller.watchNamespace=off,controller.leaderElection.namespace=n,defaultInstance.name=yes &&
			"${CHECK[@]}" strings "$work/yaml11.yaml"
	}
	t "helm template: release, namespaces and names that YAML 1.1 reads as booleans (on, y, off, n, yes) stay strings" render_yaml11
	t "rendered (default values): controller non-root, read-only root fs, capabilities dropped, requests, probes /healthz and /readyz on 8081" \
		"${CHECK[@]}" objects "$work/default.yaml" --health-port 8081
	t "rendered (every value set): the same, probes on the configured health port 18081" \
		"${CHECK[@]}" objects "$work/all.yaml" --health-port 18081
	t "manifests/install.yaml: the same checks on the controller Deployment" "${CHECK[@]}" objects manifests/install.yaml --health-port 8081
	rbac_rules() {
		"${CHECK[@]}" rbac "$work/default.yaml" manifests/rbac.yaml && "${CHECK[@]}" rbac "$work/all.yaml" manifests/rbac.yaml
	}
	t "rendered RBAC rules equal manifests/rbac.yaml's (ClusterRole, and a Role with watchNamespace)" rbac_rules

	# What the controller renders for a Vivo, offline (vivo-controller --render): the agent
	# Deployment and Service the cluster would get, for the sample, the chart's default Vivo and
	# the chart's Vivo with every value set (Fluent Bit beside the agent).
	render_vivo() {
		local src=$1 what=$2
		local vivo=$work/$what-vivo.yaml objs=$work/$what-rendered.json
		if [[ $src == manifests/vivo-cr.yaml ]]; then
			cp "$src" "$vivo"
		else
			"${CHECK[@]}" extract "$src" Vivo "$vivo" || return 1
		fi
		"$CONTROLLER" --render "$vivo" >"$objs" || return 1
		if [[ $what == all ]]; then
			"${CHECK[@]}" objects "$objs" --agent --service-ports 18000,19000,19010,12025
		else
			"${CHECK[@]}" objects "$objs" --agent
		fi
	}
	if [[ -x ${CONTROLLER:-} ]]; then
		t "vivo-controller --render manifests/vivo-cr.yaml: agent Deployment non-root, read-only root fs, capabilities dropped, requests, probes on 2020; Service 8000/9000/9010/2025" \
			render_vivo manifests/vivo-cr.yaml sample
		t "vivo-controller --render of the chart's default Vivo: the same" render_vivo "$work/default.yaml" default
		t "vivo-controller --render of the chart's Vivo with every value set (Fluent Bit beside the agent, ports from values): the same, security checks on the sidecar too" \
			render_vivo "$work/all.yaml" all
		t "vivo-controller --render of manifests/examples/sidecar.yaml: the aggregator Deployment passes the same checks; Service sidecar has every port, sidecar-pods is headless on the exporter port" \
			render_vivo manifests/examples/sidecar.yaml sidecar
	else
		skip "vivo-controller --render of the sample and the chart's Vivo objects" "vivo-controller is not built (${CONTROLLER:-no build tree})"
	fi
else
	skip "helm lint / helm template" "${HELM:+manifests/crd.yaml or rbac.yaml missing}${HELM:-no helm (tests/k8s/build.sh failed)}"
fi

# =========================================================================================
# 5. Against a real API server (tests/k8s/cluster.sh)
# =========================================================================================

if [[ -z $HELM ]] || ((!have_sources)) || [[ ! -x $K8S_BIN/kube-apiserver ]] || ! command -v kubectl >/dev/null; then
	skip "real API server: dry-runs, helm install, controller reconcile" \
		"needs helm + kube-apiserver (tests/k8s/build.sh), kubectl, manifests/crd.yaml and rbac.yaml"
	printf '1..%d\n' "$n"
	((failed == 0))
	exit
fi

cluster=$work/cluster
if VIVO_K8S_BIN=$K8S_BIN START_TIMEOUT=$WAIT "$top/tests/k8s/cluster.sh" start "$cluster" >"$out" 2>&1; then
	ok "test API server started (tests/k8s/cluster.sh: etcd, kube-apiserver, kube-controller-manager)"
else
	not_ok "test API server started"
	cluster=''
	printf '1..%d\n' "$n"
	exit 1
fi
# shellcheck source=/dev/null
. "$cluster/env"
export KUBECONFIG
kc() { kubectl --request-timeout=30s "$@"; }

# Namespaces the objects under test live in (a server-side dry-run does not create a Namespace,
# so namespaced objects need theirs to exist).
t "namespaces for the dry-runs exist" kc create namespace vivo-system
kc create namespace vivo-rel >/dev/null 2>&1
for ns in vivo vivo-watched vivo-leases vivo-apps; do kc create namespace "$ns" >/dev/null 2>&1; done

t "kubectl apply --dry-run=server -f manifests/install.yaml" kc apply --dry-run=server -f manifests/install.yaml


# helm install: the CRD from crds/, RBAC, the controller, the default Vivo.
t "helm install vivo helm/vivo --namespace vivo" "$HELM" install vivo helm/vivo --namespace vivo --timeout 60s
t "helm install created the CRD (Established) from helm/vivo/crds/" kc wait --for condition=established crd/vivos.vivo.dev --timeout="${WAIT}s"
t "helm install created Deployment vivo/vivo-controller" kc -n vivo get deployment vivo-controller
t "helm install created the default Vivo vivo/vivo" kc -n vivo get vivo vivo

# NOTES.txt as helm printed it for that install.
notes() {
	local notes want
	notes=$("$HELM" get notes vivo --namespace vivo) || return 1
	for want in "kubectl port-forward --namespace vivo svc/vivo 8000:8000" \
		"curl -XPOST -H 'Content-Type: application/json' -d '{\"hello\":\"Calyptia!\"}' http://127.0.0.1:9010" \
		"curl -i http://127.0.0.1:2025/logs" "kubectl apply --server-side --force-conflicts -f helm/vivo/crds/"; do
		[[ $notes == *"$want"* ]] || { echo "NOTES.txt lacks: $want"; return 1; }
	done
}
t "NOTES.txt prints the port-forward, curl and CRD upgrade commands" notes

t "kubectl apply --dry-run=server of helm template (default values)" kc apply --dry-run=server -f "$work/default.yaml"
t "kubectl apply --dry-run=server of helm template (every documented value set)" kc apply --dry-run=server -f "$work/all.yaml"
t "kubectl apply --dry-run=server of helm template (switches off)" kc apply --dry-run=server -f "$work/off.yaml"
kc -n vivo get deployment vivo-controller -o yaml >"$work/installed-controller.yaml" 2>/dev/null
t "installed controller Deployment passes the security and probe checks" "${CHECK[@]}" objects "$work/installed-controller.yaml" --health-port 8081

# sa_kubeconfig NS SA FILE: a kubeconfig holding a token of ServiceAccount NS/SA.
sa_kubeconfig() {
	local token
	token=$(kc -n "$1" create token "$2" --duration=1h) || return 1
	cat >"$3" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: $APISERVER_URL
    certificate-authority: $CA_CERT
users:
- name: $2
  user:
    token: $token
contexts:
- name: test
  context:
    cluster: test
    user: $2
    namespace: $1
current-context: test
EOF
	KUBECONFIG=$3 kubectl --request-timeout=30s auth whoami -o jsonpath='{.status.userInfo.username}'
}

# start_controller DEPLOYMENT_YAML NAME KUBECONFIG LOG: runs the built controller with the
# Deployment's own args (health, metrics and webhook moved to free local ports); sets CTL_PID, CTL_HEALTH.
start_controller() {
	local args=() a metrics webhook
	CTL_HEALTH=$(free_port) metrics=$(free_port) webhook=$(free_port)
	while IFS= read -r a; do
		case $a in
		--health-addr=* | --metrics-addr=* | --webhook-listen=*) ;;
		*) args+=("$a") ;;
		esac
	done < <("${CHECK[@]}" deployment-args "$1" "$2")
	args+=("--health-addr=127.0.0.1:$CTL_HEALTH" "--metrics-addr=127.0.0.1:$metrics" "--webhook-listen=127.0.0.1:$webhook"
		"--kubeconfig=$3")
	echo "vivo-controller ${args[*]}"
	"$CONTROLLER" "${args[@]}" >"$4" 2>&1 &
	CTL_PID=$!
	pids+=("$CTL_PID")
}

# stop_controller: SIGTERM, then it must exit 0 within 15 s.
stop_controller() {
	local i
	kill -TERM "$CTL_PID" 2>/dev/null
	for ((i = 0; i < 150; i++)); do
		kill -0 "$CTL_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$CTL_PID" 2>/dev/null; then
		kill -KILL "$CTL_PID"
		echo "vivo-controller ignored SIGTERM for 15 s"
		return 1
	fi
	wait "$CTL_PID"
}

has_service() { kc -n "$1" get service "$2"; }
http_ok() { curl -fsS --max-time 3 "$1"; }

reconcile_skip="vivo-controller is not built yet (${CONTROLLER:-no build tree}); the controller engineer's controller/ lands it"
if [[ -x ${CONTROLLER:-} ]]; then
	kcfg=$work/helm-sa.kubeconfig
	t "a token for the chart's ServiceAccount vivo/vivo-controller (kubectl create token) in a kubeconfig" \
		sa_kubeconfig vivo vivo-controller "$kcfg"
	start_controller "$work/installed-controller.yaml" vivo-controller "$kcfg" "$work/controller-helm.log" >"$out" 2>&1
	sed -e 's/^/# /' "$out"
	if wait_for "$WAIT" has_service vivo vivo; then
		ok "the controller from the helm install, run with the chart's ServiceAccount credentials, reconciles the default Vivo: Service vivo/vivo appears"
	else
		cp "$work/controller-helm.log" "$out"
		not_ok "the controller from the helm install, run with the chart's ServiceAccount credentials, reconciles the default Vivo: Service vivo/vivo appears"
	fi
	probes_200() {
		local p
		for p in healthz readyz; do
			wait_for 20 http_ok "http://127.0.0.1:$CTL_HEALTH/$p" || { echo "/$p never answered 200"; return 1; }
		done
	}
	t "controller /healthz and /readyz answer 200" probes_200
	kc -n vivo get service vivo -o yaml >"$work/svc.yaml" 2>"$out"
	t "reconciled Service vivo/vivo exposes 8000/9000/9010/2025" "${CHECK[@]}" service "$work/svc.yaml"
	wait_for "$WAIT" kc -n vivo get deployment vivo
	kc -n vivo get deployment vivo -o yaml >"$work/agent-deploy.yaml" 2>"$out"
	t "reconciled agent Deployment vivo/vivo: non-root, read-only root fs, capabilities dropped, requests, probes on 2020" \
		"${CHECK[@]}" objects "$work/agent-deploy.yaml" --agent

	# The data path of kind/e2e.sh, with the agent as a local process running the config the
	# controller rendered (ports moved to free ones, 127.0.0.1): HTTP and Forward in, read back
	# from the exporter and through the UI port.
	data_path() {
		local cfg=$work/vivo-agent.yaml log=$work/agent-rendered.log run=local-$$ pid i
		wait_for "$WAIT" kc -n vivo get configmap vivo-config || { echo "no ConfigMap vivo-config"; return 1; }
		kc -n vivo get configmap vivo-config -o jsonpath='{.data.vivo-agent\.yaml}' >"$cfg.orig" || return 1
		[[ -s $cfg.orig ]] || { echo "ConfigMap vivo-config has no vivo-agent.yaml"; return 1; }
		"${CHECK[@]}" agent-config "$cfg.orig" "$cfg" || return 1
		"$AGENT" --config "$cfg" >"$log" 2>&1 &
		pid=$!
		pids+=("$pid")
		for ((i = 0; i < 100; i++)); do
			[[ -n $(agent_port "$log" ui) && -n $(agent_port "$log" exporter) && -n $(agent_port "$log" http) && -n $(agent_port "$log" forward) ]] && break
			kill -0 "$pid" 2>/dev/null || { cat "$log"; return 1; }
			sleep 0.1
		done
		if ! { vivo_send_http "$(agent_port "$log" http)" "$run" &&
			vivo_send_forward "$(agent_port "$log" forward)" "$run" &&
			vivo_expect_logs "$(agent_port "$log" exporter)" "$(agent_port "$log" ui)" "$run" 20 &&
			vivo_expect_ui "$(agent_port "$log" ui)"; }; then
			cat "$log"
			return 1
		fi
		kill "$pid"
		wait "$pid" 2>/dev/null
		return 0
	}
	t "kind/e2e.sh's data path on the controller-rendered agent config: one record over HTTP and one over Forward, both read back from 2025 and through 8000" data_path
	t "the controller exits 0 on SIGTERM" stop_controller

	# One watched namespace: the chart's Role-only RBAC (a Role there, the Lease rules in a Role
	# in the release namespace) is enough for the controller to reconcile.
	scoped() {
		local cfg=$work/scoped-sa.kubeconfig
		"$HELM" install scoped helm/vivo --namespace vivo-scoped --create-namespace --timeout 60s \
			--set controller.watchNamespace=vivo-watched >/dev/null || return 1
		if kc get clusterrole scoped-controller 2>/dev/null; then echo "a ClusterRole was created in Role mode"; return 1; fi
		kc -n vivo-scoped get deployment scoped-controller -o yaml >"$work/scoped-controller.yaml" || return 1
		sa_kubeconfig vivo-scoped scoped-controller "$cfg" || return 1
		start_controller "$work/scoped-controller.yaml" scoped-controller "$cfg" "$work/controller-scoped.log" || return 1
		if ! wait_for "$WAIT" has_service vivo-watched scoped; then
			tail -n 30 "$work/controller-scoped.log"
			return 1
		fi
		stop_controller || return 1
		"$HELM" uninstall scoped --namespace vivo-scoped --wait --timeout 60s >/dev/null
	}
	t "controller.watchNamespace: with only the chart's Roles (watched namespace + Lease), the controller reconciles the Vivo there" scoped
else
	skip "the controller from the helm install, with the chart's ServiceAccount credentials, reconciles the default Vivo" "$reconcile_skip"
	skip "kind/e2e.sh's data path on the controller-rendered agent config" "$reconcile_skip"
fi

# Upgrades: helm upgrade leaves CRDs alone; docs/install.md gives this exact command first.
t "upgrade: kubectl apply --server-side --force-conflicts -f helm/vivo/crds/ (the CRD step of docs/install.md)" \
	kc apply --server-side --force-conflicts -f helm/vivo/crds/
t "upgrade: helm upgrade vivo helm/vivo --namespace vivo --reuse-values" "$HELM" upgrade vivo helm/vivo --namespace vivo --reuse-values --timeout 60s
uninstall() {
	"$HELM" uninstall vivo --namespace vivo --wait --timeout 60s || return 1
	if kc -n vivo get deployment vivo-controller 2>/dev/null; then echo "Deployment vivo-controller is still there"; return 1; fi
	if kc -n vivo get vivo vivo 2>/dev/null; then echo "Vivo vivo is still there"; return 1; fi
	return 0
}
t "helm uninstall vivo removes the controller and the default Vivo" uninstall

# The plain-manifests path, for real: install.yaml, then the sample Vivo.
t "kubectl apply -f manifests/install.yaml" kc apply -f manifests/install.yaml
sample() {
	kc wait --for condition=established crd/vivos.vivo.dev --timeout="${WAIT}s" && kc apply -f manifests/vivo-cr.yaml
}
t "kubectl apply -f manifests/vivo-cr.yaml (after the CRD is Established)" sample
if [[ -x ${CONTROLLER:-} ]]; then
	kcfg=$work/manifests-sa.kubeconfig
	kc -n vivo-system get deployment vivo-controller -o yaml >"$work/manifests-controller.yaml" 2>/dev/null
	if sa_kubeconfig vivo-system vivo-controller "$kcfg" >"$out" 2>&1; then
		start_controller "$work/manifests-controller.yaml" vivo-controller "$kcfg" "$work/controller-manifests.log" >/dev/null 2>&1
		if wait_for "$WAIT" has_service default demo; then
			ok "the controller of manifests/install.yaml, with its ServiceAccount's credentials, reconciles manifests/vivo-cr.yaml: Service default/demo appears"
		else
			cp "$work/controller-manifests.log" "$out"
			not_ok "the controller of manifests/install.yaml, with its ServiceAccount's credentials, reconciles manifests/vivo-cr.yaml: Service default/demo appears"
		fi
		stop_controller >/dev/null 2>&1
	else
		not_ok "a token for vivo-system/vivo-controller"
	fi
else
	skip "the controller of manifests/install.yaml reconciles manifests/vivo-cr.yaml" "$reconcile_skip"
fi

printf '1..%d\n' "$n"
((failed == 0))
