"""PILOT-DATA-CLASS: every data store carries a classification."""

from idcpilot.policy import Rule

RULE = Rule(
    id="PILOT-DATA-CLASS",
    title="Data classification and grading",
    severity="high",
    stage=("plan",),
    clause="Data classification and grading (GB/T 43697-2024: general, important, core)",
    remediation="Give the data store a classification: general, important or core.",
)


def check(ctx):
    allowed = ctx.thresholds.get("data.classifications")
    if not ctx.spec.data_stores:
        yield ctx.na(ctx.estate_target, "no data stores")
        return
    for i, store in enumerate(ctx.spec.data_stores):
        target = f"store/{store.name}"
        if store.classification not in allowed:
            yield ctx.fail(target, f"no data classification (one of {', '.join(allowed)})", ("spec", "dataStores", i))
        else:
            yield ctx.ok(target, f"classified {store.classification}", ("spec", "dataStores", i, "classification"))
