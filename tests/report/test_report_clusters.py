"""The report's cluster lines: each cluster's nodes as verify found them ("simulated (kwok)" said
so, never shown as a verified node) and every verify-stage line of the Kubernetes suites."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from idcpilot import catalogue
from idcpilot.report.html import render_html
from idcpilot.report.markdown import render_markdown
from idcpilot.report.run import Sources, make_report
from idcpilot.verify.report import build_report as build_verify_report

from .conftest import AS_OF, EXAMPLE, GENERATED

SIMULATED_MESSAGE = "simulated (kwok): Node {n} is registered in {c}; no kubelet runs on it, so it is not verified as a node"


def _records(cat) -> tuple[Any, list[dict[str, Any]]]:
    """Records as the verify suites' conftest writes them: first node real, the others simulated."""
    cluster = next(c for c in cat.estate.spec.clusters if len(cat.members(c.nodes)) >= 2)
    cp = cat.members(cluster.control_plane)[0].name
    nodes = [h.name for h in cat.members(cluster.nodes)]
    records = [{"rule": "K8S-SECRETS", "host": cp, "test": "modules/idcpilot/verify/suites/test_k8s_cluster.py::"
                "test_secret_written_through_the_api_is_stored_encrypted", "status": "pass", "message": "", "duration": 1.2,
                "measurements": {"K8S-SECRETS": {f"{cp}.secret_encryption_provider": "aescbc"}}},
               {"rule": "PILOT-TRACEABLE", "host": cp, "test": "modules/idcpilot/verify/suites/test_k8s_cluster.py::"
                "test_create_is_in_the_audit_log", "status": "skipped", "duration": 0.4,
                "message": "not verified: audit goes to webhook https://10.0.0.9:8443/audit (not readable from here)",
                "measurements": {}}]
    for i, n in enumerate(nodes):
        simulated = i > 0
        records.append({"rule": "PILOT-MLPS3", "host": n, "test": "modules/idcpilot/verify/suites/test_k8s_cluster.py::"
                        "test_node_registered_and_ready", "status": "skipped" if simulated else "pass",
                        "message": SIMULATED_MESSAGE.format(n=n, c=cluster.name) if simulated else "", "duration": 0.5,
                        "measurements": {"PILOT-MLPS3": {f"{n}.node.{cluster.name}":
                                                         "simulated (kwok)" if simulated else "real (kubelet v1.37.2)"}}})
    return cluster, records


def _report(tmp_path: Path) -> tuple[Any, dict[str, Any]]:
    cat = catalogue.load(EXAMPLE)
    cluster, records = _records(cat)
    verify = tmp_path / "verify.json"
    verify.write_text(json.dumps(build_verify_report(cat.name, records).as_dict()), encoding="utf-8")
    return cluster, make_report(cat, Sources(verify_file=verify, plan=False), as_of=AS_OF, generated_at=GENERATED)


def test_cluster_lines_say_which_nodes_are_simulated(tmp_path):
    cluster, doc = _report(tmp_path)
    cat = catalogue.load(EXAMPLE)
    assert [c["name"] for c in doc["clusters"]] == [c.name for c in cat.estate.spec.clusters]
    view = next(c for c in doc["clusters"] if c["name"] == cluster.name)
    first, *rest = view["nodes"]
    assert (first["kind"], first["status"]) == ("real (kubelet v1.37.2)", "pass")
    assert rest and all((n["kind"], n["status"]) == ("simulated (kwok)", "skipped") for n in rest)
    assert [e["status"] for e in view["verify"]][:len(rest) + 1] == ["skipped"] * (len(rest) + 1)  # not-passes first
    assert {e["rule"] for e in view["verify"]} == {"K8S-SECRETS", "PILOT-TRACEABLE", "PILOT-MLPS3"}
    others = [c for c in doc["clusters"] if c["name"] != cluster.name]
    assert others and all(c["verify"] == [] and all(n["status"] == "not-run" and n["kind"] is None for n in c["nodes"])
                          for c in others)


def test_html_and_markdown_show_the_cluster_lines(tmp_path):
    cluster, doc = _report(tmp_path)
    simulated = [n["name"] for c in doc["clusters"] if c["name"] == cluster.name for n in c["nodes"] if n["kind"] == "simulated (kwok)"]
    for lang in ("en", "both"):
        html = render_html(doc, lang)
        md = render_markdown(doc, lang)
        for text in (html, md):
            assert "Kubernetes edge clusters" in text and cluster.name in text
            assert text.count("simulated (kwok), not verified as a real node") == len(simulated)
            assert "not verified: audit goes to webhook https://10.0.0.9:8443/audit" in text
            assert all(SIMULATED_MESSAGE.format(n=n, c=cluster.name) in text for n in simulated)
    md = render_markdown(doc, "en")
    row = next(l for l in md.splitlines() if l.startswith(f"| `{simulated[0]}` |"))
    assert row == f"| `{simulated[0]}` | simulated (kwok), not verified as a real node | skipped |"


def test_without_verify_every_node_is_not_verified(tmp_path):
    doc = make_report(catalogue.load(EXAMPLE), Sources(plan=False), as_of=AS_OF, generated_at=GENERATED)
    assert doc["clusters"] and all(n["kind"] is None and n["status"] == "not-run" for c in doc["clusters"] for n in c["nodes"])
    assert "no Kubernetes verify results" in render_markdown(doc, "en")
