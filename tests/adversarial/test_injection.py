"""Nothing from an estate runs as code: hostile values in the catalogue, group_vars and host_vars.

Each case writes a hostile value into a copy of a bundled estate, then runs what an operator
or a reviewer would run on the pull request, from the repository root (its ansible.cfg):
``ansible-inventory -i <dir> --list`` and ``ansible -i <dir> <host> -m ansible.builtin.debug
-a var=<affected variable>`` (debug never contacts the host). The marker file a successful
injection would create must not exist afterwards. The cases hold whichever layer stops the
value: either the command fails naming the field or file, or the value comes out verbatim as
data. ``idcpilot inventory --host`` is checked the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.adversarial.hostile import Hostile, ansible, copy_estate, idcpilot, output


def lookup(marker: Path) -> str:
    return "{{ lookup('pipe', 'touch " + str(marker) + "') }}"


@dataclass
class Case:
    id: str
    source: str                                  # bundled estate copied: example | lab
    host: str                                    # the host whose variable is printed
    var: str                                     # the variable debug prints
    plant: Callable[[Hostile, Path], str]        # writes the hostile value, returns it
    names: str                                   # what a refusal must name (field path or file)


def _site_host(data: dict[str, Any], host: str) -> dict[str, Any]:
    for site in data["spec"]["sites"]:
        for entry in site["hosts"]:
            if entry.get("name") == host:
                return entry
    raise KeyError(host)


def catalogue(path: tuple, host_template: str | None = None) -> Callable[[Hostile, Path], str]:
    """Put ``<original><lookup>`` (or a value built from it) at ``path`` in estate.yaml."""

    def plant(estate: Hostile, marker: Path) -> str:
        value_box: list[str] = []

        def mutate(data: dict[str, Any]) -> None:
            node = data
            for key in path[:-1]:
                node = node[key]
            old = node[path[-1]]
            value = (host_template or "{old}{lookup}").format(old=old, lookup=lookup(marker))
            node[path[-1]] = value
            value_box.append(value)

        estate.edit(mutate)
        return value_box[0]

    return plant


def host_vars_in_catalogue(host: str, key: str, value: str) -> Callable[[Hostile, Path], str]:
    def plant(estate: Hostile, marker: Path) -> str:
        text = value.replace("MARKER", str(marker))
        estate.edit(lambda data: _site_host(data, host).setdefault("vars", {}).update({key: text}))
        return text

    return plant


def vars_file(rel: str, key: str, value: str) -> Callable[[Hostile, Path], str]:
    def plant(estate: Hostile, marker: Path) -> str:
        text = value.replace("MARKER", str(marker))
        estate.write(rel, json.dumps({key: text}) + "\n")
        return text

    return plant


PIPE = "{{ lookup('pipe', 'touch MARKER') }}"

CASES = [
    Case("catalogue-threat-feed-url", "example", "bj-core-1-zt-01", "idcpilot_zt",
         catalogue(("spec", "threatIntel", 0, "url")), "spec.threatIntel[0].url"),
    Case("catalogue-cdn-origin-url", "example", "bj-core-1-cdn-001", "idcpilot_cdn",
         catalogue(("spec", "cdn", "origins", 0, "url")), "spec.cdn.origins[0].url"),
    Case("catalogue-app-upstream", "example", "bj-core-1-zt-01", "idcpilot_zt",
         catalogue(("spec", "apps", 0, "upstream")), "spec.apps[0].upstream"),
    Case("catalogue-ntp-server", "example", "bj-core-1-bastion", "idcpilot_ntp_servers",
         catalogue(("spec", "ntpServers", 0)), "spec.ntpServers[0]"),
    Case("catalogue-registry", "example", "bj-core-1-bastion", "idcpilot_registry",
         catalogue(("spec", "registry")), "spec.registry"),
    Case("catalogue-apt-mirror", "example", "bj-core-1-bastion", "idcpilot_package_mirror",
         catalogue(("spec", "packageMirror", "apt")), "spec.packageMirror.apt"),
    Case("catalogue-host-var-template", "example", "bj-core-1-bastion", "baseline_banner_text",
         host_vars_in_catalogue("bj-core-1-bastion", "baseline_banner_text", PIPE), "baseline_banner_text"),
] + [
    # connection, interpreter and become variables in catalogue host vars: refused, never run
    Case(f"catalogue-host-var-{name}", "example", "bj-core-1-bastion", var,
         host_vars_in_catalogue("bj-core-1-bastion", var, value), f"vars.{var}")
    for name, var, value in [
        ("proxycommand", "ansible_ssh_common_args", "-o ProxyCommand='touch MARKER'"),
        ("interpreter", "ansible_python_interpreter", "/bin/sh -c 'touch MARKER'"),
        ("become-exe", "ansible_become_exe", "touch MARKER; sudo"),
        ("connection", "ansible_connection", "local"),
        # the idcpilot_linear strategy (Mitogen) reads these: a hop through another host, a program path
        ("mitogen-via", "mitogen_via", "bj-core-1-bastion"),
        ("mitogen-path", "mitogen_machinectl_path", "/bin/sh -c 'touch MARKER'"),
    ]
] + [
    Case("group-vars-lookup", "lab", "lab-bj-gw01", "baseline_banner_text",
         vars_file("group_vars/all/evil.yml", "baseline_banner_text", PIPE), "group_vars/all/evil.yml"),
    Case("host-vars-lookup", "lab", "lab-bj-gw01", "zt_gateway_client_max_body_size",
         vars_file("host_vars/lab-bj-gw01.yml", "zt_gateway_client_max_body_size", "1m{{ lookup('pipe', 'touch MARKER') | default('') }}"),
         "host_vars/lab-bj-gw01.yml"),
    Case("group-vars-filter-call", "lab", "lab-bj-gw01", "baseline_tmout",
         vars_file("group_vars/all/evil.yml", "baseline_tmout", "{{ baseline_ssh_port | community.general.nope('touch MARKER') }}"),
         "group_vars/all/evil.yml"),
    Case("group-vars-block", "lab", "lab-bj-gw01", "baseline_tmout",
         vars_file("group_vars/all/evil.yml", "baseline_tmout", "{% set x = lookup('pipe', 'touch MARKER') %}600"),
         "group_vars/all/evil.yml"),
]


def _refused(proc) -> bool:
    """Ansible stopped on the value: a failed command, or (with unparsed_is_failed off) an
    inventory source it could not parse."""
    return proc.returncode != 0 or "Failed to parse inventory" in output(proc) or "[ERROR]" in output(proc)


def _verbatim(value: str, text: str) -> bool:
    return value in text or json.dumps(value)[1:-1] in text


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_value_never_runs(case: Case, tmp_path: Path) -> None:
    estate = copy_estate(tmp_path, case.source)
    marker = tmp_path / "pwned"
    value = case.plant(estate, marker)

    listed = ansible("ansible-inventory", "-i", estate.root, "--list")
    debug = ansible("ansible", "-i", estate.root, case.host, "-m", "ansible.builtin.debug", "-a", f"var={case.var}")
    cli = idcpilot("inventory", estate.root, "--host", case.host)
    assert not marker.exists(), f"{case.id}: the hostile value ran a command"

    for proc, what in ((listed, "ansible-inventory --list"), (debug, "ansible -m debug")):
        text = output(proc)
        if _refused(proc):
            assert case.names in text, f"{case.id}: {what} stopped without naming {case.names!r}:\n{text[-2000:]}"
        else:
            assert _verbatim(value, text), f"{case.id}: {what} neither refused the value nor shows it verbatim:\n{text[-2000:]}"
    # a refused connection variable never reaches the inventory Ansible sees
    if case.var.startswith(("ansible_", "mitogen_")):
        assert case.var not in listed.stdout, f"{case.id}: {case.var} reached the inventory"
    # idcpilot inventory (the catalogue's variables only) agrees: exit 2 naming the field, or data
    if cli.returncode == 0:
        shown = json.loads(cli.stdout)
        assert case.var not in shown or _verbatim(value, cli.stdout), cli.stdout[-2000:]
        assert not case.var.startswith(("ansible_", "mitogen_")) or case.var not in shown
    else:
        assert cli.returncode == 2 and case.names in output(cli), output(cli)[-2000:]
    assert not marker.exists(), f"{case.id}: the hostile value ran a command"
