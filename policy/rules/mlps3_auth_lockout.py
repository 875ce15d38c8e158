"""MLPS3-AUTH-LOCKOUT: no group_vars / host_vars / catalogue vars value weakens the MLPS3 default."""

from idcpilot.policy import Rule
from idcpilot.policy.baseline import check_variables

RULE = Rule(
    id="MLPS3-AUTH-LOCKOUT",
    title="Lock accounts after failed logins",
    severity="high",
    stage=("plan", "verify"),
    clause="GB/T 22239-2019 8.1.4.1 b) login failure handling: lock after failed logins",
    remediation="Keep pam_faillock deny <= 5 with unlock_time >= 900 and sshd MaxAuthTries <= 5.",
)


def check(ctx):
    yield from check_variables(ctx, RULE.id)
