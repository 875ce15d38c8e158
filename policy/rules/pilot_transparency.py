"""PILOT-TRANSPARENCY: resource-usage monitoring on every host and every cluster."""

from idcpilot.policy import Rule

RULE = Rule(
    id="PILOT-TRANSPARENCY",
    title="Real-time resource-usage display",
    severity="medium",
    stage=("plan", "verify"),
    clause="Real-time display of resource usage",
    remediation="Give every host the monitoring role and keep monitoring: true on every cluster.",
)


def check(ctx):
    missing = {}
    for h in ctx.cat.hosts.values():
        if not h.has("monitoring"):
            missing.setdefault(h.path, []).append(h)
    for path, hosts in missing.items():
        names = [h.name for h in hosts]
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        target = f"hostgroup/{hosts[0].group}" if hosts[0].group else f"host/{names[0]}"
        yield ctx.fail(target, f"no monitoring role on {shown}", path)
    if not missing:
        yield ctx.ok(ctx.estate_target, f"all {len(ctx.cat.hosts)} hosts have the monitoring role", ("spec", "sites"))
    for i, c in enumerate(ctx.spec.clusters):
        if c.monitoring:
            yield ctx.ok(f"cluster/{c.name}", "cluster monitoring enabled", ("spec", "clusters", i))
        else:
            yield ctx.fail(f"cluster/{c.name}", "cluster monitoring disabled", ("spec", "clusters", i, "monitoring"))
