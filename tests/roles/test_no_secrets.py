"""No role hands a secret to Ansible's records.

Whatever a task returns lands in the deploy's job events (runs_dir) unless the task says
``no_log: true``; whatever a module returns as ``ansible_facts`` lands in the jsonfile fact cache
(facts_dir) *whatever no_log says*. So:

* no task reads the shadow databases with ``getent`` (every password hash becomes a fact);
* a task that reads a secret-looking path (slurp, fetch, ``cat``-like commands, file lookups),
  writes key material with ``copy: content:``, passes a secret module parameter (``password``,
  ``private_key``, ``*_key_content``, ``psk``, ``token`` ...), runs a command whose output is a key
  or a token (``wg genkey``, ``kubeadm token create`` ...) or sets a secret-named fact must say
  ``no_log: true`` (on itself or on its block).

Reading is what returns content: ``stat`` and ``file`` on a ``*.key`` path return none and are
not reads. A task that matches but returns no secret goes into ALLOWED with the reason.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable, Iterator

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

#: Paths whose content is a secret (or holds one).
SECRET_PATH = re.compile(
    r"g?shadow\b|(?<!item)\.key\b|token|psk|private|passphrase|secret|kubeconfig|encryption-config"
    r"|\b(admin|super-admin|kwok|bootstrap-kubelet)\.conf\b",
    re.I,
)
#: Module parameters that carry a secret value.
#: ``password:`` values that lock an account: no hash, nothing to hide.
LOCKED_PASSWORDS = ("!", "*", "!!", "!*")
SECRET_PARAM = re.compile(r"^(password|passwd|passphrase|private_key|private_key_passphrase|psk|preshared_key|token|api_key|secret"
                          r"|client_secret|.*_key_content|.*_password|.*_token)$")
#: Commands whose output is a key, a token or a kubeconfig with a client key.
SECRET_COMMAND = re.compile(r"\bgenkey\b|\bkubeadm\b(?!.*--skip-token-print).*\btoken\b|\bkubeadm\b.*\bkubeconfig\s+user\b|/dev/urandom|\bopenssl\s+rand\b")
#: Fact names that say they hold a secret.
SECRET_FACT = re.compile(r"token|secret|passw|passphrase|psk|private|encryption", re.I)
#: Commands that print what they read.
PRINTERS = {"cat", "head", "tail", "base64", "xxd", "od", "hexdump", "strings", "awk", "gawk", "mawk", "sed", "grep", "tr", "cut",
            "less", "more", "tac", "dd", "getent"}
FILE_LOOKUP = re.compile(r"lookup\(\s*['\"](?:ansible\.builtin\.)?file['\"]\s*,([^)]*)\)")
MODULE = re.compile(r"^(ansible\.builtin|ansible\.posix|community\.[a-z_]+|kubernetes\.core)\.[a-z_0-9]+$")

#: (role, task file, task name) -> why a task that matches returns no secret.
ALLOWED: dict[tuple[str, str, str], str] = {
    ("baseline", "accounts.yml", "Accounts with an empty password (names only, computed on the host)"):
        "awk prints field 1 (the account name) of lines whose field 2 is empty: the hash field is never printed",
    ("baseline", "pam.yml", "Read existing accounts with a password for ageing (names and ageing fields only, no hash)"):
        "awk prints fields 1, 4, 5 and 6 (name and ageing days) only: the hash field is never printed",
    ("k8s_control_plane", "audit.yml", "Audit webhook (the edge-cluster stack's auditWebhook)"):
        "the webhook kubeconfig names a URL and the CA certificate file; it carries no credential (user: {})",
}


def module_of(task: dict[str, Any]) -> tuple[str, Any]:
    for key, value in task.items():
        if MODULE.match(str(key)):
            return key.rsplit(".", 1)[-1], value
    return "", None


def _no_log(value: Any) -> bool:
    """True, yes, or a template (its value is decided at run time; a template is trusted to say true)."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and (value.strip().lower() in ("true", "yes", "on", "1") or "{{" in value)


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return " ".join(f"{k} {_text(v)}" for k, v in value.items())
    return "" if value is None else str(value)


def _command_words(module: str, args: Any) -> list[str]:
    if isinstance(args, str):
        line = args
    elif isinstance(args, dict):
        line = args.get("argv") or args.get("cmd") or args.get("_raw_params") or ""
    else:
        line = ""
    if isinstance(line, list):
        return [str(w) for w in line]
    return str(line).split()


def _printer_reads_secret(words: list[str]) -> bool:
    """A command (or a pipeline / && chain in a shell line) that prints a secret-looking file."""
    segment: list[str] = []
    for word in [*words, "|"]:
        if word in ("|", "&&", "||", ";"):
            if segment and Path(segment[0]).name in PRINTERS and SECRET_PATH.search(" ".join(segment[1:])):
                return True
            segment = []
        else:
            segment.append(word)
    return False


def task_secrets(task: dict[str, Any]) -> list[str]:
    """What in this task handles a secret (regardless of no_log)."""
    module, args = module_of(task)
    found = []
    if module == "getent" and isinstance(args, dict) and str(args.get("database", "")).strip() in ("shadow", "gshadow"):
        found.append(f"getent {args['database']} makes every password hash a fact (cached whatever no_log says)")
    if module in ("slurp", "fetch") and isinstance(args, dict):
        where = _text(args.get("src")) + " " + _text(task.get("loop") or task.get("with_items"))
        if SECRET_PATH.search(where):
            found.append(f"{module} reads {args.get('src')!r}")
    if module in ("command", "shell", "raw"):
        words = _command_words(module, args)
        line = " ".join(words)
        if _printer_reads_secret(words):
            found.append(f"prints a secret-looking file: {line[:80]!r}")
        if SECRET_COMMAND.search(line):
            found.append(f"its output is a secret: {line[:80]!r}")
    if module == "copy" and isinstance(args, dict) and "content" in args and SECRET_PATH.search(_text(args.get("dest"))):
        found.append(f"copy writes key material to {args.get('dest')!r}")
    if module == "template" and isinstance(args, dict) and SECRET_PATH.search(_text(args.get("dest"))):
        found.append(f"template renders a secret file {args.get('dest')!r}")
    if module == "set_fact" and isinstance(args, dict):
        found += [f"set_fact {k}" for k in args if k != "cacheable" and SECRET_FACT.search(str(k))]
    if isinstance(args, dict):
        found += [f"module parameter {k}" for k, v in args.items()
                  if SECRET_PARAM.match(str(k)) and v not in (None, "", False) and v not in LOCKED_PASSWORDS]
    for match in FILE_LOOKUP.finditer(_text(args)):
        if SECRET_PATH.search(match.group(1)):
            found.append(f"file lookup of {match.group(1).strip()!r}")
    return found


def walk(items: Iterable[dict[str, Any]] | None, inherited_no_log: bool = False) -> Iterator[tuple[dict[str, Any], bool]]:
    """Every task with its effective no_log, blocks flattened (a block's no_log covers its tasks)."""
    for task in items or []:
        no_log = _no_log(task["no_log"]) if "no_log" in task else inherited_no_log
        if any(k in task for k in ("block", "rescue", "always")):
            for key in ("block", "rescue", "always"):
                yield from walk(task.get(key), no_log)
        else:
            yield task, no_log


def check(tasks: list[dict[str, Any]] | None, role: str = "?", file: str = "?",
          allowed: dict[tuple[str, str, str], str] | None = None) -> list[str]:
    """Problems of one task file: a shadow getent always (no_log does not keep facts out of the
    cache), anything else that handles a secret when it is not under no_log and not allowed."""
    allowed = ALLOWED if allowed is None else allowed
    problems = []
    for task, no_log in walk(tasks):
        name = str(task.get("name", "<unnamed>"))
        if (role, file, name) in allowed:
            continue
        for what in task_secrets(task):
            if what.startswith("getent") or not no_log:
                problems.append(f"{role} {file}: '{name}': {what}" + ("" if what.startswith("getent") else " without no_log: true"))
    return problems


def role_task_files() -> list[tuple[str, Path]]:
    return [(p.parents[1].name, p) for p in sorted((REPO / "roles").glob("*/tasks/*.yml")) + sorted((REPO / "roles").glob("*/handlers/*.yml"))]


def _load(path: Path) -> list[dict[str, Any]]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or []


# ------------------------------------------------------------------ the roles


def test_the_walk_sees_every_role():
    roles = {role for role, _ in role_task_files()}
    assert {"baseline", "k8s_control_plane", "k8s_node", "sdwan_edge", "zt_gateway", "cdn_node"} <= roles


@pytest.mark.parametrize(("role", "path"), role_task_files(), ids=lambda v: v if isinstance(v, str) else f"{v.parent.name}/{v.name}")
def test_no_task_leaks_a_secret(role, path):
    assert check(_load(path), role, path.name) == []


@pytest.mark.parametrize("path", sorted((REPO / "playbooks").glob("*.yml")), ids=lambda p: p.name)
def test_no_play_task_leaks_a_secret(path):
    """Tasks written in the playbooks themselves (pre_tasks, tasks, post_tasks, handlers)."""
    for play in _load(path):
        for key in ("pre_tasks", "tasks", "post_tasks", "handlers"):
            assert check(play.get(key), "playbooks", path.name) == []


def test_every_allowed_task_exists_and_still_matches():
    """An entry whose task was renamed or no longer matches is stale: it would excuse the next one."""
    seen = set()
    for role, path in role_task_files():
        for task, _ in walk(_load(path)):
            key = (role, path.name, str(task.get("name")))
            if key in ALLOWED and task_secrets(task):
                seen.add(key)
    assert set(ALLOWED) == seen, sorted(set(ALLOWED) - seen)


def test_no_shadow_read_anywhere_in_roles():
    """Belt and braces for the one that leaked: no getent of shadow in any role file, any syntax."""
    for path in sorted((REPO / "roles").rglob("*.yml")):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"database:\s*['\"]?g?shadow\b", text), path
        assert "getent_shadow" not in text and "getent_gshadow" not in text, path


# ------------------------------------------------------------------ the checker catches what it should


def test_checker_flags_a_shadow_getent_and_a_key_slurp_without_no_log():
    tasks = [
        {"name": "Read the shadow file", "ansible.builtin.getent": {"database": "shadow"}},
        {"name": "Read the TLS key", "ansible.builtin.slurp": {"src": "/etc/ssl/private/x.key"}, "register": "k"},
    ]
    problems = check(tasks, "fixture", "leaky.yml", allowed={})
    assert len(problems) == 2, problems
    assert "getent shadow" in problems[0] and "Read the shadow file" in problems[0]
    assert "slurp reads '/etc/ssl/private/x.key'" in problems[1] and "without no_log" in problems[1]


def test_checker_flags_gshadow_even_under_no_log():
    tasks = [{"name": "g", "ansible.builtin.getent": {"database": "gshadow"}, "no_log": True}]
    assert len(check(tasks, allowed={})) == 1


@pytest.mark.parametrize("task", [
    {"name": "u", "ansible.builtin.user": {"name": "ops", "password": "{{ ops_hash }}"}},
    {"name": "f", "ansible.builtin.fetch": {"src": "/etc/kubernetes/admin.conf", "dest": "/tmp/x"}},
    {"name": "c", "ansible.builtin.command": {"argv": ["cat", "/etc/wireguard/private.key"]}},
    {"name": "s", "ansible.builtin.shell": {"cmd": "set -o pipefail && cat /etc/ssl/private/x.key | base64"}},
    {"name": "g", "ansible.builtin.command": "wg genkey"},
    {"name": "t", "ansible.builtin.command": {"argv": ["kubeadm", "token", "create"]}},
    {"name": "bt", "ansible.builtin.command": {"argv": ["kubeadm", "init", "phase", "bootstrap-token"]}},
    {"name": "w", "ansible.builtin.copy": {"content": "{{ key }}", "dest": "/etc/wireguard/wg0.psk"}},
    {"name": "v", "ansible.builtin.set_fact": {"join_token": "{{ out.stdout }}"}},
    {"name": "l", "ansible.builtin.set_fact": {"x": "{{ lookup('ansible.builtin.file', '/etc/ssl/private/ca.key') }}"}},
    {"name": "k", "community.crypto.openssl_privatekey_pipe": {"content": "x", "passphrase": "{{ p }}"}},
], ids=lambda t: t["name"])
def test_checker_flags_secret_handling_without_no_log(task):
    assert check([task], allowed={}), task
    assert check([task | {"no_log": True}], allowed={}) == []
    assert check([{"name": "b", "block": [task], "no_log": True}], allowed={}) == []
    assert check([{"name": "b", "block": [task | {"no_log": False}], "no_log": True}], allowed={}), "a task's own no_log wins"


@pytest.mark.parametrize("task", [
    {"name": "stat", "ansible.builtin.stat": {"path": "/etc/ssl/private/x.key"}},
    {"name": "mode", "ansible.builtin.file": {"path": "/etc/ssl/private/x.key", "mode": "0600"}},
    {"name": "gen", "ansible.builtin.command": {"argv": ["openssl", "genpkey", "-out", "/etc/ssl/private/x.key"]}},
    {"name": "crt", "ansible.builtin.slurp": {"src": "/etc/kubernetes/pki/ca.crt"}},
    {"name": "notoken", "ansible.builtin.command": {"argv": ["kubeadm", "init", "phase", "bootstrap-token", "--skip-token-print"]}},
    {"name": "lock", "ansible.builtin.user": {"name": "ops", "password_lock": True}},
    {"name": "locked", "ansible.builtin.user": {"name": "svc", "system": True, "password": "!"}},
    {"name": "passwd", "ansible.builtin.getent": {"database": "passwd"}},
    {"name": "pub", "ansible.builtin.set_fact": {"public_key": "{{ pub.stdout }}"}},
], ids=lambda t: t["name"])
def test_checker_leaves_content_free_tasks_alone(task):
    assert check([task], allowed={}) == []


def test_no_log_templates_count_as_set():
    task = {"name": "u", "ansible.builtin.user": {"name": "ops", "password": "x"}}
    assert check([task | {"no_log": "{{ not idcpilot_debug | default(false) }}"}], allowed={}) == []
    assert check([task | {"no_log": "false"}], allowed={})
