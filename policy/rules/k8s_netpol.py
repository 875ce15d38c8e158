"""K8S-NETPOL: every namespace has a default-deny NetworkPolicy for ingress and egress."""

from idcpilot.policy import Rule
from idcpilot.policy.k8srule import K8sResult, run

RULE = Rule(
    id="K8S-NETPOL",
    title="Default-deny NetworkPolicy in every namespace",
    severity="high",
    stage=("plan",),
    clause="Edge clusters: every namespace has a default-deny NetworkPolicy for ingress and egress",
    remediation="Add a NetworkPolicy with podSelector: {}, policyTypes: [Ingress, Egress] and no rules; allow flows in further policies.",
)
PER_RESOURCE = False  # needs every resource of the stack


def _selects_all(spec):
    sel = spec.get("podSelector")
    return isinstance(sel, dict) and not sel.get("matchLabels") and not sel.get("matchExpressions")


def denies(policy):
    """(denies all ingress, denies all egress) for one NetworkPolicy body."""
    spec = policy.get("spec") or {}
    if not _selects_all(spec):
        return False, False
    types = spec.get("policyTypes") or (["Ingress", "Egress"] if spec.get("egress") is not None else ["Ingress"])
    return ("Ingress" in types and not spec.get("ingress")), ("Egress" in types and not spec.get("egress"))


def check_manifests(manifests, env):
    namespaces = {}
    for m in manifests:
        ns = m.namespace
        if ns and ns not in env.system_namespaces:
            if m.kind == "Namespace" or ns not in namespaces:
                namespaces[ns] = m if m.kind == "Namespace" else namespaces.get(ns, m)
    cover = {}
    for m in manifests:
        if m.kind == "NetworkPolicy" and m.namespace:
            i, e = denies(m.body)
            ci, ce = cover.get(m.namespace, (False, False))
            cover[m.namespace] = (ci or i, ce or e)
    for ns, m in sorted(namespaces.items()):
        ingress, egress = cover.get(ns, (False, False))
        missing = [d for d, ok in (("ingress", ingress), ("egress", egress)) if not ok]
        if missing:
            yield K8sResult(m, False, f"namespace {ns} has no default-deny NetworkPolicy for {' and '.join(missing)}")
        else:
            yield K8sResult(m, True, f"namespace {ns} denies ingress and egress by default")


def check(ctx):
    yield from run(ctx, check_manifests, "namespaces")
