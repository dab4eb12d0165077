#!/usr/bin/env python3
"""check.py: the packaging checks that read files (rendered objects, values, Dockerfiles, compose, workflow); tests/packaging/run.sh calls one subcommand per TAP line.

Each subcommand prints what it found wrong on stderr and exits 1, or exits 0 silently.

  objects FILE... [--health-port N] [--agent] [--service-ports P,P,...]
                                                Deployments: non-root, read-only root fs, no
                                                privilege escalation, capabilities drop ALL,
                                                cpu+memory requests, liveness/readiness probes
                                                on the health port (8081 for the controller;
                                                --agent: 2020; a Fluent Bit sidecar: security
                                                only); Services: 8000/9000/9010/2025
  service FILE                                  a Service (JSON or YAML) exposes 8000/9000/9010/2025
  rbac RENDERED RBAC_YAML                       the chart's (Cluster)Role rules, together, equal rbac.yaml's
  values-documented VALUES                      every key of values.yaml has a comment above it
  values-coverage VALUES ALL                    ALL sets every leaf of VALUES (non-booleans to a
                                                value other than the default)
  dockerfile FILE --ports P,P,... --binary PATH Dockerfile checklist (see tests/packaging/README.md)
  dockerfile-copy FILE BINARY                   prints DESTDIR, prefix and the COPY source of BINARY
  dockerfile-packages FILE                      prints the runtime stage's apt packages
  compose FILE                                  docker-compose.yml: agent built from Dockerfile.agent,
                                                ports 8000/9000/9010/2025/4318/4317, hardened
  workflow FILE                                 every `uses:` pinned to a 40-hex commit SHA
  dockerignore FILE TOP                         sources the build needs are in the context,
                                                build outputs are not
  agent-config IN OUT                           rewrites a rendered vivo-agent.yaml for a local run:
                                                127.0.0.1 and port 0 everywhere
  deployment-args FILE NAME                     prints the args of Deployment NAME's first container
  extract FILE KIND OUT                         writes the first object of KIND in FILE to OUT
  strings FILE                                  names, namespaces, labels, annotations are strings
"""

import fnmatch
import json
import os
import re
import subprocess
import sys

import yaml

errors = []


def err(msg):
    errors.append(msg)


def load_all(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".json") or text.lstrip().startswith("{"):
        doc = json.loads(text)
        return doc.get("items", [doc]) if doc.get("kind", "").endswith("List") else [doc]
    return [d for d in yaml.safe_load_all(text) if d]


def objects_of(paths):
    out = []
    for p in paths:
        for d in load_all(p):
            if d.get("kind", "").endswith("List") and "items" in d:
                out.extend(d["items"])
            else:
                out.append(d)
    return out


def name_of(o):
    m = o.get("metadata", {})
    return "%s %s/%s" % (o.get("kind"), m.get("namespace", "-"), m.get("name"))


# ---- objects -------------------------------------------------------------------------------

REQUIRED_SERVICE_PORTS = {8000, 9000, 9010, 2025}


def probe_port(container, probe):
    """The numeric port of an httpGet probe (a named port resolved through the container)."""
    port = probe.get("httpGet", {}).get("port")
    if isinstance(port, str) and not port.isdigit():
        for p in container.get("ports", []) or []:
            if p.get("name") == port:
                return p.get("containerPort")
        return None
    return int(port) if port is not None else None


