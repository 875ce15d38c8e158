"""MLPS3-INTEGRITY: no group_vars / host_vars / catalogue vars value weakens the MLPS3 default."""

from idcpilot.policy import Rule
from idcpilot.policy.baseline import check_variables

RULE = Rule(
    id="MLPS3-INTEGRITY",
    title="Integrity of system files",
    severity="medium",
    stage=("plan", "verify"),
    clause="GB/T 22239-2019 8.1.4.6 integrity: detect changes to important programs and files",
    remediation="Keep baseline_aide_enabled: true (AIDE database initialised and checked on a schedule).",
)


def check(ctx):
    yield from check_variables(ctx, RULE.id)
