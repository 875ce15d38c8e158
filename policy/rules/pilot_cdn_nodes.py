"""PILOT-CDN-NODES: >= 200 CDN nodes across the estate."""

from idcpilot.policy import Rule

RULE = Rule(
    id="PILOT-CDN-NODES",
    title="CDN node count",
    severity="high",
    stage=("plan",),
    clause="CDN nodes >= 200",
    remediation="Add hosts with role cdn_node (host groups with count) across the sites.",
)


def check(ctx):
    minimum = ctx.thresholds.get("cdn.minNodes")
    nodes = ctx.cat.hosts_with("cdn_node")
    per_site = {}
    for h in nodes:
        per_site[h.site] = per_site.get(h.site, 0) + 1
    detail = ", ".join(f"{s} {n}" for s, n in sorted(per_site.items())) or "none"
    path = ("spec", "cdn") if ("spec", "cdn") in ctx.cat.source.positions else ("spec", "sites")
    if len(nodes) < minimum:
        yield ctx.fail(ctx.estate_target, f"{len(nodes)} CDN node(s) ({detail}); the pilot needs >= {minimum}", path)
    else:
        yield ctx.ok(ctx.estate_target, f"{len(nodes)} CDN nodes ({detail}) >= {minimum}", path)
