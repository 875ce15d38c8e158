"""PILOT-MLPS3: every in-scope host applies the MLPS 2.0 level-3 baseline."""

from idcpilot.policy import Rule
from idcpilot.policy.baseline import check_variables

RULE = Rule(
    id="PILOT-MLPS3",
    title="MLPS 2.0 level-3 baseline on every host",
    severity="critical",
    stage=("plan", "verify"),
    clause="MLPS 2.0 level 3 certification (GB/T 22239-2019)",
    remediation="Give every host the baseline role and never set baseline_audit_only: true outside a trial.",
)


def check(ctx):
    without = [h for h in ctx.cat.hosts.values() if not h.has("baseline")]
    seen = set()
    for h in without:
        if h.path in seen:
            continue
        seen.add(h.path)
        yield ctx.fail(f"host/{h.name}" if h.group is None else f"hostgroup/{h.group}", "no baseline role (MLPS3 hardening)", h.path)
    if not without:
        yield ctx.ok(ctx.estate_target, f"all {len(ctx.cat.hosts)} hosts carry the baseline role", ("spec", "sites"))
    yield from check_variables(ctx, RULE.id)
