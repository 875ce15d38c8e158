"""PILOT-MULTICLOUD: multi-cloud workloads have >= 2 eligible clusters on different sites/providers."""

from idcpilot.policy import Rule

RULE = Rule(
    id="PILOT-MULTICLOUD",
    title="Multi-cloud workloads can be co-scheduled across clouds",
    severity="medium",
    stage=("plan",),
    clause="Multi-cloud co-scheduling (cross-cloud utilisation +40%)",
    remediation="Place the service on clusters of at least two different sites or providers.",
)


def check(ctx):
    minimum = ctx.thresholds.get("multicloud.minClusters")
    wanted = [(i, s) for i, s in enumerate(ctx.spec.services) if s.multi_cloud]
    if not wanted:
        yield ctx.na(ctx.estate_target, "no service is marked multiCloud")
        return
    for i, svc in wanted:
        clusters = [ctx.cat.clusters[c] for c in svc.clusters if c in ctx.cat.clusters]
        sites = {c.site for c in clusters}
        providers = {ctx.cat.cluster_provider(c) for c in clusters}
        spread = max(len(sites), len(providers))
        target = f"service/{svc.name}"
        if len(clusters) < minimum or spread < minimum:
            yield ctx.fail(target, f"schedulable on {len(clusters)} cluster(s) over {len(sites)} site(s) / "
                                   f"{len(providers)} provider(s); needs >= {minimum} on different sites or providers",
                           ("spec", "services", i, "clusters"))
        else:
            yield ctx.ok(target, f"{len(clusters)} clusters on sites {sorted(sites)}", ("spec", "services", i, "clusters"))
