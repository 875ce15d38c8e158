"""MLPS3-TIME: a trusted time source for audit records."""

from idcpilot.policy import Rule
from idcpilot.policy.baseline import check_variables

RULE = Rule(
    id="MLPS3-TIME",
    title="Trusted time source",
    severity="medium",
    stage=("plan", "verify"),
    clause="GB/T 22239-2019 8.1.4.3 c) audit records carry trusted time (chrony to the estate's NTP servers)",
    remediation="List the estate's NTP servers in spec.ntpServers and do not override idcpilot_ntp_servers / baseline_ntp_servers with other servers or an empty list.",
)


def check(ctx):
    minimum = ctx.thresholds.get("mlps3.minNtpServers")
    servers = ctx.spec.ntp_servers
    if len(servers) < minimum:
        yield ctx.fail(ctx.estate_target, f"{len(servers)} NTP server(s); need >= {minimum}", ("spec", "ntpServers"))
    else:
        yield ctx.ok(ctx.estate_target, f"NTP servers {', '.join(servers)}", ("spec", "ntpServers"))
    # idcpilot_ntp_servers / baseline_ntp_servers set outside the catalogue keep the estate's servers
    yield from check_variables(ctx, RULE.id)
