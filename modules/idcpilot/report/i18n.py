"""Bilingual labels (中文 / English) for the report's own words.

Clause wording lives in ``clauses.yaml``; these are the headings, column names, statuses and
value labels. ``--lang both`` shows Chinese first, since the assessors read Chinese.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from idcpilot.yamlsource import load_yaml_file

Lang = Literal["zh", "en", "both"]

TERMS: dict[str, tuple[str, str]] = {
    # page
    "title": ("试点评估证据报告", "Pilot assessment evidence report"),
    "estate": ("资产目录", "Estate"),
    "organisation": ("试点企业", "Pilot enterprise"),
    "sites": ("站点", "sites"),
    "hosts": ("主机", "hosts"),
    "as-of": ("评估日期", "Assessment date"),
    "generated": ("生成时间", "Generated"),
    "inputs": ("数据来源", "Inputs"),
    "gate": ("策略门禁", "Policy gate"),
    "kpis": ("关键指标", "Key performance indicators"),
    "clauses": ("逐条符合性", "Clause by clause"),
    "pictures": ("拓扑与覆盖", "Topology and coverage"),
    "sdwan-topology": ("SD-WAN 拓扑", "SD-WAN topology"),
    "tiers-by-region": ("分区域三级云部署", "Tiers by region"),
    "pue-chart": ("各站点 PUE", "PUE per site"),
    "latency-chart": ("SD-WAN 链路时延(预算 / 实测)", "SD-WAN link latency (budget / measured)"),
    "trend": ("对比上次报告", "compared with the report of"),
    "no-history": ("无历史报告", "no previous report"),
    "previous": ("上次", "previous"),
    "failed-first": ("未通过条目排在最前", "failed rows first"),
    "findings-source": ("策略检查结果", "policy findings"),
    "verify-source": ("上线验证结果", "verification results"),
    "history-source": ("历史报告", "previous reports"),
    "not-given": ("未提供", "not given"),
    "notes": ("说明", "Notes"),
    "thresholds-source": ("阈值文件", "thresholds"),
    # provenance: what ties the report to its inputs
    "provenance": ("溯源", "Provenance"),
    "estate-sha256": ("资产目录文件 SHA-256", "estate file sha256"),
    "commit": ("代码提交", "commit"),
    "tool-version": ("工具版本", "tool"),
    "not a git checkout": ("非 git 检出目录", "not a git checkout"),
    "estate-modified": ("资产目录文件含未提交修改", "estate file has uncommitted changes"),
    # where a figure came from
    "source": ("来源", "source"),
    "src-catalogue": ("资产目录申报值", "catalogue value"),
    "src-verify": ("上线验证实测", "verify measurement"),
    "src-threshold": ("阈值", "threshold"),
    "src-plan": ("规划检查", "plan"),
    "no-verify-given": ("未提供验证结果", "no verify results given"),
    "link-labels": ("链路标注:实测单向时延;未测量时为“≤ 预算”", "link labels: measured one-way latency, or “≤ budget” where not measured"),
    # columns
    "col-id": ("编号", "Id"),
    "col-requirement": ("要求", "Requirement"),
    "col-threshold": ("阈值", "Threshold"),
    "col-values": ("实测 / 申报值", "Measured / declared"),
    "col-plan": ("规划检查", "Plan"),
    "col-verify": ("上线验证", "Verify"),
    "col-status": ("结论", "Result"),
    "col-waiver": ("豁免", "Waiver"),
    "col-evidence": ("证据", "Evidence"),
    "col-kpi": ("指标", "KPI"),
    "col-value": ("数值", "Value"),
    "col-change": ("变化", "Change"),
    "members": ("子项", "member rules"),
    # Kubernetes clusters: hosts, how each node was verified, the verify lines of the k8s suites
    "k8s-clusters": ("Kubernetes 边缘集群", "Kubernetes edge clusters"),
    "control-plane": ("控制平面", "control plane"),
    "version": ("版本", "version"),
    "col-node": ("节点", "Node"),
    "col-node-kind": ("核验所见", "As verified"),
    "simulated (kwok)": ("模拟节点(kwok),未作为真实节点验证", "simulated (kwok), not verified as a real node"),
    "no-k8s-lines": ("无 Kubernetes 验证结果", "no Kubernetes verify results"),
    "more": ("更多", "more"),
    "expires": ("到期", "expires"),
    "expired": ("已过期", "expired"),
    "approver": ("批准人", "approver"),
    "justification": ("理由", "justification"),
    # statuses
    "pass": ("通过", "pass"),
    "fail": ("未通过", "fail"),
    "waived": ("已豁免", "waived"),
    "not-applicable": ("不适用", "not applicable"),
    "not-checked": ("未检查", "not checked"),
    "skipped": ("跳过", "skipped"),
    "not-run": ("未验证", "not verified"),
    "not-verified": ("未验证", "not verified"),
    "partial": ("部分验证", "partly verified"),
    "verified-of": ("已验证", "verified"),
    "not-covered": ("未覆盖", "not covered"),
    "gap-hosts": ("主机", "hosts"),
    "gap-links": ("链路", "links"),
    "gap-members": ("子项", "member rules"),
    "gap-measurements": ("测量值", "measurements"),
    "unknown": ("未测量", "not measured"),
    "no-threshold": ("阈值未配置", "no threshold configured"),
    "passed": ("通过", "passed"),
    "failed": ("未通过", "failed"),
    # KPIs
    "kpi-automation": ("自动化运维率", "Automation rate"),
    "kpi-cdn": ("CDN 节点数", "CDN nodes"),
    "kpi-coverage": ("区域服务覆盖率", "Regional coverage"),
    "kpi-pue": ("最高 PUE", "Highest PUE"),
    "kpi-sdwan-budget": ("SD-WAN 最大时延预算", "SD-WAN largest latency budget"),
    "kpi-sdwan-measured": ("SD-WAN 最大实测时延", "SD-WAN largest measured latency"),
    "kpi-zt": ("零信任访问控制准确率", "Zero-trust access-control accuracy"),
    "kpi-encryption": ("敏感数据加密率", "Sensitive-data encryption"),
    "kpi-drills": ("近12个月攻防演练", "Drills in the last 12 months"),
    # tiers
    "backbone": ("骨干云", "backbone"),
    "edge": ("边缘云", "edge"),
    "mobile": ("移动云", "mobile"),
    "region": ("区域", "region"),
    "out-of-scope": ("范围外", "out of scope"),
    "covered": ("已覆盖", "covered"),
    "hub": ("枢纽", "hub"),
    "threshold": ("阈值", "threshold"),
    "site-limit": ("站点类别阈值", "site-class limit"),
    "design": ("设计", "design"),
    "measured": ("实测", "measured"),
    "budget": ("预算", "budget"),
    "encryption": ("加密", "encryption"),
    # value labels (clause rows)
    "v-pue": ("设计 / 实测 PUE", "design / measured PUE"),
    "v-automation": ("自动化 / 全部(主机与组件)", "automated / all (hosts and components)"),
    "v-manual": ("人工运维主机", "hosts run by hand"),
    "v-eligible-clusters": ("可调度集群(不同站点/云)", "eligible clusters (distinct sites/providers)"),
    "v-link-budget": ("时延预算(单向)", "latency budget (one-way)"),
    "v-link-measured": ("实测时延(单向,RTT/2)", "measured latency (one-way, RTT/2)"),
    "v-link-encryption": ("链路加密", "link encryption"),
    "v-overlay-connected": ("覆盖网络连通", "overlay connected"),
    "v-radius": ("覆盖半径", "coverage radius"),
    "v-cdn": ("CDN 节点", "CDN nodes"),
    "v-support": ("服务时段 / 响应时间", "hours / response time"),
    "v-level": ("服务等级", "service level"),
    "v-monitoring": ("资源监控", "resource monitoring"),
    "v-gateway": ("零信任网关 / 默认拒绝", "zero-trust gateway / default deny"),
    "v-zt-accuracy": ("访问控制准确率(实测)", "access-control accuracy (measured)"),
    "v-sync": ("同步周期", "sync interval"),
    "v-classification": ("数据级别", "classification"),
    "v-encrypted": ("静态 / 传输加密", "encrypted at rest / in transit"),
    "v-domain": ("数据域 / 副本与备份站点", "data domain / replica and backup sites"),
    "v-retention": ("审计日志留存", "audit log retention"),
    "v-emergency": ("负责人 / 处置时效", "owner / handling objective"),
    "v-drills": ("演练日期", "drill date"),
    "v-coverage": ("区域覆盖", "regions covered"),
    "v-bastion": ("堡垒机 / 双因素", "bastion / two-factor"),
    "v-hosts": ("纳管主机", "hosts in scope"),
    "v-secrets": ("Secret 静态加密", "Secrets encrypted at rest"),
    "v-workloads": ("服务 / 集群", "services / clusters"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "none": ("无", "none"),
}


#: Captures whose words are translated too (see messages.zh.yaml).
WORDY_GROUPS = ("key", "src", "issues")
UNTRANSLATED = ("英文原文", "English original")


@lru_cache(maxsize=1)
def _messages() -> tuple[list[tuple[re.Pattern[str], str]], dict[str, str]]:
    data = load_yaml_file(Path(__file__).resolve().parent / "messages.zh.yaml")[0]
    return [(re.compile(m["en"]), m["zh"]) for m in data["messages"]], dict(data.get("words") or {})


def message_zh(english: str) -> str | None:
    """The Chinese wording of a finding message, or None when no entry of messages.zh.yaml fits."""
    patterns, words = _messages()
    for pattern, template in patterns:
        match = pattern.fullmatch(english)
        if match is None:
            continue
        groups = dict(match.groupdict())
        for name in WORDY_GROUPS:
            if groups.get(name):
                for en, zh in words.items():
                    groups[name] = groups[name].replace(en, zh)
        return template.format(**groups)
    return None


def message(evidence: dict[str, Any], lang: Lang) -> str:
    """A finding's message in the report's language; verify messages (tool output) stay as written.

    Without a Chinese entry the English is shown, marked so in ``zh`` (never dropped or guessed).
    """
    english = evidence.get("message") or ""
    if lang == "en" or not english or evidence.get("kind") != "finding":
        return english
    zh = message_zh(english)
    if zh is None:
        return english if lang == "both" else f"{english}({UNTRANSLATED[0]})"
    return zh if lang == "zh" else f"{zh} / {english}"


def text(term: str, lang: Lang) -> str:
    """Plain text for a term: '中文 / English' when both."""
    zh, en = TERMS.get(term, (term, term))
    return pair(zh, en, lang)


def pair(zh: str, en: str, lang: Lang) -> str:
    if lang == "zh":
        return zh
    if lang == "en":
        return en
    return zh if zh == en else f"{zh} / {en}"
