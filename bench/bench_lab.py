#!/usr/bin/env python3
"""Lab, deploy and verify bench on real systemd-nspawn hosts.

    .venv/bin/python bench/bench_lab.py [--hosts 3,10] [--skip-cold] [--playbook playbooks/bootstrap.yml]

Needs root and systemd-nspawn. Uses its own copy of the lab estate (three extra hosts, moved to
10.224.0.0/16-10.226.0.0/16, only on the bridge it creates) run as a lab named `benchlab`, with
its own state and cache directories, so it never touches a running lab or the shared base. The
copy keeps the estate name `lab`, so the policy gate applies the lab's documented waivers.
Prints:
- `lab up` for 3 and 10 hosts with a cold base (debootstrap from the machine's mirror) and with
  the cached base tarball (restore only), and `lab down`;
- on 10 hosts: `idcpilot deploy` (policy gate + playbook), the idempotent re-deploy, `idcpilot
  verify` of the bootstrap suite;
- the idempotent re-run with the repository's ansible.cfg against plain Ansible defaults, and
  against the same ansible.cfg with Ansible's stock linear strategy instead of idcpilot_linear
  (Mitogen), same hosts, same run, best of N, as ratios.
Everything it starts, it stops (the lab goes down at the end, also on errors).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "modules")]

from idcpilot import catalogue, ipam  # noqa: E402
from idcpilot.lab import base, lifecycle, plan_lab  # noqa: E402
from idcpilot.lab.layout import LabLayout  # noqa: E402
from idcpilot.lab.mirror import machine_mirrors  # noqa: E402
from idcpilot.lab.system import unavailable_reason  # noqa: E402
from timing import print_rows  # noqa: E402

BIN = Path(sys.executable).parent
ESTATE = "benchlab"  # the lab's name (bridge, machines, table, state dir)
STATE_ROOT = Path("/var/lib/idcpilot/bench")
EXTRA_HOSTS = {"lab-bj": "lab-bj-app01", "lab-sh": "lab-sh-app01", "lab-gz": "lab-gz-app01"}
PLAIN_CFG = """\
# Plain Ansible defaults, plus only what is needed to read the estate inventory and find roles.
[defaults]
inventory_plugins = {repo}/modules/idcpilot/ansible_plugins/inventory
roles_path = {repo}/roles
inventory_ignore_patterns = (ipam\\.lock\\.yaml|waivers\\.yaml|Pulumi\\..*\\.yaml|README.*)$
[inventory]
enable_plugins = idcpilot_estate, host_list, ini
"""


def bench_estate(tmp: Path) -> Path:
    """The lab estate renamed, moved to its own addresses, with three more baseline hosts."""
    env = tmp / ESTATE
    env.mkdir()
    text = (REPO / "inventories/lab/estate.yaml").read_text()
    for a, b in (("10.213.", "10.224."), ("10.214.", "10.225."), ("10.215.", "10.226.")):
        text = text.replace(a, b)
    for site, host in EXTRA_HOSTS.items():
        anchor = f"    - name: {site}\n"
        head, tail = text.split(anchor, 1)
        hosts_at = tail.index("      hosts:\n") + len("      hosts:\n")
        tail = tail[:hosts_at] + f"        - name: {host}\n          roles: [baseline, monitoring]\n" + tail[hosts_at:]
        text = head + anchor + tail
    (env / "estate.yaml").write_text(text)
    (env / "group_vars/all").mkdir(parents=True)
    (env / "group_vars/all/lab.yml").write_text(
        (REPO / "inventories/lab/group_vars/all/lab.yml").read_text().replace(
            '"/var/lib/idcpilot/lab/{{ idcpilot_estate }}"', f'"{STATE_ROOT / ESTATE}"'))
    run([str(BIN / "idcpilot"), "ipam", "apply", str(env)])
    return env


def run(cmd: list[str], env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env)
    if check and proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return proc


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    fn()
    return time.monotonic() - t0


def ansible_rerun(env_dir: Path, playbook: str, cfg: Path, forks: int | None, extra: dict,
                  strategy: str | None = None) -> float:
    cmd = [str(BIN / "ansible-playbook"), "-i", str(env_dir), str(REPO / playbook), "-e", json.dumps(extra)]
    if forks:
        cmd += ["--forks", str(forks)]
    environ = os.environ | {"ANSIBLE_CONFIG": str(cfg), "PATH": f"{BIN}:{os.environ['PATH']}"}
    if strategy:
        environ["ANSIBLE_STRATEGY"] = strategy
    t0 = time.monotonic()
    proc = run(cmd, env=environ)
    elapsed = time.monotonic() - t0
    if "changed=0" not in proc.stdout or " changed=1" in proc.stdout:
        print(f"  note: re-run was not idempotent with {cfg.name}", file=sys.stderr)
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hosts", default="3,10", help="lab sizes for `lab up` (comma-separated, at most 10)")
    ap.add_argument("--skip-cold", action="store_true", help="skip the cold-base figures (each runs debootstrap)")
    ap.add_argument("--playbook", default="playbooks/bootstrap.yml")
    ap.add_argument("--suite", default="bootstrap")
    ap.add_argument("--rounds", type=int, default=2, help="re-runs per ansible.cfg variant (best of)")
    args = ap.parse_args()
    reason = unavailable_reason()
    if reason:
        print(f"bench_lab skipped: {reason}")
        return 0
    sizes = [int(s) for s in args.hosts.split(",")]
    rows: list[tuple[str, str]] = []
    work = Path(tempfile.mkdtemp(prefix="idcpilot-bench-"))
    layout = LabLayout(ESTATE, state_root=STATE_ROOT, cache_root=Path("/var/cache/idcpilot/bench"))
    os.environ["IDCPILOT_STATE_DIR"] = str(work / "state")
    env_dir = bench_estate(work)
    cat = catalogue.load(env_dir)
    plan = plan_lab(cat, ipam.plan(cat), layout, name=ESTATE)
    names = [h.name for h in plan.hosts]
    try:
        for n in sizes:
            subset = names[:n]
            for mode in (["cold"] if not args.skip_cold else []) + ["cached"]:
                lifecycle.down(plan)
                if mode == "cached" and not base.tarball(layout).exists():
                    seed = base.tarball(LabLayout("lab"))  # the machine's lab cache, same key
                    if seed.exists():
                        base.tarball(layout).parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(seed, base.tarball(layout))
                    else:
                        base.ensure_base(layout, machine_mirrors())  # build it once, untimed
                base.drop_base(layout, cache_too=(mode == "cold"))
                t = timed(lambda: lifecycle.up(plan, only=subset))
                rows.append((f"lab up, {n} hosts, {mode} base", f"{t:6.1f} s"))
            t = timed(lambda: lifecycle.up(plan, only=subset))
            rows.append((f"lab up, {n} hosts, already up (no-op)", f"{t:6.2f} s"))
            if n != max(sizes):
                t = timed(lambda: lifecycle.down(plan))
                rows.append((f"lab down, {n} hosts", f"{t:6.1f} s"))
        lifecycle.up(plan)  # every host for the deploy figures
        idc = str(BIN / "idcpilot")
        t = timed(lambda: run([idc, "deploy", "--playbook", args.playbook, "--format", "json", str(env_dir)]))
        rows.append((f"deploy {Path(args.playbook).name}, {len(names)} hosts (gate + first run)", f"{t:6.1f} s"))
        t = timed(lambda: run([idc, "deploy", "--playbook", args.playbook, "--format", "json", str(env_dir)]))
        rows.append(("re-deploy (idempotent, gate included)", f"{t:6.1f} s"))
        t = timed(lambda: run([idc, "verify", "--suite", args.suite, "--format", "json", str(env_dir)]))
        rows.append((f"verify {Path(args.suite).name}, {len(names)} hosts", f"{t:6.1f} s"))
        plain = work / "plain.cfg"
        plain.write_text(PLAIN_CFG.format(repo=REPO))
        extra = {"idcpilot_serial": cat.estate.spec.automation.serial, "idcpilot_max_fail_percentage": cat.estate.spec.automation.max_fail_percentage}
        repo_times, plain_times, linear_times = [], [], []
        for _ in range(args.rounds):  # interleaved so all three see the same machine load
            plain_times.append(ansible_rerun(env_dir, args.playbook, plain, None, extra))
            linear_times.append(ansible_rerun(env_dir, args.playbook, REPO / "ansible.cfg", len(names), extra, strategy="linear"))
            repo_times.append(ansible_rerun(env_dir, args.playbook, REPO / "ansible.cfg", len(names), extra))
        rows.append(("idempotent re-run, plain Ansible defaults (best)", f"{min(plain_times):6.1f} s"))
        rows.append(("idempotent re-run, repo ansible.cfg, stock linear strategy (best)", f"{min(linear_times):6.1f} s"))
        rows.append(("idempotent re-run, repo ansible.cfg (idcpilot_linear: Mitogen) (best)", f"{min(repo_times):6.1f} s"))
        rows.append(("speed-up of repo ansible.cfg (plain / repo)", f"{min(plain_times) / min(repo_times):6.2f} x"))
        rows.append(("speed-up of Mitogen alone (stock linear / idcpilot_linear)", f"{min(linear_times) / min(repo_times):6.2f} x"))
        t = timed(lambda: lifecycle.down(plan))
        rows.append((f"lab down, {len(names)} hosts", f"{t:6.1f} s"))
        left = lifecycle.leftovers(plan)
        rows.append(("left behind after down", ", ".join(left) or "nothing"))
    finally:
        lifecycle.down(plan, purge=True)
        base.drop_base(layout, cache_too=True)
        shutil.rmtree(work, ignore_errors=True)
    print_rows(f"bench_lab ({os.cpu_count()} CPUs)", rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
