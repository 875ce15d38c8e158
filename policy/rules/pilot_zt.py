"""PILOT-ZT: every exposed application behind a zero-trust gateway with default deny."""

from idcpilot.policy import Rule

RULE = Rule(
    id="PILOT-ZT",
    title="Zero-trust access for exposed applications",
    severity="critical",
    stage=("plan", "verify"),
    clause="Zero-trust architecture, access-control accuracy >= 99.9%",
    remediation="Put the app behind a gateway (gateway: <name>) with defaultDeny: true and an explicit allow list.",
)


def check(ctx):
    need_allow = ctx.thresholds.get("zeroTrust.requireAllowList")
    for i, gw in enumerate(ctx.spec.gateways):
        if not gw.default_deny:
            yield ctx.fail(f"gateway/{gw.name}", "gateway does not deny by default", ("spec", "gateways", i, "defaultDeny"))
        else:
            yield ctx.ok(f"gateway/{gw.name}", "default deny", ("spec", "gateways", i))
    exposed = [(i, a) for i, a in enumerate(ctx.spec.apps) if a.exposed]
    if not exposed:
        yield ctx.na(ctx.estate_target, "no exposed application")
        return
    for i, app in exposed:
        target = f"app/{app.name}"
        path = ("spec", "apps", i)
        if app.gateway is None or app.gateway not in ctx.cat.gateways:
            yield ctx.fail(target, "exposed application is not behind a zero-trust gateway", path)
        elif not ctx.cat.gateways[app.gateway].default_deny:
            yield ctx.fail(target, f"gateway {app.gateway} does not deny by default", path + ("gateway",))
        elif need_allow and not app.allow:
            yield ctx.fail(target, "no allow list: name the identities or groups that may reach it", path)
        else:
            yield ctx.ok(target, f"behind {app.gateway} (default deny), allows {', '.join(app.allow)}", path + ("gateway",))
