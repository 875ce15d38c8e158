"""Every template of every role, rendered with hostile values, still says only what it said.

For each ``ansible.builtin.template`` task of every role, the template is rendered by Ansible's
own templating engine (the repository's filter plugins included) with the variables a host of
the lab estate gets: role defaults and vars, the inventory built from ``inventories/lab``, and
the facts and ``set_fact`` results the role's tasks would give it. That benign rendering must
pass the real tool for its syntax where the tool exists on this machine.

Then, one variable at a time, every string inside a variable the template uses (a role
variable a group_vars or host_vars file could set, an inventory fact from the catalogue, the
loop item) gets a hostile tail: a newline, ``;``, ``{``, ``}``, quotes, ``#``, ``$(...)``,
backticks, ``{{ }}``. The rendering must then either be refused by one of the escaping filters
(a clear "refusing ..." error naming the syntax) or produce a file in which no statement
appears that the benign rendering does not hold, and which the real tool still reads without
a syntax error (a value the tool finds wrong — a certificate path that does not exist, a bad
cipher name — is not an injection and is allowed).

Tools: nginx -t (sites and kube-lb), nft -c, chronyd -p, systemd-analyze verify, sh -n / bash -n, vtysh --dryrun,
sshd -t, visudo -c, rsyslogd -N1, logrotate -d, openssl req, tomllib, yaml, Python's compile, where installed
(scripts/host-packages.txt). A template whose syntax has no checker here (pam-configs, auditd,
audit rules, modprobe, sysctl, apt deb822, Prometheus text) is checked by its statements only,
and says so in its parameter id ("no-tool").
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
os.environ.setdefault("ANSIBLE_CONFIG", str(REPO / "ansible.cfg"))

from ansible.errors import AnsibleError  # noqa: E402
from ansible.parsing.dataloader import DataLoader  # noqa: E402
from ansible.plugins.loader import filter_loader  # noqa: E402
from ansible.template import Templar, trust_as_template  # noqa: E402
from jinja2 import Environment, meta  # noqa: E402

filter_loader.add_directory(str(REPO / "modules" / "idcpilot" / "ansible_plugins" / "filter"))

#: Where the renderings point nginx, openssl and logrotate at their files (certificates, includes,
#: logs), and where the tools' inputs are written: one directory per test process.
FILES = Path(tempfile.mkdtemp(prefix="idcpilot-templates-"))

#: Hostile tails appended to every string of one variable at a time.
PAYLOADS = {
    "newline": "\ninjected_directive on;",
    "block": ';} injected_directive { # x',
    "quotes-shell": "\" ' injected $(touch /tmp/idcpilot-pwned) `id` $HOME",
    "template": "{{ lookup('pipe', 'touch /tmp/idcpilot-pwned') }}{% raw %}x",
}

#: Values a role reads from the host itself (its moduli file, its setuid programs), not from any estate.
FROM_THE_HOST = {"baseline_ssh_moduli_lines", "baseline_privileged_list"}

#: Variables that are facts, magic or trusted reviewed code (not from an estate or vars file).
NOT_INPUT = {"ansible_managed", "ansible_facts", "ansible_architecture", "ansible_distribution", "groups",
             "ansible_check_mode", "omit", "lookup", "range", "loop", "namespace", "dict", "lipsum"}

TEST_KEY = "x" * 42 + "A="  # shape of a WireGuard public key (base64 of 32 bytes)
LAB_HOST_OF_ROLE = {"baseline": "lab-bj-gw01", "bootstrap": "lab-bj-gw01", "monitoring": "lab-bj-gw01",
                    "sdwan_edge": "lab-bj-gw01", "zt_gateway": None, "cdn_node": None, "k8s_node": None,
                    "k8s_control_plane": None}


# ---------------------------------------------------------------------------- the role tasks


@dataclass
class TemplateTask:
    role: str
    src: str                 # relative to roles/<role>/templates, may hold {{ item }}
    task_vars: dict[str, Any]
    loop: Any                # the loop expression or list, or None

    @property
    def id(self) -> str:
        return f"{self.role}/{self.src}"


def _tasks(items: list[dict] | None):
    for task in items or []:
        yield task
        for key in ("block", "rescue", "always"):
            yield from _tasks(task.get(key))


_LOOKUP = re.compile(r"lookup\('(?:ansible\.builtin\.)?template', '([^']+)'\)")


def template_tasks() -> list[TemplateTask]:
    out = []
    for path in sorted(REPO.glob("roles/*/tasks/*.yml")):
        role = path.parts[-3]
        for task in _tasks(yaml.safe_load(path.read_text()) or []):
            args = task.get("ansible.builtin.template")
            if isinstance(args, dict):
                out.append(TemplateTask(role, args["src"], task.get("vars") or {}, task.get("loop")))
            for src in _LOOKUP.findall(json.dumps(task)):  # lookup('template', ...) in any argument
                out.append(TemplateTask(role, src, task.get("vars") or {}, task.get("loop")))
    return out


TASKS = template_tasks()


def test_every_template_file_is_rendered_by_a_task() -> None:
    """Nothing under roles/*/templates escapes this test by not being named literally in a task."""
    covered = set()
    for t in TASKS:
        if "{{ item }}" in t.src:
            for item in t.loop:
                covered.add((t.role, t.src.replace("{{ item }}", item)))
        else:
            covered.add((t.role, t.src))
    files = set()
    for p in REPO.glob("roles/*/templates/**/*.j2"):
        rel = p.relative_to(REPO / "roles")
        files.add((rel.parts[0], str(Path(*rel.parts[2:]))))
    assert files - covered == set(), f"templates no task renders: {sorted(files - covered)}"


