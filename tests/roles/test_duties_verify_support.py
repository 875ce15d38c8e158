"""The verify suite's judgement of a sudo policy (idcpilot.verify.suites.duties_support), run on
policies rendered from roles/baseline and read by this machine's cvtsudoers — the parser the
suite uses on a host — and on the policies the lab review found."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from idcpilot.verify.suites.duties_support import administrator_problems, grants, path_problems

from tests.roles.test_duties_static import WITH_DUTIES, sudoers

CVTSUDOERS = shutil.which("cvtsudoers")
pytestmark = pytest.mark.skipif(CVTSUDOERS is None, reason="cvtsudoers (part of sudo) is not installed on this machine")

DISTRIBUTION = "root ALL=(ALL:ALL) ALL\n%sudo ALL=(ALL:ALL) ALL\n"


def policy(tmp_path: Path, drop_in: str) -> str:
    (tmp_path / "d").mkdir(exist_ok=True)
    (tmp_path / "d" / "10-idcpilot").write_text(drop_in)
    (tmp_path / "sudoers").write_text(DISTRIBUTION + f"@includedir {tmp_path / 'd'}\n")
    proc = subprocess.run([CVTSUDOERS, "-f", "json", str(tmp_path / "sudoers")], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("duties", [{}, WITH_DUTIES], ids=["defaults", "services-and-files"])
def test_the_roles_policy_passes(tmp_path: Path, duties: dict) -> None:
    text = policy(tmp_path, sudoers("Debian", **duties))
    held = grants(text, None, {"admins"})
    assert held and administrator_problems(held) == []
    assert [g["command"] for g in grants(text, None, {"auditors"})] == ["/usr/local/sbin/idc-audit-read"]
    # a member of the distribution's sudo group is given ALL: the suite sees it
    assert any(g["command"] == "ALL" for g in grants(text, "alice", {"admins", "sudo"}))


BAD = {
    "full root (the lab finding)": ("%admins ALL=(ALL:ALL) ALL", "ALL"),
    "ALL minus a deny-list": ("%admins ALL=(ALL) ALL, !/usr/sbin/auditctl", "deny-list"),
    "wildcard unit": ("%admins ALL=(root) NOEXEC: /usr/bin/systemctl restart *", "wildcard"),
    "auditd restart": ("%admins ALL=(root) NOEXEC: /usr/bin/systemctl restart auditd", "audit"),
    "journald": ("%admins ALL=(root) NOEXEC: /usr/bin/systemctl restart systemd-journald", "audit chain"),
    "no NOEXEC": ("%admins ALL=(root) /usr/bin/systemctl restart nginx", "NOEXEC"),
    "an editor": ("%admins ALL=(root) /usr/bin/vim /etc/hosts", "runs or writes anything"),
    "tee": ("%admins ALL=(root) /usr/bin/tee /etc/motd", "runs or writes anything"),
    "any arguments": ("%admins ALL=(root) /usr/bin/apt-get", "any arguments"),
    "via an alias": ("Cmnd_Alias X = /usr/sbin/auditctl -D\n%admins ALL=(root) X", "audit"),
    "sudoedit audit": ("%admins ALL=(root) sudoedit /etc/audit/auditd.conf", "audit"),
    "as another user": ("%admins ALL=(ALL) NOEXEC: /usr/bin/systemctl restart nginx", "not root only"),
    "ausearch for all": ("ALL ALL=(root) /usr/sbin/ausearch", "audit"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_policies_that_break_the_separation_are_named(tmp_path: Path, case: str) -> None:
    rule, expected = BAD[case]
    text = policy(tmp_path, sudoers("Debian") + rule + "\n")
    problems = administrator_problems(grants(text, None, {"admins"}))
    assert any(expected in p for p in problems), problems


def test_path_problems() -> None:
    good = [("/etc/audit", "root", "auditors", 0o40750), ("/etc/audit/auditd.conf", "root", "auditors", 0o100640),
            ("/etc/audit/audit-stop.rules", "root", "root", 0o100640), ("/var/log/audit/audit.log", "root", "auditors", 0o100640)]
    assert path_problems(good, "auditors") == []
    bad = {("/var/log/audit/audit.log", "root", "adm", 0o100640): "group adm",
           ("/etc/audit/rules.d", "root", "admins", 0o40770): "writable",
           ("/var/log/audit/audit.log.1", "root", "auditors", 0o100644): "others",
           ("/etc/audit/auditd.conf", "idcops", "root", 0o100640): "owned by idcops"}
    for stat, why in bad.items():
        problems = path_problems([stat], "auditors")
        assert any(why in p for p in problems), (stat, problems)
