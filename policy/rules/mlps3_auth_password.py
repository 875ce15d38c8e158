"""MLPS3-AUTH-PASSWORD: no group_vars / host_vars / catalogue vars value weakens the MLPS3 default."""

from idcpilot.policy import Rule
from idcpilot.policy.baseline import check_variables

RULE = Rule(
    id="MLPS3-AUTH-PASSWORD",
    title="Password complexity and periodic change",
    severity="high",
    stage=("plan", "verify"),
    clause="GB/T 22239-2019 8.1.4.1 a) identification and authentication: password complexity and periodic change",
    remediation="Remove the override or restore the default (pwquality minlen 12, minclass 3, enforce_for_root; PASS_MAX_DAYS 90, PASS_MIN_DAYS 1, PASS_WARN_AGE 7; pwhistory remember 5).",
)


def check(ctx):
    yield from check_variables(ctx, RULE.id)
