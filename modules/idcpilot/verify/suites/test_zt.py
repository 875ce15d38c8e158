"""Zero-trust gateways, verified with real mTLS requests (PILOT-ZT, PILOT-TRACEABLE,
PILOT-THREAT-INTEL, MLPS3-TLS).

For every gateway host: the access matrix — every (identity, app) pair of the catalogue plus
no certificate, an expired certificate, a revoked certificate (both of an identity the policy
would allow) and a blocklisted source address — is requested over HTTPS and each decision is
compared with the catalogue's policy (idcpilot.edge_services.access_matrix). Accuracy =
correct ÷ requests is recorded as the PILOT-ZT measurement; below 0.999, or any wrong allow,
fails. Each decision must appear in the gateway's audit log with identity, app, decision and
reason. TLS below 1.2 and plaintext are refused; sslscan finds no weak protocol or cipher.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shlex
import ssl
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from idcpilot.pki import ca as pki
from idcpilot.pki.store import open_ca
from idcpilot.verify.suites import edge_support as es
from idcpilot.verify.suites.baseline_support import thresholds


pytestmark = [pytest.mark.group("role_zt_gateway")]
THRESHOLD = float(thresholds().get("zeroTrust.minAccuracy"))  # PILOT-ZT
#: Lifetime of verify's probe client certificates (signed by the estate CA for this run only).
PROBE_HOURS = 2


@dataclass
class Case:
    label: str
    identity: str | None
    app: str
    expected: str  # allow | deny
    reply: es.Reply | None = None
    audit: dict | None = None

    @property
    def decision(self) -> str:
        r = self.reply
        if r is None or r.status == 0:
            return "deny"  # handshake/connection refused: nothing reached the app
        if r.status == 403:
            return "deny"
        return "allow"


class Gateway:
    """One gateway host under test, with the PKI material the test needs in a temp dir."""

    def __init__(self, host, name: str, inventory, hostvars: dict, tmp: Path):
        self.inv, self.tmp = inventory, tmp
        self.vars = hostvars
        self.name = name
        self.zt = self.vars["idcpilot_zt"]
        self.address = self.vars["ansible_host"]
        self.port = int(self.zt["listen_port"])
        self.host = host
        self.estate = self.vars["idcpilot_estate"]
        self.ca = open_ca(self.estate)  # the estate CA on this (the operator's) machine
        self.config_dir = "/etc/nginx/idcpilot-zt"
        self.threat_user = self.vars.get("zt_gateway_threat_user", es.THREAT_USER)
        self.blocklist = f"/var/lib/{self.threat_user}/blocklist.conf"

    def sync_threat_feeds(self) -> None:
        """Run the sync now and, when the blocklist changed, wait until the path unit's root oneshot
        has checked the configuration and reloaded nginx."""
        def finished() -> str:
            return self.host.check_output(f"systemctl show -p ExecMainExitTimestampMonotonic --value {es.RELOAD_SERVICE}")
        before, listed = finished(), self.host.check_output(f"cat {self.blocklist}")
        sync = self.host.run(f"systemctl start {es.SYNC_SERVICE}")
        assert sync.rc == 0, f"threat sync failed: {sync.stderr or sync.stdout}"
        if self.host.check_output(f"cat {self.blocklist}") != listed:
            assert es.wait_until(lambda: finished() != before, timeout=15), f"{es.RELOAD_SERVICE} did not run"
            result = self.host.check_output(f"systemctl show -p Result --value {es.RELOAD_SERVICE}")
            assert result == "success", f"{es.RELOAD_SERVICE}: {result} (nginx -t or the reload failed)"
            time.sleep(0.5)

    def fetch(self, remote: str, local_name: str) -> str:
        content = self.host.check_output(f"cat {shlex.quote(remote)}")
        path = self.tmp / local_name
        path.write_text(content + "\n")
        path.chmod(0o600)
        return str(path)

    def probe_cert(self, local_name: str, identity: str, groups: list[str], *, not_before: datetime | None = None,
                   not_after: datetime | None = None) -> tuple[str, str, int]:
        """A probe certificate of ``identity`` (CA.probe: the key made here, signed by the estate CA on
        this machine, never a gateway), PROBE_HOURS unless a window is given, in two files.
        Returns (certificate file, key file, serial)."""
        probe = self.ca.probe(estate=self.estate, identity=identity, groups=groups, not_before=not_before, not_after=not_after,
                              hours=PROBE_HOURS)
        crt, keyfile = self.tmp / f"{local_name}.crt", self.tmp / f"{local_name}.key"
        crt.write_text(probe.certificate)
        keyfile.touch(mode=0o600)
        keyfile.write_text(probe.key)
        return str(crt), str(keyfile), probe.serial

    def client(self, identity: str, groups: list[str]) -> tuple[str, str]:
        return self.probe_cert(identity, identity, groups)[:2]

    def special_cert(self, kind: str, identity: str, groups: list[str]) -> tuple[str, str]:
        """An expired or a revoked certificate of ``identity``."""
        if kind == "expired":
            at = pki.now()
            return self.probe_cert("expired", identity, groups, not_before=at - timedelta(days=3), not_after=at - timedelta(days=2))[:2]
        crt, key, serial = self.probe_cert("revoked", identity, groups)
        self.ca.revoke([serial], "key_compromise")
        return crt, key

    def publish_crl(self) -> None:
        """The gateway must know the revocation before the revoked-certificate request: install the
        estate CA's current CRL as the deploy would, and reload nginx."""
        crl = self.ca.crl_pem()
        current = self.host.check_output(f"cat {self.config_dir}/crl.pem")
        if crl.strip() != current.strip():
            self.host.check_output(f"umask 022 && cat > {self.config_dir}/crl.pem.new <<'EOF'\n{crl}EOF\n"
                                   f"mv {self.config_dir}/crl.pem.new {self.config_dir}/crl.pem && nginx -t -q && systemctl reload nginx")
            time.sleep(1.0)

    def audit_lines(self, request_ids: set[str]) -> dict[str, dict]:
        out = self.host.check_output("tail -n 5000 /var/log/idcpilot/zt-audit.json")
        found = {}
        for line in out.splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if entry.get("request_id") in request_ids:
                found[entry["request_id"]] = entry
        return found


