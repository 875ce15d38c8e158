#!/usr/bin/env python3
"""Write the generated part of every role's README from its meta/ files, in one shape.

The top of each roles/<role>/README.md down to the END marker is generated: the role's purpose
(argument_specs short_description and description), platforms (meta/main.yml), the rule ids its
tasks carry, how to run it, and a table of every variable (meta/argument_specs.yml). Everything
below the marker is the role's own prose and is kept as it is.

    scripts/role_readmes.py           rewrite the READMEs that are out of date
    scripts/role_readmes.py --check   exit 1 naming the READMEs that are out of date
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
END = "<!-- END GENERATED: scripts/role_readmes.py writes everything above from meta/; edit below -->"
RULE_ID = re.compile(r"^(PILOT|MLPS3|K8S)-[A-Z0-9-]+$")


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _default(value: Any) -> str:
    if value is None:
        return "`null`"
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    text = text if len(text) <= 60 else text[:57] + "…"
    return "`" + text.replace("|", "\\|").replace("`", "'") + "`" if text else '`""`'


def _rule_ids(role_dir: Path) -> list[str]:
    found: set[str] = set()
    for path in sorted((role_dir / "tasks").glob("*.yml")):
        for tag in re.findall(r"\b(?:PILOT|MLPS3|K8S)-[A-Z0-9-]+\b", path.read_text(encoding="utf-8")):
            if RULE_ID.match(tag):
                found.add(tag)
    return sorted(found)


def generated(role_dir: Path) -> str:
    role = role_dir.name
    meta = yaml.safe_load((role_dir / "meta" / "main.yml").read_text(encoding="utf-8"))["galaxy_info"]
    spec = yaml.safe_load((role_dir / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))["argument_specs"]["main"]
    lines = [f"# {role}", "", spec["short_description"].rstrip(".") + ".", ""]
    lines += [" ".join(d.split()) for d in spec.get("description", [])]
    lines += ["", "| | |", "|---|---|"]
    platforms = "; ".join(f"{p['name']} {', '.join(map(str, p.get('versions', [])))}".strip() for p in meta.get("platforms", []))
    lines.append(f"| platforms | {_cell(platforms)} (OS family from the shared `os_family` role) |")
    ids = _rule_ids(role_dir)
    lines.append(f"| rule ids (task tags) | {', '.join(ids) if ids else 'none'} |")
    playbook = REPO / "playbooks" / f"{role}.yml"
    if playbook.exists():
        play = yaml.safe_load(playbook.read_text(encoding="utf-8"))[0]
        lines.append(f"| playbook | `playbooks/{role}.yml` (hosts `{play['hosts']}`), part of `playbooks/site.yml` |")
    else:
        lines.append("| playbook | none: included by the other roles |")
    lines += ["", "## Variables", ""]
    options = spec.get("options") or {}
    if options:
        lines += ["| variable | type | default | description |", "|---|---|---|---|"]
        for name, opt in options.items():
            kind = opt.get("type", "raw") + (f" of {opt['elements']}" if opt.get("elements") else "")
            lines.append(f"| `{name}` | {kind} | {_default(opt.get('default'))} | {_cell(opt.get('description', ''))} |")
    else:
        lines.append("None.")
    lines += ["", END, ""]
    return "\n".join(lines)


def render(role_dir: Path) -> str:
    """The README as it should be: the generated head and the role's own prose after the marker."""
    path = role_dir / "README.md"
    own = ""
    if path.exists():
        text = path.read_text(encoding="utf-8")
        own = text.split(END, 1)[1].lstrip("\n") if END in text else text
    return generated(role_dir) + ("\n" + own if own.strip() else "")


def roles() -> list[Path]:
    return sorted(p for p in (REPO / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists())


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for role_dir in roles():
        want = render(role_dir)
        path = role_dir / "README.md"
        if not path.exists() or path.read_text(encoding="utf-8") != want:
            stale.append(path.relative_to(REPO))
            if not check:
                path.write_text(want, encoding="utf-8")
    if check and stale:
        print("out of date (run scripts/role_readmes.py):", *map(str, stale))
        return 1
    for p in stale:
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
