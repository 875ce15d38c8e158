"""Separation of duties (MLPS3-ACCESS-ROLES), read from a host's sudo policy as sudo parses it.

`cvtsudoers -f json /etc/sudoers` (shipped with sudo) prints the whole policy, includes
followed, as sudo's own parser reads it. The functions here turn that into the commands a
group holds and judge them; they are pure, so tests/verify_duties runs them on policies
rendered from the role without a host.
"""

from __future__ import annotations

import json
import re
from typing import Any

from idcpilot.paths import repo_root
from idcpilot.yamlsource import load_yaml_file


def role_var(name: str) -> Any:
    """A value of roles/baseline/vars/main.yml: role vars outrank every inventory, so this is what
    the role applied on every host."""
    data, _ = load_yaml_file(repo_root() / "roles" / "baseline" / "vars" / "main.yml")
    return data[name]


def grants(policy_json: str, user: str | None, groups: set[str]) -> list[dict[str, Any]]:
    """Every command the policy gives ``user`` (or, with None, any member of ``groups``):
    [{"command", "negated", "noexec", "runas"}], command aliases expanded. A rule for ALL users
    counts; negated user entries are not subtracted (a grant stays a grant: over-reporting)."""
    policy = json.loads(policy_json)
    aliases: dict[str, list[dict[str, Any]]] = policy.get("Command_Aliases", {}) or {}

    def expand(entries: list[dict[str, Any]], depth: int = 0) -> list[dict[str, Any]]:
        out = []
        for entry in entries:
            if "cmndalias" in entry and depth < 8:
                out += [dict(e, negated=e.get("negated", False) ^ entry.get("negated", False))
                        for e in expand(aliases.get(entry["cmndalias"], [{"command": "<unknown alias>"}]), depth + 1)]
            else:
                out.append(entry)
        return out

    def applies(user_list: list[dict[str, Any]]) -> bool:
        for who in user_list:
            if who.get("negated"):
                continue
            if who.get("username") == "ALL" or (user is not None and who.get("username") == user):
                return True
            if who.get("usergroup") in groups:
                return True
            if "useralias" in who or "netgroup" in who or "nonunixgroup" in who:
                return True  # not resolved here: counted, so nothing is missed
        return False

    out = []
    for spec in policy.get("User_Specs", []) or []:
        if not applies(spec.get("User_List", [])):
            continue
        for cmnd_spec in spec.get("Cmnd_Specs", []) or []:
            options = {k: v for o in cmnd_spec.get("Options", []) or [] for k, v in o.items()}
            runas = [r.get("username") or r.get("usergroup") for r in cmnd_spec.get("runasusers", []) or []]
            for entry in expand(cmnd_spec.get("Commands", []) or []):
                out.append({"command": entry.get("command", "<unparsed>"), "negated": bool(entry.get("negated")),
                            "noexec": bool(options.get("noexec", False)), "runas": runas or ["root"]})
    return out


#: Programs and paths that would let an administrator change the audit trail (or everything).
_AUDIT = re.compile(r"(^|[/\s])(auditctl|augenrules|auditd|audispd?|ausearch|aureport|auditd\.service)(\s|$)|/etc/audit|/var/log/audit")
_SHELLS = re.compile(r"(^|/)(sh|bash|dash|zsh|ksh|csh|tcsh|fish|su|sudo|sudoedit|visudo|env|python[0-9.]*|perl|ruby|"
                     r"vi|vim|nano|emacs|less|more|tee|cp|mv|dd|install|chmod|chown|chgrp|setfacl|ln|rm|find|"
                     r"service|busybox|nsenter|unshare|chroot|journalctl|systemd-run|crontab|at)$")


def administrator_problems(commands: list[dict[str, Any]]) -> list[str]:
    """Why a set of grants is not a safe administrator allow-list (empty when it is)."""
    problems = []
    for c in commands:
        text = c["command"]
        words = text.split()
        program = words[0] if words else ""
        if c["negated"]:
            problems.append(f"a deny-list entry !{text} (bypassable; only allow-lists are safe)")
        elif text == "ALL":
            problems.append("ALL")
        elif re.search(r"(?<!\\)[*?\[]", text):
            problems.append(f"a wildcard in {text!r}")
        elif _AUDIT.search(text):
            problems.append(f"an audit command or path: {text!r}")
        elif program == "sudoedit":
            if any(w.startswith(("/etc/audit", "/var/log/audit", "/etc/sudoers")) for w in words[1:]):
                problems.append(f"sudoedit of {text!r}")
        elif _SHELLS.search(program):
            problems.append(f"a program that runs or writes anything: {text!r}")
        elif len(words) == 1:
            problems.append(f"{text!r} with any arguments")
        elif program.endswith("/systemctl"):
            if not c["noexec"]:
                problems.append(f"{text!r} without NOEXEC (its pager can start a shell)")
            if words[1] not in ("start", "stop", "restart", "reload", "reboot", "status") or len(words) > 3:
                problems.append(f"{text!r}: not one unit's start/stop/restart/reload")
            elif len(words) == 3 and re.sub(r"\.(service|socket)$", "", words[2]) in role_var("baseline_admin_forbidden_units"):
                problems.append(f"{text!r}: a unit of the audit chain")
        if set(c["runas"]) - {"root"}:
            problems.append(f"{text!r} as {c['runas']} (not root only)")
    return problems


def path_problems(stats: list[tuple[str, str, str, int]], auditors: str) -> list[str]:
    """(path, owner, group, mode) of everything under /etc/audit and /var/log/audit -> what lets
    anyone but root write, or anyone but root and the auditors read."""
    out = []
    for path, owner, group, mode in stats:
        if owner != "root":
            out.append(f"{path} owned by {owner}")
        if mode & 0o022:
            out.append(f"{path} writable by group or others ({oct(mode & 0o7777)})")
        if mode & 0o007:
            out.append(f"{path} open to others ({oct(mode & 0o7777)})")
        if group not in ("root", auditors) and mode & 0o070:
            out.append(f"{path} open to group {group} ({oct(mode & 0o7777)})")
    return out