@pytest.fixture
def gateway(host, host_name, hostvars, inventory):
    if "idcpilot_zt" not in hostvars:
        pytest.fail("zt_gateway host without idcpilot_zt in its inventory variables")
    with tempfile.TemporaryDirectory(prefix="idcpilot-zt-verify-") as tmp:
        yield Gateway(host, host_name, inventory, hostvars, Path(tmp))


@contextlib.contextmanager
def upstreams(gateway):
    """Tiny responders on loopback upstream ports nobody serves (the lab has no real apps)."""
    started = []
    for app in gateway.zt["apps"]:
        host, _, port = app["upstream_hostport"].rpartition(":")
        if host not in ("127.0.0.1", "localhost") or gateway.host.socket(f"tcp://{host}:{port}").is_listening:
            continue
        unit = f"idcpilot-verify-upstream-{app['name']}"
        gateway.host.run(f"systemctl stop {unit}; systemctl reset-failed {unit}")
        gateway.host.check_output(
            f"systemd-run --unit={unit} --property=RuntimeMaxSec=900 python3 -m http.server {port} --bind 127.0.0.1 --directory /usr/share/doc"
        )
        started.append((unit, port))
    es.wait_until(lambda: all(gateway.host.socket(f"tcp://127.0.0.1:{p}").is_listening for _, p in started), timeout=15)
    try:
        yield started
    finally:
        for unit, _ in started:
            gateway.host.run(f"systemctl stop {unit}")


