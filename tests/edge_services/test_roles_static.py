"""Static checks particular to roles/cdn_node and roles/zt_gateway (the checks every role shares
are in tests/roles/test_roles_static.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def test_threat_sync_limit_matches_policy_thresholds():
    thresholds = yaml.safe_load((REPO / "policy/thresholds.yaml").read_text())["thresholds"]
    defaults = yaml.safe_load((REPO / "roles/zt_gateway/defaults/main.yml").read_text())
    assert defaults["zt_gateway_threat_sync_max_minutes"] == thresholds["threatIntel"]["maxSyncMinutes"]
    assert 0 < float(thresholds["zeroTrust"]["minAccuracy"]) <= 1


def test_threat_feed_limits_match_policy_thresholds():
    """The role renders the feed limits into the sync's config; policy/thresholds.yaml holds them."""
    thresholds = yaml.safe_load((REPO / "policy/thresholds.yaml").read_text())["thresholds"]["threatIntel"]
    defaults = yaml.safe_load((REPO / "roles/zt_gateway/defaults/main.yml").read_text())
    assert defaults["zt_gateway_threat_min_prefix_v4"] == thresholds["minPrefixV4"] == 8
    assert defaults["zt_gateway_threat_min_prefix_v6"] == thresholds["minPrefixV6"] == 32
    assert defaults["zt_gateway_threat_max_feed_bytes"] == thresholds["maxFeedBytes"]


def _zt_units() -> dict[str, str]:
    from tests.roles.test_templates_hostile import TASKS, Renderer

    task = next(t for t in TASKS if t.id == "zt_gateway/{{ item }}.j2")
    renderer = Renderer(task)  # the test harness keeps the state directory in its tmp (".../zt-intel")
    return {r.key.rsplit("/", 1)[-1]: r.text for r in renderer.renderings()}, renderer.vars["zt_gateway_threat_state_dir"]


def _directives(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def test_threat_sync_unit_runs_unprivileged_and_hardened():
    units, state = _zt_units()
    sync = _directives(units["idcpilot-zt-threat-sync.service.j2"])
    defaults = yaml.safe_load((REPO / "roles/zt_gateway/defaults/main.yml").read_text())
    user = defaults["zt_gateway_threat_user"]
    assert user not in ("root", "0", "") and sync["User"] == [user] and sync["Group"] == [user]
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
                       "CapabilityBoundingSet": "", "AmbientCapabilities": "", "RestrictSUIDSGID": "yes",
                       "StateDirectory": "zt-intel", "ReadWritePaths": state}.items():
        assert sync.get(key) == [value], (key, sync.get(key))
    assert sorted(sync["RestrictAddressFamilies"][0].split()) == ["AF_INET", "AF_INET6", "AF_UNIX"]
    assert sync["ExecStart"] == ["/usr/local/sbin/idcpilot-zt-threat-sync"]
    # nginx is never touched by the unprivileged script: a root path unit reloads it
    script = (REPO / "roles/zt_gateway/files/idcpilot-zt-threat-sync").read_text()
    code = script.split('"""', 2)[2]  # below the docstring
    assert "subprocess" not in code and "nginx -t" not in code and "os.system" not in code
    watch = _directives(units["idcpilot-zt-blocklist.path.j2"])
    assert watch["PathChanged"] == [f"{state}/blocklist.conf"]
    assert watch["Unit"] == ["idcpilot-zt-blocklist-reload.service"]
    reload_ = _directives(units["idcpilot-zt-blocklist-reload.service.j2"])
    assert "User" not in reload_ and reload_["ExecStart"] == ["/usr/sbin/nginx -t -q", "/usr/bin/systemctl try-reload-or-restart nginx.service"]


def test_nginx_includes_the_blocklist_the_sync_user_writes():
    from tests.roles.test_templates_hostile import TASKS, Renderer

    task = next(t for t in TASKS if t.id == "zt_gateway/idcpilot-zt.conf.j2")
    renderer = Renderer(task)
    text = renderer.renderings(overrides={"zt_gateway_threat_state_dir": "/var/lib/idcpilot-zt-intel"})[0].text
    assert "include /var/lib/idcpilot-zt-intel/blocklist.conf;" in text, text[:600]
    defaults = yaml.safe_load((REPO / "roles/zt_gateway/defaults/main.yml").read_text())
    assert defaults["zt_gateway_threat_state_dir"] == "/var/lib/{{ zt_gateway_threat_user }}"
    tasks = (REPO / "roles/zt_gateway/tasks/threat_intel.yml").read_text()
    assert 'dest: "{{ zt_gateway_threat_state_dir }}/blocklist.conf"' in tasks and "force: false" in tasks


@pytest.mark.parametrize(("show", "problems"), [
    ("User=idcpilot-zt-intel\nNoNewPrivileges=yes\nProtectSystem=strict\nProtectHome=yes\nPrivateTmp=yes\n"
     "CapabilityBoundingSet=\nRestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX\n", []),
    ("User=\nNoNewPrivileges=no\nProtectSystem=no\nProtectHome=no\nPrivateTmp=no\n"
     "CapabilityBoundingSet=cap_chown cap_net_admin\nRestrictAddressFamilies=\n",
     ["runs as root", "NoNewPrivileges=no", "ProtectSystem=no", "ProtectHome=no", "PrivateTmp=no",
      "CapabilityBoundingSet=cap_chown", "RestrictAddressFamilies="]),
    ("User=www-data\nNoNewPrivileges=yes\nProtectSystem=strict\nProtectHome=yes\nPrivateTmp=yes\n"
     "CapabilityBoundingSet=\nRestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n", ["runs as www-data, expected idcpilot-zt-intel"]),
])
def test_verify_reads_the_sync_unit(show, problems):
    from idcpilot.verify.suites.edge_support import sync_unit_problems

    got = sync_unit_problems(show, "idcpilot-zt-intel")
    assert len(got) == len(problems) and all(p in g for p, g in zip(problems, got)), got


def test_verify_reads_the_feeds_config():
    from idcpilot.verify.suites.edge_support import feed_config_problems

    good = {"feeds": [{"name": "a", "url": "https://ti.example/a.txt", "sync_minutes": 5},
                      {"name": "b", "file": "/etc/idcpilot/threat-feeds/b.txt", "sync_minutes": 5}]}
    assert feed_config_problems(good) == []
    bad = {"feeds": [{"name": "a", "url": "http://ti.example/a.txt"}, {"name": "b", "url": "file:///etc/x"}]}
    assert len(feed_config_problems(bad)) == 2
