"""MLPS3-AUDIT: no group_vars / host_vars / catalogue vars value weakens the MLPS3 default."""

from idcpilot.policy import Rule
from idcpilot.policy.baseline import check_variables

RULE = Rule(
    id="MLPS3-AUDIT",
    title="Security audit enabled and protected",
    severity="high",
    stage=("plan", "verify"),
    clause="GB/T 22239-2019 8.1.4.3 security audit: enabled, covering security events, records protected",
    remediation="Keep baseline_audit_immutable: true (auditd rules locked with -e 2).",
)


def check(ctx):
    yield from check_variables(ctx, RULE.id)
