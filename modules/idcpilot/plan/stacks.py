"""The Pulumi project and its stacks: ``Pulumi.yaml`` and one config file per edge cluster.

Stack config files hold plain settings and Pulumi secrets (``secure:`` values, encrypted by the
stack's secrets provider). The plan cannot decrypt them and does not need to: a secure value
is handed to the program as a secret stand-in, exactly where the CLI would hand over the
decrypted secret. A secret key written in plain text is refused (K8S-SECRETS).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from idcpilot.catalogue.estate import Catalogue
from idcpilot.errors import Problem, UserInputError, excerpt
from idcpilot.paths import repo_root
from idcpilot.yamlsource import load_yaml_file

PROJECT_FILE = "Pulumi.yaml"
#: Config keys that must be secrets; a plain value for one of them is an error.
SECRET_KEYS = ("kubeconfig",)
#: Config keys the program reads as booleans (``config.get_bool``): "true" or "false" only.
BOOL_KEYS = ("simulatedNodes",)


@dataclass(frozen=True)
class Project:
    root: Path
    name: str
    main: Path
    config_dir: Path


@dataclass
class StackConfig:
    name: str  # the Pulumi stack name, <estate>.<cluster>
    estate: str
    cluster: str
    file: Path | None  # None: derived from the catalogue, no config file yet
    config: dict[str, str] = field(default_factory=dict)  # "<project>:<key>" -> value
    secret_keys: list[str] = field(default_factory=list)
    note: str | None = None


def find_project(start: Path | None = None) -> Project:
    """The project whose Pulumi.yaml is at or above ``start`` (default: the idcpilot project)."""
    candidates = [start] if start else []
    try:
        candidates.append(repo_root())
    except FileNotFoundError:
        pass
    for base in candidates:
        base = base.resolve()
        for d in [base, *base.parents]:
            if (d / PROJECT_FILE).is_file():
                return read_project(d)
    raise UserInputError.single(PROJECT_FILE, "no Pulumi project found (Pulumi.yaml)")


def read_project(root: Path) -> Project:
    file = root / PROJECT_FILE
    data, smap = load_yaml_file(file)
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise UserInputError([smap.problem(("name",), "Pulumi.yaml needs a project name")])
    main = root / str(data.get("main", "."))
    return Project(root, data["name"], main, root / str(data.get("stackConfigDir", ".")))


def stack_name(estate: str, cluster: str) -> str:
    return f"{estate}.{cluster}"


def config_file(project: Project, estate: str, cluster: str) -> Path:
    return project.config_dir / f"Pulumi.{stack_name(estate, cluster)}.yaml"


def read_stack_file(project: Project, file: Path) -> StackConfig:
    data, smap = load_yaml_file(file)
    problems: list[Problem] = []
    raw = (data or {}).get("config") or {}
    if not isinstance(raw, dict):
        raise UserInputError([smap.problem(("config",), "must be a mapping of config keys")])
    config: dict[str, str] = {}
    secrets: list[str] = []
    for key, value in raw.items():
        full = key if ":" in key else f"{project.name}:{key}"
        short = full.split(":", 1)[1]
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[full] = f"[secret {short} from {file.name}]"
            secrets.append(full)
        elif isinstance(value, (dict, list)):
            problems.append(smap.problem(("config", key), "structured config values are not used by this project"))
        elif short in SECRET_KEYS:
            problems.append(smap.problem(("config", key), f"{short} must be a Pulumi secret: "
                                         f"`pulumi config set --secret {short} ...` (K8S-SECRETS)"))
        else:
            config[full] = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
            if short in BOOL_KEYS and config[full] not in ("true", "false"):
                problems.append(smap.problem(("config", key), f"{short} must be true or false, not {excerpt(config[full])}"))
    for required in ("estate", "cluster", "catalogue"):
        if f"{project.name}:{required}" not in config:
            problems.append(smap.problem(("config",), f"missing {project.name}:{required}"))
    if problems:
        raise UserInputError(problems)
    name = file.name[len("Pulumi."):-len(".yaml")]
    return StackConfig(name, config[f"{project.name}:estate"], config[f"{project.name}:cluster"], file, config, secrets)


def catalogue_ref(project: Project, cat: Catalogue) -> str:
    """The catalogue's directory as stack config names it: relative to the project when inside it."""
    try:
        return str(cat.root.resolve().relative_to(project.root.resolve()))
    except ValueError:
        return str(cat.root.resolve())


def derived(project: Project, cat: Catalogue, cluster: str) -> StackConfig:
    """Config for a cluster that has no stack file yet: what `pulumi stack init` + config set would give."""
    p = project.name
    rel = catalogue_ref(project, cat)
    config = {f"{p}:estate": cat.name, f"{p}:cluster": cluster, f"{p}:catalogue": rel,
              f"{p}:kubeconfig": "[secret kubeconfig: not set yet]"}
    return StackConfig(stack_name(cat.name, cluster), cat.name, cluster, None, config, [f"{p}:kubeconfig"])


def stacks_for(project: Project, cat: Catalogue) -> list[StackConfig]:
    """One stack per cluster of the catalogue, from its config file when there is one."""
    out = []
    for cluster in cat.clusters:
        file = config_file(project, cat.name, cluster)
        if file.is_file():
            stack = read_stack_file(project, file)
            if (stack.estate, stack.cluster) != (cat.name, cluster):
                raise UserInputError.single(file, f"names estate {stack.estate!r} cluster {stack.cluster!r}, "
                                            f"expected {cat.name!r} / {cluster!r} (file name and content disagree)", "config")
            # The plan is of the catalogue it was given (a copy or an edited checkout included).
            key = f"{project.name}:catalogue"
            named = (project.root / stack.config[key]).resolve()
            if named != cat.root.resolve():
                stack.note = f"{file.name} names catalogue {stack.config[key]}; planned {cat.root} as asked"
                stack.config[key] = catalogue_ref(project, cat)
            # A stack without its kubeconfig can still be planned; `pulumi up` would stop on it.
            stack.config.setdefault(f"{project.name}:kubeconfig", "[secret kubeconfig: not set yet]")
            if f"{project.name}:kubeconfig" not in stack.secret_keys:
                stack.secret_keys.append(f"{project.name}:kubeconfig")
        else:
            stack = derived(project, cat, cluster)
        out.append(stack)
    return out


def render_stack_file(project: Project, cat: Catalogue, cluster: str) -> str:
    c = cat.clusters[cluster]
    rel = derived(project, cat, cluster).config[f"{project.name}:catalogue"]
    return (
        f"# Stack {stack_name(cat.name, cluster)}: cluster {cluster} (site {c.site}, Kubernetes {c.kubernetes_version})\n"
        f"# of estate {cat.name}. Add the kubeconfig as a secret before `pulumi up` (docs/pulumi.md):\n"
        f"#   pulumi stack init {stack_name(cat.name, cluster)} --secrets-provider passphrase   # once\n"
        f"#   cat {cluster}-admin.conf | pulumi config set --secret kubeconfig -s {stack_name(cat.name, cluster)}\n"
        "# It is stored encrypted by the stack's secrets provider; never write a plain kubeconfig here.\n"
        "config:\n"
        f"  {project.name}:estate: {cat.name}\n"
        f"  {project.name}:catalogue: {rel}\n"
        f"  {project.name}:cluster: {cluster}\n"
    )