def check_container(where, pod, c, health_port, paths, probes=True):
    psc = pod.get("securityContext", {}) or {}
    csc = c.get("securityContext", {}) or {}
    what = "%s container %s" % (where, c.get("name"))
    non_root = csc.get("runAsNonRoot", psc.get("runAsNonRoot"))
    uid = csc.get("runAsUser", psc.get("runAsUser"))
    if non_root is not True:
        err("%s: runAsNonRoot is not true" % what)
    if uid is not None and int(uid) == 0:
        err("%s: runAsUser is 0" % what)
    if csc.get("readOnlyRootFilesystem") is not True:
        err("%s: readOnlyRootFilesystem is not true" % what)
    if csc.get("allowPrivilegeEscalation") is not False:
        err("%s: allowPrivilegeEscalation is not false" % what)
    if csc.get("privileged"):
        err("%s: privileged" % what)
    drop = [str(x).upper() for x in (csc.get("capabilities", {}) or {}).get("drop", []) or []]
    if "ALL" not in drop:
        err("%s: capabilities.drop lacks ALL" % what)
    if (csc.get("capabilities", {}) or {}).get("add"):
        err("%s: adds capabilities" % what)
    req = (c.get("resources", {}) or {}).get("requests", {}) or {}
    for r in ("cpu", "memory") if probes else ():
        if r not in req:
            err("%s: no %s request" % (what, r))
    for kind in ("livenessProbe", "readinessProbe") if probes else ():
        probe = c.get(kind)
        if not probe:
            err("%s: no %s" % (what, kind))
            continue
        if "httpGet" not in probe:
            err("%s: %s is not an httpGet probe" % (what, kind))
            continue
        port = probe_port(c, probe)
        if health_port is not None and port != health_port:
            err("%s: %s on port %s, want %s" % (what, kind, port, health_port))
        if paths and probe["httpGet"].get("path") != paths[kind]:
            err("%s: %s path %s, want %s" % (what, kind, probe["httpGet"].get("path"), paths[kind]))