# ---------------------------------------------------------------------------- variables


@functools.lru_cache(maxsize=1)
def lab_inventory() -> dict[str, Any]:
    from idcpilot import catalogue, ipam, inventory

    cat = catalogue.load(REPO / "inventories" / "lab")
    return inventory.build(cat, ipam.plan(cat))


def host_for(role: str) -> str:
    inv = lab_inventory()
    if LAB_HOST_OF_ROLE.get(role):
        return LAB_HOST_OF_ROLE[role]
    return sorted(inv[f"role_{role}"]["hosts"])[0]


def role_specs(role: str) -> dict[str, dict]:
    path = REPO / "roles" / role / "meta" / "argument_specs.yml"
    return yaml.safe_load(path.read_text())["argument_specs"]["main"]["options"]


def set_facts(role: str, loader: DataLoader) -> dict[str, Any]:
    """The values the role's own ``set_fact`` tasks give a host before its templates run, with
    registered command output replaced by what a healthy host returns."""
    explicit: dict[str, Any] = {
        "sdwan_edge_peer_keys": "{{ dict(sdwan_edge_peers | map(attribute='name') | zip_longest([], fillvalue='" + TEST_KEY + "')) }}",
        # per-link secrets the role holds in memory (tasks/link_secrets.yml): a preshared key and a BGP password
        "sdwan_edge_link_secrets": "{{ dict(sdwan_edge_peers | map(attribute='name') | zip_longest([], fillvalue={'psk': '"
                                   + TEST_KEY + "', 'bgp': 'bGluay1wYXNzd29yZA=='})) }}",
        # key rotation (tasks/rotate.yml): every peer rotates its key, every link its preshared key
        "sdwan_edge_rotate_self": True,
        "sdwan_edge_rotate_link_names": "{{ sdwan_edge_peers | map(attribute='name') | list }}",
        "sdwan_edge_rotate_peer_old": "{{ dict(sdwan_edge_peers | map(attribute='name') | zip_longest([], fillvalue='" + TEST_KEY + "')) }}",
        "sdwan_edge_rotate_peer_new": "{{ dict(sdwan_edge_peers | map(attribute='name') | zip_longest([], fillvalue='" + "y" * 42 + "A=')) }}",
        "cdn_node_effective_nofile": 32768,
        "zt_gateway_effective_nofile": 32768,
        "baseline_in_container": False,
        # secrets the k8s roles hold in memory only (a bootstrap token, an encryption key)
        "k8s_node_join_token": "abcdef.0123456789abcdef",
        "k8s_node_in_container": False,
        "k8s_control_plane_encryption_keys": [base64.b64encode(b"k" * 32).decode()],
        "k8s_control_plane_kwok_nodes": [{"name": "lab-sh-k8s01", "address": "10.213.0.40"}],
        # registered results of the role's commands, as a healthy Debian host returns them
        "baseline_privileged_programs": {"stdout_lines": ["/usr/bin/sudo", "/usr/bin/passwd"]},
        "baseline_ssh_moduli": {"content": base64.b64encode(b"# moduli\n20230101000000 2 6 100 3071 2 C0FFEE\n").decode()},
    }
    out: dict[str, Any] = {}
    for path in sorted((REPO / "roles" / role / "tasks").glob("*.yml")):
        for task in _tasks(loader.load_from_file(str(path), trusted_as_template=True) or []):
            facts = task.get("ansible.builtin.set_fact")
            if not isinstance(facts, dict) or task.get("loop"):
                continue
            for key, value in facts.items():
                if key not in explicit and key not in json.dumps(value, default=str):  # not self-referencing
                    out.setdefault(key, value)
    out.update({k: v for k, v in explicit.items() if k.startswith(role)})
    return out


def base_vars(task: TemplateTask, loader: DataLoader, tmp: Path) -> dict[str, Any]:
    role_dir = REPO / "roles" / task.role
    host = host_for(task.role)
    inv = lab_inventory()
    out: dict[str, Any] = {}
    out.update(inv["all"]["vars"])
    out.update(inv["_meta"]["hostvars"][host])
    out.update(loader.load_from_file(str(role_dir / "defaults" / "main.yml"), trusted_as_template=True))
    out.update(loader.load_from_file(str(role_dir / "vars" / "Debian.yml"), trusted_as_template=True) or {})
    if (role_dir / "vars" / "main.yml").exists():  # role vars: outrank the rest, as in a play
        out.update(loader.load_from_file(str(role_dir / "vars" / "main.yml"), trusted_as_template=True) or {})
    trusted = {k: trust_as_template(v) if isinstance(v, str) else v for k, v in set_facts(task.role, loader).items()}
    out.update(trusted)
    out.update({k: trust_as_template(v) if isinstance(v, str) else v for k, v in task.task_vars.items()})
    out.update({
        "inventory_hostname": host,
        "ansible_managed": "Ansible managed",
        "ansible_architecture": "x86_64",
        "ansible_distribution": "Debian",
        "ansible_facts": {"distribution_release": "bookworm", "os_family": "Debian", "architecture": "x86_64"},
        "groups": {g: d.get("hosts", []) for g, d in inv.items() if isinstance(d, dict) and "hosts" in d}
        | {"all": sorted(inv["_meta"]["hostvars"])},
        "hostvars": {h: dict(v) for h, v in inv["_meta"]["hostvars"].items()},
        "ansible_check_mode": False,
        "os_family_name": "Debian",  # what roles/os_family sets on a Debian host
    })
    # files the real tools open: keep them in this test's directory
    out.update({
        "cdn_node_tls_dir": str(tmp / "cdn"), "cdn_node_cache_dir": str(tmp / "cdn-cache"),
        "cdn_node_access_log": str(tmp / "cdn-access.json"),
        "zt_gateway_config_dir": str(tmp / "zt"), "zt_gateway_threat_state_dir": str(tmp / "zt-intel"), "zt_gateway_audit_log_dir": str(tmp / "zt-log"),
    })
    return out


