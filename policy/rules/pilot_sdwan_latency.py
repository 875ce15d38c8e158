"""PILOT-SDWAN-LATENCY: each overlay link's one-way latency budget <= 10 ms."""

from idcpilot.policy import Rule

RULE = Rule(
    id="PILOT-SDWAN-LATENCY",
    title="SD-WAN link latency budgets",
    severity="high",
    stage=("plan", "verify"),
    clause="SD-WAN transmission latency <= 10 ms",
    remediation="Give every link a latencyBudgetMs within the limit (route via a nearer hub if the path is too long).",
)


def check(ctx):
    sdwan = ctx.spec.sdwan
    if sdwan is None or not sdwan.links:
        if len(ctx.spec.sites) > 1:
            yield ctx.fail(ctx.estate_target, "no SD-WAN overlay links between the estate's sites", ("spec",))
        else:
            yield ctx.na(ctx.estate_target, "single site: no overlay")
        return
    limit = ctx.thresholds.get("sdwan.maxLatencyMs")
    for i, link in enumerate(sdwan.links):
        target = f"link/{link.a}--{link.b}"
        path = ("spec", "sdwan", "links", i)
        if link.latency_budget_ms is None:
            yield ctx.fail(target, f"no latencyBudgetMs; every link needs a budget <= {limit} ms", path)
        elif link.latency_budget_ms > limit:
            yield ctx.fail(target, f"latency budget {link.latency_budget_ms} ms exceeds {limit} ms", path + ("latencyBudgetMs",))
        else:
            yield ctx.ok(target, f"latency budget {link.latency_budget_ms} ms <= {limit} ms", path + ("latencyBudgetMs",))
