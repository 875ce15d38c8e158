"""PILOT-DATA-ENCRYPT: sensitive data encrypted at rest and in transit (100%)."""

from idcpilot.policy import Rule

RULE = Rule(
    id="PILOT-DATA-ENCRYPT",
    title="Sensitive data encrypted",
    severity="critical",
    stage=("plan", "verify"),
    clause="Sensitive data encryption rate 100% (important, core, or sensitive personal information)",
    remediation="Set encryptedAtRest: true and encryptedInTransit: true on the store.",
)


def check(ctx):
    sensitive = set(ctx.thresholds.get("data.sensitive"))
    any_ = False
    for i, store in enumerate(ctx.spec.data_stores):
        if store.classification not in sensitive and not store.sensitive_personal:
            continue
        any_ = True
        target = f"store/{store.name}"
        path = ("spec", "dataStores", i)
        missing = [k for k, v in (("encryptedAtRest", store.encrypted_at_rest), ("encryptedInTransit", store.encrypted_in_transit)) if not v]
        if missing:
            yield ctx.fail(target, f"{store.classification or 'sensitive personal'} data not encrypted ({', '.join(missing)} false)",
                           path + (missing[0],) if (path + (missing[0],)) in ctx.cat.source.positions else path)
        else:
            yield ctx.ok(target, "encrypted at rest and in transit", path)
    if not any_:
        yield ctx.na(ctx.estate_target, "no store holds sensitive data")
