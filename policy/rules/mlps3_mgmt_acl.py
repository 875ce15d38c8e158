"""MLPS3-MGMT-ACL: management access only from the management networks."""

import ipaddress

from idcpilot.policy import Rule
from idcpilot.policy.baseline import check_variables

RULE = Rule(
    id="MLPS3-MGMT-ACL",
    title="Management access only from management networks",
    severity="high",
    stage=("plan", "verify"),
    clause="GB/T 22239-2019 8.1.4.4 c) restrict management terminals by address",
    remediation="List only the management networks in managementCidrs (never 0.0.0.0/0); role variables naming management networks stay inside them.",
)


def _problems(cidrs, min_prefix):
    out = []
    if not isinstance(cidrs, list) or not cidrs:
        return ["no management CIDR: management ports would have no source restriction"]
    for c in cidrs:
        try:
            net = ipaddress.ip_network(str(c), strict=False)
        except ValueError:
            out.append(f"{c!r} is not a network")
            continue
        if net.prefixlen < min_prefix:
            out.append(f"{c} is wider than /{min_prefix}")
    return out


def check(ctx):
    min_prefix = ctx.thresholds.get("mlps3.minManagementPrefix")
    issues = _problems(list(ctx.spec.management_cidrs), min_prefix)
    for i, msg in enumerate(issues):
        yield ctx.fail(ctx.estate_target, f"managementCidrs: {msg}", ("spec", "managementCidrs"))
    if not issues:
        yield ctx.ok(ctx.estate_target, f"management from {', '.join(ctx.spec.management_cidrs)}", ("spec", "managementCidrs"))
    # baseline_management_cidrs, idcpilot_management_cidrs, ... set outside the catalogue
    yield from check_variables(ctx, RULE.id)
