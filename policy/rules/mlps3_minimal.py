"""MLPS3-MINIMAL: only required services and ports; no high-risk packages; default-deny firewall."""

from idcpilot.policy import Rule
from idcpilot.policy.baseline import check_variables

RULE = Rule(
    id="MLPS3-MINIMAL",
    title="Only required services and ports",
    severity="high",
    stage=("plan", "verify"),
    clause="GB/T 22239-2019 8.1.4.4 intrusion prevention: minimal installation, close unneeded services and ports",
    remediation="Do not declare cleartext/legacy service ports, keep the high-risk package list and the drop input policy.",
)


def check(ctx):
    risky = {int(k): v for k, v in ctx.thresholds.get("mlps3.highRiskPorts").items()}
    seen = set()
    bad = False
    for h in ctx.cat.hosts.values():
        if h.path in seen:
            continue
        for j, port in enumerate(h.ports):
            if port in risky:
                seen.add(h.path)
                bad = True
                yield ctx.fail(f"host/{h.name}" if h.group is None else f"hostgroup/{h.group}",
                               f"declares port {port} ({risky[port]}), a high-risk service", h.path + ("ports", j))
    if not bad:
        yield ctx.ok(ctx.estate_target, "no high-risk service port declared", ("spec", "sites"))
    yield from check_variables(ctx, RULE.id)
