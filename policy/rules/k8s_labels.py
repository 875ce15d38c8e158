"""K8S-LABELS: every namespace and workload carries data classification and data domain labels."""

from idcpilot.errors import excerpt
from idcpilot.policy import Rule
from idcpilot.policy.k8srule import K8sResult, run

RULE = Rule(
    id="K8S-LABELS",
    title="Data classification and domain labels on namespaces and workloads",
    severity="medium",
    stage=("plan",),
    clause="Edge clusters: every namespace and workload carries its data classification and data domain labels",
    remediation="Label it idcpilot.io/data-classification (general|important|core) and idcpilot.io/data-domain (<domain>).",
)
PER_RESOURCE = True


def check_manifests(manifests, env):
    for m in manifests:
        if m.kind != "Namespace" and not m.pods:  # workloads: anything that runs pods, found by shape
            continue
        if m.kind == "Namespace" and m.name in env.system_namespaces:
            continue
        labels = m.labels
        problems = []
        cls = labels.get(env.label_classification)
        dom = labels.get(env.label_domain)
        if not cls:
            problems.append(f"no {env.label_classification} label")
        elif cls not in env.classifications:
            problems.append(f"{env.label_classification}={excerpt(cls)} is not one of {', '.join(env.classifications)}")
        if not dom:
            problems.append(f"no {env.label_domain} label")
        elif env.domains and dom not in env.domains:
            problems.append(f"{env.label_domain}={excerpt(dom)} is not a data domain of the estate")
        if problems:
            yield K8sResult(m, False, f"{m.kind} {m.name}: {'; '.join(problems)}", ("metadata", "labels") if labels else ("metadata",))
        else:
            yield K8sResult(m, True, f"{m.kind} {m.name} labelled {cls}/{dom}")


def check(ctx):
    yield from run(ctx, check_manifests, "namespaces and workloads")
