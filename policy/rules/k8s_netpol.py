"""K8S-NETPOL: every workload namespace denies ingress and egress by default, and no policy reopens all of it."""

from idcpilot.errors import excerpt
from idcpilot.policy import Rule
from idcpilot.policy.k8srule import K8sResult, run

RULE = Rule(
    id="K8S-NETPOL",
    title="Default-deny NetworkPolicy in every namespace, not reopened by an allow-all",
    severity="high",
    stage=("plan",),
    clause="Edge clusters: every namespace has a default-deny NetworkPolicy for ingress and egress",
    remediation=("Add a NetworkPolicy with podSelector: {}, policyTypes: [Ingress, Egress] and no rules; allow flows in "
                 "further policies, each naming its peers or its ports (never an empty rule or peer that admits everything)."),
)
PER_RESOURCE = False  # needs every resource of the stack

#: ipBlock CIDRs that stand for every address
EVERY_ADDRESS = frozenset({"0.0.0.0/0", "::/0"})
DIRECTIONS = (("Ingress", "ingress", "from"), ("Egress", "egress", "to"))


def _empty_selector(sel):
    return isinstance(sel, dict) and not sel.get("matchLabels") and not sel.get("matchExpressions")


def _spec(policy):
    spec = policy.get("spec")
    return spec if isinstance(spec, dict) else {}


def policy_types(spec):
    """The directions a policy governs (Kubernetes' default: Ingress, plus Egress when it has egress rules)."""
    types = spec.get("policyTypes")
    if isinstance(types, list) and types:
        return types
    return ["Ingress", "Egress"] if spec.get("egress") is not None else ["Ingress"]


def denies(policy):
    """(denies all ingress, denies all egress) for one NetworkPolicy body."""
    spec = _spec(policy)
    if not _empty_selector(spec.get("podSelector")):
        return False, False
    types = policy_types(spec)
    return ("Ingress" in types and not spec.get("ingress")), ("Egress" in types and not spec.get("egress"))


def _any_peer(peer):
    """A peer that stands for every source or destination: {}, every namespace's pods, every address."""
    if not isinstance(peer, dict) or not peer:
        return True
    ns, pods, block = peer.get("namespaceSelector"), peer.get("podSelector"), peer.get("ipBlock")
    if block is not None:
        return isinstance(block, dict) and block.get("cidr") in EVERY_ADDRESS and not block.get("except")
    return ns is not None and _empty_selector(ns) and (pods is None or _empty_selector(pods))


def _any_port(ports):
    if not isinstance(ports, list) or not ports:
        return True
    for p in ports:
        if not isinstance(p, dict) or p.get("port") is None:
            return True  # every port of the protocol
        end = p.get("endPort")
        if isinstance(p.get("port"), int) and isinstance(end, int) and p["port"] <= 1 and end >= 65535:
            return True
    return False


def reopened(policy):
    """(direction, rule index) of every rule that admits everything: any peer on any port."""
    spec = _spec(policy)
    types = policy_types(spec)
    for ptype, key, peers_key in DIRECTIONS:
        rules = spec.get(key)
        if ptype not in types or not isinstance(rules, list):
            continue
        for i, rule in enumerate(rules):
            rule = rule if isinstance(rule, dict) else {}
            peers = rule.get(peers_key)
            every_peer = not isinstance(peers, list) or not peers or any(_any_peer(p) for p in peers)
            if every_peer and _any_port(rule.get("ports")):
                yield key, i


def check_manifests(manifests, env):
    namespaces = {}  # namespace -> the manifest a finding is reported on (its Namespace when there is one)
    with_pods = set()
    for m in manifests:
        ns = m.namespace
        if ns is None:
            continue
        if m.pods:
            with_pods.add(ns)
        if m.kind == "Namespace" or ns not in namespaces:
            namespaces[ns] = m if m.kind == "Namespace" else namespaces.get(ns, m)
    cover, opened = {}, {}
    for m in manifests:
        if m.kind == "NetworkPolicy" and m.namespace:
            i, e = denies(m.body)
            ci, ce = cover.get(m.namespace, (False, False))
            cover[m.namespace] = (ci or i, ce or e)
            for key, index in reopened(m.body):
                opened.setdefault(m.namespace, []).append((m, key, index))
    for ns, m in sorted(namespaces.items()):
        # a system namespace is exempt only while the estate runs no pods in it
        if ns in env.system_namespaces and ns not in with_pods:
            continue
        ingress, egress = cover.get(ns, (False, False))
        missing = [d for d, ok in (("ingress", ingress), ("egress", egress)) if not ok]
        if missing:
            yield K8sResult(m, False, f"namespace {excerpt(ns)} has no default-deny NetworkPolicy for {' and '.join(missing)}")
        for policy, key, index in opened.get(ns, []):
            yield K8sResult(policy, False, f"NetworkPolicy {excerpt(policy.name)} in namespace {excerpt(ns)} reopens all {key}: "
                                           f"{key}[{index}] admits every peer on every port", ("spec", key, index))
        if not missing and ns not in opened:
            yield K8sResult(m, True, f"namespace {excerpt(ns)} denies ingress and egress by default")


def check(ctx):
    yield from run(ctx, check_manifests, "namespaces")
