"""PILOT-EMERGENCY: blue/yellow/red response levels with owner, escalation, <= 2 h handling."""

from idcpilot.policy import Rule

RULE = Rule(
    id="PILOT-EMERGENCY",
    title="Three-level emergency response",
    severity="medium",
    stage=("plan",),
    clause="Three-level emergency response (blue/yellow/red), average handling <= 2 h",
    remediation="Define emergency.blue, .yellow and .red, each with an owner, an escalation chain and targetHours within the limit.",
)


def check(ctx):
    limit = ctx.thresholds.get("emergency.maxHandlingHours")
    for level in ctx.thresholds.get("emergency.levels"):
        plan = getattr(ctx.spec.emergency, level, None)
        target = f"emergency/{level}"
        path = ("spec", "emergency", level)
        if plan is None:
            yield ctx.fail(target, f"no {level} response level defined", ("spec", "emergency"))
        elif not plan.owner:
            yield ctx.fail(target, "no owner", path)
        elif not plan.escalation:
            yield ctx.fail(target, "no escalation chain", path + ("escalation",))
        elif plan.target_hours > limit:
            yield ctx.fail(target, f"handling objective {plan.target_hours} h > {limit} h", path + ("targetHours",))
        else:
            yield ctx.ok(target, f"owner {plan.owner}, escalation {' -> '.join(plan.escalation)}, {plan.target_hours} h", path)
