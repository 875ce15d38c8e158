"""PILOT-THREAT-INTEL: every feed syncs at least every 15 minutes to every gateway."""

from idcpilot.policy import Rule

RULE = Rule(
    id="PILOT-THREAT-INTEL",
    title="Threat-intelligence sharing",
    severity="medium",
    stage=("plan",),
    clause="Threat-intelligence sharing, threat discovery <= 15 min",
    remediation="Declare threat-intel feeds with syncMinutes within the limit, targeting every gateway (empty targets = all).",
)


def check(ctx):
    limit = ctx.thresholds.get("threatIntel.maxSyncMinutes")
    feeds = ctx.spec.threat_intel
    if not feeds:
        yield ctx.fail(ctx.estate_target, "no threat-intelligence feed declared (threatIntel)", ("spec",))
        return
    gateways = set(ctx.cat.gateways)
    covered = set()
    for i, feed in enumerate(feeds):
        target = f"feed/{feed.name}"
        path = ("spec", "threatIntel", i)
        covered |= set(feed.targets) if feed.targets else gateways
        if feed.sync_minutes > limit:
            yield ctx.fail(target, f"syncs every {feed.sync_minutes} min; must be <= {limit} min", path + ("syncMinutes",))
        else:
            yield ctx.ok(target, f"syncs every {feed.sync_minutes} min <= {limit} min", path + ("syncMinutes",))
    for i, gw in enumerate(ctx.spec.gateways):
        if gw.name not in covered:
            yield ctx.fail(f"gateway/{gw.name}", "no threat-intel feed reaches this gateway", ("spec", "gateways", i))
