"""roles/k8s_control_plane's own files, run for real on this machine (no lab): the role's templates
rendered with a lab host's inventory (addresses moved to 127.0.0.1 and free ports, directories to a
temporary one), its facts computed by its own set_fact expressions, the certificates and kubeconfigs
made by the kubeadm commands its pki.yml runs, then etcd and kube-apiserver started with the
ExecStart lines of the rendered units, from the offline bundle's binaries (each checked against the
bundle's SHA256SUMS first). Everything runs in a network namespace of its own with one veth
interface as the "management network" (kubeadm refuses a loopback advertise address, and nothing
started here is reachable from outside). What the control plane promises is then read back: etcd healthy over TLS
with client certificates, the API server answering admin.conf, anonymous requests refused, a
privileged Pod refused in a workload namespace, a Secret stored encrypted (k8s:enc:), the separation
of duties as `kubectl auth can-i` sees it, and the create in the audit log.

Skipped, with the reason, when the bundle (``idcpilot bundle build``) is not on this machine.
Every process started here is stopped in a finally block."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shlex
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
os.environ.setdefault("ANSIBLE_CONFIG", str(REPO / "ansible.cfg"))

from ansible.parsing.dataloader import DataLoader  # noqa: E402
from ansible.plugins.loader import filter_loader  # noqa: E402
from ansible.template import Templar, trust_as_template  # noqa: E402

filter_loader.add_directory(str(REPO / "modules" / "idcpilot" / "ansible_plugins" / "filter"))

ROLE = REPO / "roles" / "k8s_control_plane"
HOST = "lab-sh-k8s01"
BUNDLE = Path(os.environ.get("IDCPILOT_BUNDLE_DIR", "/var/cache/idcpilot/bundle/files"))
K8S = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubeadm", "kubectl")
ETCD = ("etcd", "etcdctl")

pytestmark = pytest.mark.slow


#: The test's management address, inside its own network namespace.
ADDRESS = "10.254.77.1"


class Netns:
    """A throw-away network namespace with lo and a veth pair, one end carrying ADDRESS."""

    def __init__(self) -> None:
        self.name = f"idcpilot-cp-{os.getpid()}"

    def __enter__(self) -> "Netns":
        steps = [["ip", "netns", "add", self.name],
                 ["ip", "-n", self.name, "link", "set", "lo", "up"],
                 ["ip", "-n", self.name, "link", "add", "mgmt0", "type", "veth", "peer", "name", "mgmt1"],
                 ["ip", "-n", self.name, "link", "set", "mgmt1", "up"],
                 ["ip", "-n", self.name, "addr", "add", f"{ADDRESS}/24", "dev", "mgmt0"],
                 ["ip", "-n", self.name, "link", "set", "mgmt0", "up"],
                 ["ip", "-n", self.name, "route", "add", "default", "dev", "mgmt0"]]
        for step in steps:
            proc = subprocess.run(step, capture_output=True, text=True, timeout=30)
            if proc.returncode != 0:
                self.__exit__()
                pytest.skip(f"cannot make a network namespace here ({' '.join(step)}: {proc.stderr.strip()})")
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["ip", "netns", "delete", self.name], capture_output=True, timeout=30)

    def cmd(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]


def _free_ports(n: int) -> list[int]:
    """n distinct ports (the namespace is empty: any is free there; these are merely unusual)."""
    import random

    return random.sample(range(20000, 30000), n)


def _bundle_version() -> str | None:
    releases = sorted(BUNDLE.glob("dl.k8s.io/release/v*/bin/linux/amd64/kube-apiserver"))
    return releases[-1].parts[-5][1:] if releases else None


def _verified(directory: Path, names: tuple[str, ...]) -> dict[str, Path]:
    """The bundle's files, each checked against its SHA256SUMS line (as the role does before installing)."""
    sums = dict(reversed(line.split()) for line in (directory / "SHA256SUMS").read_text().splitlines() if line.strip())
    out = {}
    for name in names:
        digest = hashlib.sha256((directory / name).read_bytes()).hexdigest()
        assert sums.get(name) == digest, f"{directory / name} does not match the bundle's SHA256SUMS"
        out[name] = directory / name
    return out


