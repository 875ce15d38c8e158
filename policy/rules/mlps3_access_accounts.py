"""MLPS3-ACCESS-ACCOUNTS: no default or shared accounts, least privilege, umask 027."""

from idcpilot.policy import Rule
from idcpilot.policy.baseline import check_variables

RULE = Rule(
    id="MLPS3-ACCESS-ACCOUNTS",
    title="No default or shared accounts; least privilege",
    severity="high",
    stage=("plan", "verify"),
    clause="GB/T 22239-2019 8.1.4.2 access control: remove default accounts, no shared accounts, least privilege",
    remediation="Use a dedicated, non-root automation account and keep umask 027.",
)


def check(ctx):
    forbidden = ctx.thresholds.get("mlps3.forbiddenAccounts")
    account = ctx.spec.automation.account
    path = ("spec", "automation", "account")
    if account in forbidden:
        yield ctx.fail(ctx.estate_target, f"automation account {account!r} is a default/shared account; use a dedicated one", path)
    else:
        yield ctx.ok(ctx.estate_target, f"dedicated automation account {account!r} (the only NOPASSWD exception)", path)
    yield from check_variables(ctx, RULE.id)
