"""CONTRIBUTING.md's recipe for adding a rule, followed in a temporary copy of policy/: the new
rule file alone is found by `idcpilot rules` and run by `idcpilot check`, its threshold read
from thresholds.yaml (and a threshold key the schema does not know is refused)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
IDCPILOT = str(Path(sys.executable).with_name("idcpilot"))

RULE = '''"""PILOT-ZZ-RECIPE: every site's design PUE within the recipe's limit."""

from idcpilot.policy import Rule

RULE = Rule(
    id="PILOT-ZZ-RECIPE",
    title="Recipe rule",
    severity="low",
    stage=("plan",),
    clause="A throwaway rule written from CONTRIBUTING.md",
    remediation="None: it exists only in a test.",
)


def check(ctx):
    limit = ctx.thresholds.get("pue.max")
    for i, site in enumerate(ctx.spec.sites):
        target = f"site/{site.name}"
        if site.pue.design > limit - 0.1:
            yield ctx.fail(target, f"design PUE {site.pue.design} exceeds {limit - 0.1}", ("spec", "sites", i, "pue", "design"))
        else:
            yield ctx.ok(target, f"design PUE {site.pue.design} <= {limit - 0.1}", ("spec", "sites", i, "pue"))
'''


def _run(policy: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IDCPILOT, *args], cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "IDCPILOT_POLICY_DIR": str(policy)})


def test_the_add_a_rule_recipe_works(tmp_path):
    recipe = (REPO / "CONTRIBUTING.md").read_text(encoding="utf-8")
    assert "## Recipe: add a rule" in recipe and "policy/rules/<id lower-cased, dashes as underscores>.py" in recipe
    policy = tmp_path / "policy"
    shutil.copytree(REPO / "policy", policy)
    assert "PILOT-ZZ-RECIPE" not in _run(policy, "rules").stdout
    (policy / "rules" / "pilot_zz_recipe.py").write_text(RULE, encoding="utf-8")

    listed = _run(policy, "rules", "-f", "json")
    assert listed.returncode == 0, listed.stderr
    rule = next(r for r in json.loads(listed.stdout)["rules"] if r["id"] == "PILOT-ZZ-RECIPE")
    assert rule["file"] == "policy/rules/pilot_zz_recipe.py" and rule["waivable"] is True

    # The example's sites are all within 1.35 but not all within 1.25: the new rule fails the gate.
    checked = _run(policy, "check", "inventories/example", "--no-plan", "-f", "json")
    assert checked.returncode == 1, checked.stdout[-2000:] + checked.stderr[-2000:]
    findings = [f for f in json.loads(checked.stdout)["findings"] if f["rule"] == "PILOT-ZZ-RECIPE"]
    assert {f["status"] for f in findings} == {"pass", "fail"}

    # Step 3: a threshold key thresholds.py's schema does not know is refused, never ignored.
    thresholds = policy / "thresholds.yaml"
    thresholds.write_text(re.sub(r"(?m)^  pue:\n", "  pue:\n    maxi: 9\n", thresholds.read_text()), encoding="utf-8")
    refused = _run(policy, "check", "inventories/example", "--no-plan")
    assert refused.returncode == 2 and "thresholds.yaml:" in refused.stderr and "maxi" in refused.stderr, refused.stderr