def loop_items(task: TemplateTask, templar: Templar) -> list[Any]:
    if task.loop is None:
        return [None]
    items = task.loop if isinstance(task.loop, list) else templar.template(trust_as_template(task.loop))
    return list(items)


class _AnyName(dict):
    """Filters and tests of any name (the names a template reads do not depend on them)."""

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: str) -> Callable[..., Any]:
        return lambda value, *args, **kwargs: value

    def get(self, key: str, default: Any = None) -> Callable[..., Any]:
        return self[key]


def used_variables(source: str) -> set[str]:
    env = Environment()
    env.filters = _AnyName(env.filters)
    env.tests = _AnyName(env.tests)
    return meta.find_undeclared_variables(env.parse(source)) - NOT_INPUT


def hostile_copy(value: Any, tail: str) -> tuple[Any, int]:
    """``value`` with ``tail`` appended to every string inside it, and how many strings there were."""
    if isinstance(value, str):  # an empty string means "off": filling it in changes what the role does, not how
        return (value + tail, 1) if value else (value, 0)
    if isinstance(value, dict):
        pairs = [(k, hostile_copy(v, tail)) for k, v in value.items()]
        return {k: v for k, (v, _) in pairs}, sum(n for _, (_, n) in pairs)
    if isinstance(value, (list, tuple)):
        pairs = [hostile_copy(v, tail) for v in value]
        return [v for v, _ in pairs], sum(n for _, n in pairs)
    return value, 0


