"""K8S-PSA: every workload namespace enforces Pod Security "restricted"."""

from idcpilot.policy import Rule
from idcpilot.policy.k8srule import K8sResult, run

RULE = Rule(
    id="K8S-PSA",
    title="Pod Security restricted on workload namespaces",
    severity="high",
    stage=("plan",),
    clause="Edge clusters: every workload namespace enforces Pod Security Standard 'restricted' (system namespaces excepted)",
    remediation="Label the namespace pod-security.kubernetes.io/enforce: restricted.",
)
PER_RESOURCE = True


def check_manifests(manifests, env):
    for m in manifests:
        if m.kind != "Namespace" or m.name in env.system_namespaces:
            continue
        level = m.labels.get("pod-security.kubernetes.io/enforce")
        if level != env.psa_level:
            got = f"enforces {level!r}" if level else "has no pod-security.kubernetes.io/enforce label"
            path = ("metadata", "labels", "pod-security.kubernetes.io/enforce") if level else ("metadata", "labels")
            yield K8sResult(m, False, f"namespace {m.name} {got}; must enforce {env.psa_level!r}", path)
        else:
            yield K8sResult(m, True, f"enforces {level}")


def check(ctx):
    yield from run(ctx, check_manifests, "namespaces")
