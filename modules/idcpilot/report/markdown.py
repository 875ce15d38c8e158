"""``report.md``: the same report for a pull request, a wiki page or an e-mail."""

from __future__ import annotations

from typing import Any

from idcpilot.report.html import Renderer
from idcpilot.report.i18n import Lang, message, pair, text


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def render_markdown(doc: dict[str, Any], lang: Lang = "both") -> str:
    t = lambda term: text(term, lang)  # noqa: E731
    num = Renderer.number
    est, s = doc["estate"], doc["summary"]
    out = [f"# {t('title')} — {est['organisation'] or est['name']}", ""]
    out.append(f"- {t('estate')}: **{est['name']}** (`{est['file']}`, {t('sites')} {est['sites']}, {t('hosts')} {est['hosts']})")
    out.append(f"- {t('as-of')}: **{doc['asOf']}** · {t('generated')}: {doc['generatedAt']}")
    out.append(f"- {t('thresholds-source')}: {doc['inputs'].get('thresholds') or '—'} · "
               f"{t('findings-source')}: {doc['inputs']['findings'] or t('not-given')} · "
               f"{t('verify-source')}: {doc['inputs']['verify'] or t('not-given')}")
    p = doc.get("provenance")
    if p:
        commit = t(p["commit"]) if p["commit"] == "not a git checkout" else f"`{p['commit']}`"
        modified = f" ({t('estate-modified')})" if p.get("estateModified") else ""
        out.append(f"- {t('provenance')}: {t('estate-sha256')} `{p['estateSha256']}` · {t('commit')} {commit}{modified} · "
                   f"{t('tool-version')} `{p['tool']}`")
    if s["gate"] is not None:
        out.append(f"- {t('gate')}: **{t('passed' if s['gate'] == 'pass' else 'failed')}**")
    out.append(f"- {t('fail')} {s['fail']} · {t('waived')} {s['waived']} · {t('not-verified')} {s['notVerified']} · "
               f"{t('not-checked')} {s['notChecked']} · {t('pass')} {s['pass']}")
    out += ["", f"## {t('kpis')}", "", f"| {t('col-kpi')} | {t('col-value')} | {t('source')} | {t('col-threshold')} | {t('col-status')} | {t('col-change')} |",
            "|---|---|---|---|---|---|"]
    for k in doc["kpis"]:
        limit = "—" if k["threshold"] is None else f"{'≤' if k['comparator'] == '<=' else '≥'} {num(k['threshold'], k['unit'])}"
        change = "—" if k["change"] is None else Renderer.change_text(k)[0]
        out.append(f"| {_cell(t(k['term']))} ({k['rule']}) | {num(k['value'], k['unit'])} | {t('src-' + k.get('source', 'catalogue'))} | "
                   f"{limit} | {t(k['status'])} | {change} |")
    for c in doc.get("clusters") or []:
        if c is doc["clusters"][0]:
            out += ["", f"## {t('k8s-clusters')}"]
        out += ["", f"### {c['name']} ({t('version')} {c['version']}, {t('control-plane')}: {', '.join(c['controlPlane']) or '—'})", "",
                f"| {t('col-node')} | {t('col-node-kind')} | {t('col-status')} |", "|---|---|---|"]
        out += [f"| `{n['name']}` | {_cell(t('not-run') if n['kind'] is None else t(n['kind']))} | {t(n['status'])} |" for n in c["nodes"]]
        lines = [f"- {t(e['status'])} `{e['rule']}` `{e['test']}`@{e.get('host') or ''} {_cell(e['message'])}".rstrip()
                 for e in c["verify"]]
        out += [""] + (lines or [t("no-k8s-lines")])
    out += ["", f"## {t('clauses')} ({t('failed-first')})", "",
            f"| {t('col-id')} | {t('col-requirement')} | {t('col-threshold')} | {t('col-plan')} | {t('col-verify')} | {t('col-status')} | {t('col-evidence')} |",
            "|---|---|---|---|---|---|---|"]
    for r in doc["clauses"]:
        th = r["threshold"]
        limit = "—" if not th or th["value"] is None else f"{'≤' if th['comparator'] == '<=' else '≥'} {num(th['value'], th['unit'])}"
        if th and th["value"] is not None and th.get("source"):
            limit += f" ({_cell(th['source'])})"
        bad = [e for e in r["evidence"] if e["status"] in ("fail", "waived")]
        ev = "<br>".join(
            f"{t(e['status'])} `{e['rule']}` "
            + (f"`{e['location']['file']}:{e['location']['line']}` " if e.get("location") else "")
            + (f"`{e['test']}`@{e.get('host') or ''} " if e["kind"] == "verify" else "")
            + _cell(message(e, lang))
            for e in bad[:10]
        )
        if len(bad) > 10:
            ev += f"<br>… +{len(bad) - 10}"
        for w in r["waivers"]:
            ev += f"<br>{t('col-waiver')} `{w['target']}` {t('expires')} {w['expires']}" + (f" **{t('expired')}**" if w["expired"] else "")
        req = _cell(pair(r["requirement"]["zh"], r["requirement"]["en"], lang))
        verify = t(r["verify"]["status"]) + "".join(
            f"<br>{t('verified-of')} {g['covered']}/{g['expected']} {t('gap-' + g['kind'])}" for g in r["verify"].get("gaps", []))
        out.append(f"| **{r['id']}** | {req} | {limit} | {t(r['plan']['status'])} | {verify} | "
                   f"**{t(r['status'])}** | {ev or '—'} |")
    if doc["notes"]:
        out += ["", f"## {t('notes')}", ""] + [f"- {_cell(n)}" for n in doc["notes"]]
    return "\n".join(out) + "\n"
