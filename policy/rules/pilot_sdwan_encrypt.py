"""PILOT-SDWAN-ENCRYPT: every overlay link encrypted; the overlay graph connects every site."""

from idcpilot.policy import Rule

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
    # connectivity over the overlay graph
    sites = [s.name for s in ctx.spec.sites]
    adj = {s: set() for s in sites}
    for link in sdwan.links:
        if link.a in adj and link.b in adj:
            adj[link.a].add(link.b)
            adj[link.b].add(link.a)
    seen, todo = set(), [sites[0]]
    while todo:
        s = todo.pop()
        if s not in seen:
            seen.add(s)
            todo += adj[s] - seen
    missing = [s for s in sites if s not in seen]
    if missing:
        yield ctx.fail("sdwan/overlay", f"overlay is not connected: {', '.join(missing)} unreachable from {sites[0]}",
                       ("spec", "sdwan", "links"))
    else:
        yield ctx.ok("sdwan/overlay", f"overlay connects all {len(sites)} sites", ("spec", "sdwan", "links"))
