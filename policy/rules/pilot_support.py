"""PILOT-SUPPORT: a 24x7 support channel answering within 30 s."""

from idcpilot.policy import Rule

RULE = Rule(
    id="PILOT-SUPPORT",
    title="7x24 intelligent customer service",
    severity="medium",
    stage=("plan",),
    clause="7x24 intelligent customer service, response <= 30 s",
    remediation="Declare a support channel with hours: 24x7 and responseSeconds within the limit.",
)


def check(ctx):
    limit = ctx.thresholds.get("support.maxResponseSeconds")
    hours = ctx.thresholds.get("support.hours")
    good = [(i, c) for i, c in enumerate(ctx.spec.support) if c.hours == hours and c.response_seconds <= limit]
    if good:
        i, c = good[0]
        yield ctx.ok(f"support/{c.name}", f"{c.name} runs {c.hours}, responds in {c.response_seconds} s <= {limit} s", ("spec", "support", i))
        return
    if not ctx.spec.support:
        yield ctx.fail(ctx.estate_target, f"no support channel; need one running {hours} with response <= {limit} s", ("spec",))
        return
    for i, c in enumerate(ctx.spec.support):
        why = f"hours {c.hours}" if c.hours != hours else f"response {c.response_seconds} s > {limit} s"
        key = "hours" if c.hours != hours else "responseSeconds"
        yield ctx.fail(f"support/{c.name}", f"{c.name} does not qualify ({why}); no channel runs {hours} within {limit} s",
                       ("spec", "support", i, key))