def plain(value: Any) -> Any:
    """A resolved value as plain Python data (no lazy containers, no trust)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


# ---------------------------------------------------------------------------- statements


_NGINX_TOKEN = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|[{};]|#[^\n]*|[^\s{};"\'#]+')


def nginx_statements(text: str) -> list[str]:
    """(block path, directive name) of every nginx statement, quotes and comments respected."""
    out, path, words = [], [], []
    for tok in _NGINX_TOKEN.findall(text):
        if tok.startswith("#"):
            continue
        if tok in (";", "{"):
            if words:
                out.append("/".join(path + [words[0]]))
            if tok == "{":
                path.append(words[0] if words else "?")
            words = []
        elif tok == "}":
            path = path[:-1]
            words = []
        else:
            words.append(tok)
    if words:
        out.append("/".join(path + [words[0]]) + " (unterminated)")
    return out


_KEY = re.compile(r"[^\s=:]+|.")


def line_statements(comment: str = "#", quotes: str = "\"'", continued: bool = False) -> Callable[[str], list[str]]:
    """First word of every non-comment line (line-oriented formats), with the brace depth.
    ``continued``: a line ending in a backslash goes on on the next one (systemd unit files)."""

    def parse(text: str) -> list[str]:
        out, depth = [], 0
        if continued:
            text = re.sub(r"\\\n", " ", text)
        for raw in text.splitlines():
            line, quote, escaped = "", None, False
            for c in raw:  # quoted text is data: it never names a statement
                if quote:
                    if escaped:
                        escaped = False
                    elif c == "\\":
                        escaped = True
                    elif c == quote:
                        quote = None
                    continue
                if c in quotes:
                    quote = c
                elif comment and c in comment:
                    break
                line += c
            line = line.strip()
            if not line:
                continue
            out.append(f"{depth}:{_KEY.match(line).group(0)}")
            depth += line.count("{") - line.count("}") if "{" in quotes + "{}" else 0
        return out

    return parse


# ---------------------------------------------------------------------------- real tools


@dataclass
class Checked:
    ok: bool
    message: str = ""


def _run(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, **kw)


@functools.lru_cache(maxsize=1)
def pki(tmp: str) -> dict[str, Path]:
    """A throw-away CA, server certificate, key and CRL for nginx -t."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    d = Path(tmp) / "pki"
    d.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idcpilot-test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256()))
    crl = (x509.CertificateRevocationListBuilder().issuer_name(name).last_update(now)
           .next_update(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    files = {"crt": d / "cert.pem", "key": d / "key.pem", "crl": d / "crl.pem"}
    files["crt"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files["key"].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    files["crl"].write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    return files


#: What a benign rendering may still hear from its tool on this machine (the programs a unit
#: starts are not installed here).
BENIGN_TOLERATED = ("is not executable", "Missing privilege separation directory", "unknown group",
                    "debug mode does nothing", "reading config file", "found error in", "removing last",
                    "Reading state from file", "state file", "Allocating hash table", "Handling 0 logs")

NGINX_SYNTAX = ("unknown directive", "unexpected", "is not terminated", "is not allowed here",
                "invalid number of arguments", "no \"events\"", "unexpected end of file", "duplicate")


def nginx_check(text: str, tmp: Path, companions: dict[str, str]) -> Checked:
    files = pki(str(tmp))
    for sub in ("cdn", "zt", "zt-log", "zt-intel", "cdn-cache"):
        (tmp / sub).mkdir(exist_ok=True)
    for target in (tmp / "cdn" / "node", tmp / "zt" / "server"):
        shutil.copy(files["crt"], f"{target}.crt")
        shutil.copy(files["key"], f"{target}.key")
    shutil.copy(files["crt"], tmp / "zt" / "ca.pem")
    shutil.copy(files["crl"], tmp / "zt" / "crl.pem")
    (tmp / "zt-intel" / "blocklist.conf").write_text("")
    site = tmp / "site.conf"
    site.write_text(text)
    purge = Path("/usr/lib/nginx/modules/ngx_http_cache_purge_module.so")
    main = tmp / "nginx.conf"
    main.write_text(
        (f"load_module {purge};\n" if purge.exists() else "")
        + f"pid {tmp}/nginx.pid;\nerror_log {tmp}/error.log;\nevents {{}}\nhttp {{\n include {site};\n}}\n")
    proc = _run(["nginx", "-t", "-q", "-p", str(tmp), "-c", str(main)])
    return _verdict(proc, NGINX_SYNTAX)


def kube_lb_check(text: str, tmp: Path, companions: dict[str, str]) -> Checked:
    """kube-lb's nginx.conf is a whole configuration (load_module, events, stream): nginx -t reads it as it is."""
    conf = tmp / "kube-lb.conf"
    # nginx -t creates the pid file: keep it in this test's directory, not the machine's /run
    conf.write_text(text.replace("pid /run/kube-lb.pid;", f"pid {tmp}/kube-lb.pid;"))
    return _verdict(_run(["nginx", "-t", "-q", "-p", str(tmp), "-c", str(conf)]), NGINX_SYNTAX)


def nginx_proxy_inc_check(text: str, tmp: Path, companions: dict[str, str]) -> Checked:
    (tmp / "cdn").mkdir(exist_ok=True)
    (tmp / "cdn" / "proxy.inc").write_text(text)
    return nginx_check(companions["cdn_node/idcpilot-cdn.conf.j2"], tmp, {})


def _verdict(proc: subprocess.CompletedProcess, syntax: tuple[str, ...]) -> Checked:
    out = proc.stdout + proc.stderr
    if proc.returncode == 0:
        return Checked(True)
    structural = [line for line in out.splitlines() if any(s in line.lower() for s in syntax)]
    return Checked(False, "\n".join(structural) or out[-2000:]) if structural else Checked(True, "semantic:\n" + out[-600:])


def nft_check(text: str, tmp: Path, companions: dict[str, str]) -> Checked:
    f = tmp / "rules.nft"
    f.write_text(text)
    return _verdict(_run(["nft", "-c", "-f", str(f)]), ("syntax error", "unexpected", "unterminated"))


def chrony_check(text: str, tmp: Path, companions: dict[str, str]) -> Checked:
    f = tmp / "chrony.conf"
    f.write_text(text)
    return _verdict(_run(["chronyd", "-p", "-f", str(f)]), ("invalid command", "invalid directive", "unknown directive"))


def systemd_check(suffix: str, dropin: bool = False) -> Callable[[str, Path, dict[str, str]], Checked]:
    def check(text: str, tmp: Path, companions: dict[str, str]) -> Checked:
        f = tmp / f"idcpilot-test{suffix}"
        if dropin:
            text = "[Unit]\nDescription=drop-in host\n[Service]\nExecStart=/bin/true\n" + text
        f.write_text(text)
        proc = _run(["systemd-analyze", "verify", "--man=no", "--recursive-errors=no", str(f)])
        return _verdict(proc, ("unknown key", "unknown section", "missing '='", "invalid section header",
                               "assignment outside of section", "unknown lvalue"))
    return check


def shell_check(shell: str) -> Callable[[str, Path, dict[str, str]], Checked]:
    def check(text: str, tmp: Path, companions: dict[str, str]) -> Checked:
        f = tmp / "script.sh"
        f.write_text(text)
        proc = _run([shell, "-n", str(f)])
        return Checked(proc.returncode == 0, proc.stderr)
    return check


def vtysh_check(text: str, tmp: Path, companions: dict[str, str]) -> Checked:
    f = tmp / "frr.conf"
    f.write_text(text)
    proc = _run(["vtysh", "--dryrun", "--inputfile", str(f)])
    out = proc.stdout + proc.stderr
    bad = [line for line in out.splitlines() if re.search(r"unknown command|incomplete command|ambiguous|error", line, re.I)]
    return Checked(proc.returncode == 0 and not bad, "\n".join(bad) or out[-1000:])


def sshd_check(text: str, tmp: Path, companions: dict[str, str]) -> Checked:
    files = pki(str(tmp))
    f = tmp / "sshd_config"
    f.write_text(f"HostKey {tmp}/hostkey\n" + re.sub(r"(?m)^HostKey .*$", "", text))
    key = tmp / "hostkey"
    if not key.exists():
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)])
    del files
    return _verdict(_run(["/usr/sbin/sshd", "-t", "-f", str(f)]), ("bad configuration option", "unsupported option",
                                                                       "garbage at end of line", "missing argument", "terminating"))


def visudo_check(text: str, tmp: Path, companions: dict[str, str]) -> Checked:
    f = tmp / "sudoers"
    f.write_text(text)
    proc = _run(["visudo", "-c", "-q", "-f", str(f)])
    return Checked(proc.returncode == 0, proc.stdout + proc.stderr)


def rsyslog_check(text: str, tmp: Path, companions: dict[str, str]) -> Checked:
    f = tmp / "rsyslog.conf"
    f.write_text(text)
    proc = _run(["rsyslogd", "-N1", "-f", str(f)])
    return _verdict(proc, ("syntax error", "invalid character", "unexpected", "unknown parameter", "invalid statement"))


def rsyslog_rules_check(text: str, tmp: Path, companions: dict[str, str]) -> Checked:
    """A drop-in without an output action (rsyslogd -N1 refuses that on its own) and without the
    working directory rsyslog.conf sets before its includes: read as the role's validate reads it."""
    return rsyslog_check(f'global(workDirectory="{tmp}")\n' + text + "\n*.* /dev/null\n", tmp, companions)


