"""The role's per-link secrets (tasks/link_secrets.yml, link_secret_files.yml), run for real by ansible-playbook on three
local stand-in hosts (connection local, each with its own key directory, `wg genpsk` from a stand-in
that prints 32 random bytes in base64 as wg does): both ends of every link end up with the same
preshared key and BGP password, kept across runs and across a --limit run; a vault value wins, in
either name order; switching preshared keys off leaves only the vault's; hostile vault values are
refused without being shown; no secret appears in ansible-playbook's output, even at -vvv."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TASKS = REPO / "roles" / "sdwan_edge" / "tasks" / "link_secrets.yml"
FILES = REPO / "roles" / "sdwan_edge" / "tasks" / "link_secret_files.yml"
HOSTS = ("lab-a", "lab-b", "lab-c")
WG_KEY = re.compile(r"^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$")
VAULT_PSK = "c2Vjb25kLWtleS1mcm9tLXRoZS12YXVsdC0wMTIzNDU="  # 32 bytes in base64, as `wg genpsk` writes them


def _playbook(tmp: Path) -> Path:
    book = tmp / "play.yml"
    book.write_text(f"""
- name: Link secrets on stand-in hosts
  hosts: all
  gather_facts: false
  tasks:
    - name: Key directory
      ansible.builtin.file: {{path: "{{{{ sdwan_edge_preshared_key_dir }}}}", state: directory, mode: "0700"}}
    - name: The role's link secrets
      ansible.builtin.include_tasks: {TASKS}
    - name: The role's link secret files
      ansible.builtin.include_tasks: {FILES}
""")
    return book


def _inventory(tmp: Path) -> Path:
    hosts = {}
    for h in HOSTS:
        hosts[h] = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "sdwan_edge_preshared_key_dir": str(tmp / "hosts" / h),
            "sdwan_edge_peers": [{"name": p, "interface": f"wg-{p}"} for p in HOSTS if p != h],
        }
    inv = tmp / "inventory.json"
    inv.write_text(json.dumps({"all": {"hosts": hosts}}))
    return inv


def _fake_wg(tmp: Path) -> Path:
    bindir = tmp / "bin"
    bindir.mkdir(exist_ok=True)
    wg = bindir / "wg"
    wg.write_text("#!/bin/sh\n[ \"$1\" = genpsk ] || exit 64\nhead -c 32 /dev/urandom | base64\n")
    wg.chmod(0o755)
    return bindir


@pytest.fixture()
def play(tmp_path: Path):
    book, inv, bindir = _playbook(tmp_path), _inventory(tmp_path), _fake_wg(tmp_path)
    cfg = tmp_path / "ansible.cfg"
    cfg.write_text("[defaults]\nretry_files_enabled = False\n")
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "ANSIBLE_CONFIG": str(cfg),
           "ANSIBLE_HOME": str(tmp_path / "ansible-home"), "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}
    playbook = Path(sys.executable).parent / "ansible-playbook"

    def run(extra: dict | None = None, limit: str | None = None) -> subprocess.CompletedProcess:
        varfile = tmp_path / "extra.json"
        varfile.write_text(json.dumps({"sdwan_edge_preshared_keys": {}, "sdwan_edge_bgp_passwords": {},
                                       "sdwan_edge_preshared_keys_enabled": True, **(extra or {})}))
        cmd = [str(playbook), "-vvv", "-i", str(inv), "-e", f"@{varfile}", str(book)]
        if limit:
            cmd += ["--limit", limit]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)

    return run, tmp_path / "hosts", str(tmp_path)


def _secrets(root: Path) -> dict[tuple[str, str, str], str]:
    """(host, peer, kind) -> the secret kept on that host's side of the link."""
    out = {}
    for h in HOSTS:
        for p in HOSTS:
            for kind in ("psk", "bgp"):
                f = root / h / f"wg-{p}.{kind}"
                if f.exists():
                    out[(h, p, kind)] = f.read_text().strip()
    return out


def _leaked(proc: subprocess.CompletedProcess, values) -> list[str]:
    text = proc.stdout + proc.stderr
    return [v[:6] + "…" for v in values if v and v in text]


def _recap_changed(proc: subprocess.CompletedProcess) -> dict[str, int]:
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(lab-\w)\s*:.*?changed=(\d+)", proc.stdout, re.M)}


