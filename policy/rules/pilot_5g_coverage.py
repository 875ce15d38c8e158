"""PILOT-5G-COVERAGE: every 5G private-network site covers a radius >= 5 km."""

from idcpilot.policy import Rule

RULE = Rule(
    id="PILOT-5G-COVERAGE",
    title="5G private-network coverage radius",
    severity="medium",
    stage=("plan",),
    clause="5G private network, coverage radius >= 5 km",
    remediation="Extend the site's 5G coverage (more gNodeBs) or correct fiveG.radiusKm; mobile-tier sites declare fiveG.",
)


def check(ctx):
    found = False
    for i, site in enumerate(ctx.spec.sites):
        target = f"site/{site.name}"
        if site.five_g is None:
            if site.tier == "mobile":
                found = True
                yield ctx.fail(target, "mobile-tier site declares no 5G private network (fiveG.radiusKm)", ("spec", "sites", i))
            continue
        found = True
        minimum = ctx.thresholds.get("fiveG.minRadiusKm", site=site)
        path = ("spec", "sites", i, "fiveG", "radiusKm")
        if site.five_g.radius_km < minimum:
            yield ctx.fail(target, f"5G coverage radius {site.five_g.radius_km} km is below {minimum} km", path)
        else:
            yield ctx.ok(target, f"5G coverage radius {site.five_g.radius_km} km >= {minimum} km", path)
    if not found:
        yield ctx.na(ctx.estate_target, "no 5G private-network site")
