"""The lab leak scanner (tests/lab/leaks.py) without a lab: it finds what it should, says where,
and never repeats a secret in full."""

from __future__ import annotations

import base64
import json
import subprocess

from tests.lab import leaks

HASH = "$6$Zm9vYmFyYmF6$u3N6y0f0t2bH8b1hX7m2nO0qP9rS8tU7vW6xY5zA4bC3dE2fG1hI0jK9lM8nO7pQ6rS5tU4vW3xY2zA1bC0dE"
PEM = ("-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgq1w2e3r4t5y6u7i8o9p0\n"
       "aSdFgHjKlZxCvBnMqWeRtYuIoPaSdFgHjKlZxCvBnMqWeRtYuIoPaSdFgHjKlZxC\n-----END PRIVATE KEY-----\n")
WG = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="


def test_shadow_hashes_skip_locked_empty_and_star():
    shadow = f"root:{HASH}:19000:0:99999:7:::\nbin:*:19000::::::\nold:!{HASH}:1::::::\nnone::1::::::\n"
    secrets = leaks.shadow_hashes("h1", shadow)
    assert [(s.kind, s.needle) for s in secrets] == [("shadow hash of root", HASH.encode())]


def test_found_in_json_events_and_slurped_base64_reported_without_the_secret(tmp_path):
    events = tmp_path / "run" / "artifacts" / "x" / "job_events"
    events.mkdir(parents=True)
    (events / "1-a.json").write_text(json.dumps({"event_data": {"res": {"ansible_facts": {"getent_shadow": {"root": [HASH]}}}}}))
    (events / "2-b.json").write_text(json.dumps({"res": {"content": base64.b64encode(PEM.encode()).decode()}}))
    (events / "3-c.json").write_text(json.dumps({"res": {"stdout": WG}}))
    (events / "4-clean.json").write_text(json.dumps({"res": {"stdout": "nothing here"}}))
    secrets = leaks.shadow_hashes("h1", f"root:{HASH}:1::::::") + leaks.key_secrets("h2", "/k.key", PEM) + leaks.key_secrets("h3", "/wg.key", WG)
    found = leaks.leaks(secrets, [tmp_path / "run", tmp_path / "no-cache"])
    assert {f.split(":")[0].rsplit("/", 1)[-1] for f in found} == {"1-a.json", "2-b.json", "3-c.json"}, found
    text = "\n".join(found)
    assert HASH not in text and WG not in text and "u3N6y0" not in text and "shadow hash of root of h1 ($6$Zm9" in text
    shaped = leaks.shaped_leaks([tmp_path / "run"])
    assert any("1-a.json: a password hash ($6$Zm9" in f for f in shaped) and any("the getent shadow fact" in f for f in shaped), shaped
    assert not any("4-clean" in f for f in shaped)


def test_read_host_secrets_parses_what_the_host_prints():
    def run(host, command):
        if "shadow" in command:
            return subprocess.CompletedProcess(command, 0, f"root:{HASH}:1::::::\nx:*:1::::::\n", "")
        out = f"=== /etc/wireguard/idcpilot-private.key\n{base64.b64encode((WG + chr(10)).encode()).decode()}\n=== /empty.key\n\n"
        return subprocess.CompletedProcess(command, 0, out, "")

    secrets = leaks.read_host_secrets("h1", run)
    kinds = {s.kind for s in secrets}
    assert kinds == {"shadow hash of root", "/etc/wireguard/idcpilot-private.key"}
    assert any(s.needle == WG.encode() for s in secrets)


def test_the_public_tail_of_an_ec_key_is_not_a_needle():
    """The last PEM line of a P-256 key is public key only (its certificate has the same bytes):
    searching for it found a gateway's certificate, not a leak. Lines holding private bytes stay."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from tests.lab import leaks

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    lines = [ln for ln in pem.splitlines() if not ln.startswith("-----")]
    needles = {s.needle.decode() for s in leaks.key_secrets("h", "/k.key", pem)}
    assert lines[0] in needles and lines[1] in needles and lines[-1] not in needles
