"""Zero-trust gateway variables: apps behind the host's gateway, who may reach them, feeds.

Access is default deny: an identity reaches an app only when the app's ``allow`` list names
the identity or one of its groups. The expansion happens here, once, so the gateway's
configuration, the tests and the audit reasons all agree on the same decision table.
"""

from __future__ import annotations

from typing import Any

from idcpilot.catalogue.estate import Catalogue, Host
from idcpilot.catalogue.model import App, Gateway
from idcpilot.edge_services.urls import Endpoint, parse_endpoint
from idcpilot.errors import UserInputError


def gateway_of(cat: Catalogue, host: Host) -> Gateway | None:
    """The first gateway (catalogue order) whose hosts include ``host``."""
    for gateway in cat.estate.spec.gateways:
        if any(member.name == host.name for member in cat.members(gateway.hosts)):
            return gateway
    return None


def allow_reasons(cat: Catalogue, app: App) -> dict[str, str]:
    """identity -> why it is allowed ('identity alice' or 'group ops'); absent = denied."""
    allow = set(app.allow)
    out: dict[str, str] = {}
    for identity in cat.estate.spec.identities:
        if identity.name in allow:
            out[identity.name] = f"identity {identity.name}"
            continue
        for group in identity.groups:
            if group in allow:
                out[identity.name] = f"group {group}"
                break
    return out


def access_matrix(cat: Catalogue, gateway: str) -> dict[tuple[str, str], bool]:
    """(identity, app) -> allowed, for every identity and every app behind ``gateway``."""
    apps = [a for a in cat.estate.spec.apps if a.gateway == gateway]
    return {
        (identity.name, app.name): identity.name in allow_reasons(cat, app)
        for app in apps
        for identity in cat.estate.spec.identities
    }


def app_vars(cat: Catalogue, app: App) -> dict[str, Any]:
    endpoint = _endpoint(cat, ("spec", "apps", cat.estate.spec.apps.index(app), "upstream"), app.upstream)
    return {
        "name": app.name,
        "upstream": app.upstream,
        "upstream_scheme": endpoint.scheme,
        "upstream_host": endpoint.host,  # the name an https upstream's certificate must carry
        "upstream_hostport": endpoint.hostport,
        "upstream_path": endpoint.path,
        "exposed": app.exposed,
        "allow": list(app.allow),
        "allowed": allow_reasons(cat, app),
    }


def gateway_vars(cat: Catalogue, host: Host) -> dict[str, Any] | None:
    """What roles/zt_gateway needs for ``host``, or None when no gateway lists it."""
    gateway = gateway_of(cat, host)
    if gateway is None:
        return None
    spec = cat.estate.spec
    members = [m.name for m in cat.members(gateway.hosts)]
    feeds = [f for f in spec.threat_intel if not f.targets or gateway.name in f.targets]
    for feed in feeds:  # fetched by the gateway's sync job: a plain URL (https: PILOT-THREAT-INTEL) or a file
        if feed.url is not None:
            _endpoint(cat, ("spec", "threatIntel", spec.threat_intel.index(feed), "url"), feed.url)
    return {
        "gateway": gateway.name,
        "site": gateway.site,
        "hosts": members,
        "listen_port": gateway.listen_port,
        "min_tls": gateway.min_tls,
        "default_deny": gateway.default_deny,
        "audit": {
            "enabled": gateway.audit_log.enabled,
            "retention_days": gateway.audit_log.retention_days or spec.audit.retention_days,
        },
        "identities": [{"name": i.name, "groups": list(i.groups)} for i in spec.identities],
        "apps": [app_vars(cat, a) for a in spec.apps if a.gateway == gateway.name],
        "threat_feeds": [{**f.source(), "sync_minutes": f.sync_minutes} for f in feeds],
    }


def _endpoint(cat: Catalogue, path: tuple[str | int, ...], value: str) -> Endpoint:
    try:
        return parse_endpoint(value)
    except ValueError as exc:
        raise UserInputError([cat.source.problem(path, str(exc))]) from None