def logrotate_check(text: str, tmp: Path, companions: dict[str, str]) -> Checked:
    f = tmp / "logrotate.conf"
    f.write_text(text)
    proc = _run(["logrotate", "-d", "-s", str(tmp / "state"), str(f)])
    return _verdict(proc, ("unknown option", "unexpected", "missing", "bad", "lines must begin", "keyword"))


def openssl_check(text: str, tmp: Path, companions: dict[str, str]) -> Checked:
    files = pki(str(tmp))
    f = tmp / "req.cnf"
    f.write_text(text)
    proc = _run(["openssl", "req", "-new", "-config", str(f), "-key", str(files["key"]), "-out", str(tmp / "req.csr")])
    return Checked(proc.returncode == 0, proc.stderr[-1000:])


def parsed_by(parse: Callable[[str], Any], error: type[Exception]) -> Callable[[str, Path, dict[str, str]], Checked]:
    """A checker for a format Python itself reads (TOML, YAML): the text parses, or why not."""
    def check(text: str, tmp: Path, companions: dict[str, str]) -> Checked:
        try:
            parse(text)
        except error as exc:
            return Checked(False, str(exc))
        return Checked(True)
    return check


toml_check = parsed_by(tomllib.loads, tomllib.TOMLDecodeError)
yaml_check = parsed_by(yaml.safe_load, yaml.YAMLError)
yaml_all_check = parsed_by(lambda text: list(yaml.safe_load_all(text)), yaml.YAMLError)
python_check = parsed_by(lambda text: compile(text, "template", "exec"), SyntaxError)


def prom_check(text: str, tmp: Path, companions: dict[str, str]) -> Checked:
    sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:\\.|[^"\\\n])*",?)*\} -?[0-9.]+$')
    bad = [line for line in text.splitlines() if line and not line.startswith("#") and not sample.match(line)]
    return Checked(not bad, "\n".join(bad))


@dataclass(frozen=True)
class Syntax:
    statements: Callable[[str], list[str]]
    check: Callable[[str, Path, dict[str, str]], Checked] | None
    tool: str | None  # the program the check needs on PATH (None: a Python parser or nothing)


LINES = line_statements()
NO_QUOTES = line_statements(quotes="")
INI = line_statements(comment="#;", continued=True)

