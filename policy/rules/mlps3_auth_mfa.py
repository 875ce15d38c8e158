"""MLPS3-AUTH-MFA: every site has a two-factor bastion; management SSH only from it."""

from idcpilot.policy import Rule

RULE = Rule(
    id="MLPS3-AUTH-MFA",
    title="Two-factor bastion for administrators",
    severity="high",
    stage=("plan", "verify"),
    clause="GB/T 22239-2019 8.1.4.1 d) two or more authentication techniques for administrators",
    remediation="Declare bastion: {host: <bastion host>, twoFactor: true} on the site; the host must carry the bastion role.",
)


def check(ctx):
    for i, site in enumerate(ctx.spec.sites):
        target = f"site/{site.name}"
        path = ("spec", "sites", i)
        b = site.bastion
        if b is None:
            yield ctx.fail(target, "no bastion (jump host) declared", path)
            continue
        host = ctx.cat.hosts.get(b.host)
        if host is None or not host.has("bastion"):
            yield ctx.fail(target, f"bastion {b.host} is not a host of the estate with role bastion", path + ("bastion", "host"))
        elif not b.two_factor:
            yield ctx.fail(target, f"bastion {b.host} does not require two factors", path + ("bastion", "twoFactor")
                           if path + ("bastion", "twoFactor") in ctx.cat.source.positions else path + ("bastion",))
        else:
            yield ctx.ok(target, f"bastion {b.host} with two-factor login", path + ("bastion",))
