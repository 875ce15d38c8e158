"""MLPS3-AUDIT-RETENTION: audit records kept >= 6 months and forwarded over TLS."""

from idcpilot.policy import Rule
from idcpilot.policy.baseline import check_variables

RULE = Rule(
    id="MLPS3-AUDIT-RETENTION",
    title="Audit records kept at least six months",
    severity="high",
    stage=("plan", "verify"),
    clause="Cybersecurity Law art. 21: network logs kept >= 6 months; GB/T 22239-2019 8.1.4.3 d) audit records protected",
    remediation=("Keep journald MaxRetentionSec >= 6month and SystemMaxUse large enough for the retention period "
                 "(audit.journalMiBPerDay x audit.minRetentionDays), logrotate >= 180 days, forwarding to the central "
                 "log store over TLS."),
)


def check(ctx):
    store = ctx.spec.audit.log_store
    if store is None:
        yield ctx.fail(ctx.estate_target, "no central log store (spec.audit.logStore): records stay only on the hosts", ("spec", "audit"))
    elif not store.tls:
        yield ctx.fail(ctx.estate_target, f"log forwarding to {store.host} is not over TLS", ("spec", "audit", "logStore", "tls"))
    else:
        yield ctx.ok(ctx.estate_target, f"forwarding to {store.host}:{store.port} over TLS", ("spec", "audit", "logStore"))
    yield from check_variables(ctx, RULE.id)
