"""PILOT-PUE: every site's design PUE and latest measured PUE within the limit."""

from idcpilot.policy import Rule

RULE = Rule(
    id="PILOT-PUE",
    title="IDC rooms meet the PUE limit",
    severity="high",
    stage=("plan",),
    clause="Standardised IDC rooms, PUE <= 1.35 (per-region / site-class overrides: national hub <= 1.25, western <= 1.2)",
    remediation="Lower the site's PUE (cooling, load) or correct pue.design / pue.measured; check the site's siteClass override.",
)


def check(ctx):
    for i, site in enumerate(ctx.spec.sites):
        limit = ctx.thresholds.get("pue.max", site=site)
        source = ctx.thresholds.describe_override("pue.max", site) or "pilot default"
        target = f"site/{site.name}"
        bad = False
        for key, value in (("design", site.pue.design), ("measured", site.pue.measured)):
            if value is not None and value > limit:
                bad = True
                yield ctx.fail(target, f"{key} PUE {value} exceeds {limit} ({source})", ("spec", "sites", i, "pue", key))
        if not bad:
            measured = f", measured {site.pue.measured}" if site.pue.measured is not None else ", not yet measured"
            yield ctx.ok(target, f"design PUE {site.pue.design}{measured} <= {limit} ({source})", ("spec", "sites", i, "pue"))
