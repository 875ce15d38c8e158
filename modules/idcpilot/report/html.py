"""``report.html``: one self-contained page (inline CSS and SVG, no scripts, no fonts, no network).

Drawn only from the report document, so it says exactly what ``report.json`` says.
"""

from __future__ import annotations

from html import escape
from typing import Any

from idcpilot.report import svg
from idcpilot.report.i18n import Lang, message, text

PASS_SHOWN = 20  # passing evidence items shown per row before "more" (report.json has them all)
GAP_SHOWN = 4  # names shown per verification gap (hosts, links, member rules not verified)

CSS = """
:root { --pass:#1a7f37; --fail:#cf222e; --waived:#bf8700; --unverified:#6e7781; --muted:#57606a; --line:#d0d7de; --bg:#f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC",
       system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; background: #fff; }
header { background: #0a3069; color: #fff; padding: 18px 28px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header .meta { opacity: .9; font-size: 13px; }
header .meta span { margin-right: 18px; }
main { padding: 16px 28px 40px; max-width: 1500px; }
h2 { font-size: 18px; border-bottom: 1px solid var(--line); padding-bottom: 4px; margin-top: 28px; }
.summary { display: flex; gap: 12px; flex-wrap: wrap; margin-top: 14px; }
.pill { border-radius: 999px; padding: 4px 12px; background: var(--bg); border: 1px solid var(--line); font-weight: 600; }
.pill.s-fail { color: #fff; background: var(--fail); border-color: var(--fail); }
.pill.s-pass { color: #fff; background: var(--pass); border-color: var(--pass); }
.pill.s-waived { color: #fff; background: var(--waived); border-color: var(--waived); }
.kpis { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 12px; }
.kpi { border: 1px solid var(--line); border-left: 6px solid var(--muted); border-radius: 6px; padding: 10px 12px; }
.kpi.s-pass { border-left-color: var(--pass); } .kpi.s-fail { border-left-color: var(--fail); }
.kpi .name { font-size: 12px; color: var(--muted); min-height: 2.6em; }
.kpi .value { font-size: 24px; font-weight: 700; }
.kpi .limit, .kpi .trend { font-size: 12px; color: var(--muted); }
.kpi .up { color: var(--pass); } .kpi .down { color: var(--fail); }
.kpi .rule { font-family: ui-monospace, monospace; font-size: 11px; color: var(--muted); }
.pictures { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
.pictures figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 8px; background: #fff; max-width: 100%; overflow-x: auto; }
svg.chart text { font-family: inherit; font-size: 11px; fill: #1f2328; }
svg.chart .chart-title { font-size: 13px; font-weight: 600; }
svg.chart .axis { fill: var(--muted); } svg.chart .head { font-weight: 600; fill: #1f2328; }
svg.chart .grid { stroke: #eaeef2; } svg.chart .threshold { stroke: var(--fail); stroke-width: 1.5; stroke-dasharray: 5 3; }
svg.chart .threshold-label { fill: var(--fail); font-weight: 600; }
svg.chart .site-limit { stroke: #1f2328; stroke-width: 2; }
svg.chart .link-label { font-size: 10px; fill: var(--muted); paint-order: stroke; stroke: #fff; stroke-width: 3px; }
svg.chart .node-label { font-size: 11px; font-weight: 600; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
svg.chart .cell-label { font-size: 11px; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg); font-size: 12px; position: sticky; top: 0; }
tr.s-fail > td:first-child { border-left: 5px solid var(--fail); }
tr.s-waived > td:first-child { border-left: 5px solid var(--waived); }
tr.s-pass > td:first-child { border-left: 5px solid var(--pass); }
tr.s-not-verified > td:first-child { border-left: 5px dashed var(--unverified); }
tr.s-not-checked > td:first-child, tr.s-not-applicable > td:first-child { border-left: 5px solid var(--line); }
td.id { font-family: ui-monospace, monospace; font-weight: 600; white-space: nowrap; }
.req .en { color: var(--muted); font-size: 12px; display: block; }
.badge { display: inline-block; border-radius: 4px; padding: 0 6px; font-size: 12px; font-weight: 600; white-space: nowrap;
         background: var(--bg); color: var(--muted); border: 1px solid var(--line); }
.badge.s-pass { color: var(--pass); border-color: var(--pass); } .badge.s-fail { color: #fff; background: var(--fail); border-color: var(--fail); }
.badge.s-waived { color: var(--waived); border-color: var(--waived); }
.badge.s-not-verified, .badge.s-not-run, .badge.s-partial, .badge.s-unknown { color: #1f2328; border: 1px dashed var(--unverified); background: #fff; }
.pill.s-not-verified { border: 1px dashed var(--unverified); }
.src { font-size: 11px; color: var(--muted); } .src-verify { color: #0969da; }
.gaps { font-size: 11px; color: #1f2328; margin-top: 3px; overflow-wrap: anywhere; } .gaps code { font-size: 11px; }
.pictures figure { display: table; } /* the caption takes the picture's width, never widens it */
figcaption { display: table-caption; caption-side: bottom; font-size: 11px; color: var(--muted); padding: 4px 8px 0; }
.th-value { font-weight: 600; white-space: nowrap; }
ul.overrides { margin: 4px 0 0; padding: 0; list-style: none; font-size: 12px; }
ul.overrides li { margin-top: 4px; line-height: 1.3; } ul.overrides .ov-value { font-weight: 600; white-space: nowrap; }
ul.overrides .ov-sites { color: var(--muted); display: block; }
.counts { font-size: 11px; color: var(--muted); display: block; }
.counts-inline { font-size: 11px; color: var(--muted); } .sev { font-size: 11px; text-transform: uppercase; }
ul.evidence { margin: 0; padding-left: 16px; font-size: 12px; }
ul.evidence li.s-fail, table.kv tr.s-fail td { color: var(--fail); font-weight: 600; }
.term { font-size: 11px; color: var(--muted); margin-top: 2px; }
table.kv { width: auto; } table.kv td { border: 0; padding: 0 8px 0 0; font-size: 12px; }
table.clauses td.vals { min-width: 200px; } table.clauses td.ev { min-width: 220px; max-width: 460px; word-break: break-word; }
table.clauses td.req { min-width: 160px; max-width: 280px; } table.clauses td.th { min-width: 170px; max-width: 240px; }
table.clauses td.res { min-width: 170px; max-width: 230px; } table.clauses td.wv { min-width: 150px; max-width: 200px; overflow-wrap: anywhere; }
table.members .badge { white-space: normal; }
.stage { font-size: 12px; margin-top: 3px; } .stage-name { color: var(--muted); font-size: 11px; display: inline-block; min-width: 5em; }
tr.members-row > td { border-top: 0; padding-top: 0; }
code, .loc { font-family: ui-monospace, "SFMono-Regular", monospace; font-size: 12px; }
.loc { background: #fff8c5; padding: 0 3px; border-radius: 3px; }
details summary { cursor: pointer; color: #0969da; font-size: 12px; }
.waiver { font-size: 12px; } .waiver.expired { color: var(--fail); font-weight: 600; }
table.members td, table.members th { font-size: 12px; padding: 3px 6px; }
.notes li { color: var(--muted); font-size: 12px; }
footer { color: var(--muted); font-size: 12px; margin-top: 30px; }
@media print { header { background: #fff; color: #000; } th { position: static; } details { display: block; } }
"""