class Role:
    """The role's variables for one host, and its templates rendered with them."""

    def __init__(self, overrides: dict[str, Any], facts: dict[str, Any]):
        from idcpilot import catalogue, inventory, ipam

        cat = catalogue.load(REPO / "inventories" / "lab")
        inv = inventory.build(cat, ipam.plan(cat))
        self.loader = DataLoader()
        self.vars: dict[str, Any] = {**inv["all"]["vars"], **inv["_meta"]["hostvars"][HOST]}
        self.vars.update(self.loader.load_from_file(str(ROLE / "defaults" / "main.yml"), trusted_as_template=True))
        for name in ("main.yml", "Debian.yml"):
            self.vars.update(self.loader.load_from_file(str(ROLE / "vars" / name), trusted_as_template=True) or {})
        self.vars.update({"inventory_hostname": HOST, "ansible_managed": "Ansible managed", "ansible_architecture": "x86_64",
                          "hostvars": inv["_meta"]["hostvars"], "ansible_play_batch": [HOST], "ansible_check_mode": False})
        self.vars.update(overrides)
        self._facts("facts.yml")  # the role's own expressions, in its order
        self.vars.update(facts)   # what tasks learn from the host (registered results)

    def template(self, value: Any, **local: Any) -> Any:
        templar = Templar(loader=self.loader, variables={**self.vars, **local})
        return templar.template(trust_as_template(value) if isinstance(value, str) else value)

    def _facts(self, task_file: str) -> None:
        for task in self.loader.load_from_file(str(ROLE / "tasks" / task_file), trusted_as_template=True):
            for key, value in (task.get("ansible.builtin.set_fact") or {}).items():
                self.vars[key] = self.template(value)

    def render(self, template: str) -> str:
        return str(self.template((ROLE / "templates" / template).read_text()))

    def commands(self, task_file: str, name_starts: str) -> list[list[str]]:
        """The argv of the command tasks of ``task_file`` whose name starts so, one per loop item."""
        out = []
        for task in self.loader.load_from_file(str(ROLE / "tasks" / task_file), trusted_as_template=True):
            if not str(task.get("name", "")).startswith(name_starts):
                continue
            argv = task["ansible.builtin.command"]["argv"]
            for item in task.get("loop") or [None]:
                out.append([str(a) for a in self.template(argv, item=item)])
        return out


