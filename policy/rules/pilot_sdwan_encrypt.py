"""PILOT-SDWAN-ENCRYPT: every overlay link encrypted, every tunnel of a link with a WireGuard
preshared key; the overlay graph connects every site."""

from idcpilot.policy import Rule
from idcpilot.sdwan.topology import build as build_topology
from idcpilot.sdwan.reach import unjoined_pairs

#: roles/sdwan_edge: preshared keys are generated per link unless this is false on an end, in
#: which case only the pairs sdwan_edge_preshared_keys (ansible-vault) names get one.
PSK_SWITCH, PSK_VAULT = "sdwan_edge_preshared_keys_enabled", "sdwan_edge_preshared_keys"
_TRUE = {"true", "yes", "on", "1"}

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
    yield from _preshared_keys(ctx)
    # connectivity: traffic between two sites crosses hubs only (see idcpilot.sdwan.reach)
    unreachable = unjoined_pairs(ctx.cat)
    if unreachable:
        shown = ", ".join(f"{a}-{b}" for a, b in unreachable[:5]) + (" ..." if len(unreachable) > 5 else "")
        yield ctx.fail("sdwan/overlay", f"{len(unreachable)} site pair(s) have no overlay path through hubs: {shown}",
                       ("spec", "sdwan", "links"))
    else:
        yield ctx.ok("sdwan/overlay", f"every pair of the {len(ctx.spec.sites)} sites is joined directly or through a hub",
                     ("spec", "sdwan", "links"))


def _effective(ctx, host: str, name: str, default):
    """The value Ansible gives ``host`` for ``name`` from the estate's variable layers (lowest
    precedence first: group_vars, catalogue host vars, host_vars, -e), else ``default``."""
    hv = ctx.hostvars
    scopes = {"group/all", f"host/{host}", "extra-vars"} | {f"group/{g}" for g in hv.groups.get(host, ())}
    value = default
    for layer in hv.layers:
        if layer.scope in scopes:
            for key, val in layer.entries:
                if key == name:
                    value = val.value
    return value


def _psk_on(ctx, host: str) -> bool:
    value = _effective(ctx, host, PSK_SWITCH, True)
    return value is True or (isinstance(value, str) and value.strip().lower() in _TRUE)


def _vault_names(ctx, host: str, a: str, b: str) -> bool:
    pairs = _effective(ctx, host, PSK_VAULT, {})
    return isinstance(pairs, dict) and any(f"{x}:{y}" in pairs and pairs[f"{x}:{y}"] for x, y in ((a, b), (b, a)))


def _preshared_keys(ctx):
    """One outcome per site link: fail when a tunnel of it would run without a preshared key (an
    end has them switched off and the vault does not name the pair). Values are never shown."""
    topo = build_topology(ctx.cat)
    if topo is None:
        return
    declared = ctx.spec.sdwan.links
    for link in topo.links:
        a, b = (declared[link.declared_at[3]].a, declared[link.declared_at[3]].b) if link.declared_at else (link.a, link.b)
        target = f"link/{a}--{b}/preshared-key"  # beside the link's own target, as the estate names it
        path = link.declared_at or ("spec", "sdwan")
        bare = []
        for ha in topo.edges.get(link.a, ()):
            for hb in topo.edges.get(link.b, ()):
                off = [h for h in (ha.name, hb.name) if not _psk_on(ctx, h)]
                if off and not all(_vault_names(ctx, h, ha.name, hb.name) for h in (ha.name, hb.name)):
                    bare.append(f"{ha.name}:{hb.name} ({PSK_SWITCH} false on {', '.join(off)})")
        if bare:
            shown = "; ".join(bare[:3]) + (" ..." if len(bare) > 3 else "")
            yield ctx.fail(target, f"{len(bare)} tunnel(s) without a WireGuard preshared key: {shown}; leave {PSK_SWITCH} "
                                   f"at true or give the pair's key in {PSK_VAULT} (ansible-vault)", path)
        elif topo.edges.get(link.a) and topo.edges.get(link.b):
            yield ctx.ok(target, "every tunnel of the link has a preshared key (generated per link or from the vault)", path)