#: How each template's output is read back, and by which tool.
SYNTAX: dict[str, Syntax] = {
    "baseline/audit.rules.j2": Syntax(NO_QUOTES, None, None),
    "baseline/auditd.conf.j2": Syntax(NO_QUOTES, None, None),
    "baseline/chrony.conf.j2": Syntax(NO_QUOTES, chrony_check, "chronyd"),
    "baseline/faillock.conf.j2": Syntax(NO_QUOTES, None, None),
    "baseline/idc-audit-read.j2": Syntax(LINES, python_check, None),
    "baseline/idcpilot-aide-check.service.j2": Syntax(INI, systemd_check(".service"), "systemd-analyze"),
    "baseline/idcpilot-aide-check.timer.j2": Syntax(INI, systemd_check(".timer"), "systemd-analyze"),
    "baseline/journald.conf.j2": Syntax(INI, None, None),
    "baseline/logrotate-rsyslog.j2": Syntax(NO_QUOTES, logrotate_check, "logrotate"),
    "baseline/modprobe-blacklist.conf.j2": Syntax(NO_QUOTES, None, None),
    "baseline/moduli.j2": Syntax(NO_QUOTES, None, None),
    "baseline/nftables.conf.j2": Syntax(LINES, nft_check, "nft"),
    "baseline/pam-configs/idcpilot-faillock.j2": Syntax(NO_QUOTES, None, None),
    "baseline/pam-configs/idcpilot-faillock-notify.j2": Syntax(NO_QUOTES, None, None),
    "baseline/pam-configs/idcpilot-pwhistory.j2": Syntax(NO_QUOTES, None, None),
    "baseline/profile-tmout.sh.j2": Syntax(LINES, shell_check("sh"), "sh"),
    "baseline/profile-umask.sh.j2": Syntax(LINES, shell_check("sh"), "sh"),
    "baseline/pwquality.conf.j2": Syntax(NO_QUOTES, None, None),
    "baseline/rsyslog-audit-records.conf.j2": Syntax(LINES, rsyslog_rules_check, "rsyslogd"),
    "baseline/rsyslog-forward.conf.j2": Syntax(LINES, rsyslog_check, "rsyslogd"),
    "baseline/sshd_config.j2": Syntax(LINES, sshd_check, "sshd"),
    "baseline/sudoers.j2": Syntax(NO_QUOTES, visudo_check, "visudo"),
    "baseline/sysctl.conf.j2": Syntax(NO_QUOTES, None, None),
    "bootstrap/hosts_block.j2": Syntax(NO_QUOTES, None, None),
    "bootstrap/idcpilot.sources.j2": Syntax(NO_QUOTES, None, None),
    "cdn_node/idcpilot-cdn.conf.j2": Syntax(nginx_statements, nginx_check, "nginx"),
    "cdn_node/logrotate.j2": Syntax(NO_QUOTES, logrotate_check, "logrotate"),
    "cdn_node/nginx-limits.conf.j2": Syntax(INI, systemd_check(".service", dropin=True), "systemd-analyze"),
    "cdn_node/proxy.inc.j2": Syntax(nginx_statements, nginx_proxy_inc_check, "nginx"),
    "cdn_node/self-signed.cnf.j2": Syntax(NO_QUOTES, openssl_check, "openssl"),
    "k8s_control_plane/admission.yaml.j2": Syntax(LINES, yaml_check, None),
    "k8s_control_plane/audit-policy.yaml.j2": Syntax(LINES, yaml_check, None),
    "k8s_control_plane/audit-webhook.kubeconfig.j2": Syntax(LINES, yaml_check, None),
    "k8s_control_plane/cluster-admins.yaml.j2": Syntax(LINES, yaml_check, None),
    "k8s_control_plane/encryption-config.yaml.j2": Syntax(LINES, yaml_check, None),
    "k8s_control_plane/etcd.service.j2": Syntax(INI, systemd_check(".service"), "systemd-analyze"),
    "k8s_control_plane/kube-apiserver.service.j2": Syntax(INI, systemd_check(".service"), "systemd-analyze"),
    "k8s_control_plane/kube-controller-manager.service.j2": Syntax(INI, systemd_check(".service"), "systemd-analyze"),
    "k8s_control_plane/kube-scheduler.service.j2": Syntax(INI, systemd_check(".service"), "systemd-analyze"),
    "k8s_control_plane/kubeadm-config.yaml.j2": Syntax(LINES, yaml_all_check, None),
    "k8s_control_plane/kwok-nodes.yaml.j2": Syntax(LINES, yaml_all_check, None),
    "k8s_control_plane/kwok.service.j2": Syntax(INI, systemd_check(".service"), "systemd-analyze"),
    "k8s_control_plane/kwok.yaml.j2": Syntax(LINES, yaml_all_check, None),
    "k8s_control_plane/rbac.yaml.j2": Syntax(LINES, yaml_all_check, None),
    "k8s_node/10-kubeadm.conf.j2": Syntax(INI, systemd_check(".service", dropin=True), "systemd-analyze"),
    "k8s_node/bootstrap-kubelet.conf.j2": Syntax(LINES, yaml_check, None),
    "k8s_node/kube-lb.conf.j2": Syntax(nginx_statements, kube_lb_check, "nginx"),
    "k8s_node/kube-lb.service.j2": Syntax(INI, systemd_check(".service"), "systemd-analyze"),
    "k8s_node/kubeadm-flags.env.j2": Syntax(LINES, shell_check("sh"), "sh"),
    "k8s_node/kubelet-config.yaml.j2": Syntax(LINES, yaml_check, None),
    "k8s_node/config.toml.j2": Syntax(LINES, toml_check, None),
    "k8s_node/hosts.toml.j2": Syntax(LINES, toml_check, None),
    "k8s_node/kubelet.service.j2": Syntax(INI, systemd_check(".service"), "systemd-analyze"),
    "monitoring/idcpilot_host.prom.j2": Syntax(LINES, prom_check, None),
    "monitoring/node-exporter-args.j2": Syntax(LINES, shell_check("sh"), "sh"),
    "monitoring/web.yml.j2": Syntax(LINES, yaml_check, None),
    "sdwan_edge/frr.conf.j2": Syntax(line_statements(comment="!", quotes=""), vtysh_check, "vtysh"),
    "sdwan_edge/idcpilot-sdwan-firewall.service.j2": Syntax(INI, systemd_check(".service"), "systemd-analyze"),
    "sdwan_edge/idcpilot-sdwan-probe.service.j2": Syntax(INI, systemd_check(".service"), "systemd-analyze"),
    "sdwan_edge/idcpilot-sdwan-probe.timer.j2": Syntax(INI, systemd_check(".timer"), "systemd-analyze"),
    "sdwan_edge/idcpilot-wg-sync.j2": Syntax(LINES, shell_check("bash"), "bash"),
    "sdwan_edge/idcpilot-wg-rotate.j2": Syntax(LINES, shell_check("bash"), "bash"),
    "sdwan_edge/sdwan.nft.j2": Syntax(LINES, nft_check, "nft"),
    "sdwan_edge/sysctl.conf.j2": Syntax(NO_QUOTES, None, None),
    "sdwan_edge/wg-tunnel.conf.j2": Syntax(INI, None, None),
    "zt_gateway/idcpilot-zt-blocklist-reload.service.j2": Syntax(INI, systemd_check(".service"), "systemd-analyze"),
    "zt_gateway/idcpilot-zt-blocklist.path.j2": Syntax(INI, systemd_check(".path"), "systemd-analyze"),
    "zt_gateway/idcpilot-zt-threat-sync.service.j2": Syntax(INI, systemd_check(".service"), "systemd-analyze"),
    "zt_gateway/idcpilot-zt-crl-watch.service.j2": Syntax(INI, systemd_check(".service"), "systemd-analyze"),
    "zt_gateway/idcpilot-zt-crl-watch.timer.j2": Syntax(INI, systemd_check(".timer"), "systemd-analyze"),
    "zt_gateway/idcpilot-zt-crl-reload.service.j2": Syntax(INI, systemd_check(".service"), "systemd-analyze"),
    "zt_gateway/idcpilot-zt-threat-sync.timer.j2": Syntax(INI, systemd_check(".timer"), "systemd-analyze"),
    "zt_gateway/idcpilot-zt.conf.j2": Syntax(nginx_statements, nginx_check, "nginx"),
    "zt_gateway/logrotate.j2": Syntax(NO_QUOTES, logrotate_check, "logrotate"),
    "zt_gateway/nginx-limits.conf.j2": Syntax(INI, systemd_check(".service", dropin=True), "systemd-analyze"),
}


def tool_missing(syntax: Syntax) -> str | None:
    if syntax.tool is None:
        return None
    found = shutil.which(syntax.tool) or (Path("/usr/sbin") / syntax.tool).exists()
    return None if found else f"{syntax.tool} is not installed here (scripts/host-packages.txt)"


# ---------------------------------------------------------------------------- rendering


@dataclass
class Rendering:
    key: str          # role/template file
    text: str


