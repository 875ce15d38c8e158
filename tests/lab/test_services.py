"""The lab's services on its bridge (NTP, the artifact repository), without a lab: the programs
run for real on 127.0.0.1 and free ports, through the same start/stop code `lab up` uses."""

from __future__ import annotations

import dataclasses
import random
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from idcpilot import catalogue, ipam
from idcpilot.bundle import versions as bundle_versions
from idcpilot.lab import LabLayout, ntp, plan_lab, services
from idcpilot.lab.artifacts import resolve
from idcpilot.lab.layout import served_artifacts_port

REPO = Path(__file__).resolve().parents[2]


# The lifecycle test's down() stops every lab service bound to its gateway address, so that
# address is one nothing else uses: a random one of 127.0.0.0/8 (all of it is loopback). Another
# run of this file (the other pytest-xdist worker, a second checkout's tests) picks its own.
# The programs run on their own below bind yet another one.
GATEWAY = f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
ALONE = "127.0.0.2"


def free_port(kind: int = socket.SOCK_STREAM, address: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((address, 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab_plan():
    cat = catalogue.load(REPO / "inventories/lab")
    return plan_lab(cat, ipam.plan(cat))


def test_lab_estate_declares_ntp_and_artifacts_on_the_gateway(lab_plan) -> None:
    assert lab_plan.ntp and lab_plan.artifacts_port == 8083
    assert lab_plan.kubernetes_versions and lab_plan.env.endswith("inventories/lab")
    names = [s.name for s in services.wanted(lab_plan)]
    assert names == ["ntp", "artifacts"]


@pytest.mark.parametrize(("url", "port"), [
    ("http://10.213.0.1:8083", 8083),
    ("http://10.213.0.1", 80),
    ("http://10.213.0.1:8083/files/", 8083),
    ("https://10.213.0.1:8083", None),  # the lab has no certificate its hosts trust
    ("http://10.213.0.2:8083", None),  # someone else's repository
    ("http://files.idc.internal:8083", None),
    (None, None),
], ids=["port", "default-port", "path", "https", "other-address", "name", "absent"])
def test_artifacts_served_only_when_the_url_is_the_gateways(url, port) -> None:
    assert served_artifacts_port(url, "10.213.0.1") == port


def test_services_follow_the_estate(lab_plan) -> None:
    assert services.wanted(dataclasses.replace(lab_plan, ntp=False, artifacts_port=None)) == []
    (svc,) = services.wanted(dataclasses.replace(lab_plan, ntp=False))
    assert svc.command(lab_plan)[-2:] == ["--root", str(services.bundle_root())]


# ------------------------------------------------------------------ NTP


def test_ntp_answers_client_requests_only() -> None:
    req = ntp.request(1_700_000_000.25)
    answer = ntp.reply(req, 1_700_000_000.5, 1_700_000_000.75)
    assert answer is not None and len(answer) == 48
    assert answer[0] & 0x07 == 4 and (answer[0] >> 3) & 0x07 == 4 and answer[1] == 2  # server, v4, stratum 2
    assert answer[24:32] == req[40:48]  # origin = the client's transmit time
    assert abs(ntp.unix_time(*struct.unpack("!II", answer[40:48])) - 1_700_000_000.75) < 1e-6
    server_req = bytes([(4 << 3) | 4]) + bytes(47)
    broadcast = bytes([(4 << 3) | 5]) + bytes(47)
    assert ntp.reply(server_req, 0, 0) is None and ntp.reply(broadcast, 0, 0) is None
    assert ntp.reply(req[:47], 0, 0) is None  # short: never answered, never amplified


def test_ntp_server_gives_this_machines_time() -> None:
    port = free_port(socket.SOCK_DGRAM, ALONE)
    proc = subprocess.Popen([sys.executable, "-m", "idcpilot.lab.ntp", "--bind", ALONE, "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        offset = None
        for _ in range(50):
            offset = ntp.query(ALONE, port, timeout=0.2)
            if offset is not None:
                break
        assert offset is not None and abs(offset) < 0.5, offset
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # junk is ignored, the server lives on
            s.sendto(b"\x00" * 10, (ALONE, port))
        assert ntp.query(ALONE, port) is not None
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_ntp_query_of_nothing_is_none() -> None:
    assert ntp.query("127.0.0.1", free_port(socket.SOCK_DGRAM), timeout=0.2) is None


# ------------------------------------------------------------------ artifact repository


@pytest.fixture()
def bundle(tmp_path: Path) -> Path:
    root = tmp_path / "files"
    rel = root / "dl.k8s.io/release/v1.37.2/bin/linux/amd64"
    rel.mkdir(parents=True)
    (rel / "kubectl").write_bytes(b"\x7fELF kubectl")
    (rel / "SHA256SUMS").write_text("abc  kubectl\n")
    (tmp_path / "secret").write_text("outside the bundle\n")
    (root / "escape").symlink_to(tmp_path / "secret")
    (root / "inside").symlink_to(rel / "kubectl")
    return root


@pytest.mark.parametrize(("path", "served"), [
    ("/dl.k8s.io/release/v1.37.2/bin/linux/amd64/kubectl", True),
    ("/dl.k8s.io/release/v1.37.2/bin/linux/amd64/kubectl?x=1", True),
    ("/dl.k8s.io//release/v1.37.2/bin/linux/amd64/SHA256SUMS", True),
    ("/inside", True),  # a link inside the bundle
    ("/dl.k8s.io/release/v1.37.2/bin/linux/amd64/", False),  # no listing
    ("/", False),
    ("/../secret", False),
    ("/dl.k8s.io/../../secret", False),
    ("/%2e%2e/secret", False),
    ("/dl.k8s.io%2f..%2f..%2fsecret", False),
    ("/escape", False),  # a link leading out of the bundle
    ("/kubectl%00.txt", False),
    ("/..%5csecret", False),
    ("relative/kubectl", False),
    ("/nope", False),
], ids=lambda v: str(v))
def test_repository_serves_only_regular_files_inside_its_root(bundle: Path, path: str, served: bool) -> None:
    assert (resolve(bundle, path) is not None) is served


def test_repository_program_is_read_only_http(bundle: Path) -> None:
    port = free_port(address=ALONE)
    proc = subprocess.Popen([sys.executable, "-m", "idcpilot.lab.artifacts", "--bind", ALONE, "--port", str(port), "--root", str(bundle)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://{ALONE}:{port}"
    try:
        for _ in range(100):
            try:
                socket.create_connection((ALONE, port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        with urllib.request.urlopen(f"{base}/dl.k8s.io/release/v1.37.2/bin/linux/amd64/kubectl", timeout=5) as resp:
            assert resp.read() == b"\x7fELF kubectl"
        head = urllib.request.Request(f"{base}/dl.k8s.io/release/v1.37.2/bin/linux/amd64/SHA256SUMS", method="HEAD")
        with urllib.request.urlopen(head, timeout=5) as resp:
            assert resp.headers["Content-Length"] == str(len("abc  kubectl\n")) and resp.read() == b""
        for bad in ("/dl.k8s.io/", "/../secret", "/escape", "/%2e%2e/secret"):
            with pytest.raises(urllib.error.HTTPError) as exc:
                urllib.request.urlopen(base + bad, timeout=5)
            assert exc.value.code == 404 and b"outside" not in exc.value.read()
        for method in ("PUT", "POST", "DELETE"):
            with pytest.raises(urllib.error.HTTPError) as exc:
                urllib.request.urlopen(urllib.request.Request(f"{base}/new", data=b"x", method=method), timeout=5)
            assert exc.value.code == 405
        assert not (bundle / "new").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize(("path", "served"), [
    ("/files/dl.k8s.io/release/v1.37.2/bin/linux/amd64/kubectl", True),
    ("/dl.k8s.io/release/v1.37.2/bin/linux/amd64/kubectl", False),
    ("/filesx/dl.k8s.io/release/v1.37.2/bin/linux/amd64/kubectl", False),
    ("/files/../files/dl.k8s.io/release/v1.37.2/bin/linux/amd64/kubectl", False),
    ("/files", False),
])
def test_repository_serves_under_the_url_path_the_estate_declares(bundle: Path, path: str, served: bool) -> None:
    assert (resolve(bundle, path, "/files") is not None) is served


def test_missing_kubernetes_versions_are_named(bundle: Path) -> None:
    assert services.missing_kubernetes(bundle, ("1.37.2", "1.36.0"), arch="amd64") == ["1.36.0"]
    assert services.missing_kubernetes(bundle, ("1.37.2",), arch="arm64") == ["1.37.2"]
    assert services.missing_kubernetes(bundle.parent / "absent", ("1.37.2",), arch="amd64") == ["1.37.2"]


def test_bundle_root_follows_the_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IDCPILOT_BUNDLE_DIR", str(tmp_path))
    assert services.bundle_root() == tmp_path
    monkeypatch.delenv("IDCPILOT_BUNDLE_DIR")
    assert services.bundle_root() == Path("/var/cache/idcpilot/bundle/files")


# ------------------------------------------------------------------ lifecycle, as `lab up`/`lab down` run it


def test_up_starts_what_the_estate_declares_and_down_leaves_nothing(lab_plan, tmp_path: Path, monkeypatch) -> None:
    """The artifact repository of a loopback 'lab': started, logged, idempotent, restarted when its
    root moves, stopped when the estate drops it, and gone after down."""
    port = free_port(address=GATEWAY)
    layout = LabLayout("svc-test", state_root=tmp_path / "state", cache_root=tmp_path / "cache", run_root=tmp_path / "run")
    plan = dataclasses.replace(lab_plan, bridge_addresses=(f"{GATEWAY}/8",), layout=layout, ntp=False, artifacts_port=port,
                               kubernetes_versions=("1.37.2",), env="inventories/lab", hosts=())
    empty = tmp_path / "empty"
    monkeypatch.setenv("IDCPILOT_BUNDLE_DIR", str(empty))
    lines: list[str] = []
    try:
        services.up(plan, lines.append)
        assert lines == [f"lab {plan.name}: artifact repository on http://{GATEWAY}:{port} serving {empty}",
                         f"artifacts: {empty} has no Kubernetes v1.37.2: run `idcpilot bundle build inventories/lab`"]
        (status,) = services.status(plan)
        assert status.pid and status.answering and "no Kubernetes v1.37.2" in status.detail
        first = status.pid
        lines.clear()
        services.up(plan, lines.append)  # already running: left alone
        assert services.status(plan)[0].pid == first and len(lines) == 1
        built = tmp_path / "built"
        (built / "dl.k8s.io/release/v1.37.2/bin/linux" / bundle_versions.load().arch).mkdir(parents=True)
        (built / "dl.k8s.io/release/v1.37.2/bin/linux" / bundle_versions.load().arch / "SHA256SUMS").write_text("")
        monkeypatch.setenv("IDCPILOT_BUNDLE_DIR", str(built))
        lines.clear()
        services.up(plan, lines.append)  # the bundle moved: restarted on it, nothing missing
        (status,) = services.status(plan)
        assert status.pid != first and status.answering and status.detail == str(built)
        assert lines == [f"lab {plan.name}: artifact repository on http://{GATEWAY}:{port} serving {built}"]
        assert services.leftovers(plan)
        services.up(dataclasses.replace(plan, artifacts_port=None), lines.append)  # the estate dropped it
        assert services.leftovers(plan) == []
        services.up(plan, lines.append)
    finally:
        services.down(plan)
    assert services.leftovers(plan) == []
