"""The report's pictures, drawn as inline SVG from the report document (no graphviz, no JS).

Every function takes plain data (parts of ``report.json``) and returns one ``<svg>`` element
as a string. Colours carry status: green pass, red fail, amber waived, grey unknown.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any, Callable

COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "waived": "#bf8700", "unknown": "#8c959f"}
TIER_COLOURS = {"backbone": "#0a3069", "edge": "#0969da", "mobile": "#8250df"}
Label = Callable[[str], str]


def _e(text: Any) -> str:
    return escape(str(text), quote=True)


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _svg(width: float, height: float, body: list[str], title: str, cls: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {cls}" viewBox="0 0 {_num(width)} {_num(height)}" '
        f'width="{_num(width)}" height="{_num(height)}" role="img" aria-label="{_e(title)}"><title>{_e(title)}</title>'
        + "".join(body)
        + "</svg>"
    )


# --------------------------------------------------------------------------- bar charts


def bar_chart(groups: list[dict[str, Any]], series: list[tuple[str, str, str]], *, threshold: float | None,
              title: str, unit: str, floor: float = 0.0, threshold_label: str = "", site_limit_label: str = "",
              cls: str = "bars") -> str:
    """Grouped vertical bars with a threshold line.

    ``groups``: ``{"label", "values": {series key: number|None}, "threshold"?: number, "status"?}``;
    ``series``: (key, legend text, colour). A group's own threshold (per-site PUE limits) is
    drawn as a short dark tick over its bars.
    """
    n = max(len(groups), 1)
    per = max(len(series), 1)
    bar_w, gap = 16, 18
    longest = max((len(str(g["label"])) for g in groups), default=4)
    label_drop = int(6.2 * longest * 0.6) + 18  # rotated labels need room below and to the left
    left, top, right = max(48, label_drop - 10), 44, 16
    bottom = label_drop + 8
    group_w = per * bar_w + gap
    width = max(left + right + n * group_w, 360, text_width(title, 13) + 16)
    group_w = (width - left - right) / n  # spread the groups over the width
    height = 200 + top + bottom
    plot_h = height - top - bottom
    values = [v for g in groups for v in g["values"].values() if v is not None]
    limits = [g.get("threshold") for g in groups if g.get("threshold") is not None] + ([threshold] if threshold else [])
    reach = (max(values + limits + [floor + 1e-9]) - floor) * 1.08
    step = _nice_step(reach / 5)
    ceiling = floor + math.ceil(reach / step - 1e-9) * step

    def y(v: float) -> float:
        return top + plot_h - (max(v, floor) - floor) / (ceiling - floor) * plot_h

    body = [f'<text x="8" y="16" class="chart-title">{_e(title)}</text>']
    lx = 8
    for key, legend, colour in series:  # legend under the title
        body.append(f'<rect x="{lx}" y="24" width="10" height="10" fill="{colour}"/>'
                    f'<text x="{lx + 14}" y="33" class="axis">{_e(legend)}</text>')
        lx += 24 + 7 * len(legend)
    if any(g.get("threshold") is not None for g in groups):  # sites held to their own (override) limit
        body.append(f'<line x1="{lx}" x2="{lx + 14}" y1="29" y2="29" class="site-limit"/>'
                    f'<text x="{lx + 18}" y="33" class="axis">{_e(site_limit_label)}</text>')
    v = floor
    while v <= ceiling + step / 2:  # grid and axis labels
        body.append(f'<line x1="{left}" x2="{_num(width - right)}" y1="{_num(y(v))}" y2="{_num(y(v))}" class="grid"/>')
        body.append(f'<text x="{left - 6}" y="{_num(y(v) + 4)}" class="axis" text-anchor="end">{_e(_tick(v))}</text>')
        v += step
    for gi, g in enumerate(groups):
        x0 = left + gi * group_w + (group_w - per * bar_w) / 2
        for si, (key, legend, colour) in enumerate(series):
            v = g["values"].get(key)
            if v is None:
                continue
            fill = COLOURS["fail"] if g.get("over", {}).get(key) else colour
            h = top + plot_h - y(v)
            body.append(
                f'<rect x="{_num(x0 + si * bar_w)}" y="{_num(y(v))}" width="{bar_w - 2}" height="{_num(max(h, 0.5))}" '
                f'fill="{fill}" class="bar"><title>{_e(g["label"])} {_e(legend)}: {_e(_tick(v))}{_e(unit)}</title></rect>'
            )
        if g.get("threshold") is not None:
            ty = y(g["threshold"])
            body.append(f'<line x1="{_num(x0 - 3)}" x2="{_num(x0 + per * bar_w + 1)}" y1="{_num(ty)}" y2="{_num(ty)}" class="site-limit">'
                        f'<title>{_e(g["label"])} {_e(threshold_label)}: {_e(_tick(g["threshold"]))}</title></line>')
        lx = x0 + per * bar_w / 2
        body.append(f'<text x="{_num(lx)}" y="{height - bottom + 14}" class="axis" text-anchor="end" '
                    f'transform="rotate(-35 {_num(lx)} {height - bottom + 14})">{_e(g["label"])}</text>')
    if threshold is not None:
        ty = y(threshold)
        body.append(f'<line x1="{left}" x2="{_num(width - right)}" y1="{_num(ty)}" y2="{_num(ty)}" class="threshold"/>')
        body.append(f'<text x="{_num(width - right)}" y="{_num(ty - 4)}" class="threshold-label" text-anchor="end">'
                    f'{_e(threshold_label)} {_e(_tick(threshold))}{_e(unit)}</text>')
    return _svg(width, height, body, title, cls)


def text_width(text: str, size: float = 11) -> float:
    """Rough width of a label: CJK glyphs are square, Latin ones about half as wide."""
    return sum(size if ord(ch) >= 0x2E80 else size * 0.56 for ch in text)


def _nice_step(raw: float) -> float:
    """1, 2, 2.5 or 5 times a power of ten: axis ticks people can read."""
    if raw <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * power:
            return m * power
    return 10 * power


def _tick(v: float) -> str:
    if abs(v) >= 100:
        return f"{v:.0f}"
    return f"{v:.2f}".rstrip("0").rstrip(".")


def pue_chart(sites: list[dict[str, Any]], threshold: float | None, label: Label) -> str:
    groups = []
    for s in sites:
        p = s["pue"]
        groups.append({
            "label": s["name"],
            "values": {"design": p["design"], "measured": p["measured"]},
            "threshold": p["threshold"] if p["threshold"] != threshold else None,
            "over": {k: (p[k] is not None and p[k] > p["threshold"]) for k in ("design", "measured")},
        })
    return bar_chart(groups, [("design", label("design"), "#6e7781"), ("measured", label("measured"), "#0969da")],
                     threshold=threshold, title=label("pue-chart"), unit="", floor=1.0, threshold_label=label("threshold"),
                     site_limit_label=label("site-limit"), cls="pue-chart")


def latency_chart(links: list[dict[str, Any]], threshold: float | None, label: Label) -> str:
    groups = [{
        "label": f"{l['a']}~{l['b']}",
        "values": {"budget": l["budgetMs"], "measured": l["measuredMs"]},
        "over": {"budget": threshold is not None and (l["budgetMs"] or 0) > threshold,
                 "measured": threshold is not None and (l["measuredMs"] or 0) > threshold},
    } for l in links]
    return bar_chart(groups, [("budget", label("budget"), "#6e7781"), ("measured", label("measured"), "#0969da")],
                     threshold=threshold, title=label("latency-chart"), unit=" ms", threshold_label=label("threshold"),
                     cls="latency-chart")


# --------------------------------------------------------------------------- SD-WAN topology


def sdwan_topology(sdwan: dict[str, Any], sites: list[dict[str, Any]], label: Label) -> str:
    """Hubs in the middle, the other sites on a ring around them; links coloured by status.

    A link is green only when it was measured within the limit, grey when nobody measured it,
    red over the limit or unencrypted. Its label is the measured one-way latency, or "≤ budget"
    (the catalogue's figure) when it was not measured.
    """
    tier = {s["name"]: s["tier"] for s in sites}
    names = list(dict.fromkeys([*sdwan["hubs"], *(x for l in sdwan["links"] for x in (l["a"], l["b"]))]))
    hubs = [n for n in names if n in sdwan["hubs"]]
    spokes = [n for n in names if n not in sdwan["hubs"]]
    width, height = 700, 500
    cx, cy = width / 2, 250
    pos: dict[str, tuple[float, float]] = {}
    for i, h in enumerate(hubs):  # hubs on a small inner ring (a line for two)
        if len(hubs) <= 2:
            pos[h] = (cx + (i - (len(hubs) - 1) / 2) * 220, cy)
        else:
            a = -math.pi / 2 + 2 * math.pi * i / len(hubs)
            pos[h] = (cx + 120 * math.cos(a), cy + 70 * math.sin(a))
    radius_x, radius_y = 300, 185
    # Spokes on an outer ring; a spoke sits on the side of the hubs it links to (fewer crossings).
    slots = [-math.pi / 2 + 2 * math.pi * (i + 0.5) / max(len(spokes), 1) for i in range(len(spokes))]
    slots.sort(key=lambda a: (round(math.cos(a), 6), math.sin(a)))

    def affinity(site: str) -> float:
        xs = [pos[h][0] for l in sdwan["links"] for h in (l["a"], l["b"]) if site in (l["a"], l["b"]) and h in pos]
        return sum(xs) / len(xs) if xs else cx

    for s, angle in zip(sorted(spokes, key=lambda n: (affinity(n), n)), slots):
        pos[s] = (cx + radius_x * math.cos(angle), cy + radius_y * math.sin(angle))
    body = [f'<text x="12" y="18" class="chart-title">{_e(label("sdwan-topology"))} ({_e(sdwan["topology"])})</text>']
    for l in sdwan["links"]:
        (x1, y1), (x2, y2) = pos[l["a"]], pos[l["b"]]
        colour = COLOURS.get(l["status"], COLOURS["unknown"])
        dash = ' stroke-dasharray="6 4"' if l["encryption"] == "ipsec" else ""
        parts = [f"{label('budget')} {_tick(l['budgetMs'])} ms" if l["budgetMs"] is not None else None,
                 f"{label('measured')} {_tick(l['measuredMs'])} ms" if l["measuredMs"] is not None else None,
                 l["encryption"]]
        tip = f"{l['a']} ~ {l['b']}: " + ", ".join(p for p in parts if p)
        body.append(f'<line x1="{_num(x1)}" x2="{_num(x2)}" y1="{_num(y1)}" y2="{_num(y2)}" stroke="{colour}" '
                    f'stroke-width="3"{dash} class="link link-{_e(l["status"])}" data-link="{_e(l["a"])}~{_e(l["b"])}">'
                    f'<title>{_e(tip)}</title></line>')
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        if l["measuredMs"] is not None:  # the label says which figure it is: a measurement, or only the budget
            text = f"{_tick(l['measuredMs'])} ms"
        else:
            text = f"≤ {_tick(l['budgetMs'])} ms" if l["budgetMs"] is not None else "?"
        body.append(f'<text x="{_num(mx)}" y="{_num(my - 3)}" class="link-label" text-anchor="middle">{_e(text)}</text>')
    for name, (x, y) in pos.items():
        is_hub = name in sdwan["hubs"]
        fill = TIER_COLOURS.get(tier.get(name, ""), "#57606a")
        r = 17 if is_hub else 12
        ring = f'<circle cx="{_num(x)}" cy="{_num(y)}" r="{r + 4}" fill="none" stroke="{fill}" stroke-width="2"/>' if is_hub else ""
        body.append(f'<g class="node" data-site="{_e(name)}">{ring}<circle cx="{_num(x)}" cy="{_num(y)}" r="{r}" fill="{fill}">'
                    f'<title>{_e(name)} ({_e(label(tier.get(name, "")))}{", " + _e(label("hub")) if is_hub else ""})</title></circle>'
                    f'<text x="{_num(x)}" y="{_num(y - r - 8 if is_hub else y + r + 15)}" class="node-label" '
                    f'text-anchor="middle">{_e(name)}</text></g>')
    lx = 12
    for key in ("pass", "fail", "unknown"):
        body.append(f'<line x1="{lx}" x2="{lx + 22}" y1="{height - 30}" y2="{height - 30}" stroke="{COLOURS[key]}" stroke-width="3"/>'
                    f'<text x="{lx + 26}" y="{height - 26}" class="axis">{_e(label(key))}</text>')
        lx += 34 + 7 * len(label(key))
    body.append(f'<line x1="{lx}" x2="{lx + 22}" y1="{height - 30}" y2="{height - 30}" stroke="#57606a" stroke-width="3" stroke-dasharray="6 4"/>'
                f'<text x="{lx + 26}" y="{height - 26}" class="axis">IPsec</text>')
    lx = 12
    for t, colour in TIER_COLOURS.items():
        body.append(f'<circle cx="{lx + 5}" cy="{height - 12}" r="5" fill="{colour}"/><text x="{lx + 14}" y="{height - 8}" class="axis">{_e(label(t))}</text>')
        lx += 26 + 7 * len(label(t))
    body.append(f'<circle cx="{lx + 5}" cy="{height - 12}" r="5" fill="none" stroke="#57606a" stroke-width="2"/>'
                f'<text x="{lx + 14}" y="{height - 8}" class="axis">{_e(label("hub"))}</text>')
    return _svg(width, height, body, label("sdwan-topology"), "sdwan-topology")


# --------------------------------------------------------------------------- tiers by region


def tiers_grid(tiers: dict[str, Any], label: Label) -> str:
    """Regions as columns, the three tiers as rows; each cell lists its sites."""
    regions = list(tiers["matrix"])
    rows = ["backbone", "edge", "mobile"]
    col_w, row_h, left, top = 136, 62, 116, 48
    width = left + col_w * len(regions) + 12
    height = top + row_h * len(rows) + 44
    body = [f'<text x="12" y="18" class="chart-title">{_e(label("tiers-by-region"))}</text>']
    for ci, region in enumerate(regions):
        x = left + ci * col_w
        in_scope = region in tiers["regionsInScope"]
        covered = any(tiers["matrix"][region][t] for t in rows)
        head = region + ("" if in_scope else f" ({label('out-of-scope')})")
        body.append(f'<text x="{x + col_w / 2}" y="{top - 10}" class="axis head" text-anchor="middle">{_e(head)}</text>')
        status = "pass" if covered else ("fail" if in_scope else "unknown")
        body.append(f'<rect x="{x + 4}" y="{top + row_h * len(rows) + 6}" width="{col_w - 8}" height="6" rx="3" fill="{COLOURS[status]}">'
                    f'<title>{_e(region)}: {_e(label(status))}</title></rect>')
        for ri, t in enumerate(rows):
            y = top + ri * row_h
            names = tiers["matrix"][region][t]
            fill = TIER_COLOURS[t] if names else "#f6f8fa"
            opacity = "0.14" if names else "1"
            body.append(f'<rect x="{x + 4}" y="{y + 4}" width="{col_w - 8}" height="{row_h - 8}" rx="6" fill="{fill}" '
                        f'fill-opacity="{opacity}" stroke="{TIER_COLOURS[t] if names else "#d0d7de"}" class="cell" '
                        f'data-region="{_e(region)}" data-tier="{t}"/>')
            for ni, name in enumerate(names[:3]):
                body.append(f'<text x="{x + col_w / 2}" y="{y + 24 + ni * 14}" class="cell-label" text-anchor="middle">{_e(name)}</text>')
            if len(names) > 3:
                body.append(f'<text x="{x + col_w / 2}" y="{y + row_h - 8}" class="axis" text-anchor="middle">+{len(names) - 3}</text>')
    body.append(f'<text x="12" y="{top + row_h * len(rows) + 13}" class="axis">{_e(label("covered"))}</text>')
    for ri, t in enumerate(rows):
        y = top + ri * row_h + row_h / 2 + 4
        pct = f"{tiers['byTier'][t] * 100:.0f}%"
        body.append(f'<text x="12" y="{y}" class="axis head" fill="{TIER_COLOURS[t]}">{_e(label(t))}</text>'
                    f'<text x="12" y="{y + 14}" class="axis">{_e(pct)}</text>')
    return _svg(width, height, body, label("tiers-by-region"), "tiers-grid")


# --------------------------------------------------------------------------- trend


def sparkline(series: list[dict[str, Any]], width: int = 90, height: int = 22) -> str:
    """Small line of a KPI over the previous reports and this one (needs two points)."""
    if len(series) < 2:
        return ""
    vs = [p["value"] for p in series]
    lo, hi = min(vs), max(vs)
    span = hi - lo or 1.0
    pts = [(2 + i * (width - 4) / (len(vs) - 1), height - 3 - (v - lo) / span * (height - 6)) for i, v in enumerate(vs)]
    path = " ".join(f"{_num(x)},{_num(y)}" for x, y in pts)
    x, y = pts[-1]
    tip = ", ".join(f"{p['asOf']}: {_tick(p['value'])}" for p in series)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
            f'<title>{_e(tip)}</title><polyline points="{path}" fill="none" stroke="#0969da" stroke-width="1.5"/>'
            f'<circle cx="{_num(x)}" cy="{_num(y)}" r="2.5" fill="#0969da"/></svg>')
