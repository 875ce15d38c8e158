"""The lab's private bridge and its nftables table (named from the estate).

The bridge carries the estate's management supernet(s); the table makes sure nothing is
forwarded between the bridge and any other interface, so lab hosts never reach other networks.
"""

from __future__ import annotations

from pathlib import Path

from idcpilot.lab.layout import LabPlan
from idcpilot.lab.system import ok, run


def link_exists(name: str) -> bool:
    return Path(f"/sys/class/net/{name}").exists()


def nft_rules(plan: LabPlan) -> str:
    br = plan.bridge
    return f"""\
table inet {plan.nft_table} {{
    chain forward {{
        type filter hook forward priority filter - 10; policy accept;
        iifname "{br}" oifname != "{br}" counter drop comment "lab hosts never route out"
        oifname "{br}" iifname != "{br}" counter drop comment "nothing routes into the lab"
    }}
}}
"""


def table_exists(name: str) -> bool:
    return ok(["nft", "list", "table", "inet", name])


def up(plan: LabPlan) -> None:
    if not link_exists(plan.bridge):
        run(["ip", "link", "add", plan.bridge, "type", "bridge", "stp_state", "0"])
    for addr in plan.bridge_addresses:
        run(["ip", "addr", "replace", addr, "dev", plan.bridge])
    run(["ip", "link", "set", plan.bridge, "up"])
    if table_exists(plan.nft_table):
        run(["nft", "delete", "table", "inet", plan.nft_table])
    run(["nft", "-f", "-"], input=nft_rules(plan))


def down(bridge: str, table: str) -> None:
    if table_exists(table):
        run(["nft", "delete", "table", "inet", table])
    if link_exists(bridge):
        run(["ip", "link", "del", bridge])
