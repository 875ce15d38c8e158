"""PILOT-DRILLS: two live-fire attack/defence drills in the last 12 months."""

import datetime as dt

from idcpilot.policy import Rule

RULE = Rule(
    id="PILOT-DRILLS",
    title="Live-fire attack/defence drills",
    severity="medium",
    stage=("plan",),
    clause="Two live-fire attack/defence drills a year",
    remediation="Record the drills (name, date, kind: live-fire) held in the last 12 months.",
)


def check(ctx):
    need = ctx.thresholds.get("drills.minPerYear")
    window = ctx.thresholds.get("drills.windowDays")
    kinds = ctx.thresholds.get("drills.kinds")
    since = ctx.today - dt.timedelta(days=window)
    recent = [d for d in ctx.spec.drills if d.kind in kinds and since <= d.date <= ctx.today]
    path = ("spec", "drills") if ctx.spec.drills else ("spec",)
    names = ", ".join(f"{d.name} ({d.date})" for d in recent) or "none"
    if len(recent) < need:
        yield ctx.fail(ctx.estate_target, f"{len(recent)} {'/'.join(kinds)} drill(s) since {since}: {names}; need >= {need}", path)
    else:
        yield ctx.ok(ctx.estate_target, f"{len(recent)} drills since {since}: {names}", path)
