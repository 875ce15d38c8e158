"""The lab's services seen from its hosts: NTP answers on the bridge address, the artifact
repository serves what is in the bundle and nothing else, `lab status` reports both."""

from __future__ import annotations

import json

import pytest

from idcpilot.lab import services
from tests.lab.conftest import Lab

pytestmark = pytest.mark.lab

PROBE = """python3 - <<'EOF'
import json, socket, urllib.error, urllib.request
out = {}
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(bytes([0x23]) + bytes(47), ("%(gw)s", 123))
d = s.recv(512)
out["ntp"] = [d[0] & 7, d[1]]
for name, path in (("missing", "/no/such/file"), ("traversal", "/../../etc/passwd")):
    try:
        out[name] = urllib.request.urlopen("%(base)s" + path, timeout=5).status
    except urllib.error.HTTPError as exc:
        out[name] = exc.code
print(json.dumps(out))
EOF"""


def test_hosts_reach_the_labs_ntp_server_and_artifact_repository(lab: Lab) -> None:
    status = {s.name: s for s in services.status(lab.plan)}
    assert set(status) == {"ntp", "artifacts"} and all(s.answering for s in status.values()), status
    host = lab.plan.hosts[0]
    out = lab.ssh(host.name, PROBE % {"gw": lab.plan.gateway, "base": status["artifacts"].url})
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {"ntp": [4, 2], "missing": 404, "traversal": 404}, seen
    cli = lab.idcpilot("lab", "status", "--format", "json")
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert {s["name"] for s in json.loads(cli.stdout)["services"] if s["answering"]} == {"ntp", "artifacts"}
