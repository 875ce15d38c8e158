"""PILOT-SDWAN-ENCRYPT: every overlay link encrypted; the overlay graph connects every site."""

from idcpilot.policy import Rule
from idcpilot.sdwan.reach import unjoined_pairs

RULE = Rule(
    id="PILOT-SDWAN-ENCRYPT",
    title="SD-WAN overlay encrypted and connected",
    severity="critical",
    stage=("plan", "verify"),
    clause="Secure overlay network (security system): encrypted links (WireGuard or IPsec), one connected overlay",
    remediation="Set encryption: wireguard or ipsec on every link, and add links so every site reaches every other.",
)


def check(ctx):
    sdwan = ctx.spec.sdwan
    if sdwan is None:
        if len(ctx.spec.sites) > 1:
            yield ctx.fail(ctx.estate_target, "no SD-WAN overlay declared for a multi-site estate", ("spec",))
        else:
            yield ctx.na(ctx.estate_target, "single site: no overlay")
        return
    allowed = ctx.thresholds.get("sdwan.encryption")
    for i, link in enumerate(sdwan.links):
        target = f"link/{link.a}--{link.b}"
        path = ("spec", "sdwan", "links", i, "encryption")
        if link.encryption not in allowed:
            yield ctx.fail(target, f"link is not encrypted (encryption: {link.encryption}; use one of {allowed})", path)
        else:
            yield ctx.ok(target, f"encrypted with {link.encryption}", path)
    # connectivity: traffic between two sites crosses hubs only (see idcpilot.sdwan.reach)
    unreachable = unjoined_pairs(ctx.cat)
    if unreachable:
        shown = ", ".join(f"{a}-{b}" for a, b in unreachable[:5]) + (" ..." if len(unreachable) > 5 else "")
        yield ctx.fail("sdwan/overlay", f"{len(unreachable)} site pair(s) have no overlay path through hubs: {shown}",
                       ("spec", "sdwan", "links"))
    else:
        yield ctx.ok("sdwan/overlay", f"every pair of the {len(ctx.spec.sites)} sites is joined directly or through a hub",
                     ("spec", "sdwan", "links"))