class Renderer:
    def __init__(self, doc: dict[str, Any], lang: Lang, source_url: str | None = None):
        self.doc, self.lang, self.source_url = doc, lang, source_url

    # ---------------------------------------------------------------- words

    def t(self, term: str) -> str:
        return text(term, self.lang)

    def e(self, value: Any) -> str:
        return escape("" if value is None else str(value), quote=True)

    def te(self, term: str) -> str:
        return self.e(self.t(term))

    def bilingual(self, zh: str, en: str) -> str:
        if self.lang == "zh":
            return f'<span lang="zh">{self.e(zh)}</span>'
        if self.lang == "en":
            return f'<span lang="en">{self.e(en)}</span>'
        return f'<span lang="zh">{self.e(zh)}</span><span class="en" lang="en">{self.e(en)}</span>'

    def badge(self, status: str) -> str:
        return f'<span class="badge s-{self.e(status)}">{self.te(status)}</span>'

    # ---------------------------------------------------------------- numbers

    @staticmethod
    def number(value: float | None, unit: str) -> str:
        if value is None:
            return "—"
        if unit == "%":
            return f"{value * 100:.1f}%"
        if unit in ("nodes", "drills", "clusters"):
            return f"{value:.0f}"
        if unit == "":
            return f"{value:.2f}"
        return f"{value:g} {unit}"

    @staticmethod
    def change_text(kpi: dict[str, Any]) -> tuple[str, int]:
        """The change as shown (percentage points for ratios) and its sign after rounding."""
        c = kpi["change"]
        if kpi["unit"] == "%":
            shown = round(c * 100, 1)
            text = f"{shown:+.1f} pp"
        else:
            shown = round(c, 2)
            text = f"{shown:+g}" + (f" {kpi['unit']}" if kpi["unit"] else "")
        sign = (shown > 0) - (shown < 0)
        return ("±0" if sign == 0 else text), sign

    def change(self, kpi: dict[str, Any]) -> str:
        if kpi["change"] is None:
            return ""
        text, sign = self.change_text(kpi)
        better = sign > 0 if kpi["comparator"] == ">=" else sign < 0
        arrow = {1: "▲", -1: "▼", 0: "■"}[sign]
        cls = "" if sign == 0 else ("up" if better else "down")
        return (f'<span class="{cls}">{arrow} {self.e(text)}</span> '
                f'<span>({self.te("previous")} {self.e(self.number(kpi["previous"], kpi["unit"]))})</span>')

    def threshold(self, th: dict[str, Any] | None) -> str:
        """The base value, then each override on its own lines (name, value, sites), then where from."""
        if not th or th.get("value") is None:
            return "—"
        sign = "≤" if th["comparator"] == "<=" else "≥"
        out = f'<span class="th-value">{self.e(sign)} {self.e(self.number(th["value"], th["unit"]))}</span>'
        if th.get("overrides"):
            items = "".join(
                f'<li><span class="ov-value">{self.e(sign)} {self.e(self.number(o["value"], th["unit"]))}</span> '
                f'{self.e(o["name"])}<span class="ov-sites">{self.e(", ".join(o["sites"]))}</span></li>'
                for o in th["overrides"])
            out += f'<ul class="overrides">{items}</ul>'
        if th.get("source"):
            out += f'<div class="src">{self.te("source")}: {self.e(th["source"])}</div>'
        return out

    def source(self, source: str) -> str:
        """Where a figure came from: declared in the catalogue or measured by verification."""
        return f'<span class="src src-{self.e(source)}">{self.te("src-" + source)}</span>'

    def gaps(self, part: dict[str, Any]) -> str:
        out = []
        for g in part.get("gaps", []):
            left = g["expected"] - g["covered"]  # all of them are in report.json (up to its limit)
            shown = ", ".join(g["missing"][:GAP_SHOWN]) + (f" … +{left - GAP_SHOWN}" if left > GAP_SHOWN else "")
            out.append(f'<div class="gaps">{self.te("verified-of")} {g["covered"]}/{g["expected"]} {self.te("gap-" + g["kind"])}; '
                       f'{self.te("not-covered")}: <code>{self.e(shown)}</code></div>')
        return "".join(out)

    def location(self, loc: dict[str, Any] | None) -> str:
        if not loc:
            return ""
        where = f"{loc['file']}:{loc['line']}" + (f":{loc['column']}" if loc.get("column") else "")
        if self.source_url:
            href = self.source_url.format(file=loc["file"], line=loc["line"])
            return f'<a class="loc" href="{self.e(href)}">{self.e(where)}</a>'
        return f'<span class="loc">{self.e(where)}</span>'

    # ---------------------------------------------------------------- sections

    def header(self) -> str:
        d, est = self.doc, self.doc["estate"]
        s = d["summary"]
        gate = s["gate"]
        pills = []
        if gate is not None:
            pills.append(f'<span class="pill s-{"pass" if gate == "pass" else "fail"}" id="gate">{self.te("gate")}: '
                         f'{self.te("passed" if gate == "pass" else "failed")}</span>')
        for key, term in (("fail", "fail"), ("waived", "waived"), ("notVerified", "not-verified"), ("notChecked", "not-checked"),
                          ("pass", "pass")):
            cls = f" s-{term}" if s[key] and term in ("fail", "waived", "not-verified") else ""
            pills.append(f'<span class="pill{cls}">{self.te(term)}: {s[key]}</span>')
        inputs = d["inputs"]
        sources = [f"{self.te('thresholds-source')}: {self.e(inputs.get('thresholds') or '—')}",
                   f"{self.te('findings-source')}: {self.e(inputs['findings'] or self.t('not-given'))}",
                   f"{self.te('verify-source')}: {self.e(inputs['verify'] or self.t('not-given'))}"]
        if inputs["history"]:
            sources.append(f"{self.te('history-source')}: {len(inputs['history'])}")
        return (
            f'<header><h1>{self.te("title")} — {self.e(est["organisation"] or est["name"])}</h1>'
            f'<div class="meta"><span>{self.te("estate")}: <b>{self.e(est["name"])}</b> ({self.e(est["file"])}; '
            f'{self.te("sites")} {est["sites"]}, {self.te("hosts")} {est["hosts"]})</span><span>{self.te("as-of")}: <b>{self.e(d["asOf"])}</b></span>'
            f'<span>{self.te("generated")}: {self.e(d["generatedAt"])}</span></div>'
            f'<div class="meta">{" · ".join(sources)}</div>{self.provenance()}</header>'
            f'<main><div class="summary">{"".join(pills)}</div>'
        )

    def provenance(self) -> str:
        p = self.doc.get("provenance")
        if not p:
            return ""
        commit = p["commit"] if p["commit"] != "not a git checkout" else self.t("not a git checkout")
        modified = f' <b>({self.te("estate-modified")})</b>' if p.get("estateModified") else ""
        return (f'<div class="meta" id="provenance">{self.te("provenance")}: '
                f'<span>{self.te("estate-sha256")} <code>{self.e(p["estateSha256"])}</code></span>'
                f'<span>{self.te("commit")} <code>{self.e(commit)}</code>{modified}</span>'
                f'<span>{self.te("tool-version")} <code>{self.e(p["tool"])}</code></span></div>')

    def kpis(self) -> str:
        cards = []
        rows = {r["id"]: r["status"] for r in self.doc["clauses"]}
        for k in self.doc["kpis"]:
            limit = ""
            if k["threshold"] is not None:
                limit = f'{self.te("threshold")} {"≤" if k["comparator"] == "<=" else "≥"} {self.e(self.number(k["threshold"], k["unit"]))}'
            trend = self.change(k)
            badge = self.badge(k["status"])
            if k["value"] is not None and k["threshold"] is None:
                badge = f'<span class="badge s-unknown">{self.te("no-threshold")}</span>'
            if k["status"] == "fail" and rows.get(k["rule"]) == "waived":
                badge += " " + self.badge("waived")  # the clause's failure is waived (see its row)
            source = self.source(k.get("source", "catalogue"))
            if k["value"] is None and k.get("source") == "verify" and self.doc["inputs"]["verify"] is None:
                source += f' <span class="src">({self.te("no-verify-given")})</span>'
            cards.append(
                f'<div class="kpi s-{self.e(k["status"])}" id="kpi-{self.e(k["id"])}" data-status="{self.e(k["status"])}">'
                f'<div class="name">{self.te(k["term"])}</div>'
                f'<div class="value">{self.e(self.number(k["value"], k["unit"]))}</div>'
                f'<div class="src">{self.te("source")}: {source}</div>'
                f'<div class="limit">{limit} {badge}</div>'
                f'<div class="trend">{trend} {svg.sparkline(k["series"])}</div>'
                f'<div class="rule">{self.e(k["rule"])}</div></div>'
            )
        previous = self.doc["inputs"]["previous"]
        since = (f'{self.te("trend")}: {self.e(previous["asOf"])}' if previous else self.te("no-history"))
        return f'<h2>{self.te("kpis")} <small>({since})</small></h2><div class="kpis">{"".join(cards)}</div>'

    def caption(self, *parts: tuple[str, str]) -> str:
        """Where each figure in a picture came from: (what, source text) pairs."""
        return "<figcaption>" + " · ".join(f"{self.e(what)}: {self.e(src)}" for what, src in parts) + "</figcaption>"

    def pictures(self) -> str:
        d = self.doc
        estate, thresholds = d["estate"]["file"], d["inputs"].get("thresholds") or "—"
        verify = d["inputs"]["verify"] or self.t("no-verify-given")
        catalogue = f'{self.t("src-catalogue")} ({estate})'
        figs = []
        pue_th = next((k["threshold"] for k in d["kpis"] if k["id"] == "pue"), None)
        figs.append(svg.pue_chart(d["sites"], pue_th, self.t) + self.caption(
            (self.t("v-pue"), catalogue), (self.t("src-threshold"), f"{thresholds}: pue.max")))
        if d["sdwan"]:
            lat_th = next((k["threshold"] for k in d["kpis"] if k["id"] == "sdwan-budget"), None)
            figs.append(svg.latency_chart(d["sdwan"]["links"], lat_th, self.t) + self.caption(
                (self.t("budget"), catalogue), (self.t("measured"), f'{self.t("src-verify")} ({verify})'),
                (self.t("src-threshold"), f"{thresholds}: sdwan.maxLatencyMs")))
            figs.append(svg.sdwan_topology(d["sdwan"], d["sites"], self.t) + self.caption(
                (self.t("sdwan-topology"), catalogue), (self.t("measured"), f'{self.t("src-verify")} ({verify})'))
                .replace("</figcaption>", f'<br>{self.te("link-labels")}</figcaption>'))
        figs.append(svg.tiers_grid(d["tiers"], self.t) + self.caption((self.t("tiers-by-region"), catalogue)))
        return f'<h2>{self.te("pictures")}</h2><div class="pictures">' + "".join(f"<figure>{f}</figure>" for f in figs) + "</div>"

    def node_kind(self, kind: str | None) -> str:
        return self.te("not-run") if kind is None else self.te(kind) if kind == "simulated (kwok)" else self.e(kind)

    def clusters(self) -> str:
        """Each cluster: its nodes as verify found them (simulated ones said so), then its verify lines."""
        out = []
        for c in self.doc.get("clusters") or []:
            nodes = "".join(f'<tr><td><code>{self.e(n["name"])}</code></td><td>{self.node_kind(n["kind"])}</td>'
                            f'<td>{self.badge(n["status"])}</td></tr>' for n in c["nodes"])
            out.append(
                f'<h3>{self.e(c["name"])} <small>{self.te("version")} {self.e(c["version"])} · {self.te("control-plane")}: '
                f'{self.e(", ".join(c["controlPlane"]) or "—")}</small></h3>'
                f'<table class="members"><tr><th>{self.te("col-node")}</th><th>{self.te("col-node-kind")}</th>'
                f'<th>{self.te("col-status")}</th></tr>{nodes}</table>'
                + (self.evidence(c["verify"]) if c["verify"] else f'<p>{self.te("no-k8s-lines")}</p>'))
        return f'<h2>{self.te("k8s-clusters")}</h2>' + "".join(out) if out else ""

    def values(self, items: list[dict[str, Any]]) -> str:
        """Values grouped by what they are: the label once, then target → value lines."""
        if not items:
            return "—"
        groups: dict[str, list[dict[str, Any]]] = {}
        for v in items:
            groups.setdefault(v["term"], []).append(v)
        out = []
        for term, vs in groups.items():
            lines = []
            for v in vs[:30]:
                cls = ' class="s-fail"' if v.get("status") == "fail" else ""
                target = v["target"].split("/", 1)[-1]
                lines.append(f'<tr{cls}><td><code title="{self.e(v["target"])}">{self.e(target)}</code></td><td>{self.e(v["value"])}</td></tr>')
            if len(vs) > 30:
                lines.append(f"<tr><td colspan=2>… +{len(vs) - 30}</td></tr>")
            out.append(f'<div class="term">{self.te(term)} · {self.source(vs[0].get("source", "catalogue"))}</div>'
                       f'<table class="kv">{"".join(lines)}</table>')
        return "".join(out)

    def stage_cell(self, part: dict[str, Any]) -> str:
        counts = ", ".join(f"{self.t(k)} {v}" for k, v in part["counts"].items() if v)
        return self.badge(part["status"]) + (f' <span class="counts-inline">{self.e(counts)}</span>' if counts else "")

    def waivers(self, ws: list[dict[str, Any]]) -> str:
        if not ws:
            return "—"
        out = []
        for w in ws:
            cls = "waiver expired" if w["expired"] else "waiver"
            state = f' <b>{self.te("expired")}</b>' if w["expired"] else ""
            out.append(f'<div class="{cls}"><code>{self.e(w["target"])}</code> — {self.te("expires")} {self.e(w["expires"] or "—")}{state}'
                       f'<br>{self.te("approver")}: {self.e(w["approver"] or "—")}; {self.e(w["justification"] or "—")} '
                       f'{self.location(w.get("location"))}</div>')
        return "".join(out)

    def evidence_item(self, e: dict[str, Any]) -> str:
        cls = f' class="s-{self.e(e["status"])}"' if e["status"] == "fail" else ""
        if e["kind"] == "finding":
            severity = f' <span class="sev">[{self.e(e["severity"])}]</span>' if e.get("severity") and e["status"] != "pass" else ""
            return (f'<li{cls}>{self.badge(e["status"])} <code>{self.e(e["rule"])}</code>{severity} {self.location(e["location"])} '
                    f'<code>{self.e(e["target"])}</code> {self.e(message(e, self.lang))}</li>')
        host = f' @ <code>{self.e(e["host"])}</code>' if e.get("host") else ""
        return (f'<li{cls}>{self.badge(e["status"])} verify <code class="test">{self.e(e["test"])}</code>{host} '
                f'{self.e(e["message"])}</li>')

    def evidence(self, items: list[dict[str, Any]]) -> str:
        if not items:
            return "—"
        important = [e for e in items if e["status"] != "pass"]
        passes = [e for e in items if e["status"] == "pass"]
        out = "".join(self.evidence_item(e) for e in important)
        html = f'<ul class="evidence">{out}</ul>' if out else ""
        if passes:
            shown = "".join(self.evidence_item(e) for e in passes[:PASS_SHOWN])
            more = f"<li>… +{len(passes) - PASS_SHOWN} (report.json)</li>" if len(passes) > PASS_SHOWN else ""
            html += (f'<details><summary>{self.te("pass")}: {len(passes)}</summary>'
                     f'<ul class="evidence">{shown}{more}</ul></details>')
        return html

    def members(self, members: list[dict[str, Any]]) -> str:
        if not members:
            return ""
        rows = "".join(
            f'<tr class="s-{self.e(m["status"])}" id="{self.e(m["id"])}"><td class="id">{self.e(m["id"])}</td>'
            f'<td class="req">{self.bilingual(m["requirement"]["zh"], m["requirement"]["en"])}</td>'
            f'<td>{self.stage_cell(m["plan"])}</td><td>{self.stage_cell(m["verify"])}</td>'
            f'<td>{self.badge(m["status"])}</td></tr>'
            for m in members
        )
        bad = sum(1 for m in members if m["status"] == "fail")
        return (f'<details{" open" if bad else ""}><summary>{self.te("members")}: {len(members)}</summary>'
                f'<table class="members"><tr><th>{self.te("col-id")}</th><th>{self.te("col-requirement")}</th>'
                f'<th>{self.te("col-plan")}</th><th>{self.te("col-verify")}</th><th>{self.te("col-status")}</th></tr>{rows}</table></details>')

    def result_cell(self, r: dict[str, Any]) -> str:
        """Overall result, then the plan (policy) and verify results it comes from."""
        return (f'{self.badge(r["status"])}'
                f'<div class="stage"><span class="stage-name">{self.te("col-plan")}</span> {self.stage_cell(r["plan"])}</div>'
                f'<div class="stage"><span class="stage-name">{self.te("col-verify")}</span> {self.stage_cell(r["verify"])}</div>'
                + self.gaps(r["verify"]))

    def clauses(self) -> str:
        columns = ("col-id", "col-requirement", "col-threshold", "col-values", "col-status", "col-waiver", "col-evidence")
        head = "".join(f"<th>{self.te(c)}</th>" for c in columns)
        rows = []
        for r in self.doc["clauses"]:
            rows.append(
                f'<tr class="row s-{self.e(r["status"])}" id="{self.e(r["id"])}" data-status="{self.e(r["status"])}">'
                f'<td class="id">{self.e(r["id"])}</td>'
                f'<td class="req">{self.bilingual(r["requirement"]["zh"], r["requirement"]["en"])}</td>'
                f'<td class="th">{self.threshold(r["threshold"])}</td><td class="vals">{self.values(r["values"])}</td>'
                f'<td class="res">{self.result_cell(r)}</td><td class="wv">{self.waivers(r["waivers"])}</td>'
                f'<td class="ev">{self.evidence(r["evidence"])}</td></tr>'
            )
            if r["members"]:
                rows.append(f'<tr class="members-row s-{self.e(r["status"])}"><td></td><td colspan="{len(columns) - 1}">'
                            f'{self.members(r["members"])}</td></tr>')
        return (f'<h2>{self.te("clauses")} <small>({self.te("failed-first")})</small></h2>'
                f'<table class="clauses"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>')

    def notes(self) -> str:
        notes = self.doc["notes"]
        if not notes:
            return ""
        return f'<h2>{self.te("notes")}</h2><ul class="notes">' + "".join(f"<li>{self.e(n)}</li>" for n in notes) + "</ul>"

    def page(self) -> str:
        lang_attr = "en" if self.lang == "en" else "zh-CN"
        title = f'{self.t("title")} — {self.doc["estate"]["name"]} — {self.doc["asOf"]}'
        return (
            f'<!DOCTYPE html><html lang="{lang_attr}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
            f'<meta name="generator" content="{self.e(self.doc["generator"])}">'
            f"<title>{self.e(title)}</title><style>{CSS}</style></head><body>"
            + self.header() + self.kpis() + self.pictures() + self.clusters() + self.clauses() + self.notes()
            + f'<footer>{self.e(self.doc["generator"])} · {self.e(self.doc["schemaVersion"])} · report.json / report.md</footer>'
            + "</main></body></html>\n"
        )


def render_html(doc: dict[str, Any], lang: Lang = "both", source_url: str | None = None) -> str:
    return Renderer(doc, lang, source_url).page()

