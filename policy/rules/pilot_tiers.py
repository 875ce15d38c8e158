"""PILOT-TIERS: backbone + edge + mobile tiers present; >= 95% of regions in scope covered."""

from idcpilot.policy import Rule

RULE = Rule(
    id="PILOT-TIERS",
    title="Backbone, edge and mobile cloud with regional coverage",
    severity="high",
    stage=("plan",),
    clause="Backbone cloud + edge cloud + mobile cloud, >= 95% regional coverage",
    remediation="Add sites of the missing tier, or sites in the uncovered regions of regionsInScope.",
)


def check(ctx):
    tiers = {s.tier for s in ctx.spec.sites}
    missing = [t for t in ctx.thresholds.get("tiers.required") if t not in tiers]
    if missing:
        yield ctx.fail(ctx.estate_target, f"no {', '.join(missing)} tier site", ("spec", "sites"))
    else:
        yield ctx.ok(ctx.estate_target, "backbone, edge and mobile tiers present", ("spec", "sites"))
    scope = list(dict.fromkeys(ctx.spec.regions_in_scope))
    covered = {s.region for s in ctx.spec.sites}
    rate = sum(r in covered for r in scope) / len(scope)
    minimum = ctx.thresholds.get("tiers.minRegionCoverage")
    uncovered = [r for r in scope if r not in covered]
    if rate < minimum:
        yield ctx.fail(f"{ctx.estate_target}/regions", f"regional coverage {rate:.0%} < {minimum:.0%}; uncovered: {', '.join(uncovered)}",
                       ("spec", "regionsInScope"))
    else:
        yield ctx.ok(f"{ctx.estate_target}/regions", f"regional coverage {rate:.0%} of {len(scope)} regions", ("spec", "regionsInScope"))
