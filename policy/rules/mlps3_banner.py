"""MLPS3-BANNER: no group_vars / host_vars / catalogue vars value weakens the MLPS3 default."""

from idcpilot.policy import Rule
from idcpilot.policy.baseline import check_variables

RULE = Rule(
    id="MLPS3-BANNER",
    title="Legal login warning",
    severity="low",
    stage=("plan", "verify"),
    clause="Legal login warning banner on console and SSH (assessors' practice for GB/T 22239-2019 8.1.4.1)",
    remediation="Keep baseline_banner_enabled: true.",
)


def check(ctx):
    yield from check_variables(ctx, RULE.id)