@contextlib.contextmanager
def feeds(gateway):
    """Setters for the gateway's operator-placed feed files (the lab's feed is one): each writes a
    feed body as root, mode 0644, as an operator would. https feeds are not ours to change."""
    def setter(path: str):
        def write(body: str) -> None:
            tmp = f"{path}.verify"
            gateway.host.check_output(f"install -d -m 0755 -o root -g root {shlex.quote(str(Path(path).parent))} && "
                                      f"umask 022 && cat > {shlex.quote(tmp)} <<'EOF'\n{body}EOF\n"
                                      f"chown root:root {shlex.quote(tmp)} && chmod 0644 {shlex.quote(tmp)} && "
                                      f"mv {shlex.quote(tmp)} {shlex.quote(path)}")
        return write

    setters = [setter(f["file"]) for f in gateway.zt["threat_feeds"] if f.get("file")]
    try:
        yield setters
    finally:  # leave an empty list behind and resync, so no address stays blocked
        for write in setters:
            write("# empty\n")
        if setters:
            gateway.host.run(f"systemctl start {es.SYNC_SERVICE}")


def _request(gateway: Gateway, case: Case, cert: tuple[str, str] | None) -> None:
    ctx = es.tls_context(gateway.fetch(f"{gateway.config_dir}/ca.pem", "ca.pem"), cert)
    case.reply = es.https(gateway.address, gateway.port, f"/{case.app}/", ctx)


def _blocked_request(gateway: Gateway, source: str, case: Case, cert: tuple[str, str]) -> None:
    """The same HTTPS request, made from another estate host whose address is blocklisted."""
    src = es.other_host(gateway.host, source)
    workdir = f"/run/idcpilot-verify-{uuid.uuid4().hex[:8]}"
    src.check_output(f"install -d -m 0700 {workdir}")
    try:
        for local, remote in ((cert[0], "c.crt"), (cert[1], "c.key"), (str(gateway.tmp / "ca.pem"), "ca.pem")):
            content = Path(local).read_text()
            src.check_output(f"umask 077; cat > {workdir}/{remote} <<'EOF'\n{content}EOF")
        script = (
            "import ssl,http.client,json\n"
            f"c=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT);c.load_verify_locations('{workdir}/ca.pem');c.check_hostname=False\n"
            f"c.load_cert_chain('{workdir}/c.crt','{workdir}/c.key')\n"
            f"h=http.client.HTTPSConnection('{gateway.address}',{gateway.port},context=c,timeout=10)\n"
            f"h.request('GET','/{case.app}/');r=h.getresponse()\n"
            "print(json.dumps({'status':r.status,'headers':dict((k.lower(),v) for k,v in r.getheaders()),'body':r.read().decode()}))\n"
        )
        out = json.loads(src.check_output(f"python3 -c {shlex.quote(script)}"))
        case.reply = es.Reply(out["status"], out["headers"], out["body"])
    finally:
        src.run(f"rm -rf {workdir}")


