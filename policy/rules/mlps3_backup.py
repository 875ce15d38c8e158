"""MLPS3-BACKUP: important and core data backed up off-site within its data domain."""

from idcpilot.policy import Rule

RULE = Rule(
    id="MLPS3-BACKUP",
    title="Off-site backup of important data",
    severity="high",
    stage=("plan",),
    clause="GB/T 22239-2019 8.1.4.9 data backup and recovery: off-site backup of important data",
    remediation="List at least one other site of the same data domain under backups:.",
)


def check(ctx):
    need = set(ctx.thresholds.get("data.backupRequired"))
    any_ = False
    for i, store in enumerate(ctx.spec.data_stores):
        if store.classification not in need:
            continue
        any_ = True
        target = f"store/{store.name}"
        path = ("spec", "dataStores", i)
        domain = ctx.cat.sites[store.site].data_domain
        good = [b for b in store.backups if b != store.site and b in ctx.cat.sites and ctx.cat.sites[b].data_domain == domain]
        if not store.backups:
            yield ctx.fail(target, f"{store.classification} data has no off-site backup", path)
        elif not good:
            yield ctx.fail(target, f"no backup on another site of domain {domain} (backups: {', '.join(store.backups)})", path + ("backups",))
        else:
            yield ctx.ok(target, f"backed up to {', '.join(good)}", path + ("backups",))
    if not any_:
        yield ctx.na(ctx.estate_target, "no important or core data")
