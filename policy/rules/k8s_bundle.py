"""K8S-BUNDLE: every cluster names a Kubernetes release the offline bundle provides."""

from idcpilot.bundle import select
from idcpilot.policy import Rule
from idcpilot.policy.baseline import check_variables

RULE = Rule(
    id="K8S-BUNDLE",
    title="Cluster versions the offline bundle provides",
    severity="high",
    stage=("plan",),
    clause=("Edge clusters in air-gapped IDCs are installed from the offline bundle only: every cluster's "
            "kubernetesVersion is a release the bundle builds (idcpilot bundle list)"),
    remediation=("Set the cluster's kubernetesVersion to a release `idcpilot bundle list` shows, and do not override "
                 "k8s_node_kubernetes_version in group_vars / host_vars (the role takes the cluster's version)."),
)


def check(ctx):
    found = select.clusters(ctx.cat)
    if not found:
        yield ctx.na(ctx.estate_target, "no Kubernetes clusters")
    for c in found:
        target = f"cluster/{c.name}"
        problem = c.problem()
        if problem:
            yield ctx.fail(target, problem, c.path)
        else:
            yield ctx.ok(target, f"Kubernetes {c.version} is in the offline bundle", c.path)
    # k8s_node_kubernetes_version set outside the catalogue would install another release
    yield from check_variables(ctx, RULE.id)
