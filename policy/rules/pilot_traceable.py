"""PILOT-TRACEABLE: audit logging on every host, gateway and cluster, kept >= 180 days."""

from idcpilot.policy import Rule

RULE = Rule(
    id="PILOT-TRACEABLE",
    title="Operations are traceable",
    severity="high",
    stage=("plan", "verify"),
    clause='"Operations are traceable": audit logs kept >= 180 days (Cybersecurity Law art. 21, >= 6 months)',
    remediation="Keep spec.audit.retentionDays >= 180, audit logging enabled on every cluster and gateway, baseline role on every host.",
)


def check(ctx):
    minimum = ctx.thresholds.get("audit.minRetentionDays")
    estate_days = ctx.spec.audit.retention_days
    if estate_days < minimum:
        yield ctx.fail(ctx.estate_target, f"audit retention {estate_days} days < {minimum}", ("spec", "audit", "retentionDays"))
    else:
        yield ctx.ok(ctx.estate_target, f"audit retention {estate_days} days", ("spec", "audit"))
    for coll, items, kind in (("clusters", ctx.spec.clusters, "cluster"), ("gateways", ctx.spec.gateways, "gateway")):
        for i, item in enumerate(items):
            target = f"{kind}/{item.name}"
            path = ("spec", coll, i)
            days = item.audit_log.retention_days or estate_days
            if not item.audit_log.enabled:
                yield ctx.fail(target, "audit logging disabled", path + ("auditLog", "enabled"))
            elif days < minimum:
                yield ctx.fail(target, f"audit logs kept {days} days < {minimum}", path + ("auditLog", "retentionDays"))
            else:
                yield ctx.ok(target, f"audit logging on, kept {days} days", path)
    unaudited = [h for h in ctx.cat.hosts.values() if not h.has("baseline")]
    seen = set()
    for h in unaudited:
        if h.path not in seen:
            seen.add(h.path)
            target = f"hostgroup/{h.group}" if h.group else f"host/{h.name}"
            yield ctx.fail(target, "no baseline role: no auditd, no log forwarding", h.path)
    if not unaudited:
        yield ctx.ok(ctx.estate_target, f"all {len(ctx.cat.hosts)} hosts run the baseline role (auditd, forwarding)", ("spec", "sites"))