def build_matrix(gateway: Gateway, feed: list) -> list[Case]:
    zt = gateway.zt
    cases: list[Case] = []
    identities = {i["name"]: i["groups"] for i in zt["identities"]}
    allowed = {(ident, app["name"]) for app in zt["apps"] for ident in app["allowed"]}
    certs = {name: gateway.client(name, groups) for name, groups in identities.items()}
    for app in zt["apps"]:
        for ident in identities:
            case = Case(f"{ident} -> {app['name']}", ident, app["name"], "allow" if (ident, app["name"]) in allowed else "deny")
            _request(gateway, case, certs[ident])
            cases.append(case)
        case = Case(f"no certificate -> {app['name']}", None, app["name"], "deny")
        _request(gateway, case, None)
        cases.append(case)
    # Expired and revoked certificates of an identity the policy WOULD allow: only the
    # certificate check can deny them.
    if allowed:
        ident, app = sorted(allowed)[0]
        expired = gateway.special_cert("expired", ident, identities[ident])
        revoked = gateway.special_cert("revoked", ident, identities[ident])
        gateway.publish_crl()
        for kind, cert in (("expired", expired), ("revoked", revoked)):
            case = Case(f"{kind} certificate of {ident} -> {app}", ident, app, "deny")
            _request(gateway, case, cert)
            cases.append(case)
        # Blocklisted source: another estate host, listed in the feed this test serves.
        others = [h for h in gateway.inv.with_role("baseline") or list(gateway.inv.hostvars)
                  if h != gateway.name and "ansible_host" in gateway.inv.hostvars.get(h, {})]
        if feed and others:
            source = sorted(others)[0]
            src_addr = gateway.inv.hostvars[source]["ansible_host"]
            for write in feed:
                write(f"# idcpilot verify\n{src_addr}  # test source\n192.0.2.0/24\n")
            gateway.sync_threat_feeds()
            listed = gateway.host.check_output(f"cat {gateway.blocklist}")
            assert src_addr in listed, f"{src_addr} not in the synced blocklist:\n{listed}"
            case = Case(f"{ident} from blocklisted {src_addr} -> {app}", ident, app, "deny")
            _blocked_request(gateway, source, case, certs[ident])
            cases.append(case)
            control = Case(f"{ident} from this machine (not listed) -> {app}", ident, app, "allow")
            _request(gateway, control, certs[ident])
            cases.append(control)
    # Audit lines for every request (by the X-Request-Id the gateway returns).
    time.sleep(0.5)
    ids = {c.reply.headers.get("x-request-id") for c in cases if c.reply and c.reply.headers.get("x-request-id")}
    lines = gateway.audit_lines(ids)
    for c in cases:
        rid = c.reply.headers.get("x-request-id") if c.reply else None
        c.audit = lines.get(rid) if rid else None
    return cases


@pytest.fixture
def matrix(gateway):
    """The access matrix of this gateway, requested once per verify run: the first xdist
    worker that needs it builds it under a run-wide lock, the others read its result."""
    with es.run_lock(f"zt-matrix-{gateway.name}") as base:
        cache = base / f"zt-matrix-{gateway.name}-{os.environ.get('PYTEST_XDIST_TESTRUNUID', os.getpid())}.json"
        if cache.exists():
            cases = [Case(**{**c, "reply": es.Reply(**c["reply"]) if c["reply"] else None}) for c in json.loads(cache.read_text())]
        else:
            with upstreams(gateway), feeds(gateway) as feed:
                cases = build_matrix(gateway, feed)
            cache.write_text(json.dumps([dataclasses.asdict(c) for c in cases]))
    for c in cases:
        print(f"{c.label:55} expected {c.expected:5} got {c.decision:5} status {c.reply.status if c.reply else '-'}"
              f"  reason: {(c.audit or {}).get('reason', '-')}")
    return cases


@pytest.mark.rule("PILOT-ZT")
def test_access_matrix_matches_catalogue_policy(matrix, measure):
    accuracy = sum(1 for c in matrix if c.decision == c.expected) / len(matrix)
    measure("accuracy", round(accuracy, 6))
    measure("requests", len(matrix))
    measure("wrong_allows", sum(1 for c in matrix if c.expected == "deny" and c.decision == "allow"))
    wrong_allows = [c.label for c in matrix if c.expected == "deny" and c.decision == "allow"]
    assert not wrong_allows, f"requests allowed that the policy denies: {wrong_allows}"
    wrong = [f"{c.label}: expected {c.expected}, got {c.decision} ({c.reply.status if c.reply else '-'})" for c in matrix if c.decision != c.expected]
    assert accuracy >= THRESHOLD, f"accuracy {accuracy:.4f} < {THRESHOLD}: {wrong}"
    kinds = {c.label.split(" ")[0] for c in matrix}
    assert {"no", "expired", "revoked"} <= kinds, f"matrix incomplete: {sorted(kinds)}"


@pytest.mark.rule("PILOT-ZT")
def test_allowed_requests_reach_the_app_with_identity(matrix):
    for c in matrix:
        if c.expected == "allow":
            assert c.reply and c.reply.status == 200, f"{c.label}: {c.reply}"


