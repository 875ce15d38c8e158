"""The wrapper module a component is built through (pure: text in, text out).

``go build module/cmd/x@version`` refuses a module whose go.mod has replace directives, and
k8s.io/kubernetes's go.mod maps every staging module (``k8s.io/api``, ``k8s.io/client-go``, ...)
to ``./staging/src/k8s.io/<name>`` at v0.0.0. A wrapper module requires the component's modules
at the release and, for Kubernetes, pins each staging module to its published v0.<minor>.<patch>
(the staging repositories are tagged with the same release), so ``go mod tidy`` resolves the
exact dependency graph the release was built with and ``go build`` builds the release's code.

The Pulumi engine's modules (pulumi_engine) need two more things of a wrapper: upstream's replaces
of one module by another published one (``github.com/atotto/clipboard => github.com/tgummerer/
clipboard v0.0.0-...`` in pulumi's pkg/v3) are carried over as they are, and a module that
upstream replaces with a sibling directory (``github.com/pulumi/pulumi/sdk/v3 => ../sdk``) is
required at its published version instead, named in versions.yaml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: ``k8s.io/api => ./staging/src/k8s.io/api`` inside a replace block, or after ``replace`` on one line.
_STAGING = re.compile(r"^\s*(?:replace\s+)?(?P<mod>[A-Za-z0-9._~/-]+)(?:\s+v\S+)?\s*=>\s*\./staging/\S+$")
_COMMENT = re.compile(r"(?:^|\s)//.*$")
_GO_LINE = re.compile(r"^go\s+(?P<v>[0-9]+\.[0-9]+(?:\.[0-9]+)?)\s*$")
_GODEBUG = re.compile(r"^godebug\s+\S.*$")
#: ``old [v1] => new v2``: a replace by another published module (not by a directory).
_REMOTE = re.compile(r"^\s*(?:replace\s+)?(?P<old>[A-Za-z0-9._~/-]+(?:\s+v\S+)?)\s*=>\s*(?P<new>[A-Za-z0-9][A-Za-z0-9._~/-]*\s+v\S+)\s*$")


class WrapperError(ValueError):
    """The upstream go.mod is not what a wrapper can be made from (the message says why)."""


@dataclass(frozen=True)
class UpstreamMod:
    """What a wrapper keeps of the component's own go.mod."""

    go: str | None
    godebug: tuple[str, ...]
    staging: tuple[str, ...]
    remote_replaces: tuple[str, ...] = ()  # "old [v1] => new v2", as upstream wrote them


def read_upstream(text: str) -> UpstreamMod:
    """The go line, godebug lines, the staging modules (``=> ./staging/...`` replaces) and the
    replaces by other published modules of a go.mod."""
    go, godebug, staging, remote = None, [], [], []
    block = None
    for raw in text.splitlines():
        line = _COMMENT.sub("", raw).rstrip()
        stripped = line.strip()
        if block:
            if stripped == ")":
                block = None
                continue
            if block == "replace" and (m := _STAGING.match(line)):
                staging.append(m.group("mod"))
            elif block == "replace" and (m := _REMOTE.match(line)):
                remote.append(f"{' '.join(m.group('old').split())} => {' '.join(m.group('new').split())}")
            if block == "godebug" and stripped:
                godebug.append(f"godebug {stripped}")
            continue
        if stripped in ("replace (", "godebug (", "require (", "exclude (", "retract (", "tool (", "ignore ("):
            block = stripped.split()[0]
            continue
        if m := _GO_LINE.match(stripped):
            go = m.group("v")
        elif _GODEBUG.match(stripped):
            godebug.append(stripped)
        elif stripped.startswith("replace ") and (m := _STAGING.match(line)):
            staging.append(m.group("mod"))
        elif stripped.startswith("replace ") and (m := _REMOTE.match(line)):
            remote.append(f"{' '.join(m.group('old').split())} => {' '.join(m.group('new').split())}")
    return UpstreamMod(go, tuple(godebug), tuple(sorted(set(staging))), tuple(remote))


def staging_version(release: str) -> str:
    """The tag of Kubernetes's staging modules for a release: 1.37.2 -> v0.37.2."""
    parts = release.lstrip("v").split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or parts[0] != "1":
        raise WrapperError(f"{release!r} is not a Kubernetes 1.x.y release")
    return f"v0.{parts[1]}.{parts[2]}"


def wrapper_gomod(module_name: str, requires: dict[str, str], packages: list[str],
                  upstream: UpstreamMod | None = None, pin_staging_to: str | None = None,
                  replaces: dict[str, str] | None = None) -> str:
    """The go.mod of a wrapper module (before ``go mod tidy`` fills in the indirect requirements).

    ``requires`` module -> version ("v1.37.2"); ``packages`` the main packages of other modules, as
    ``tool`` lines so that tidy keeps what they import (packages of the wrapper itself need none);
    with ``pin_staging_to`` ("v0.37.2") every staging module of ``upstream`` is replaced by that
    published version; ``upstream``'s replaces by published modules are carried over; ``replaces``
    module -> version pins a module (every version of it) to that published version.
    """
    if pin_staging_to is not None and (upstream is None or not upstream.staging):
        raise WrapperError("the component's go.mod has no `=> ./staging/...` replace lines to pin")
    lines = [f"module {module_name}", ""]
    if upstream and upstream.go:
        lines += [f"go {upstream.go}", ""]
    if upstream and upstream.godebug:
        lines += [*upstream.godebug, ""]
    lines += ["require (", *(f"\t{m} {v}" for m, v in sorted(requires.items())), ")", ""]
    replace_lines = []
    if pin_staging_to is not None and upstream is not None:
        replace_lines += [f"\t{m} => {m} {pin_staging_to}" for m in upstream.staging]
    if upstream is not None:
        replace_lines += [f"\t{r}" for r in upstream.remote_replaces]
    replace_lines += [f"\t{m} => {m} {v}" for m, v in sorted((replaces or {}).items())]
    if replace_lines:
        lines += ["replace (", *replace_lines, ")", ""]
    if packages:
        lines += ["tool (", *(f"\t{p}" for p in sorted(set(packages))), ")"]
    return "\n".join(lines).rstrip("\n") + "\n"
