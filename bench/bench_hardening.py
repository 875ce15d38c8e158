#!/usr/bin/env python3
"""External auditors against a lab host, before and after roles/baseline.

    .venv/bin/python bench/bench_hardening.py [ENV] [--host NAME] [--keep]

ENV defaults to inventories/lab. Brings the lab up (idempotent), then on one host of
role_baseline (default: the first):
- Lynis (Debian `lynis`, installed inside the host through the lab's apt proxy): hardening index
  of the host as it is now (fresh, on a freshly started lab), then `idcpilot deploy --playbook
  playbooks/baseline.yml --limit HOST`, then the index again;
- ssh-audit (Debian `ssh-audit`, run on this machine against the host's sshd): [fail] and [warn]
  findings after the baseline;
- one full AIDE pass (`aide --init` into a scratch directory) with the hashes the baseline sets
  (baseline_aide_checksums, sha512) against Debian's stock `Checksums = H` (all eleven), same host,
  same run: the ratio is the baseline's saving on every scheduled check and verify run.
Prints both Lynis indexes side by side with their difference, and the ssh-audit counts. Targets
are Lynis >= 80 and no ssh-audit failure (tests/roles/test_roles_lab.py asserts them).
The lab goes down at the end if this bench brought it up (unless --keep).
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "modules")]

from idcpilot import catalogue, ipam  # noqa: E402
from idcpilot.lab import lifecycle, plan_lab  # noqa: E402
from idcpilot.lab.system import unavailable_reason  # noqa: E402

LYNIS_TARGET = 80
BASELINE_MARKER = "roles/baseline"


def host_ssh(plan, host: str, command: str) -> subprocess.CompletedProcess[str]:
    return lifecycle.host_ssh(plan, host, command, timeout=900)  # Lynis installs and audits: minutes


def lynis_index(plan, host: str) -> tuple[int, int]:
    """(hardening index, tests performed) of `lynis audit system` run inside the host."""
    install = host_ssh(plan, host, "command -v lynis >/dev/null || { sudo apt-get update -qq && "
                       "sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends lynis; }")
    if install.returncode != 0:
        raise RuntimeError(f"installing lynis on {host} failed: {install.stderr[-800:]}")
    out = host_ssh(plan, host, "sudo lynis audit system --quick --no-colors >/dev/null 2>&1; sudo grep -E '^(hardening_index|lynis_tests_done)=' /var/log/lynis-report.dat")
    values = dict(re.findall(r"^(hardening_index|lynis_tests_done)=(\d+)$", out.stdout, re.M))
    if "hardening_index" not in values:
        raise RuntimeError(f"no hardening index from lynis on {host}: {out.stdout[-800:]} {out.stderr[-800:]}")
    return int(values["hardening_index"]), int(values.get("lynis_tests_done", 0))


def ssh_audit(address: str, port: int = 22) -> dict[str, list[str]]:
    """ssh-audit findings by level. (ssh-audit 2.5 exits 2 for algorithms it does not know —
    e.g. OpenSSH's kex-strict-s-v00 Terrapin fix — so the findings are counted from its report.)"""
    out = subprocess.run(["ssh-audit", "-b", "-n", "-p", str(port), address], capture_output=True, text=True, timeout=120)
    found: dict[str, list[str]] = {"fail": [], "warn": []}
    for line in out.stdout.splitlines():
        for level in found:
            if f"[{level}]" in line:
                found[level].append(line.strip())
    if not re.search(r"^\(gen\) banner:", out.stdout, re.M):
        raise RuntimeError(f"ssh-audit could not audit {address}: {out.stdout[-500:]} {out.stderr[-500:]}")
    return found


#: One AIDE pass with a given Checksums group: the host's own aide.conf (rules, includes) with only
#: that line changed and the database written to a scratch directory under /run, then removed.
AIDE_PASS = r"""
set -e
scratch=$(mktemp -d /run/idcpilot-aide-bench.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
sed -e "s|^Checksums *=.*|Checksums = $CHECKSUMS|" -e "s|^database_out=.*|database_out=file:$scratch/aide.db|" \
    -e "s|^gzip_dbout=.*|gzip_dbout=no|" /etc/aide/aide.conf > "$scratch/aide.conf"
grep -q "^Checksums = $CHECKSUMS$" "$scratch/aide.conf"
start=$(date +%s%N)
aide --config "$scratch/aide.conf" --init >/dev/null 2>&1
end=$(date +%s%N)
echo "seconds=$(( (end - start) / 1000000 ))"
"""


def aide_pass_seconds(plan, host: str, checksums: str) -> float:
    """Wall seconds of one full AIDE pass of the host with Checksums = CHECKSUMS."""
    script = f"CHECKSUMS={checksums}\n{AIDE_PASS}"
    out = host_ssh(plan, host, f"sudo sh -c {shlex.quote(script)}")
    found = re.search(r"^seconds=(\d+)$", out.stdout, re.M)
    if out.returncode != 0 or not found:
        raise RuntimeError(f"AIDE pass ({checksums}) on {host} failed: {out.stdout[-500:]} {out.stderr[-500:]}")
    return int(found.group(1)) / 1000


def is_hardened(plan, host: str) -> bool:
    return BASELINE_MARKER in host_ssh(plan, host, "sudo head -3 /etc/ssh/sshd_config").stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("env", nargs="?", default=str(REPO / "inventories" / "lab"))
    parser.add_argument("--host")
    parser.add_argument("--keep", action="store_true", help="leave the lab running")
    parser.add_argument("--ansible-playbook", action="store_true",
                        help="apply the baseline with plain ansible-playbook instead of `idcpilot deploy` (no policy gate: for development copies of the lab estate)")
    args = parser.parse_args()
    reason = unavailable_reason()
    if reason:
        print(f"bench_hardening: skipped, lab unavailable: {reason}")
        return 0
    cat = catalogue.load(Path(args.env))
    plan = plan_lab(cat, ipam.plan(cat))
    host = args.host or sorted(h.name for h in cat.hosts_with("baseline"))[0]
    was_up = any(s.pid is not None for s in lifecycle.host_status(plan))
    lifecycle.up(plan)
    try:
        fresh = not is_hardened(plan, host)
        t0 = time.monotonic()
        before, tests_before = lynis_index(plan, host)
        t_lynis = time.monotonic() - t0
        t0 = time.monotonic()
        if args.ansible_playbook:
            command = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", args.env, "playbooks/baseline.yml", "--limit", host]
        else:
            command = [str(Path(sys.executable).with_name("idcpilot")), "deploy", "--playbook", "playbooks/baseline.yml",
                       "--limit", host, "--format", "json", args.env]
        deploy = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=3600)
        t_deploy = time.monotonic() - t0
        if deploy.returncode != 0:
            print(deploy.stdout[-3000:], deploy.stderr[-3000:])
            return 1
        after, tests_after = lynis_index(plan, host)
        audit = ssh_audit(plan.host(host).address)
        aide_stock, aide_set = aide_pass_seconds(plan, host, "H"), aide_pass_seconds(plan, host, "sha512")
        print(f"bench_hardening on {host} ({args.env})")
        print(f"{'measure':<34}{'before baseline':>18}{'after baseline':>18}")
        print(f"{'Lynis hardening index':<34}{before:>18}{after:>18}   ({after - before:+d}; target >= {LYNIS_TARGET})")
        print(f"{'Lynis tests performed':<34}{tests_before:>18}{tests_after:>18}")
        print(f"{'ssh-audit [fail] / [warn]':<34}{'':>18}{len(audit['fail']):>14} / {len(audit['warn'])}")
        print(f"{'lynis run (s) / baseline deploy (s)':<34}{t_lynis:>18.1f}{t_deploy:>18.1f}")
        print(f"{'AIDE pass (s), H / sha512':<34}{aide_stock:>18.1f}{aide_set:>18.1f}   ({aide_stock / aide_set:.1f}x)")
        if not fresh:
            print("note: the host already carried the baseline before this run; 'before' is not a fresh host")
        for line in audit["fail"] + audit["warn"]:
            print("  ssh-audit", line)
        return 0 if after >= LYNIS_TARGET and not audit["fail"] else 1
    finally:
        if not args.keep and not was_up:
            lifecycle.down(plan)


if __name__ == "__main__":
    raise SystemExit(main())
