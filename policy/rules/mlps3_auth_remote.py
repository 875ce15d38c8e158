"""MLPS3-AUTH-REMOTE: key-based, encrypted remote administration only."""

from idcpilot.policy import Rule
from idcpilot.policy.baseline import check_variables

RULE = Rule(
    id="MLPS3-AUTH-REMOTE",
    title="Encrypted, key-based remote administration",
    severity="critical",
    stage=("plan", "verify"),
    clause="GB/T 22239-2019 8.1.4.1 c) remote management over encrypted channels; no cleartext remote logins",
    remediation="Keep PermitRootLogin no, PasswordAuthentication no and the strong Ciphers/MACs/KexAlgorithms lists.",
)


def check(ctx):
    yield from check_variables(ctx, RULE.id)
