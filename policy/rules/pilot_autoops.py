"""PILOT-AUTOOPS: automated hosts and components / all hosts and components >= 85%."""

from idcpilot.policy import Rule

RULE = Rule(
    id="PILOT-AUTOOPS",
    title="Automation rate of operations",
    severity="medium",
    stage=("plan",),
    clause="Intelligent operations, automation rate >= 85%",
    remediation="Bring manual hosts (automated: false) under Ansible/Pulumi management.",
)


def check(ctx):
    hosts = list(ctx.cat.hosts.values())
    # Clusters, gateways and services are managed by the Pulumi stacks: automated components.
    components = len(ctx.spec.clusters) + len(ctx.spec.gateways) + len(ctx.spec.services)
    total = len(hosts) + components
    if total == 0:
        yield ctx.na(ctx.estate_target, "no hosts or components")
        return
    manual = [h for h in hosts if not h.automated]
    rate = (total - len(manual)) / total
    minimum = ctx.thresholds.get("autoops.minRate")
    text = f"automation rate {rate:.1%} ({total - len(manual)} of {total} hosts and components)"
    if rate < minimum:
        first = manual[0]
        names = ", ".join(h.name for h in manual[:5]) + (" ..." if len(manual) > 5 else "")
        yield ctx.fail(ctx.estate_target, f"{text} is below {minimum:.0%}; manual: {names}", first.path + ("automated",))
    else:
        yield ctx.ok(ctx.estate_target, f"{text} >= {minimum:.0%}", ("spec", "sites"))
