"""The offline plan is what the real engine would do: `idcpilot plan` against `pulumi preview --json`.

The bundle's engine previews each stack of the example estate in a workspace of its own (a state
directory under tmp, file backend, passphrase secrets provider, the kubeconfig a secret naming a
loopback port nothing listens on: the Kubernetes provider previews without a cluster, and no
traffic leaves the machine). Resource by resource (URN, type, parent, inputs, secrecy) the two
must agree; any difference fails with the readable list ``stack.compare`` gives.

The CrossGuard pack runs inside the same engine: a workload image from outside the estate's
registry stops the preview, naming K8S-REGISTRY; the passphrase and the kubeconfig's token are
nowhere in plain text afterwards.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from idcpilot.bundle import pulumi_engine
from idcpilot.stack import compare

REPO = Path(__file__).resolve().parents[2]
IDCPILOT = str(Path(sys.executable).with_name("idcpilot"))
TOKEN = "idcpilot-test-token-0f3c9a7e5b1d"  # the kubeconfig's secret: must never be found in plain text
KUBECONFIG = f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://127.0.0.1:9"}}}}]
users: [{{name: u, user: {{token: {TOKEN}}}}}]
contexts: [{{name: x, context: {{cluster: c, user: u}}}}]
current-context: x
"""

pytestmark = pytest.mark.skipif(pulumi_engine.find() is None,
                                 reason="the Pulumi engine is not built (`make bundle`; make test builds it first)")


def idcpilot(state: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IDCPILOT, *args], cwd=REPO, input=stdin, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "IDCPILOT_STATE_DIR": str(state)})


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("state")


@pytest.fixture(scope="module")
def outputs() -> list[str]:
    return []


STACKS = ["bj-core-k8s", "cd-edge-k8s", "gz-edge-k8s", "hz-edge-k8s", "sh-core-k8s"]


@pytest.mark.parametrize("cluster", STACKS)
def test_the_plan_is_what_the_engine_previews(state: Path, outputs: list[str], cluster: str) -> None:
    init = idcpilot(state, "stack", "init", "inventories/example", "--cluster", cluster, "--kubeconfig", "-", stdin=KUBECONFIG)
    assert init.returncode == 0, init.stderr
    preview = idcpilot(state, "stack", "preview", "inventories/example", "--cluster", cluster, "--json")
    outputs.append(preview.stdout + preview.stderr)
    assert preview.returncode == 0, preview.stdout[-2000:] + preview.stderr[-2000:]
    plan = idcpilot(state, "plan", "inventories/example", "--stack", cluster, "--format", "json")
    assert plan.returncode == 0, plan.stderr
    resources = json.loads(plan.stdout)["stacks"][0]["resources"]
    engine = json.loads(preview.stdout)
    found = compare.differences(resources, engine)
    assert found == [], f"the offline plan of {cluster} is not what the engine previews:\n" + "\n".join(found)
    assert sum(engine["changeSummary"].values()) == len(resources) + 1  # and the stack itself


def test_a_violation_stops_the_preview_inside_the_engine(state: Path, outputs: list[str], tmp_path: Path) -> None:
    """portal (on bj-core-k8s) from a public registry: the pack, run by the engine, stops it."""
    bad = tmp_path / "example"
    shutil.copytree(REPO / "inventories" / "example", bad)
    estate = (bad / "estate.yaml").read_text()
    registry = re.search(r"^\s*registry:\s*(\S+)", estate, re.M).group(1)
    planted = estate.replace(f'image: "{registry}/hy/portal:', 'image: "docker.io/hy/portal:', 1)
    assert planted != estate
    (bad / "estate.yaml").write_text(planted)
    init = idcpilot(state, "stack", "init", str(bad), "--cluster", "bj-core-k8s", "--kubeconfig", "-", stdin=KUBECONFIG)
    assert init.returncode == 0, init.stderr
    done = idcpilot(state, "stack", "preview", str(bad), "--cluster", "bj-core-k8s")
    outputs.append(done.stdout + done.stderr)
    text = done.stdout + done.stderr
    assert done.returncode == 1, text[-3000:]
    assert re.search(r"\[mandatory\]\s+k8s-registry\s+\(kubernetes:apps/v1:Deployment: portal-portal\)", text), text[-3000:]
    assert "docker.io/hy/portal" in text


def test_no_secret_in_plain_text_in_the_state_or_the_output(state: Path, outputs: list[str]) -> None:
    if not outputs:  # run apart from the previews above (another xdist worker had them): one of its own
        test_the_plan_is_what_the_engine_previews(state, outputs, "hz-edge-k8s")
    workspace = state / "pulumi" / "example"
    passphrase = (workspace / "passphrase").read_text().strip()
    assert (workspace / "passphrase").stat().st_mode & 0o077 == 0
    files = [p for p in workspace.rglob("*") if p.is_file() and p.name != "passphrase" and "plugins" not in p.parts]
    assert any(p.suffix == ".yaml" and "config" in p.parts for p in files)
    for secret in (TOKEN, passphrase):
        assert not [str(p) for p in files if secret in p.read_text(errors="replace")]
        assert not [o for o in outputs if secret in o]
