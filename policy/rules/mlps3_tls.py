"""MLPS3-TLS: TLS >= 1.2 on every service endpoint, and no identity headers in clear.

A zero-trust gateway passes each request's identity (X-Idcpilot-Identity, groups, certificate
serial) to the app's upstream. Over plain http those headers, and the request, cross the network
in clear, so an app's upstream must be https (the gateway verifies its certificate) unless it is
a loopback address of the gateway itself. A CDN origin in http is still allowed (the lab origin).
"""

from idcpilot.edge_services.urls import is_loopback_host, parse_endpoint
from idcpilot.policy import Rule

RULE = Rule(
    id="MLPS3-TLS",
    title="TLS 1.2 or newer on service endpoints",
    severity="high",
    stage=("plan", "verify"),
    clause="GB/T 22239-2019 8.1.4.7 confidentiality of important data in transit",
    remediation="Set minTls: '1.2' or '1.3' on every gateway, keep TLS on the log store, and give every app an "
                "https:// upstream (or one on the gateway's loopback).",
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
    yield from _app_upstreams(ctx)
    store = ctx.spec.audit.log_store
    if store is not None:
        if store.tls:
            yield ctx.ok(f"logstore/{store.host}", "log forwarding over TLS", ("spec", "audit", "logStore"))
        else:
            yield ctx.fail(f"logstore/{store.host}", "log forwarding without TLS", ("spec", "audit", "logStore", "tls"))
    if not ctx.spec.gateways and store is None:
        yield ctx.na(ctx.estate_target, "no service endpoint declared")


def _app_upstreams(ctx):
    """An app behind a gateway: https upstream, or plain http only on the gateway's loopback."""
    for i, app in enumerate(ctx.spec.apps):
        if app.gateway is None:
            continue  # no gateway sends it identity headers (PILOT-ZT judges an exposed one)
        target, path = f"app/{app.name}", ("spec", "apps", i, "upstream")
        try:
            endpoint = parse_endpoint(str(app.upstream))  # the gateway's own reading (edge_services.gateway)
        except ValueError as exc:
            yield ctx.fail(target, f"upstream cannot be read: {exc}", path)
            continue
        if endpoint.scheme == "https":
            yield ctx.ok(target, f"upstream https://{endpoint.hostport}, certificate verified by gateway {app.gateway}", path)
        elif is_loopback_host(endpoint.host):
            yield ctx.ok(target, f"upstream http://{endpoint.hostport} on the gateway's loopback", path)
        else:
            yield ctx.fail(target, f"upstream http://{endpoint.hostport} is plain http to another host: gateway "
                           f"{app.gateway} would send identity headers in clear; use https://", path)
