"""PILOT-SERVICE-LEVEL: every service carries a level L1..L5."""

from idcpilot.policy import Rule

RULE = Rule(
    id="PILOT-SERVICE-LEVEL",
    title="Service grading",
    severity="medium",
    stage=("plan",),
    clause="Service grading, levels L1-L5",
    remediation="Give the service a level: L1 .. L5.",
)


def check(ctx):
    levels = ctx.thresholds.get("serviceLevels")
    if not ctx.spec.services:
        yield ctx.na(ctx.estate_target, "no services")
        return
    for i, svc in enumerate(ctx.spec.services):
        target = f"service/{svc.name}"
        if svc.level not in levels:
            yield ctx.fail(target, f"service has no level (one of {', '.join(levels)})", ("spec", "services", i))
        else:
            yield ctx.ok(target, f"level {svc.level}", ("spec", "services", i, "level"))
