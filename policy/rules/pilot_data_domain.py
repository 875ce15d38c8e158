"""PILOT-DATA-DOMAIN: data stays in its data domain; no egress path out of it."""

from idcpilot.policy import Rule

RULE = Rule(
    id="PILOT-DATA-DOMAIN",
    title="Data does not leave its domain",
    severity="critical",
    stage=("plan",),
    clause='"Data does not leave the domain"',
    remediation="Keep replicas and backups on sites of the store's data domain; remove egress to other domains or the internet.",
)


def check(ctx):
    sensitive = set(ctx.thresholds.get("data.sensitive"))
    domains = ctx.spec.data_domains
    if not ctx.spec.data_stores:
        yield ctx.na(ctx.estate_target, "no data stores")
        return
    for i, store in enumerate(ctx.spec.data_stores):
        target = f"store/{store.name}"
        path = ("spec", "dataStores", i)
        home = ctx.cat.sites[store.site]
        domain = home.data_domain
        regions = set(domains.get(domain, []))
        bad = False
        if home.region not in regions:
            bad = True
            yield ctx.fail(target, f"site {home.name} (region {home.region}) is outside its data domain {domain}", path + ("site",))
        for key, names in (("replicas", store.replicas), ("backups", store.backups)):
            for j, name in enumerate(names):
                site = ctx.cat.sites.get(name)
                if site is None:
                    continue
                if site.data_domain != domain or site.region not in regions:
                    bad = True
                    yield ctx.fail(target, f"{key[:-1]} on {name} (domain {site.data_domain}, region {site.region}) leaves domain {domain}",
                                   path + (key, j))
        protected = store.classification in sensitive or store.personal_info
        for j, dest in enumerate(store.egress):
            site = ctx.cat.sites.get(dest)
            leaves = dest == "internet" or (site is not None and site.data_domain != domain)
            if leaves and protected:
                bad = True
                yield ctx.fail(target, f"egress to {dest} takes {store.classification or 'personal'} data out of domain {domain}",
                               path + ("egress", j))
        if not bad:
            yield ctx.ok(target, f"stays in domain {domain}", path)