class Renderer:
    def __init__(self, task: TemplateTask):
        self.task = task
        self.loader = DataLoader()
        self.vars = base_vars(task, self.loader, FILES)
        self.specs = role_specs(task.role)

    def templar(self, overrides: dict[str, Any] | None = None) -> Templar:
        return Templar(loader=self.loader, variables={**self.vars, **(overrides or {})})

    def renderings(self, overrides: dict[str, Any] | None = None, item_tail: str | None = None) -> list[Rendering]:
        """The task's output per loop item; ``item_tail`` is appended to every string of the item."""
        out = []
        for item in loop_items(self.task, self.templar()):
            if "{{ item }}" in self.task.src:
                src = self.task.src.replace("{{ item }}", str(item))
            else:
                src = self.task.src
                if item_tail is not None and item is not None:
                    item = hostile_copy(plain(item), item_tail)[0]
            local = {"item": item} if item is not None else {}
            templar = Templar(loader=self.loader, variables={**self.vars, **(overrides or {}), **local})
            source = (REPO / "roles" / self.task.role / "templates" / src).read_text()
            out.append(Rendering(f"{self.task.role}/{src}", str(templar.template(trust_as_template(source)))))
        return out

    def hostile_targets(self) -> list[str]:
        """Variables the template reads that an estate, group_vars or host_vars can set."""
        names = set()
        for item in loop_items(self.task, self.templar()):
            src = self.task.src.replace("{{ item }}", str(item)) if "{{ item }}" in self.task.src else self.task.src
            names |= used_variables((REPO / "roles" / self.task.role / "templates" / src).read_text())
        out = []
        for name in sorted(names - FROM_THE_HOST):
            spec = self.specs.get(name)
            if spec is not None and spec.get("type") in ("int", "bool"):
                continue  # the role's argument spec makes these a number / a boolean before any template runs
            if name in self.vars or name == "item":
                out.append(name)
        return out


@functools.lru_cache(maxsize=None)
def targets_of(task_id: str) -> tuple[str, ...]:
    task = next(t for t in TASKS if t.id == task_id)
    return tuple(Renderer(task).hostile_targets())


ATTACKED = [t for t in TASKS if targets_of(t.id)]
CASES = [(t, name) for t in ATTACKED for name in PAYLOADS]


def test_templates_without_string_inputs_read_only_typed_numbers() -> None:
    """A template left out of the hostile cases reads nothing but int/bool role variables, which
    the role's argument spec converts (or refuses) before any template runs."""
    for task in TASKS:
        if task in ATTACKED:
            continue
        renderer = Renderer(task)
        names: set[str] = set()
        for item in loop_items(task, renderer.templar()):
            src = task.src.replace("{{ item }}", str(item))
            names |= used_variables((REPO / "roles" / task.role / "templates" / src).read_text())
        specs = role_specs(task.role)
        for name in names - FROM_THE_HOST:
            assert specs.get(name, {}).get("type") in ("int", "bool"), f"{task.id}: {name} is not a typed number"


@pytest.fixture(scope="module")
def benign() -> Iterator[dict[str, tuple[str, Path]]]:
    """Every template's benign rendering."""
    out: dict[str, tuple[str, Path]] = {}
    for task in TASKS:
        for r in Renderer(task).renderings():
            out.setdefault(r.key, (r.text, FILES))
    yield out
    shutil.rmtree(FILES, ignore_errors=True)


def companions_of(benign: dict[str, tuple[str, Path]]) -> dict[str, str]:
    return {k: v[0] for k, v in benign.items()}


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.id)
def test_benign_rendering_passes_its_tool(task: TemplateTask, benign: dict[str, tuple[str, Path]]) -> None:
    keys = [r.key for r in Renderer(task).renderings()]
    for key in keys:
        assert key in SYNTAX, f"{key}: no syntax declared for this template in SYNTAX"
        syntax = SYNTAX[key]
        missing = tool_missing(syntax)
        if missing:  # the hostile cases of this template then check its statements only
            pytest.skip(f"{key}: {missing}")
        if syntax.check is None:
            continue
        _companion_files(key, FILES, benign)
        result = syntax.check(benign[key][0], FILES, companions_of(benign))
        tolerated = result.message.startswith("semantic") and all(
            any(t in line for t in BENIGN_TOLERATED) for line in result.message.splitlines()[1:] if line.strip())
        assert result.ok and (not result.message or tolerated), f"{key}: the benign rendering fails its tool:\n{result.message}"


def _companion_files(key: str, tmp: Path, benign: dict[str, tuple[str, Path]]) -> None:
    """Files one rendering includes (the CDN site includes proxy.inc)."""
    if key == "cdn_node/idcpilot-cdn.conf.j2":
        (tmp / "cdn").mkdir(exist_ok=True)
        (tmp / "cdn" / "proxy.inc").write_text(benign["cdn_node/proxy.inc.j2"][0])


def _case_id(task: TemplateTask, payload: str) -> str:
    """role/template-payload, with '-no-tool' where no real tool reads this syntax back."""
    prefix = f"{task.role}/{task.src.split('{{')[0]}"
    checked = any(s.check is not None for k, s in SYNTAX.items() if k.startswith(prefix))
    return f"{task.id.replace('{{ item }}', '*')}-{payload}" + ("" if checked else "-no-tool")