@pytest.mark.rule("PILOT-ZT")
def test_blocklisted_source_is_denied(matrix):
    blocked = [c for c in matrix if "blocklisted" in c.label]
    if not blocked:
        pytest.skip("no operator-placed feed file to write (only the lab's feed is one)")
    assert all(c.decision == "deny" for c in blocked)
    assert all(c.audit and "blocklist" in c.audit["reason"] for c in blocked), [c.audit for c in blocked]


@pytest.mark.rule("PILOT-TRACEABLE")
def test_every_decision_is_in_the_audit_log(matrix):
    missing = [c.label for c in matrix if c.audit is None]
    assert not missing, f"no audit line for: {missing}"
    for c in matrix:
        a = c.audit
        assert a["decision"] == c.decision, f"{c.label}: audit says {a['decision']}, reply says {c.decision}"
        assert a["app"] == c.app and a["reason"], a
        if c.identity and c.label.startswith(c.identity):
            assert a["identity"] == c.identity, a
        assert a["client"] and a["time"] and a["gateway"], a


@pytest.mark.rule("PILOT-TRACEABLE")
def test_audit_log_reaches_journald_and_is_kept(gateway, matrix):
    rid = next(c.reply.headers["x-request-id"] for c in matrix if c.reply and "x-request-id" in c.reply.headers)
    assert es.wait_until(lambda: rid in gateway.host.run(f"journalctl -t idcpilot_zt --since=-10min --no-pager -q -g {rid}").stdout, 10), \
        "audit line not in journald (the baseline forwards journald to the log store)"
    rotate = gateway.host.file("/etc/logrotate.d/idcpilot-zt-audit").content_string
    days = int(gateway.zt["audit"]["retention_days"])
    assert f"rotate {days}" in rotate and days >= 180


@pytest.mark.rule("MLPS3-TLS")
def test_old_tls_and_plaintext_refused(gateway):
    outcome = es.old_tls_refused(gateway.address, gateway.port)
    assert outcome == {"TLSv1.0": "refused", "TLSv1.1": "refused"}, outcome
    plain = es.plaintext_http(gateway.address, gateway.port, f"/{gateway.zt['apps'][0]['name']}/")
    assert plain.status in (0, 400, 403), f"plaintext request answered {plain.status}"
    listening = gateway.host.socket.get_listening_sockets()
    plaintext_ports = [s for s in listening if s.endswith((":80",)) and not s.startswith("unix")]
    assert not plaintext_ports, f"plaintext listener on the gateway: {plaintext_ports}"


@pytest.mark.rule("MLPS3-TLS")
def test_external_scanner_finds_nothing_weak(gateway, measure):
    es.assert_tls_scan_clean(gateway.address, gateway.port, measure)


@pytest.mark.rule("PILOT-THREAT-INTEL")
def test_threat_sync_timer_runs_at_sync_minutes(gateway):
    feeds = gateway.zt["threat_feeds"]
    if not feeds:
        pytest.skip("no threat feed targets this gateway")
    minutes = min(int(f["sync_minutes"]) for f in feeds)
    assert minutes <= 15
    timer = gateway.host.service("idcpilot-zt-threat-sync.timer")
    assert timer.is_enabled and timer.is_running
    unit = gateway.host.file("/etc/systemd/system/idcpilot-zt-threat-sync.timer").content_string
    assert f"OnUnitActiveSec={minutes}min" in unit, unit
    cfg = json.loads(gateway.host.file("/etc/idcpilot/zt-threat-feeds.json").content_string)
    assert {(f.get("url"), f.get("file")) for f in cfg["feeds"]} == {(f.get("url"), f.get("file")) for f in feeds}


@pytest.mark.rule("PILOT-THREAT-INTEL")
def test_threat_sync_runs_unprivileged_from_https_or_files(gateway):
    """The sync parses hostile input: it runs as its own unprivileged user in a hardened unit, and
    the feeds config it reads names https URLs and operator-placed files only."""
    show = gateway.host.check_output(f"systemctl show -p User -p {' -p '.join(es.SYNC_HARDENING)} {es.SYNC_SERVICE}")
    cfg = json.loads(gateway.host.file("/etc/idcpilot/zt-threat-feeds.json").content_string)
    problems = es.sync_unit_problems(show, gateway.threat_user) + es.feed_config_problems(cfg)
    assert not problems, problems
    owner = gateway.host.file(gateway.blocklist)
    assert owner.user == gateway.threat_user, f"{gateway.blocklist} owned by {owner.user}"


