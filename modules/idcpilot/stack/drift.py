"""Drift: where the live estate no longer is what the repository says, per rule id (pure parts).

Two sources, read the way their tools report them:

- a stack: ``pulumi preview --refresh --json`` reads every object the stack owns back from the
  cluster first, so each step that is not ``same`` is an object someone changed (or removed) by
  hand; the object's kind names the rule it serves (``KIND_RULES``);
- a host: ``ansible-playbook --check --diff`` of the estate's playbook; every task that would
  change something names its rule ids in its ``tags`` (the roles' convention), read from the task
  file at the line Ansible reports (``task_path``).
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

#: The rule ids the Kubernetes objects of a stack serve (by kind); a kind not listed is "K8S-OTHER".
KIND_RULES: dict[str, tuple[str, ...]] = {
    "Namespace": ("K8S-LABELS", "K8S-PSA"),
    "NetworkPolicy": ("K8S-NETPOL",),
    "ResourceQuota": ("K8S-LIMITS",),
    "LimitRange": ("K8S-LIMITS",),
    "Deployment": ("K8S-LIMITS", "K8S-PSA", "K8S-REGISTRY"),
    "DaemonSet": ("K8S-LIMITS", "K8S-PSA", "K8S-REGISTRY"),
    "StatefulSet": ("K8S-LIMITS", "K8S-PSA", "K8S-REGISTRY"),
    "Service": ("K8S-NETPOL",),
    "Secret": ("K8S-SECRETS",),
    "ConfigMap": ("K8S-SECRETS",),
    "ClusterRole": ("MLPS3-ACCESS-ROLES",),
    "ClusterRoleBinding": ("MLPS3-ACCESS-ROLES",),
    "Role": ("MLPS3-ACCESS-ROLES",),
    "RoleBinding": ("MLPS3-ACCESS-ROLES",),
    "ServiceAccount": ("MLPS3-ACCESS-ACCOUNTS",),
}
UNMAPPED = "K8S-OTHER"
UNTAGGED = "UNTAGGED"


@dataclass(frozen=True)
class Drift:
    rule: str
    source: str  # "stack <name>" or "host <name>"
    what: str  # the object (kind namespace/name and operation) or the task (name, file:line)


@dataclass
class Report:
    drifts: list[Drift] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # what was read back: "stack x", "host y"

    def by_rule(self) -> dict[str, list[Drift]]:
        out: dict[str, list[Drift]] = defaultdict(list)
        for d in self.drifts:
            out[d.rule].append(d)
        return dict(sorted(out.items()))

    def as_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "drifted": bool(self.drifts),
                "rules": {rule: [{"source": d.source, "what": d.what} for d in items] for rule, items in self.by_rule().items()}}


def _kind(type_token: str) -> str:
    """'kubernetes:networking.k8s.io/v1:NetworkPolicy' -> 'NetworkPolicy'."""
    return type_token.rsplit(":", 1)[-1]


def stack_drifts(stack: str, preview: dict[str, Any]) -> list[Drift]:
    """What a refreshed preview would change: each object someone changed or removed by hand."""
    out = []
    for step in preview.get("steps") or []:
        op = step.get("op", "")
        if op in ("same", "refresh", "read") or not op:
            continue
        state = step.get("newState") or step.get("oldState") or {}
        type_ = state.get("type", "")
        if not type_.startswith("kubernetes:"):
            continue
        urn = step.get("urn", "")
        inputs = state.get("inputs") or {}
        meta = inputs.get("metadata") or {}
        name = "/".join(x for x in (meta.get("namespace"), meta.get("name")) if isinstance(x, str)) or urn.rsplit("::", 1)[-1]
        detailed = step.get("detailedDiff") if isinstance(step.get("detailedDiff"), dict) else {}
        fields = [f"{k} {v.get('kind', '')}".strip() if isinstance(v, dict) else str(k) for k, v in sorted(detailed.items())]
        keys = ", ".join(fields or [str(k) for k in step.get("diffReasons") or []]) if op == "update" else ""
        what = f"{_kind(type_)} {name}: {op}" + (f" ({keys})" if keys else "")
        for rule in KIND_RULES.get(_kind(type_), (UNMAPPED,)):
            out.append(Drift(rule, f"stack {stack}", what))
    return out


def preview_failure(stdout: str, stderr: str) -> str:
    """Why a ``preview --json`` failed, in one line: its error diagnostics (each with the object it
    is about), else the last lines it printed."""
    try:
        diagnostics = (json.loads(stdout) or {}).get("diagnostics") or []
    except (ValueError, AttributeError):
        diagnostics = []
    errors = []
    for d in diagnostics if isinstance(diagnostics, list) else []:
        if not isinstance(d, dict) or d.get("severity") != "error" or not d.get("urn"):
            continue
        lines = [ln.strip(" \t*") for ln in str(d.get("message", "")).splitlines() if ln.strip(" \t*")]
        errors.append(f"{str(d['urn']).rsplit('::', 1)[-1]}: {' '.join(lines[1:3] or lines[:1])}")
    text = "; ".join(errors) or " ".join((stderr or stdout).strip().splitlines()[-3:])
    return text[:600]


def _tags_of(node: yaml.MappingNode, key_name: str = "tags") -> tuple[str, ...]:
    for key, value in node.value:
        if key.value == key_name:
            if isinstance(value, yaml.SequenceNode):
                return tuple(str(v.value) for v in value.value if isinstance(v, yaml.ScalarNode))
            if isinstance(value, yaml.ScalarNode):
                return tuple(t.strip() for t in str(value.value).split(","))
    return ()


def _included(task: yaml.MappingNode) -> tuple[str | None, tuple[str, ...]]:
    """The task file an include_tasks/import_tasks task names, and the tags it applies to it."""
    for key, value in task.value:
        if str(key.value).rsplit(".", 1)[-1] not in ("include_tasks", "import_tasks"):
            continue
        if isinstance(value, yaml.ScalarNode):
            return str(value.value), ()
        if isinstance(value, yaml.MappingNode):
            file = next((str(v.value) for k, v in value.value if k.value == "file" and isinstance(v, yaml.ScalarNode)), None)
            apply = next((v for k, v in value.value if k.value == "apply" and isinstance(v, yaml.MappingNode)), None)
            return file, _tags_of(apply) if apply is not None else ()
    return None, ()


@functools.lru_cache(maxsize=256)
def _read_tasks(task_file: str) -> tuple[dict[int, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """A task file's tasks (line -> own tags, a block's included) and the files it includes (name
    -> the tags the include gives them). The roles' task files are the repository's own code,
    read as Ansible reads them (merge keys included), with PyYAML's node marks for the lines."""
    root = yaml.compose(Path(task_file).read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    lines: dict[int, tuple[str, ...]] = {}
    includes: dict[str, tuple[str, ...]] = {}

    def walk(node: yaml.Node | None, inherited: tuple[str, ...]) -> None:
        if not isinstance(node, yaml.SequenceNode):
            return
        for task in node.value:
            if not isinstance(task, yaml.MappingNode):
                continue
            mine = inherited + tuple(t for t in _tags_of(task) if t not in inherited)
            lines[task.start_mark.line + 1] = mine
            name, applied = _included(task)
            if name:
                includes[name] = includes.get(name, ()) + tuple(t for t in mine + applied if t not in includes.get(name, ()))
            for key, value in task.value:
                if key.value in ("block", "rescue", "always"):
                    walk(value, mine)

    walk(root, ())
    return lines, includes


@functools.lru_cache(maxsize=256)
def _file_tags(task_file: str) -> tuple[str, ...]:
    """The tags every task of TASK_FILE gets from the tasks of its role that include it."""
    path = Path(task_file)
    out: list[str] = []
    for other in sorted(path.parent.glob("*.yml")):
        if other == path:
            continue
        try:
            _, includes = _read_tasks(str(other))
        except (OSError, yaml.YAMLError):
            continue
        if path.name in includes:
            for tag in (*includes[path.name], *_file_tags(str(other))):
                if tag not in out:
                    out.append(tag)
    return tuple(out)


def _tags_by_line(task_file: str) -> dict[int, tuple[str, ...]]:
    """line -> the tags of the task there that name it most closely: its own and its blocks' when
    they hold a rule id, else those too that the including task applies to the whole file (an
    include that applies five rule ids to a file of tasks each tagged with its own one would
    otherwise put every task under all five)."""
    lines, _ = _read_tasks(task_file)
    inherited = _file_tags(task_file)
    return {line: tags if any(is_rule_id(t) for t in tags) else tags + tuple(t for t in inherited if t not in tags)
            for line, tags in lines.items()}


def is_rule_id(tag: str) -> bool:
    """MLPS3-AUTH-REMOTE, PILOT-SDWAN-ENCRYPT, K8S-NETPOL: upper case with a dash."""
    return tag[:1].isupper() and "-" in tag and tag == tag.upper()


def task_rules(task_path: str) -> tuple[str, ...]:
    """The rule ids a task carries, from Ansible's ``task_path`` ("<file>:<line>"); a task with
    tags but no rule id is "UNTAGGED (its tags)"."""
    file, _, line = task_path.rpartition(":")
    try:
        tags = _tags_by_line(file).get(int(line), ())
    except (ValueError, OSError, yaml.YAMLError):  # not file:line, or a task file that cannot be read
        tags = ()
    rules = tuple(t for t in tags if is_rule_id(t))
    if rules:
        return rules
    concerns = [t for t in tags if t not in ("always", "never")]
    return (f"{UNTAGGED} ({', '.join(concerns)})" if concerns else UNTAGGED,)


def host_drifts(events: Iterable[dict[str, Any]], repo: Path | None = None) -> list[Drift]:
    """The tasks a check-mode run found it would change, from ansible-runner's events. Handlers
    are left out: a changed task notified them, and that task is the drift (ansible-runner marks a
    handler's start event ``is_conditional``, and its results carry the same ``task_uuid``)."""
    out = []
    seen: set[tuple[str, str]] = set()
    handlers: set[str] = set()
    for event in events:
        data = event.get("event_data") or {}
        if event.get("event") == "playbook_on_task_start" and data.get("is_conditional"):
            handlers.add(str(data.get("task_uuid")))
            continue
        if event.get("event") != "runner_on_ok" or str(data.get("task_uuid")) in handlers:
            continue
        if not (data.get("res") or {}).get("changed"):
            continue
        host, task_path = str(data.get("host", "")), str(data.get("task_path", ""))
        if (host, task_path) in seen:
            continue
        seen.add((host, task_path))
        shown = task_path
        if repo is not None and task_path.startswith(str(repo)):
            shown = task_path[len(str(repo)) + 1:]
        what = f"{data.get('task', '?')} ({shown})"
        for rule in task_rules(task_path):
            out.append(Drift(rule, f"host {host}", what))
    return out