@pytest.mark.parametrize(("task", "payload"), CASES, ids=[_case_id(t, p) for t, p in CASES])
def test_hostile_values_are_escaped_or_refused(task: TemplateTask, payload: str, benign: dict[str, tuple[str, Path]]) -> None:
    tail = PAYLOADS[payload]
    renderer = Renderer(task)
    targets = targets_of(task.id)
    problems: list[str] = []
    for name in targets:
        if name == "item":
            overrides, strings, item_tail = {}, 1, tail
        else:
            value = plain(renderer.templar().template(renderer.vars[name]) if isinstance(renderer.vars[name], str)
                          else renderer.templar().template(renderer.vars[name]))
            hostile, strings = hostile_copy(value, tail)
            overrides, item_tail = {name: hostile}, None
        if not strings:
            continue
        try:
            renderings = renderer.renderings(overrides, item_tail)
        except AnsibleError as exc:
            message = str(exc)
            if "refusing" in message:
                continue  # refused with a clear message naming the syntax
            if re.search(r"is undefined|has no attribute", message):
                continue  # the value names something that does not exist: the task fails, nothing is written
            problems.append(f"{name}: rendering failed without a clear refusal: {message[:300]}")
            continue
        for r in renderings:
            syntax = SYNTAX[r.key]
            base = syntax.statements(benign[r.key][0])
            got = syntax.statements(r.text)
            extra = _extra(got, base)
            if extra:
                problems.append(f"{name}: {r.key} gained statements {extra[:5]}")
                continue
            if "touch /tmp/idcpilot-pwned" in r.text and payload == "template" and "{{" not in r.text:
                problems.append(f"{name}: the template payload was evaluated")
            if syntax.check is None or tool_missing(syntax):
                continue
            _companion_files(r.key, FILES, benign)
            checked = syntax.check(r.text, FILES, companions_of(benign))
            if not checked.ok:
                problems.append(f"{name}: {r.key} no longer parses: {checked.message[:400]}")
    assert not Path("/tmp/idcpilot-pwned").exists(), "a hostile value ran a command"
    assert not problems, "\n".join(problems)


def _extra(got: list[str], base: list[str]) -> list[str]:
    """Statements in ``got`` beyond those in ``base`` (as multisets)."""
    from collections import Counter

    return sorted((Counter(got) - Counter(base)).elements())


def test_filters_refuse_clearly() -> None:
    """The filters' own contract: escape where the syntax can quote, refuse with the syntax named."""
    from idcpilot.ansible_plugins.filter import idcpilot_escape as f

    assert f.nginx_arg("/static/") == "/static/"
    assert f.nginx_arg('/static/ { alias /etc/; } location ^~ /zz/') == '"/static/ { alias /etc/; } location ^~ /zz/"'
    assert f.nginx_arg('a"b\\') == '"a\\"b\\\\"'
    assert f.nginx_args("TLSv1.2 TLSv1.3") == "TLSv1.2 TLSv1.3"
    assert f.nft_str("wg-lab-gz-gw01") == '"wg-lab-gz-gw01"'
    assert f.shell_word("/etc/wireguard") == "/etc/wireguard"
    assert f.shell_word("/etc/x; rm -rf /") == "'/etc/x; rm -rf /'"
    assert f.systemd_arg("/usr/bin/x y") == '"/usr/bin/x y"'
    assert f.systemd_command("/usr/bin/aide --config /etc/aide/aide.conf --check") == "/usr/bin/aide --config /etc/aide/aide.conf --check"
    assert f.systemd_value("50%") == "50%%"
    assert f.sudoers_command("/usr/bin/aide --check, /bin/sh") == "/usr/bin/aide --check\\, /bin/sh"
    assert f.toml_str('a"b\n') == '"a\\"b\\n"'
    assert f.rsyslog_str('a"b') == 'a\\"b'
    assert f.prom_label('a"\n') == 'a\\"\\n'
    assert f.port(443) == "443" and f.port("30000-32767") == "30000-32767"
    assert f.ip_cidr("10.0.0.0/8") == "10.0.0.0/8" and f.hostname("ntp.example.org") == "ntp.example.org"
    assert f.apt_uri("http://deb.example/debian") == "http://deb.example/debian"
    assert f.nft_rule("tcp dport { 22, 80 } accept") == "tcp dport { 22, 80 } accept"
    refusals = [
        (f.config_word, "a b", "config word"), (f.config_line, "a\nb", "config line"), (f.hostname, "a;b", "host name"),
        (f.ip_cidr, "all", "address"), (f.port, "0", "port"), (f.port, "22; drop", "port"),
        (f.wg_key, "k\n[Peer]", "WireGuard key"), (f.nginx_str, "$host", "nginx"), (f.nginx_arg, "~ ^/", "nginx"),
        (f.nginx_arg, "a\nb", "nginx"), (f.nft_str, 'a" drop', "nftables"), (f.nft_rule, "accept; }", "nftables rule"),
        (f.nft_rule, "accept } chain x {", "nftables rule"), (f.systemd_value, "x\nExecStartPre=/bin/sh", "config line"),
        (f.shell_word, "a\nb", "shell"), (f.apt_uri, "http://m/debian\nTrusted: yes", "apt source"),
        (f.apt_uri, "http://a http://b", "apt source"), (f.openssl_value, "$ENV::HOME", "openssl config"),
        (f.sudoers_command, "ALL", "sudoers"), (f.sudoers_command, "/usr/bin/systemctl restart *", "sudoers"),
        (f.sudoers_name, "admins,carol", "sudoers"), (f.sudoers_name, "ALL", "sudoers"), (f.sudoers_name, "a\nb", "sudoers"),
        (f.rsyslog_str, "a\nb", "rsyslog"),
    ]
    for fn, value, syntax in refusals:
        with pytest.raises(f.UnsafeValue, match=f"^{re.escape(syntax)}: refusing "):
            fn(value)
    with pytest.raises(f.UnsafeValue) as info:
        f.config_word("x" * 500 + " y")
    assert len(str(info.value)) < 200, "the refusal repeats only an excerpt of the value"
