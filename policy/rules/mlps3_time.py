"""MLPS3-TIME: a trusted time source for audit records."""

from idcpilot.policy import Rule

RULE = Rule(
    id="MLPS3-TIME",
    title="Trusted time source",
    severity="medium",
    stage=("plan", "verify"),
    clause="GB/T 22239-2019 8.1.4.3 c) audit records carry trusted time (chrony to the estate's NTP servers)",
    remediation="List the estate's NTP servers in spec.ntpServers and do not override idcpilot_ntp_servers with an empty list.",
)


def check(ctx):
    minimum = ctx.thresholds.get("mlps3.minNtpServers")
    servers = ctx.spec.ntp_servers
    if len(servers) < minimum:
        yield ctx.fail(ctx.estate_target, f"{len(servers)} NTP server(s); need >= {minimum}", ("spec", "ntpServers"))
    else:
        yield ctx.ok(ctx.estate_target, f"NTP servers {', '.join(servers)}", ("spec", "ntpServers"))
    # an override of the server list that reaches hosts must keep enough servers
    bad = {}
    if ctx.hostvars.defines_any(["idcpilot_ntp_servers"]):
        for members, values in ctx.hostvars.by_source(["idcpilot_ntp_servers"]):
            val = values.get("idcpilot_ntp_servers")
            if val is not None and val.scope != "estate" and (not isinstance(val.value, list) or len(val.value) < minimum):
                bad.setdefault((val.location, val.scope, repr(val.value)), []).extend(h.name for h in members)
    for (loc, scope, value), hosts in bad.items():
        yield ctx.fail(scope.replace("catalogue ", ""), f"idcpilot_ntp_servers overridden to {value}; reaches {len(hosts)} host(s)", loc)
