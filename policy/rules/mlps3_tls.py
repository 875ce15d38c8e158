"""MLPS3-TLS: TLS >= 1.2 on every service endpoint."""

from idcpilot.policy import Rule

RULE = Rule(
    id="MLPS3-TLS",
    title="TLS 1.2 or newer on service endpoints",
    severity="high",
    stage=("plan", "verify"),
    clause="GB/T 22239-2019 8.1.4.7 confidentiality of important data in transit",
    remediation="Set minTls: '1.2' or '1.3' on every gateway and keep TLS on the log store.",
)


def _v(text):
    return tuple(int(p) for p in str(text).split("."))


def check(ctx):
    floor = ctx.thresholds.get("mlps3.minTls")
    for i, gw in enumerate(ctx.spec.gateways):
        target = f"gateway/{gw.name}"
        if _v(gw.min_tls) < _v(floor):
            yield ctx.fail(target, f"accepts TLS {gw.min_tls}; minimum is {floor}", ("spec", "gateways", i, "minTls"))
        else:
            yield ctx.ok(target, f"TLS >= {gw.min_tls}", ("spec", "gateways", i))
    store = ctx.spec.audit.log_store
    if store is not None:
        if store.tls:
            yield ctx.ok(f"logstore/{store.host}", "log forwarding over TLS", ("spec", "audit", "logStore"))
        else:
            yield ctx.fail(f"logstore/{store.host}", "log forwarding without TLS", ("spec", "audit", "logStore", "tls"))
    if not ctx.spec.gateways and store is None:
        yield ctx.na(ctx.estate_target, "no service endpoint declared")