def _allowed_pair(gateway: Gateway) -> tuple[str, list[str], str]:
    identities = {i["name"]: i["groups"] for i in gateway.zt["identities"]}
    pairs = sorted((ident, app["name"]) for app in gateway.zt["apps"] for ident in app["allowed"])
    if not pairs:
        pytest.skip("the catalogue allows no identity through this gateway")
    ident, app = pairs[0]
    return ident, identities[ident], app


@pytest.mark.rule("PILOT-ZT")
def test_a_session_cannot_outlive_a_revocation(gateway):
    """Revoke, then resume: refused. For TLS 1.2 and 1.3: a probe certificate of an allowed
    identity gets through; the gateway does not resume that session when it is offered again
    (no session cache, no tickets), so after the certificate is revoked and the CRL installed, the
    same session offered once more runs a full handshake and the request is denied."""
    ident, groups, app = _allowed_pair(gateway)
    cafile = gateway.fetch(f"{gateway.config_dir}/ca.pem", "ca.pem")
    with es.run_lock(f"zt-crl-{gateway.name}"), upstreams(gateway):
        probes = {}
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            crt, key, serial = gateway.probe_cert(f"resume-{version.name}", ident, groups)
            ctx = es.tls_context(cafile, (crt, key))
            ctx.minimum_version = ctx.maximum_version = version
            first = es.https_with_session(gateway.address, gateway.port, f"/{app}/", ctx)
            assert first.reply.status == 200, f"{version.name}: {ident} -> {app} before revocation: {first.reply}"
            again = es.https_with_session(gateway.address, gateway.port, f"/{app}/", ctx, first.session)
            assert again.reply.status == 200 and not again.resumed, f"{version.name}: session resumed ({again})"
            probes[version] = (ctx, first.session, serial)
        gateway.ca.revoke([serial for _, _, serial in probes.values()], "key_compromise")
        gateway.publish_crl()
        for version, (ctx, session, _) in probes.items():
            after = es.https_with_session(gateway.address, gateway.port, f"/{app}/", ctx, session)
            print(f"{version.name}: after revocation status {after.reply.status}, resumed {after.resumed}, {after.reply.error}")
            assert not after.resumed, f"{version.name}: a session of a revoked certificate was resumed"
            assert after.reply.status in (0, 403), f"{version.name}: revoked certificate got {after.reply.status}"


def _crl_number(text: str) -> int:
    from cryptography import x509

    return x509.load_pem_x509_crl(text.encode()).extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


def _watch(gateway: Gateway) -> str:
    """Run the CRL watch once; its journal lines of this run."""
    since = gateway.host.check_output("date -u '+%Y-%m-%d %H:%M:%S'")
    run = gateway.host.run("systemctl start idcpilot-zt-crl-watch.service")
    assert run.rc == 0, f"CRL watch failed: {run.stderr}"
    return gateway.host.check_output(f"journalctl -u idcpilot-zt-crl-watch.service --since '{since}' -p 7 --no-pager -q "
                                     "--output-fields=PRIORITY,MESSAGE -o json")


def _metric(gateway: Gateway) -> float:
    text = gateway.host.file(f"{gateway.vars.get('zt_gateway_textfile_dir', '/var/lib/prometheus/node-exporter')}/idcpilot_zt_crl.prom")
    assert text.exists, "no CRL metric written"
    line = next(ln for ln in text.content_string.splitlines() if ln.startswith("idcpilot_zt_crl_seconds_to_expiry "))
    return float(line.split()[1])


