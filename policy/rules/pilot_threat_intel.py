"""PILOT-THREAT-INTEL: every feed syncs at least every 15 minutes to every gateway, from an https://
URL or a file the operator placed on the gateway (never http, ftp or file:// URLs)."""

from idcpilot.edge_services.threat_feeds import feed_source_problem
from idcpilot.policy import Rule

RULE = Rule(
    id="PILOT-THREAT-INTEL",
    title="Threat-intelligence sharing",
    severity="medium",
    stage=("plan",),
    clause="Threat-intelligence sharing, threat discovery <= 15 min",
    remediation="Declare threat-intel feeds with syncMinutes within the limit, targeting every gateway (empty targets = all), "
    "each from an https:// URL or an operator-placed file: (absolute path) on the gateway.",
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
        problem = feed_source_problem(feed.source())
        where = path + ("url" if feed.url is not None else "file",)
        if problem:
            yield ctx.fail(target, problem, where)
        else:
            yield ctx.ok(target, f"fetched from {feed.url}" if feed.url is not None else f"read from {feed.file}", where)
        if feed.sync_minutes > limit:
            yield ctx.fail(target, f"syncs every {feed.sync_minutes} min; must be <= {limit} min", path + ("syncMinutes",))
        else:
            yield ctx.ok(target, f"syncs every {feed.sync_minutes} min <= {limit} min", path + ("syncMinutes",))
    for i, gw in enumerate(ctx.spec.gateways):
        if gw.name not in covered:
            yield ctx.fail(f"gateway/{gw.name}", "no threat-intel feed reaches this gateway", ("spec", "gateways", i))
