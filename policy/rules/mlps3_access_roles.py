"""MLPS3-ACCESS-ROLES: administrator, auditor and security-officer roles held by separate people."""

from idcpilot.policy import Rule

RULE = Rule(
    id="MLPS3-ACCESS-ROLES",
    title="Separation of administrator, auditor and security-officer roles",
    severity="high",
    stage=("plan", "verify"),
    clause="GB/T 22239-2019 8.1.4.2 / 8.1.10 three-role separation (system administrator, audit administrator, security administrator)",
    remediation="Give each of the three role groups at least one identity, and no identity more than one of them.",
)


def check(ctx):
    groups = ctx.thresholds.get("mlps3.roleGroups")
    members = {role: [] for role in groups}
    index = {}
    for i, ident in enumerate(ctx.spec.identities):
        for role, group in groups.items():
            if group in ident.groups:
                members[role].append(ident.name)
                index.setdefault(ident.name, i)
    path = ("spec", "identities") if ctx.spec.identities else ("spec",)
    bad = False
    for role, group in groups.items():
        if not members[role]:
            bad = True
            yield ctx.fail(f"role/{role}", f"no identity in group {group!r} ({role})", path)
    holders = {}
    for role, names in members.items():
        for n in names:
            holders.setdefault(n, []).append(role)
    for name, roles in holders.items():
        if len(roles) > 1:
            bad = True
            yield ctx.fail(f"identity/{name}", f"holds {' and '.join(roles)}; the roles must be separate",
                           ("spec", "identities", index[name], "groups"))
    if not bad:
        yield ctx.ok(ctx.estate_target, "; ".join(f"{r}: {', '.join(n)}" for r, n in members.items()), path)