def exec_start(unit: str) -> list[str]:
    """The ExecStart= command of a rendered unit, continuation lines joined, systemd's quoting undone."""
    text = re.sub(r"\\\n", " ", unit)
    line = next(ln for ln in text.splitlines() if ln.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart=").replace("$$", "$").replace("%%", "%"))


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    version = _bundle_version()
    etcd_dir = next(iter(sorted(BUNDLE.glob("github.com/etcd-io/etcd/releases/download/v*/linux-amd64"))), None)
    kwok_dir = next(iter(sorted(BUNDLE.glob("github.com/kubernetes-sigs/kwok/releases/download/v*/linux-amd64"))), None)
    if version is None or etcd_dir is None or kwok_dir is None or not (etcd_dir / "etcdctl").exists():
        pytest.skip(f"no offline bundle with Kubernetes and etcd under {BUNDLE} (build it: idcpilot bundle build)")
    k8s_dir = BUNDLE / "dl.k8s.io" / "release" / f"v{version}" / "bin" / "linux" / "amd64"
    tmp = tmp_path_factory.mktemp("k8s-cp")
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    for name, path in {**_verified(k8s_dir, K8S), **_verified(etcd_dir, ETCD), **_verified(kwok_dir, ("kwok",))}.items():
        (bin_dir / name).symlink_to(path)
    ports = dict(zip(("api", "client", "peer", "metrics"), _free_ports(4)))
    cluster = {"name": "lab-sh-k8s", "version": version, "controlPlane": [{"name": HOST, "address": ADDRESS}],
               "nodes": [{"name": HOST, "address": ADDRESS}], "podCidr": "10.214.0.0/20", "serviceCidr": "10.215.0.0/22",
               "apiServiceAddress": "10.215.0.1", "dnsServiceAddress": "10.215.0.10", "auditRetentionDays": 180}
    key = base64.b64encode(os.urandom(32)).decode()
    role = Role({
        "idcpilot_k8s_clusters": [cluster],
        "idcpilot_addresses": {"management": ADDRESS},
        "k8s_control_plane_config_dir": str(tmp / "kubernetes"),
        "k8s_control_plane_audit_log_dir": str(tmp / "audit"),
        "k8s_control_plane_etcd_data_dir": str(tmp / "etcd"),
        "k8s_control_plane_bin_dir": str(bin_dir),
        "k8s_control_plane_apiserver_port": ports["api"],
        "k8s_control_plane_etcd_client_port": ports["client"],
        "k8s_control_plane_etcd_peer_port": ports["peer"],
        "k8s_control_plane_etcd_metrics_port": ports["metrics"],
    }, {"k8s_control_plane_encryption_keys": [key], "k8s_control_plane_kwok_nodes": [{"name": HOST, "address": ADDRESS}]})
    cfg = tmp / "kubernetes"
    for d in (cfg / "pki" / "etcd", cfg / "idcpilot", tmp / "audit", tmp / "etcd"):
        d.mkdir(parents=True, exist_ok=True)
    files = {"kubeadm-config.yaml": "kubeadm-config.yaml.j2", "admission.yaml": "admission.yaml.j2",
             "audit-policy.yaml": "audit-policy.yaml.j2", "encryption-config.yaml": "encryption-config.yaml.j2",
             "idcpilot/rbac.yaml": "rbac.yaml.j2", "idcpilot/cluster-admins.yaml": "cluster-admins.yaml.j2",
             "idcpilot/kwok-nodes.yaml": "kwok-nodes.yaml.j2", "kwok.yaml": "kwok.yaml.j2"}
    for dest, template in files.items():
        (cfg / dest).write_text(role.render(template))
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}", "HOME": str(tmp)}
    netns = Netns().__enter__()
    procs: list[subprocess.Popen] = []
    started = time.monotonic()
    # the kubeadm commands of pki.yml, as the role runs them (CAs, then this host's certificates and kubeconfigs)
    for prefix in ("The cluster's CAs", "This host's certificates", "This host's kubeconfigs"):
        for argv in role.commands("pki.yml", prefix):
            proc = subprocess.run(netns.cmd(argv), env=env, capture_output=True, text=True, timeout=120)
            assert proc.returncode == 0, f"{argv}: {proc.stdout}{proc.stderr}"
    etcd_unit = role.render("etcd.service.j2")
    api_unit = role.render("kube-apiserver.service.j2")
    controllers = {name: role.render(f"{name}.service.j2") for name in ("kube-controller-manager", "kube-scheduler")}
    logs = {name: open(tmp / f"{name}.log", "w") for name in ("etcd", "kube-apiserver", "kwok", *controllers)}  # noqa: SIM115
    try:
        procs.append(subprocess.Popen(netns.cmd(exec_start(etcd_unit)), cwd=tmp / "etcd", env=env, stdout=logs["etcd"],
                                      stderr=subprocess.STDOUT, start_new_session=True))
        etcdctl = netns.cmd([str(bin_dir / "etcdctl"), f"--endpoints=https://{ADDRESS}:{ports['client']}",
                   f"--cacert={cfg}/pki/etcd/ca.crt", f"--cert={cfg}/pki/etcd/healthcheck-client.crt",
                   f"--key={cfg}/pki/etcd/healthcheck-client.key"])
        _wait(lambda: subprocess.run([*etcdctl, "endpoint", "health", "--cluster"], env=env, capture_output=True,
                                     timeout=20).returncode == 0, 60, tmp / "etcd.log")
        procs.append(subprocess.Popen(netns.cmd(exec_start(api_unit)), env=env, stdout=logs["kube-apiserver"],
                                      stderr=subprocess.STDOUT, start_new_session=True))
        kubectl = netns.cmd([str(bin_dir / "kubectl"), "--kubeconfig", str(cfg / "admin.conf")])
        _wait(lambda: subprocess.run([*kubectl, "get", "--raw", "/readyz"], env=env, capture_output=True,
                                     timeout=20).returncode == 0, 120, tmp / "kube-apiserver.log")
        for name, unit in controllers.items():
            procs.append(subprocess.Popen(netns.cmd(exec_start(unit)), env=env, stdout=logs[name],
                                          stderr=subprocess.STDOUT, start_new_session=True))
        up = time.monotonic() - started
        # rbac.yml's first step (admin.conf's group bound with super-admin.conf), then what the
        # controller manager does once it leads: the default service accounts, the aggregated roles
        admins_binding = subprocess.run(
            netns.cmd([str(bin_dir / "kubectl"), "--kubeconfig", str(cfg / "super-admin.conf"), "apply", "--server-side",
                       "--field-manager=idcpilot", "-f", str(cfg / "idcpilot" / "cluster-admins.yaml")]),
            env=env, capture_output=True, text=True, timeout=60)
        assert admins_binding.returncode == 0, admins_binding.stderr
        _wait(lambda: subprocess.run([*kubectl, "-n", "default", "get", "serviceaccount", "default"], env=env,
                                     capture_output=True, timeout=20).returncode == 0, 120, tmp / "kube-controller-manager.log")
        _wait(lambda: b"deployments" in subprocess.run([*kubectl, "get", "clusterrole", "edit", "-o", "json"], env=env,
                                                        capture_output=True, timeout=20).stdout, 60, tmp / "kube-controller-manager.log")
        print(f"control plane up (certificates, etcd, API server; controllers started) in {up:.1f} s")
        yield {"tmp": tmp, "cfg": cfg, "env": env, "kubectl": kubectl, "etcdctl": etcdctl, "ports": ports,
               "role": role, "units": {"etcd": etcd_unit, "kube-apiserver": api_unit}, "bin": bin_dir, "up": up,
               "netns": netns, "procs": procs, "logs": logs}
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
        for log in logs.values():
            log.close()
        netns.__exit__()


