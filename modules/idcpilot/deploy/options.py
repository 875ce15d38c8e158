"""What a deploy run was asked to do, and the ansible-playbook arguments it becomes (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from idcpilot.paths import keep_runs_problem


@dataclass(frozen=True)
class DeployOptions:
    env: Path
    playbook: str = "playbooks/site.yml"
    limit: str | None = None
    tags: str | None = None
    skip_tags: str | None = None
    check: bool = False
    diff: bool = False
    forks: int | None = None
    extra_vars: tuple[str, ...] = ()  # ansible-playbook -e values: KEY=VALUE, JSON/YAML, or @FILE
    vault_ids: tuple[str, ...] = ()  # --vault-id values ([label@]password-file)
    vault_password_files: tuple[str, ...] = ()
    extra_args: tuple[str, ...] = field(default_factory=tuple)


def forks_for(host_count: int, requested: int | None = None) -> int:
    """Forks sized to the inventory: every host of a batch at once, bounded for the controller."""
    if requested:
        return requested
    return max(1, min(host_count, 50))


def cmdline(opts: DeployOptions) -> list[str]:
    args: list[str] = []
    if opts.check:
        args.append("--check")
    if opts.diff:
        args.append("--diff")
    if opts.skip_tags:
        args += ["--skip-tags", opts.skip_tags]
    return args + vars_args(opts) + list(opts.extra_args)


def vars_args(opts: DeployOptions) -> list[str]:
    """Extra variables and vault secrets: the playbook listing needs them as much as the run."""
    args: list[str] = []
    for value in opts.extra_vars:
        args += ["-e", value]
    for vid in opts.vault_ids:
        args += ["--vault-id", vid]
    for path in opts.vault_password_files:
        args += ["--vault-password-file", path]
    return args


def option_problems(opts: DeployOptions) -> list[str]:
    """What is wrong with the extra-vars and vault options (and $IDCPILOT_KEEP_RUNS), before anything runs."""
    problems = [f"{opt} {path}: file not found" for opt, path in missing_files(opts)]
    problems += [f"--vault-id {v}: a deploy cannot prompt (it runs under ansible-runner); give a password file or script"
                 for v in opts.vault_ids if v.split("@", 1)[-1] == "prompt"]
    keep = keep_runs_problem()
    if keep:
        problems.append(keep)
    return problems


def missing_files(opts: DeployOptions) -> list[tuple[str, str]]:
    """(option, path) for every @FILE extra-vars file and vault password file that does not exist."""
    wanted = [("--extra-vars", v[1:]) for v in opts.extra_vars if v.startswith("@")]
    wanted += [("--vault-id", v.split("@", 1)[-1]) for v in opts.vault_ids]
    wanted += [("--vault-password-file", v) for v in opts.vault_password_files]
    return [(opt, path) for opt, path in wanted if path != "prompt" and not Path(path).exists()]


def parse_listing(text: str) -> list[tuple[str, int, int]]:
    """`ansible-playbook --list-hosts --list-tasks` output -> [(play name, hosts, tasks)]."""
    plays: list[list] = []
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("play #"):
            name = line.split("): ", 1)[1] if "): " in line else line
            name = name.split("TAGS:")[0].strip()
            plays.append([name, 0, 0])
            section = None
        elif not plays:
            continue
        elif line.startswith("hosts ("):
            plays[-1][1] = int(line[len("hosts ("):].split(")")[0])
            section = "hosts"
        elif line == "tasks:":
            section = "tasks"
        elif line.startswith("pattern:"):
            section = None
        elif line and section == "tasks":
            plays[-1][2] += 1
    return [(n, h, t) for n, h, t in plays]
