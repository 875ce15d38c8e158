"""Benchmark: requests/s through a CDN node (cached object) and through the zero-trust gateway
(mTLS, allowed identity), each against a plain nginx serving the same object directly over
TLS on the same host as the ceiling, printed as ratios.

Needs a running lab with the cdn_node and zt_gateway roles deployed (`idcpilot lab up`,
`idcpilot deploy`). Load is bounded (requests, concurrency and a time limit) and goes only to
lab addresses: every target must be a private address inside the estate's management
networks. The load generator is ab (Debian apache2-utils): of the Debian tools (wrk, h2load,
ab) it is the one that can present a client certificate, and using the same tool for every
row keeps the ratios fair.

The ceiling is a temporary server block in the CDN node's own nginx (same binary, same TLS
settings, same port, selected by Host header) that serves the object from disk; lab hosts are
identical containers, so the same ceiling serves for the gateway row. (A Host-selected
ceiling on the gateway itself is impossible: nginx answers 421 when Host names another server
than the mTLS one that took the handshake.) The gateway's app upstream is a temporary
loopback server block in the gateway's nginx. Both are removed
afterwards, so a re-deploy still reports changed=0.

    .venv/bin/python bench/bench_edge.py [inventories/lab] [--requests N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from idcpilot import catalogue, inventory, ipam
from idcpilot.lab import lifecycle, plan_lab

REPO = Path(__file__).resolve().parents[1]
OBJECT = os.urandom(4096)
CEILING_HOST = "bench-ceiling.invalid"
BENCH_CONF = "/etc/nginx/conf.d/zz-idcpilot-bench.conf"
BENCH_ROOT = "/var/lib/idcpilot-bench"


def ssh(plan, host: str, command: str, stdin: bytes | None = None) -> str:
    h = plan.host(host)
    proc = subprocess.run(
        ["ssh", *lifecycle.ssh_base_args(plan), f"{plan.account}@{h.address}", f"sudo -n sh -c {shlex.quote(command)}"],
        input=stdin, capture_output=True, timeout=120,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{host}: {command!r} failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout.decode(errors="replace")


def ab(url: str, requests: int, concurrency: int, host_header: str | None = None, cert: str | None = None) -> dict[str, float]:
    # -t (time limit, the upper bound) implies -n 50000, so -n comes after it.
    cmd = ["ab", "-q", "-k", "-c", str(concurrency), "-t", "30", "-n", str(requests), "-s", "10", "-r"]
    if host_header:
        cmd += ["-H", f"Host: {host_header}"]
    if cert:
        cmd += ["-E", cert]
    proc = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=60)
    out = proc.stdout + proc.stderr
    rps = re.search(r"Requests per second:\s+([\d.]+)", out)
    done = re.search(r"Complete requests:\s+(\d+)", out)
    failed = re.search(r"Failed requests:\s+(\d+)", out)
    kinds = re.search(r"\(Connect: (\d+), Receive: (\d+), Length: (\d+), Exceptions: (\d+)\)", out)
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", out)
    p50 = re.search(r"^\s+50%\s+(\d+)", out, re.M)
    if not rps:
        raise SystemExit(f"ab gave no result for {url}:\n{out}")
    return {"rps": float(rps.group(1)), "complete": int(done.group(1)), "failed": int(failed.group(1)),
            "non2xx": int(non2xx.group(1)) if non2xx else 0, "p50_ms": int(p50.group(1)) if p50 else -1,
            "failed_kinds": dict(zip(("connect", "receive", "length", "exceptions"), map(int, kinds.groups()))) if kinds else {}}


def probe_client_pem(cat: catalogue.Catalogue, identity: str) -> str:
    """Certificate and key of ``identity`` for one benchmark: the key made here, signed by the
    estate CA on this machine (the lab's CA, idcpilot pki) for an hour."""
    from idcpilot.pki.store import open_ca

    groups = next((i.groups for i in cat.estate.spec.identities if i.name == identity), [])
    probe = open_ca(cat.name).probe(estate=cat.name, identity=identity, groups=list(groups), hours=1)
    return probe.certificate + probe.key


def serve_origin(address: str, port: int, path: str) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = OBJECT if self.path == path else b"not found\n"
            self.send_response(200 if self.path == path else 404)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "max-age=3600")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer((address, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def install_bench_conf(plan, host: str, conf: str, path: str) -> None:
    ssh(plan, host, f"install -d -m 0755 {BENCH_ROOT}{os.path.dirname(path)} && cat > {BENCH_ROOT}{path}", stdin=OBJECT)
    ssh(plan, host, f"chmod -R a+rX {BENCH_ROOT} && cat > {BENCH_CONF} && nginx -t -q && systemctl reload nginx", stdin=conf.encode())
    time.sleep(2)  # old workers finish their graceful shutdown before the load starts


def remove_bench_conf(plan, host: str) -> None:
    ssh(plan, host, f"rm -f {BENCH_CONF} && rm -rf {BENCH_ROOT} && nginx -t -q && systemctl reload nginx")


def ceiling_conf(cert: str, key: str, extra: str = "") -> str:
    return f"""# temporary: bench/bench_edge.py ceiling (removed when the benchmark ends)
server {{
    listen 443 ssl;
    server_name {CEILING_HOST};
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    access_log off;
    root {BENCH_ROOT};
    location / {{ try_files $uri =404; }}
}}
{extra}"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("env", nargs="?", default=os.environ.get("IDCPILOT_LAB_ENV", str(REPO / "inventories/lab")))
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    if not (1 <= args.requests <= 200_000 and 1 <= args.concurrency <= 256):
        raise SystemExit("bounded load only: --requests 1..200000, --concurrency 1..256")
    if shutil.which("ab") is None:
        raise SystemExit("ab not found: run scripts/install-host-deps.sh (apache2-utils)")
    cat = catalogue.load(Path(args.env))
    alloc = ipam.plan(cat)
    plan = plan_lab(cat, alloc)
    inv = inventory.build(cat, alloc)["_meta"]["hostvars"]
    mgmt = [ipaddress.ip_network(c) for c in cat.estate.spec.management_cidrs]

    def lab_address(host: str) -> str:
        addr = plan.host(host).address
        ip = ipaddress.ip_address(addr)
        if not ip.is_private or not any(ip in n for n in mgmt):
            raise SystemExit(f"{host} {addr}: not a private lab address inside {mgmt}; refusing to send load")
        if not lifecycle.ssh_ok(plan, plan.host(host)):
            raise SystemExit(f"{host} is not up: run `idcpilot lab up {args.env}` and `idcpilot deploy {args.env}`")
        return addr

    cdn = sorted(h.name for h in cat.hosts_with("cdn_node") if h.automated)
    gws = sorted(h.name for h in cat.hosts_with("zt_gateway") if h.automated)
    if not cdn or not gws:
        raise SystemExit("the estate needs an automated cdn_node and zt_gateway host")
    node, gw = cdn[0], gws[0]
    node_addr, gw_addr = lab_address(node), lab_address(gw)

    origin = inv[node]["idcpilot_cdn"]["origins"][0]
    if urlsplit(origin["url"]).scheme != "http":
        raise SystemExit(f"origin {origin['url']}: the benchmark serves an http origin on the lab bridge")
    rule = (inv[node]["idcpilot_cdn"]["rules"] or [{"path_prefix": "/"}])[0]["path_prefix"]
    path = f"{rule.rstrip('/')}/bench-4k.bin"
    zt = inv[gw]["idcpilot_zt"]
    app = next((a for a in zt["apps"] if a["allowed"] and a["upstream_hostport"].startswith("127.0.0.1:")), None)
    if app is None:
        raise SystemExit("no app with a loopback upstream and an allowed identity behind the gateway")
    identity = sorted(app["allowed"])[0]
    upstream_port = app["upstream_hostport"].rsplit(":", 1)[1]

    rows = []
    server = serve_origin(origin["host"], int(origin["port"]), path)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-edge-") as tmp:
            # CDN node: warm the cache, then load the cached object; ceiling on the same nginx.
            install_bench_conf(plan, node, ceiling_conf("/etc/nginx/idcpilot-cdn/node.crt", "/etc/nginx/idcpilot-cdn/node.key"), path)
            try:
                warm = subprocess.run(["curl", "-sk", "-o", "/dev/null", "-o", "/dev/null", "-D-", f"https://{node_addr}{path}", f"https://{node_addr}{path}"],
                                      capture_output=True, text=True, timeout=30).stdout
                if "X-Cache-Status: HIT" not in warm:
                    raise SystemExit(f"{node}: object not cached after two requests:\n{warm}")
                ceiling = ab(f"https://{node_addr}{path}", args.requests, args.concurrency, host_header=CEILING_HOST)
                cached = ab(f"https://{node_addr}{path}", args.requests, args.concurrency)
            finally:
                remove_bench_conf(plan, node)
            rows.append((f"plain nginx on {node} (ceiling)", ceiling, ceiling))
            rows.append((f"CDN node {node}, cached object", cached, ceiling))

            # Gateway: mTLS as an allowed identity to an app whose upstream is a loopback nginx.
            pem = Path(tmp) / "client.pem"
            pem.write_text(probe_client_pem(cat, identity))
            pem.chmod(0o600)
            upstream = f"""# temporary: bench/bench_edge.py app upstream (removed when the benchmark ends)
server {{
    listen 127.0.0.1:{upstream_port};
    access_log off;
    root {BENCH_ROOT};
}}"""
            busy = ssh(plan, gw, f"ss -Hltn 'sport = :{upstream_port}' | wc -l").strip()
            if busy != "0":
                raise SystemExit(f"{gw}: 127.0.0.1:{upstream_port} is in use; stop what listens there before benchmarking")
            install_bench_conf(plan, gw, upstream, "/bench-4k.bin")
            try:
                gw_mtls = ab(f"https://{gw_addr}/{app['name']}/bench-4k.bin", args.requests, args.concurrency, cert=str(pem))
            finally:
                remove_bench_conf(plan, gw)
            rows.append((f"ZT gateway {gw}, mTLS {identity} -> {app['name']}", gw_mtls, ceiling))
    finally:
        server.shutdown()
        server.server_close()

    print(f"bench_edge: {args.requests} requests per row, concurrency {args.concurrency}, keep-alive, 4 KiB object, ab")
    print(f"{'target':58} {'req/s':>10} {'p50 ms':>7} {'failed':>7} {'non-2xx':>8} {'vs ceiling':>11}")
    for label, r, ceil in rows:
        print(f"{label:58} {r['rps']:10.0f} {r['p50_ms']:7d} {r['failed']:7d} {r['non2xx']:8d} {r['rps'] / ceil['rps']:10.2f}x")
    # ab counts a keep-alive connection the server closes mid-reply as a failed request; a few
    # per mille of those are noise, anything more (or any non-2xx) is a real error.
    for label, r, _ in rows:
        if r["failed"]:
            print(f"  {label}: failed requests by kind {r['failed_kinds']}")
    bad = [label for label, r, _ in rows if r["failed"] > args.requests / 1000 or r["non2xx"] or r["complete"] < args.requests]
    if bad:
        print(f"errors in: {bad}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