def test_both_ends_share_generated_secrets_kept_across_runs_and_never_shown(play):
    run, root, _ = play
    first = run()
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    got = _secrets(root)
    pairs = [(a, b) for a in HOSTS for b in HOSTS if a < b]
    for a, b in pairs:
        for kind in ("psk", "bgp"):
            assert (a, b, kind) in got and (b, a, kind) in got, (a, b, kind)
            assert got[(a, b, kind)] == got[(b, a, kind)], f"{a}-{b} {kind}: the two ends differ"
            assert WG_KEY.match(got[(a, b, kind)]), f"{a}-{b} {kind}: not 32 random bytes in base64"
        assert got[(a, b, "psk")] != got[(a, b, "bgp")]
    assert len({got[(a, b, k)] for a, b in pairs for k in ("psk", "bgp")}) == 2 * len(pairs), "a secret is shared by two links"
    for (h, p, kind), _ in got.items():
        assert oct((root / h / f"wg-{p}.{kind}").stat().st_mode & 0o777) == "0o600"
    leaked = _leaked(first, got.values())
    assert not leaked, f"secrets in ansible-playbook -vvv output: {leaked}"

    second = run()
    assert second.returncode == 0, second.stdout[-3000:]
    assert _secrets(root) == got, "a second run changed a link secret"
    assert _recap_changed(second) == {h: 0 for h in HOSTS}, "second run not idempotent"
    leaked = _leaked(second, got.values())
    assert not leaked, leaked

    # lab-b alone: the first end of lab-a:lab-b (lab-a) is not in the play; lab-b keeps its copy
    limited = run(limit="lab-b")
    assert limited.returncode == 0, limited.stdout[-3000:]
    assert _secrets(root) == got
    assert _recap_changed(limited) == {"lab-b": 0}


def test_vault_values_win_in_either_name_order_and_switching_psk_off_keeps_only_the_vaults(play):
    run, root, _ = play
    assert run().returncode == 0
    generated = _secrets(root)
    vault = {"sdwan_edge_preshared_keys": {"lab-c:lab-a": VAULT_PSK},
             "sdwan_edge_bgp_passwords": {"lab-a:lab-c": "vault.bgp-password_for~a-c"}}
    proc = run(vault)
    assert proc.returncode == 0, proc.stdout[-3000:]
    got = _secrets(root)
    assert got[("lab-a", "lab-c", "psk")] == got[("lab-c", "lab-a", "psk")] == VAULT_PSK
    assert got[("lab-a", "lab-c", "bgp")] == got[("lab-c", "lab-a", "bgp")] == "vault.bgp-password_for~a-c"
    assert got[("lab-a", "lab-b", "psk")] == generated[("lab-a", "lab-b", "psk")], "a link the vault does not name changed"
    leaked = _leaked(proc, [VAULT_PSK, "vault.bgp-password_for~a-c", *got.values()])
    assert not leaked, leaked

    off = run({**vault, "sdwan_edge_preshared_keys_enabled": False})
    assert off.returncode == 0, off.stdout[-3000:]
    got = _secrets(root)
    assert {(h, p) for h, p, k in got if k == "psk"} == {("lab-a", "lab-c"), ("lab-c", "lab-a")}
    assert all((a, b, "bgp") in got for a in HOSTS for b in HOSTS if a != b), "BGP passwords are never switched off"


@pytest.mark.parametrize("kind, value", [
    ("bgp", "ok-prefix\n neighbor 192.0.2.1 remote-as 64512"),
    ("bgp", "two words"),
    ("bgp", "bang!comment"),
    ("bgp", "#hash"),
    ("bgp", "q" * 81),
    ("psk", "not-a-wireguard-key"),
    ("psk", VAULT_PSK[:-1] + "\nPostUp = touch /tmp/pwned"),
])
def test_hostile_vault_values_are_refused_without_being_shown(play, kind, value):
    run, root, tmp = play
    var = "sdwan_edge_bgp_passwords" if kind == "bgp" else "sdwan_edge_preshared_keys"
    proc = run({var: {"lab-a:lab-b": value}}, limit="lab-a,lab-b")
    assert proc.returncode != 0, "a hostile value was accepted"
    assert "is refused (value not shown)" in proc.stdout
    output = (proc.stdout + proc.stderr).replace(tmp, "<tmp>")  # the test's own directory names the case
    shown = [part for part in [value, *re.split(r"\s+", value)] if len(part) > 4 and part in output]
    assert not shown, f"parts of the refused value appear in the output: {shown}"
    for f in (root / "lab-a" / f"wg-lab-b.{kind}", root / "lab-b" / f"wg-lab-a.{kind}"):
        assert not f.exists() or f.read_text().strip() != value