@pytest.mark.rule("PILOT-ZT")
def test_crl_watch_reports_alerts_and_installs_only_estate_crls(gateway):
    """The timer runs between plays. Its metric equals the installed CRL's remaining time; a CRL
    ending within the alert window raises a journal warning; from the operator's drop file it
    installs a newer CRL of the estate CA and refuses one signed by another CA."""
    timer = gateway.host.service("idcpilot-zt-crl-watch.timer")
    assert timer.is_enabled and timer.is_running, "CRL watch timer not enabled and running"
    drop = gateway.vars.get("zt_gateway_crl_drop_file")
    alert_days = int(gateway.vars.get("zt_gateway_crl_alert_days", 3))
    with es.run_lock(f"zt-crl-{gateway.name}"):
        gateway.publish_crl()
        _watch(gateway)
        expected = (gateway.ca.crl().next_update_utc - pki.now()).total_seconds()
        assert abs(_metric(gateway) - expected) < 300, f"metric {_metric(gateway)} s, CRL ends in {expected:.0f} s"
        if not drop:
            pytest.skip("zt_gateway_crl_drop_file is not set: the watch has no source to install from (metric checked)")

        def place(text: str) -> None:
            gateway.host.check_output(f"install -d -m 0755 {shlex.quote(str(Path(drop).parent))} && umask 022 && "
                                      f"cat > {shlex.quote(drop)}.new <<'EOF'\n{text}EOF\nmv {shlex.quote(drop)}.new {shlex.quote(drop)}")

        installed = lambda: gateway.host.check_output(f"cat {gateway.config_dir}/crl.pem")  # noqa: E731
        try:
            # 1. a CRL of the estate CA that ends within the alert window: installed, and it warns
            gateway.ca.refresh_crl(force=True, days=max(1, alert_days - 1))
            short = gateway.ca.crl_pem()
            place(short)
            journal = _watch(gateway)
            assert _crl_number(installed()) == _crl_number(short), "the watch did not install the estate CA's newer CRL"
            warnings_ = [json.loads(ln) for ln in journal.splitlines() if ln.strip()]
            assert any(w.get("PRIORITY") == "4" and "ends at" in w.get("MESSAGE", "") for w in warnings_), journal
            assert _metric(gateway) < alert_days * 86400
            # 2. a CRL with a higher number signed by another CA: refused, the installed one stays
            other_key, other_cert = pki.make_ca(gateway.estate, 30)
            forged = pki.pem(pki.make_crl(other_key, other_cert, [], _crl_number(short) + 100, 30))
            place(forged)
            journal = _watch(gateway)
            assert _crl_number(installed()) == _crl_number(short), "the watch installed a CRL another CA signed"
            assert "not a CRL signed by the estate CA" in journal, journal
        finally:
            # 3. back to a full-length CRL of the estate CA, through the same path
            gateway.ca.refresh_crl(force=True)
            place(gateway.ca.crl_pem())
            _watch(gateway)
        assert _crl_number(installed()) == _crl_number(gateway.ca.crl_pem())
        assert _metric(gateway) > alert_days * 86400


@pytest.mark.rule("PILOT-ZT")
def test_no_ca_key_on_the_gateway(gateway):
    """The estate CA is on the operator side: the gateway trusts its certificate and holds no key
    but its own server key (nor the directory the on-gateway CA of earlier versions used)."""
    assert gateway.host.check_output(f"cat {gateway.config_dir}/ca.pem").strip() == gateway.ca.ca_pem().strip()
    assert not gateway.host.file("/etc/idcpilot/zt-ca").exists, "the old on-gateway CA directory is still there"
    script = (f"ca=$(openssl x509 -in {gateway.config_dir}/ca.pem -noout -pubkey); "
              "grep -rlE -e '-----BEGIN ([A-Z]+ )?PRIVATE KEY-----' /etc /root /var/lib /usr/local 2>/dev/null | "
              "while read -r f; do [ \"$(openssl pkey -in \"$f\" -pubout 2>/dev/null)\" = \"$ca\" ] && echo \"$f\"; done; true")
    found = gateway.host.check_output(script)
    assert not found.strip(), f"the estate CA's private key is on the gateway: {found}"
