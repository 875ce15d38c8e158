"""``idcpilot deploy``: the policy gate, then playbooks/site.yml on the estate's hosts."""

from __future__ import annotations

from pathlib import Path

import typer

from idcpilot import catalogue
from idcpilot.cli.common import EXIT_CHANGES, EXIT_FAIL, EXIT_INPUT, RequiredEnvArg, Format, FormatOpt, console, err_console, print_json, user_errors
from idcpilot.deploy import DeployOptions, GateRefused, Tracker, deploy as run_deploy
from idcpilot.deploy.options import option_problems
from idcpilot.deploy.view import View, host_table
from idcpilot.errors import UserInputError


def register(app: typer.Typer) -> None:
    @app.command()
    def deploy(
        env: Path = RequiredEnvArg,
        limit: str = typer.Option(None, "--limit", "-l", help="only these hosts/groups (Ansible pattern)"),
        tags: str = typer.Option(None, "--tags", "-t", help="only tasks with these tags (e.g. a rule id)"),
        skip_tags: str = typer.Option(None, "--skip-tags", help="skip tasks with these tags"),
        check: bool = typer.Option(False, "--check", "-C", help="dry run: report what would change"),
        diff: bool = typer.Option(False, "--diff", "-D", help="show file differences"),
        forks: int = typer.Option(None, "--forks", help="parallel hosts (default: sized to the inventory, max 50)"),
        playbook: str = typer.Option("playbooks/site.yml", "--playbook", help="playbook relative to the repository"),
        extra_vars: list[str] = typer.Option(None, "--extra-vars", "-e", help="extra variables as ansible-playbook -e (KEY=VALUE, JSON, or @FILE; secrets only in @FILE, ansible-vault encrypted)"),
        vault_id: list[str] = typer.Option(None, "--vault-id", help="vault identity [label@]password-file-or-script (repeatable)"),
        vault_password_file: list[str] = typer.Option(None, "--vault-password-file", help="file or script giving the ansible-vault password (repeatable)"),
        detailed_exitcode: bool = typer.Option(False, "--detailed-exitcode", help=f"exit {EXIT_CHANGES} when the run succeeded but changed something on a host (0: nothing changed)"),
        fmt: Format = FormatOpt,
    ) -> None:
        """Run the policy gate, then roll playbooks/site.yml out (exit 1 if any host failed or was unreachable)."""
        with user_errors():
            cat = catalogue.load(env)
        opts = DeployOptions(env=env, playbook=playbook, limit=limit, tags=tags, skip_tags=skip_tags, check=check, diff=diff, forks=forks,
                             extra_vars=tuple(extra_vars or ()), vault_ids=tuple(vault_id or ()),
                             vault_password_files=tuple(vault_password_file or ()))
        problems = option_problems(opts)
        if problems:
            for problem in problems:
                err_console.print(f"deploy: {problem}", markup=False, highlight=False)
            raise typer.Exit(EXIT_INPUT)
        tracker = Tracker()
        out = err_console if fmt is Format.json else console
        view = View(tracker, out)

        def show_gate(gate) -> None:  # type: ignore[no-untyped-def]
            out.print(gate.summary(), markup=False, highlight=False, style=None if gate.passed else "red")

        try:
            if fmt is Format.json or not out.is_terminal:
                result = run_deploy(opts, on_event=view.handle, tracker=tracker, cat=cat, on_gate=show_gate)
            else:
                result = None

                def start_live(t: Tracker) -> None:
                    view.progress.update(view.bar, total=max(1, t.total))
                    view.__enter__()

                try:
                    result = run_deploy(opts, on_event=view.handle, tracker=tracker, cat=cat, on_gate=show_gate, on_listing=start_live)
                finally:
                    view.__exit__(None, None, None)
        except GateRefused:
            err_console.print("deploy refused: the policy gate failed; no host was touched (fix the findings or add a waiver)", style="red")
            raise typer.Exit(EXIT_FAIL) from None
        except UserInputError as exc:  # the gate cannot read a variables file or vault: fail closed
            for problem in exc.problems:
                err_console.print(str(problem), markup=False, highlight=False, soft_wrap=True)
            err_console.print("deploy refused: the policy gate cannot read its input; no host was touched", style="red")
            raise typer.Exit(EXIT_INPUT) from None
        if fmt is Format.json:
            print_json(result.as_dict())
        else:
            console.print(host_table(tracker, title=f"recap — {result.estate}"))
            verdict = "OK" if result.ok else f"FAILED ({', '.join(tracker.failed_hosts) or result.status})"
            console.print(f"deploy {verdict} in {result.duration:.0f}s; artifacts: {result.artifacts}", markup=False)
        if not result.ok:
            raise typer.Exit(EXIT_FAIL)
        if detailed_exitcode:
            changed = sorted(name for name, host in tracker.hosts.items() if host.changed)
            if changed:
                err_console.print(f"deploy changed {len(changed)} host(s): {', '.join(changed)}", markup=False, highlight=False)
                raise typer.Exit(EXIT_CHANGES)