def _wait(ready, seconds: float, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(1)
    pytest.fail(f"not ready after {seconds} s; last log lines:\n" + "\n".join(log.read_text().splitlines()[-30:]))


def run(plane: dict[str, Any], *args: str, kubeconfig: str | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    cmd = list(plane["kubectl"]) if kubeconfig is None else plane["netns"].cmd([str(plane["bin"] / "kubectl"), "--kubeconfig", kubeconfig])
    return subprocess.run([*cmd, *args], env=plane["env"], capture_output=True, text=True, timeout=60, input=stdin)


def admins(plane: dict[str, Any]) -> None:
    """rbac.yml's first step: admin.conf's group bound with super-admin.conf (idempotent)."""
    out = run(plane, "apply", "--server-side", "--field-manager=idcpilot", "-f", str(plane["cfg"] / "idcpilot" / "cluster-admins.yaml"),
              kubeconfig=str(plane["cfg"] / "super-admin.conf"))
    assert out.returncode == 0, out.stderr


def test_units_carry_the_contract_flags(plane: dict[str, Any]) -> None:
    api = exec_start(plane["units"]["kube-apiserver"])
    for flag in ("--anonymous-auth=false", "--tls-min-version=VersionTLS12", "--authorization-mode=Node,RBAC",
                 f"--bind-address={ADDRESS}", f"--secure-port={plane['ports']['api']}", "--audit-log-maxage=180",
                 f"--admission-control-config-file={plane['cfg']}/admission.yaml",
                 f"--encryption-provider-config={plane['cfg']}/encryption-config.yaml"):
        assert flag in api, flag
    etcd = exec_start(plane["units"]["etcd"])
    assert "--client-cert-auth=true" in etcd and "--peer-client-cert-auth=true" in etcd
    assert f"--listen-client-urls=https://{ADDRESS}:{plane['ports']['client']},https://127.0.0.1:{plane['ports']['client']}" in etcd


def test_admin_conf_works_through_the_admins_binding(plane: dict[str, Any]) -> None:
    ns = run(plane, "get", "ns", "-o", "name")
    assert ns.returncode == 0 and "namespace/kube-system" in ns.stdout, ns.stderr
    who = run(plane, "auth", "whoami", "-o", "json")
    assert "kubeadm:cluster-admins" in json.loads(who.stdout)["status"]["userInfo"]["groups"]  # not system:masters


ANONYMOUS = """
import ssl, sys, urllib.error, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
try:
    urllib.request.urlopen(sys.argv[1], context=ctx, timeout=10)
    print(200)
except urllib.error.HTTPError as err:
    print(err.code)
"""


def test_anonymous_requests_are_refused(plane: dict[str, Any]) -> None:
    out = subprocess.run(plane["netns"].cmd(["python3", "-c", ANONYMOUS, f"https://{ADDRESS}:{plane['ports']['api']}/api/v1/namespaces",
                                              f"{plane['cfg']}/pki/ca.crt"]), capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "401", out.stdout + out.stderr


def test_tls_below_1_2_is_refused(plane: dict[str, Any]) -> None:
    def hello(version: str) -> subprocess.CompletedProcess:
        return subprocess.run(plane["netns"].cmd(["openssl", "s_client", version, "-cipher", "DEFAULT:@SECLEVEL=0",
                                                  "-connect", f"{ADDRESS}:{plane['ports']['api']}"]),
                              capture_output=True, text=True, timeout=30, input="")
    assert "Protocol  : TLSv1.2" in hello("-tls1_2").stdout
    old = hello("-tls1_1")
    if "no protocols available" in old.stderr:
        pytest.skip("this machine's OpenSSL cannot offer TLS 1.1, so a refusal would prove nothing")
    assert old.returncode != 0 and "protocol version" in old.stderr, old.stderr[-500:]


PRIVILEGED = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "privileged", "namespace": "default"},
              "spec": {"containers": [{"name": "c", "image": "registry.lab.idcpilot.internal:5000/pause:3.9",
                                       "securityContext": {"privileged": True}}]}}


def test_privileged_pod_in_a_workload_namespace_is_refused(plane: dict[str, Any]) -> None:
    admins(plane)
    out = run(plane, "create", "-f", "-", stdin=json.dumps(PRIVILEGED))
    assert out.returncode != 0 and "violates PodSecurity" in out.stderr and '"restricted:latest"' in out.stderr, out.stderr
    system = dict(PRIVILEGED, metadata={"name": "privileged", "namespace": "kube-system"})
    exempt = run(plane, "create", "--dry-run=server", "-f", "-", stdin=json.dumps(system))
    assert exempt.returncode == 0, exempt.stderr  # kube-system is the one exemption, by name


def test_secrets_are_stored_encrypted(plane: dict[str, Any]) -> None:
    admins(plane)
    made = run(plane, "create", "secret", "generic", "smoke", "-n", "default", "--from-literal=password=not-in-etcd-in-clear")
    assert made.returncode == 0, made.stderr
    raw = subprocess.run([*plane["etcdctl"], "get", "/registry/secrets/default/smoke", "--print-value-only"],
                         env=plane["env"], capture_output=True, timeout=30)
    assert raw.returncode == 0 and raw.stdout.startswith(b"k8s:enc:aescbc:v1:key-"), raw.stdout[:80]
    assert b"not-in-etcd-in-clear" not in raw.stdout
    audit = (plane["tmp"] / "audit" / "audit.log").read_text()
    events = [json.loads(line) for line in audit.splitlines() if '"smoke"' in line]
    assert any(e["verb"] == "create" and e["objectRef"]["resource"] == "secrets" for e in events)
    assert "not-in-etcd-in-clear" not in audit  # Secrets are audited at Metadata level


@pytest.mark.parametrize(("who", "group", "verb", "resource", "allowed"), [
    ("alice", "admins", "create", "deployments.apps", True),
    ("alice", "admins", "create", "clusterrolebindings.rbac.authorization.k8s.io", False),
    ("carol", "auditors", "list", "pods", True),
    ("carol", "auditors", "get", "secrets", False),
    ("carol", "auditors", "delete", "pods", False),
    ("bob", "security-officers", "create", "rolebindings.rbac.authorization.k8s.io", True),
    ("bob", "security-officers", "create", "networkpolicies.networking.k8s.io", True),
    ("bob", "security-officers", "create", "deployments.apps", False),
    ("bob", "security-officers", "get", "secrets", False),
])
def test_separation_of_duties(plane: dict[str, Any], who: str, group: str, verb: str, resource: str, allowed: bool) -> None:
    admins(plane)
    applied = run(plane, "apply", "--server-side", "--field-manager=idcpilot", "-f", str(plane["cfg"] / "idcpilot" / "rbac.yaml"))
    assert applied.returncode == 0, applied.stderr
    out = run(plane, "auth", "can-i", verb, resource, "-n", "default", "--as", who, "--as-group", group)
    assert out.stdout.strip() == ("yes" if allowed else "no"), (out.stdout, out.stderr)


def test_rbac_apply_is_idempotent_as_the_role_checks_it(plane: dict[str, Any]) -> None:
    """apply.yml's test: `kubectl diff --server-side` exits 0 once the manifest is applied (no change reported)."""
    manifest = str(plane["cfg"] / "idcpilot" / "rbac.yaml")
    assert run(plane, "apply", "--server-side", "--field-manager=idcpilot", "--force-conflicts", "-f", manifest).returncode == 0
    diff = run(plane, "diff", "--server-side", "--field-manager=idcpilot", "--force-conflicts", "-f", manifest)
    assert diff.returncode == 0, diff.stdout + diff.stderr


def test_kwok_mode_simulates_the_worker_as_a_ready_node(plane: dict[str, Any]) -> None:
    """kwok.yml: kwok's own client certificate (kubeadm kubeconfig user), its permissions and the Node
    object applied, the rendered kwok unit and stages started: the node turns Ready, says it is
    simulated, carries its host's address, and takes no pods."""
    role, cfg = plane["role"], plane["cfg"]
    [argv] = role.commands("kwok.yml", "A client certificate for kwok")
    made = subprocess.run(plane["netns"].cmd(argv), env=plane["env"], capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    (cfg / "kwok.conf").write_text(made.stdout + "\n")
    applied = run(plane, "apply", "--server-side", "--field-manager=idcpilot", "-f", str(cfg / "idcpilot" / "kwok-nodes.yaml"))
    assert applied.returncode == 0, applied.stderr
    plane["procs"].append(subprocess.Popen(plane["netns"].cmd(exec_start(role.render("kwok.service.j2"))), env=plane["env"],
                                           stdout=plane["logs"]["kwok"], stderr=subprocess.STDOUT, start_new_session=True))
    ready = ["get", "node", HOST, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"]
    _wait(lambda: run(plane, *ready).stdout == "True", 90, plane["tmp"] / "kwok.log")
    node = json.loads(run(plane, "get", "node", HOST, "-o", "json").stdout)
    assert node["metadata"]["labels"]["idcpilot.io/simulated"] == "kwok"
    assert {"type": "InternalIP", "address": ADDRESS} in node["status"]["addresses"]  # the host's management address
    assert {"key": "idcpilot.io/simulated", "value": "kwok", "effect": "NoSchedule"} in node["spec"]["taints"]
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert ready["message"].startswith("simulated (kwok)")
    whoami = run(plane, "auth", "can-i", "delete", "nodes", "--as", "idcpilot:kwok")
    assert whoami.stdout.strip() == "no"  # kwok may keep its nodes' status, not remove nodes
