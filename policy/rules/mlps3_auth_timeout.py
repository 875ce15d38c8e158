"""MLPS3-AUTH-TIMEOUT: no group_vars / host_vars / catalogue vars value weakens the MLPS3 default."""

from idcpilot.policy import Rule
from idcpilot.policy.baseline import check_variables

RULE = Rule(
    id="MLPS3-AUTH-TIMEOUT",
    title="Idle session timeout",
    severity="medium",
    stage=("plan", "verify"),
    clause="GB/T 22239-2019 8.1.4.1 b) session timeout: log out idle sessions",
    remediation="Keep TMOUT <= 600, ClientAliveInterval <= 300 and ClientAliveCountMax >= 1.",
)


def check(ctx):
    yield from check_variables(ctx, RULE.id)
