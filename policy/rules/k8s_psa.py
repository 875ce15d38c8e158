"""K8S-PSA: every pod meets Pod Security "restricted", and workload namespaces enforce it."""

from idcpilot.errors import excerpt
from idcpilot.policy import Rule
from idcpilot.policy.k8srule import K8sResult, run

RULE = Rule(
    id="K8S-PSA",
    title="Pod Security restricted: every pod, and the label on workload namespaces",
    severity="high",
    stage=("plan",),
    clause="Edge clusters: every workload namespace enforces Pod Security Standard 'restricted' (system namespaces excepted)",
    remediation=("Label the namespace pod-security.kubernetes.io/enforce: restricted, and give every pod what the restricted "
                 "profile asks: no privileged, host namespaces, hostPath or host ports; runAsNonRoot; seccompProfile "
                 "RuntimeDefault; allowPrivilegeEscalation: false; capabilities drop ALL (add at most NET_BIND_SERVICE)."),
)
PER_RESOURCE = True

# The Pod Security Standards (kubernetes.io/docs/concepts/security/pod-security-standards), baseline
# and restricted, as the API server's "restricted" admission applies them. Every pod the estate
# deploys is judged, whatever its namespace: a system namespace's name exempts no workload.
HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")
VOLUME_TYPES = frozenset({"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                          "projected", "secret"})
ADDABLE_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
SECCOMP_TYPES = frozenset({"RuntimeDefault", "Localhost"})
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
})
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


def _dict(value):
    return value if isinstance(value, dict) else {}


def _security_context_problems(sc, path, who):
    """Fields that pod and container security contexts share."""
    if _dict(sc.get("windowsOptions")).get("hostProcess") is True:
        yield f"{who} hostProcess: true", path + ("windowsOptions", "hostProcess")
    selinux = _dict(sc.get("seLinuxOptions"))
    if selinux.get("type", "") not in SELINUX_TYPES or selinux.get("user") or selinux.get("role"):
        yield f"{who} seLinuxOptions beyond the container types", path + ("seLinuxOptions",)
    if _dict(sc.get("appArmorProfile")).get("type") == "Unconfined":
        yield f"{who} appArmorProfile Unconfined", path + ("appArmorProfile", "type")
    if sc.get("runAsUser") == 0:
        yield f"{who} runAsUser: 0 (root)", path + ("runAsUser",)


def pod_problems(pod):
    """(what breaks the restricted profile, path) for one pod spec."""
    spec, base = pod.spec, pod.path
    for key in HOST_NAMESPACES:
        if spec.get(key) is True:
            yield f"{key}: true", base + (key,)
    for volume, path in pod.volumes():
        kinds = [k for k in volume if k != "name"]
        if "hostPath" in kinds:
            yield f"hostPath volume {excerpt(volume.get('name'))} ({excerpt(_dict(volume['hostPath']).get('path'))})", path + ("hostPath",)
        elif any(k not in VOLUME_TYPES for k in kinds) or not kinds:
            shown = excerpt(", ".join(map(str, kinds))) if kinds else "(none)"
            yield f"volume {excerpt(volume.get('name'))} of type {shown} (restricted allows {', '.join(sorted(VOLUME_TYPES))})", path
    pod_sc = _dict(spec.get("securityContext"))
    sc_path = base + ("securityContext",)
    yield from _security_context_problems(pod_sc, sc_path, "pod")
    for i, sysctl in enumerate(pod_sc.get("sysctls") or []):
        if _dict(sysctl).get("name") not in SAFE_SYSCTLS:
            yield f"unsafe sysctl {excerpt(_dict(sysctl).get('name'))}", sc_path + ("sysctls", i)
    meta_path = ("metadata",) if base == ("spec",) else base[:-1] + ("metadata",)
    for key, value in _dict(pod.metadata.get("annotations")).items():
        if str(key).startswith(APPARMOR_ANNOTATION) and value == "unconfined":
            yield f"AppArmor unconfined for {excerpt(str(key)[len(APPARMOR_ANNOTATION):])}", meta_path + ("annotations", key)
    for c, path in pod.containers():
        name = excerpt(c.get("name"))
        sc = _dict(c.get("securityContext"))
        at = path + ("securityContext",) if "securityContext" in c else path
        if sc.get("privileged") is True:
            yield f"container {name} privileged", path + ("securityContext", "privileged")
        yield from _security_context_problems(sc, at, f"container {name}")
        if sc.get("allowPrivilegeEscalation") is not False:
            yield f"container {name} does not set allowPrivilegeEscalation: false", at
        non_root = sc["runAsNonRoot"] if "runAsNonRoot" in sc else pod_sc.get("runAsNonRoot")
        if non_root is not True:
            yield f"container {name} may run as root (runAsNonRoot is not true)", at
        seccomp = _dict(sc.get("seccompProfile") or pod_sc.get("seccompProfile")).get("type")
        if seccomp not in SECCOMP_TYPES:
            yield f"container {name} seccompProfile {excerpt(seccomp) if seccomp else 'unset'} (must be RuntimeDefault or Localhost)", at
        caps = _dict(sc.get("capabilities"))
        drop, add = caps.get("drop"), caps.get("add")
        if not isinstance(drop, list) or "ALL" not in drop:
            yield f"container {name} does not drop ALL capabilities", at
        added = [str(a) for a in (add if isinstance(add, list) else [add] if add else []) if a not in ADDABLE_CAPABILITIES]
        if added:
            yield f"container {name} adds capabilities {excerpt(', '.join(added))}", path + ("securityContext", "capabilities", "add")
        if sc.get("procMount") not in (None, "Default"):
            yield f"container {name} procMount {excerpt(sc.get('procMount'))}", path + ("securityContext", "procMount")
        for j, port in enumerate(c.get("ports") or []):
            if _dict(port).get("hostPort"):
                yield f"container {name} binds hostPort {excerpt(port['hostPort'])}", path + ("ports", j, "hostPort")


def check_manifests(manifests, env):
    for m in manifests:
        if m.kind == "Namespace" and m.name not in env.system_namespaces:
            level = m.labels.get("pod-security.kubernetes.io/enforce")
            if level != env.psa_level:
                got = f"enforces {excerpt(level)}" if level else "has no pod-security.kubernetes.io/enforce label"
                path = ("metadata", "labels", "pod-security.kubernetes.io/enforce") if level else ("metadata", "labels")
                yield K8sResult(m, False, f"namespace {m.name} {got}; must enforce {env.psa_level!r}", path)
            else:
                yield K8sResult(m, True, f"namespace {m.name} enforces {level}")
        for pod in m.pods:
            problems = list(pod_problems(pod))
            where = f"{m.kind} {m.name} in namespace {m.namespace}"
            if problems:
                shown = "; ".join(p for p, _ in problems[:6]) + (f"; and {len(problems) - 6} more" if len(problems) > 6 else "")
                yield K8sResult(m, False, f"{where} breaks Pod Security {env.psa_level!r}: {shown}", problems[0][1])
            else:
                yield K8sResult(m, True, f"{where} meets Pod Security {env.psa_level!r}")


def check(ctx):
    yield from run(ctx, check_manifests, "namespaces and pods")