def cmd_objects(args):
    health_port = None
    agent = False
    paths = []
    service_ports = REQUIRED_SERVICE_PORTS
    it = iter(args)
    for a in it:
        if a == "--health-port":
            health_port = int(next(it))
        elif a == "--service-ports":
            service_ports = {int(p) for p in next(it).split(",")}
        elif a == "--agent":
            agent = True
        else:
            paths.append(a)
    objs = objects_of(paths)
    deployments = [o for o in objs if o.get("kind") == "Deployment"]
    if not deployments:
        err("no Deployment in %s" % " ".join(paths))
    for d in deployments:
        pod = d["spec"]["template"]["spec"]
        if pod.get("hostNetwork") or pod.get("hostPID") or pod.get("hostIPC"):
            err("%s: uses host namespaces" % name_of(d))
        if agent:
            want_port, want_paths = 2020, {"livenessProbe": "/api/v1/health", "readinessProbe": "/api/v1/health"}
        else:
            want_port = health_port if health_port is not None else 8081
            want_paths = {"livenessProbe": "/healthz", "readinessProbe": "/readyz"}
        containers = pod.get("containers", [])
        # The agent pod may carry Fluent Bit beside the agent: that sidecar is checked for the
        # security settings only; the agent container (the one with port 2020) for everything.
        for c in containers:
            is_main = not agent or any(p.get("containerPort") == 2020 for p in c.get("ports", []) or [])
            check_container(name_of(d), pod, c, want_port, want_paths, probes=is_main)
        for c in pod.get("initContainers", []) or []:
            check_container(name_of(d) + " init", pod, c, None, None)
    # The agent's Services; the controller's webhook Service (component webhook) has only 443.
    for s in (o for o in objs if o.get("kind") == "Service" and
              ((o.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/component") != "webhook"):
        check_service(s, service_ports)


def check_service(s, want=REQUIRED_SERVICE_PORTS):
    ports = {p.get("port") for p in s.get("spec", {}).get("ports", [])}
    if s.get("spec", {}).get("clusterIP") == "None":
        # A headless Service the agents follow (<name>-peers, <name>-pods: docs/fleet.md):
        # the exporter port only, not-ready pods published.
        if len(ports) != 1 or not ports <= want or s["spec"].get("publishNotReadyAddresses") is not True:
            err("%s: a headless Service should publish one of the agent's ports, not-ready pods included "
                "(has %s)" % (name_of(s), sorted(ports)))
        return
    missing = want - ports
    if missing:
        err("%s: lacks ports %s (has %s)" % (name_of(s), sorted(missing), sorted(ports)))


def cmd_service(args):
    objs = objects_of(args)
    svcs = [o for o in objs if o.get("kind") == "Service"]
    if not svcs:
        err("no Service in %s" % args)
    for s in svcs:
        check_service(s)


# ---- rbac ----------------------------------------------------------------------------------

def norm_rules(rules):
    out = set()
    for r in rules or []:
        for g in r.get("apiGroups", [""]) or [""]:
            for res in r.get("resources", []) or []:
                for v in r.get("verbs", []) or []:
                    for n in r.get("resourceNames", []) or ["*any*"]:
                        # The chart names its (cluster-scoped) webhook configuration after the release.
                        if res == "mutatingwebhookconfigurations" and n != "*any*":
                            n = "*the controller's own*"
                        out.add((g, res, v, n))
    return out


def cmd_rbac(args):
    """The rules the chart grants (all its ClusterRoles and Roles) are exactly rbac.yaml's."""
    rendered, source = args
    want, got = set(), set()
    for o in objects_of([source]):
        if o.get("kind") in ("ClusterRole", "Role"):
            want |= norm_rules(o.get("rules"))
    for o in objects_of([rendered]):
        if o.get("kind") in ("ClusterRole", "Role"):
            got |= norm_rules(o.get("rules"))
    if got != want:
        err("%s grants other rules than %s: extra %s, missing %s"
            % (rendered, source, sorted(got - want), sorted(want - got)))


# ---- values --------------------------------------------------------------------------------

def leaves(d, prefix=""):
    """Leaf paths of a values tree; empty maps and lists count as leaves."""
    out = {}
    if isinstance(d, dict) and d:
        for k, v in d.items():
            out.update(leaves(v, prefix + ("." if prefix else "") + str(k)))
    else:
        out[prefix] = d
    return out


def cmd_values_documented(args):
    (path,) = args
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)([A-Za-z][A-Za-z0-9_]*):", line)
        if not m:
            continue
        j = i - 1
        while j >= 0 and lines[j].strip() == "":
            j -= 1
        prev = lines[j].strip() if j >= 0 else ""
        # A comment right above, or an inline one; the children of a documented resources /
        # securityContext / ports block are the Kubernetes fields they name.
        if prev.startswith("#") or "#" in line.split(":", 1)[1]:
            continue
        indent = len(m.group(1))
        parent = None
        for k in range(i - 1, -1, -1):
            pm = re.match(r"^(\s*)([A-Za-z][A-Za-z0-9_]*):", lines[k])
            if pm and len(pm.group(1)) < indent:
                parent = pm
                break
        if parent and parent.group(2) in ("resources", "requests", "limits", "podSecurityContext",
                                          "securityContext", "seccompProfile", "capabilities",
                                          "ports", "otlp", "pipeline"):
            continue
        err("%s:%d: key %r has no comment" % (path, i + 1, m.group(2)))


# Defaults that are the only safe value: ALL may set them to the same.
SAFE_DEFAULTS = {"controller.podSecurityContext.seccompProfile.type", "controller.securityContext.capabilities.drop"}


def cmd_values_coverage(args):
    base, full = args
    with open(base, encoding="utf-8") as f:
        defaults = leaves(yaml.safe_load(f))
    with open(full, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    given = leaves(data)

    def covered(path):
        # a leaf is covered when ALL sets it or something below it
        return path in given or any(g.startswith(path + ".") for g in given)

    for path, default in defaults.items():
        if not covered(path):
            err("%s does not set %s" % (full, path))
        elif (path in given and path not in SAFE_DEFAULTS and not isinstance(default, bool)
              and given[path] == default and default not in ({}, [])):
            err("%s sets %s to its default %r" % (full, path, default))


# ---- Dockerfiles ---------------------------------------------------------------------------

def dockerfile_instructions(path):
    """(instruction, arguments, line) with continuations joined and comments dropped."""
    out, cur, start = [], "", 0
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not cur and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if cur and line.lstrip().startswith("#"):
                continue
            if not cur:
                start = n
            if line.endswith("\\"):
                cur += line[:-1] + " "
                continue
            cur += line
            parts = cur.strip().split(None, 1)
            out.append((parts[0].upper(), parts[1] if len(parts) > 1 else "", start))
            cur = ""
    return out


def stages(instrs):
    """Stages as lists of instructions; ARGs before the first FROM are returned separately."""
    pre, st = [], []
    for ins in instrs:
        if ins[0] == "FROM":
            st.append([ins])
        elif st:
            st[-1].append(ins)
        else:
            pre.append(ins)
    return pre, st


def resolve(s, args):
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: args.get(m.group(1), m.group(0)), s)


PINNED = re.compile(r"^[^:@\s]+(:[A-Za-z0-9_.-]*\d[A-Za-z0-9_.-]*)?(@sha256:[0-9a-f]{64})?$")


def cmd_dockerfile(args):
    path = args[0]
    opts = dict(zip(args[1::2], args[2::2]))
    want_ports = {int(p) for p in opts.get("--ports", "").split(",") if p}
    instrs = dockerfile_instructions(path)
    pre, st = stages(instrs)
    globals_ = {}
    for ins, rest, _ in pre:
        if ins == "ARG" and "=" in rest:
            k, v = rest.split("=", 1)
            globals_[k.strip()] = v.strip()
    if len(st) < 2:
        err("%s: not multi-stage (%d FROM)" % (path, len(st)))
        return
    names = set()
    releases = set()
    for s in st:
        frm = s[0][1].split()
        image = resolve(frm[0], globals_)
        if image.lower() in names:
            continue
        if image == "scratch":
            continue
        if not PINNED.match(image) or (":" not in image.split("/")[-1] and "@" not in image):
            err("%s:%d: base image %s is not pinned (want a versioned tag or a digest)" % (path, s[0][2], image))
        if image.split("@")[0].endswith(":latest"):
            err("%s:%d: base image %s uses latest" % (path, s[0][2], image))
        tag = image.split("@")[0].rsplit(":", 1)[-1]
        if "bookworm" in tag or re.match(r"^12(\.|-|$)", tag):
            releases.add("bookworm")
        else:
            releases.add(tag)
        if len(frm) >= 3 and frm[1].upper() == "AS":
            names.add(frm[2].lower())
    if releases != {"bookworm"}:
        err("%s: stages are not all Debian bookworm (%s): -dev and runtime libraries must match" % (path, releases))
    final = st[-1]
    for ins, rest, n in instrs:
        if ins == "ADD" and re.search(r"https?://|git@", rest):
            err("%s:%d: ADD of a URL" % (path, n))
        if ins == "ADD":
            err("%s:%d: ADD (use COPY)" % (path, n))
        if ins == "RUN" and "apt-get install" in rest:
            if "--no-install-recommends" not in rest:
                err("%s:%d: apt-get install without --no-install-recommends" % (path, n))
            if "rm -rf /var/lib/apt/lists" not in rest:
                err("%s:%d: apt lists not removed in the same RUN" % (path, n))
            if "apt-get update" not in rest:
                err("%s:%d: apt-get install without apt-get update in the same RUN" % (path, n))
            if re.search(r"apt-get (dist-)?upgrade", rest):
                err("%s:%d: apt-get upgrade" % (path, n))
            if " -y" not in rest and "--yes" not in rest:
                err("%s:%d: apt-get install without -y" % (path, n))
        if ins == "RUN" and re.search(r"\bcurl\b[^|]*\|\s*(ba)?sh|\bwget\b[^|]*\|\s*(ba)?sh", rest):
            err("%s:%d: pipes a download into a shell" % (path, n))
        if ins == "RUN" and re.search(r"(^|[;&|]\s*)cd\s", rest):
            err("%s:%d: cd in RUN (use WORKDIR)" % (path, n))
        if ins == "MAINTAINER":
            err("%s:%d: MAINTAINER is deprecated (use a LABEL)" % (path, n))
    fin = {}
    for ins, rest, n in final:
        fin.setdefault(ins, []).append((rest, n))
    users = fin.get("USER", [])
    if not users:
        err("%s: final stage has no USER" % path)
    else:
        user = users[-1][0].split(":")[0]
        if not user.isdigit() or int(user) == 0:
            err("%s: final USER %s is not a numeric non-root uid" % (path, users[-1][0]))
    hc = fin.get("HEALTHCHECK", [])
    if not hc or hc[-1][0].strip().upper().startswith("NONE"):
        err("%s: final stage has no HEALTHCHECK" % path)
    exposed = set()
    for rest, _ in fin.get("EXPOSE", []):
        for p in rest.split():
            exposed.add(int(p.split("/")[0]))
    if want_ports - exposed:
        err("%s: does not EXPOSE %s (exposes %s)" % (path, sorted(want_ports - exposed), sorted(exposed)))
    if not fin.get("ENTRYPOINT") and not fin.get("CMD"):
        err("%s: final stage has neither ENTRYPOINT nor CMD" % path)
    for key in ("ENTRYPOINT", "CMD"):
        for rest, n in fin.get(key, []):
            if not rest.strip().startswith("["):
                err("%s:%d: %s in shell form (use the JSON form so signals reach the program)" % (path, n, key))
    copies = [r for r, _ in fin.get("COPY", []) if "--from=" in r]
    if not copies:
        err("%s: final stage copies nothing from a build stage" % path)
    binary = opts.get("--binary")
    if binary and not any(r.split()[-1] == binary for r in copies):
        err("%s: final stage does not COPY --from a build stage to %s" % (path, binary))


def cmd_dockerfile_copy(args):
    """DESTDIR, --prefix and the COPY source for BINARY (e.g. vivo-agent) in the build stage."""
    path, binary = args
    instrs = dockerfile_instructions(path)
    destdir = prefix = src = None
    for ins, rest, _ in instrs:
        if ins == "RUN":
            m = re.search(r"make install\S*\s+DESTDIR=(\S+)", rest)
            if m:
                destdir = m.group(1)
            m = re.search(r"configure\b[^&;]*--prefix=(\S+)", rest)
            if m:
                prefix = m.group(1)
        if ins == "COPY" and "--from=" in rest:
            parts = rest.split()
            if os.path.basename(parts[-2]) == binary:
                src = parts[-2]
    if not (destdir and prefix and src):
        err("%s: cannot find make install DESTDIR (%s), configure --prefix (%s) and the COPY of %s (%s)"
            % (path, destdir, prefix, binary, src))
        return
    print(destdir, prefix, src)


def cmd_dockerfile_packages(args):
    (path,) = args
    _, st = stages(dockerfile_instructions(path))
    pkgs = []
    for ins, rest, _ in st[-1]:
        if ins == "RUN" and "apt-get install" in rest:
            after = rest.split("apt-get install", 1)[1].split("&&")[0]
            pkgs += [w for w in after.split() if not w.startswith("-")]
    print(" ".join(pkgs))


# ---- compose, workflow, .dockerignore --------------------------------------------------------

def cmd_compose(args):
    (path,) = args
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    agent = (doc.get("services") or {}).get("agent")
    if not agent:
        err("%s: no service 'agent'" % path)
        return
    build = agent.get("build") or {}
    if not isinstance(build, dict) or build.get("dockerfile") != "Dockerfile.agent":
        err("%s: agent is not built from Dockerfile.agent" % path)
    published = set()
    for p in agent.get("ports", []):
        s = str(p)
        m = re.match(r"^(?:[\d.]+:)?(\d+):(\d+)(/tcp)?$", s)
        if not m or m.group(1) != m.group(2):
            err("%s: port mapping %s is not HOST:SAME" % (path, s))
            continue
        published.add(int(m.group(2)))
    for want in (8000, 9000, 9010, 2025, 4318, 4317):
        if want not in published:
            err("%s: port %d is not published" % (path, want))
    if "0.0.0.0" not in " ".join(map(str, agent.get("command", []))):
        err("%s: the agent is not told to --listen 0.0.0.0" % path)
    if agent.get("read_only") is not True:
        err("%s: read_only is not true" % path)
    if "ALL" not in (agent.get("cap_drop") or []):
        err("%s: cap_drop lacks ALL" % path)
    if not any("no-new-privileges" in str(x) for x in agent.get("security_opt") or []):
        err("%s: no-new-privileges is not set" % path)


def cmd_workflow(args):
    (path,) = args
    n = 0
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            m = re.match(r"^\s*(?:-\s*)?uses:\s*(\S+)", line)
            if not m:
                continue
            n += 1
            ref = m.group(1)
            if ref.startswith("./") or ref.startswith("docker://"):
                if ref.startswith("docker://") and "@sha256:" not in ref:
                    err("%s:%d: %s is not pinned by digest" % (path, i, ref))
                continue
            if not re.match(r"^[^@\s]+@[0-9a-f]{40}$", ref):
                err("%s:%d: %s is not pinned to a full commit SHA" % (path, i, ref))
    if n == 0:
        err("%s: no actions used?" % path)


def dockerignore_patterns(path):
    pats = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            neg = line.startswith("!")
            pats.append((neg, line[1:] if neg else line))
    return pats


def ignored(rel, pats):
    """Docker's rule: the last matching pattern wins; a match on a parent directory counts."""
    res = False
    parts = rel.split("/")
    for neg, pat in pats:
        pat = pat.strip("/")
        rx = "^" + "".join(
            "(?:.*/)?" if tok == "**/" else ".*" if tok == "**" else "[^/]*" if tok == "*" else "[^/]" if tok == "?"
            else re.escape(tok)
            for tok in re.findall(r"\*\*/|\*\*|\*|\?|[^*?]+", pat)) + "$"
        for i in range(1, len(parts) + 1):
            if re.match(rx, "/".join(parts[:i])):
                res = not neg
                break
    return res


def cmd_dockerignore(args):
    path, top = args
    pats = dockerignore_patterns(path)
    git = subprocess.run(["git", "-C", top, "ls-files", "--cached", "--others", "--exclude-standard"],
                         capture_output=True, text=True, check=False)
    if git.returncode == 0:
        files = git.stdout.split()
    else:  # not a git checkout (a release tarball): every file but the obvious outputs
        files = [os.path.relpath(os.path.join(d, f), top) for d, dirs, fs in os.walk(top)
                 for f in fs if "/build" not in "/" + os.path.relpath(d, top) and "node_modules" not in d]
    needed = [f for f in files if re.match(
        r"^(configure\.ac|Makefile\.am|autogen\.sh|packaging\.mk|lib/|agent/|controller/|tools/|tests/.*(Makefile\.inc|\.mk)$|dist/)", f)]
    for f in needed:
        if ignored(f, pats) and not f.startswith("agent/ui/dist/"):
            err("%s: excludes %s, which the image build needs" % (path, f))
    for f in ("configure", "Makefile.in", "Makefile", "build/release/agent/vivo-agent", ".git/HEAD",
              "agent/ui/node_modules/vite/package.json", "agent/vivo-agent", "lib/buf.o", "lib/libvivo.a",
              "agent/ui/dist/index.html", "config.status", "autom4te.cache/output.0"):
        if not ignored(f, pats):
            err("%s: does not exclude %s (a build output)" % (path, f))


# ---- local runs ----------------------------------------------------------------------------

def cmd_agent_config(args):
    src, dst = args
    with open(src, encoding="utf-8") as f:
        doc = yaml.safe_load(f)

    def walk(node):
        if isinstance(node, dict):
            for k in list(node):
                if k in ("port", "http_port", "ui_port") and isinstance(node[k], (int, str)):
                    node[k] = 0
                elif k in ("listen", "host", "http_listen", "ui_listen") and isinstance(node[k], str):
                    node[k] = "127.0.0.1"
                else:
                    walk(node[k])
        elif isinstance(node, list):
            for x in node:
                walk(x)

    walk(doc)
    with open(dst, "w", encoding="utf-8") as f:
        yaml.safe_dump(doc, f, sort_keys=False)


def cmd_extract(args):
    """extract FILE KIND OUT: the first object of KIND in FILE, as YAML."""
    path, kind, dst = args
    for o in objects_of([path]):
        if o.get("kind") == kind:
            with open(dst, "w", encoding="utf-8") as f:
                yaml.safe_dump(o, f, sort_keys=False)
            return
    err("no %s in %s" % (kind, path))


def cmd_strings(args):
    """Names, namespaces, labels and annotations are strings (a name like "y" or "on" left
    unquoted in a template turns into a YAML boolean)."""
    for o in objects_of(args):
        def walk(x, path):
            if isinstance(x, dict):
                for k, v in x.items():
                    walk(v, path + "." + str(k))
            elif isinstance(x, list):
                for i, v in enumerate(x):
                    walk(v, "%s[%d]" % (path, i))
            elif not isinstance(x, str) and re.search(r"(name|namespace|labels|annotations)", path):
                if not re.search(r"(replicas|Port|port|Seconds|runAs|fsGroup|weight|containerPort)$", path):
                    err("%s: %s is %r, not a string" % (name_of(o), path, x))
        walk(o.get("metadata", {}), "metadata")
        for sub in ("subjects", "roleRef"):
            if sub in o:
                walk(o[sub], sub)


def cmd_deployment_args(args):
    path, name = args
    for o in objects_of([path]):
        if o.get("kind") == "Deployment" and o["metadata"]["name"] == name:
            for a in o["spec"]["template"]["spec"]["containers"][0].get("args", []):
                print(a)
            return
    err("no Deployment %s in %s" % (name, path))


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = "cmd_" + sys.argv[1].replace("-", "_")
    fn = globals().get(cmd)
    if not fn:
        print("check.py: unknown subcommand %s" % sys.argv[1], file=sys.stderr)
        return 2
    fn(sys.argv[2:])
    for e in errors:
        print(e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
