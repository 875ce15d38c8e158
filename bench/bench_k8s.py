#!/usr/bin/env python3
"""Benchmark: etcd write latency of a 3-member cluster over TLS, against one member, same run.

    .venv/bin/python bench/bench_k8s.py [--puts 500] [--timeout 240]

The etcd the k8s_control_plane role runs: the real `etcd` binary from the offline bundle
(``idcpilot.bundle.files_root()``/github.com/etcd-io/etcd/releases/download/v<version>/linux-amd64/,
the newest version there), or the directory named by ``$IDCPILOT_ETCD_BIN`` (``etcd`` inside).
Without either it prints why and exits 0 without a figure.

Layout as on the control planes: peer and client TLS with client-certificate authentication on
both (``--client-cert-auth``, ``--peer-client-cert-auth``), one certificate authority, member
certificates for serverAuth+clientAuth, a client certificate for the writer. Certificates are
made here with openssl (the project has no CA code of its own for etcd: the role makes them on
the hosts). Every member listens on 127.0.0.1 with its own ports, its data in a temporary
directory under /var/tmp (a disk, as etcd's fsync per write is part of the latency).

Measured: ``--puts`` sequential writes (after 20 unmeasured ones) through etcd's v3 JSON gateway
(``POST /v3/kv/put``) on one kept-alive TLS connection to a member, so each figure is one write's
round trip with the cluster's commit (a 3-member commit waits for a quorum fsync), not a process
start. Baseline: a single-member cluster with the same certificates, disk and client, measured
first in the same run. Printed: p50 and p99 of each, and the 3-member/1-member ratios.

Bounded: the whole run stops itself after ``--timeout`` seconds; every etcd it started is
terminated (then killed) in ``finally`` and its temporary directory removed.

Control-plane up time (deploy of the k8s_control_plane role until /readyz answers "ok") needs lab
hosts: bench/bench_k8s_up.py. This script prints no figure it did not measure.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import math
import os
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "modules")]

WARMUP = 20


class Skip(Exception):
    """The bench cannot run here; the message says why."""


def _version_key(path: Path) -> tuple[int, ...]:
    m = re.search(r"/v(\d+)\.(\d+)\.(\d+)/", str(path))
    return tuple(int(x) for x in m.groups()) if m else (0,)


def find_etcd() -> Path:
    """The etcd binary: $IDCPILOT_ETCD_BIN, else the newest in the offline bundle."""
    override = os.environ.get("IDCPILOT_ETCD_BIN")
    if override:
        binary = Path(override) / "etcd"
        if not os.access(binary, os.X_OK):
            raise Skip(f"$IDCPILOT_ETCD_BIN={override} has no executable etcd")
        return binary
    try:
        from idcpilot.bundle import files_root
    except ImportError as exc:
        raise Skip(f"no offline bundle support in this checkout ({exc}); set IDCPILOT_ETCD_BIN to a directory with etcd") from None
    root = Path(files_root())
    found = sorted(root.glob("github.com/etcd-io/etcd/releases/download/v*/linux-amd64/etcd"), key=_version_key)
    if not found:
        raise Skip(f"no etcd in the offline bundle at {root} (run `idcpilot bundle build`, or set IDCPILOT_ETCD_BIN)")
    return found[-1]


# --------------------------------------------------------------------------- certificates


def openssl(*args: str, cwd: Path) -> None:
    out = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise SystemExit(f"openssl {' '.join(args[:2])}: {out.stderr.strip()}")


def make_certificates(pki: Path) -> None:
    """ca.crt, member.{crt,key} (serverAuth+clientAuth, SAN 127.0.0.1), client.{crt,key}."""
    if shutil.which("openssl") is None:
        raise Skip("openssl is not installed (it makes the bench's certificates)")
    pki.mkdir(mode=0o700)
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1",
            "-subj", "/CN=idcpilot bench etcd CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=pki)
    for name, usage, san in (("member", "serverAuth,clientAuth", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"),
                             ("client", "clientAuth", "")):
        (pki / f"{name}.ext").write_text(f"{san}extendedKeyUsage={usage}\nkeyUsage=critical,digitalSignature\n")
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN=idcpilot-bench-{name}", cwd=pki)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.crt", "-days", "1", "-extfile", f"{name}.ext", cwd=pki)


# --------------------------------------------------------------------------- members


def free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass
class Cluster:
    etcd: Path
    base: Path
    size: int
    procs: list[subprocess.Popen] = field(default_factory=list)
    client_ports: list[int] = field(default_factory=list)

    def start(self) -> None:
        ports = free_ports(2 * self.size)
        self.client_ports, peer_ports = ports[: self.size], ports[self.size:]
        initial = ",".join(f"m{i}=https://127.0.0.1:{peer_ports[i]}" for i in range(self.size))
        pki = self.base / "pki"
        for i in range(self.size):
            data = self.base / f"m{i}"
            data.mkdir(mode=0o700)
            argv = [
                str(self.etcd), "--name", f"m{i}", "--data-dir", str(data / "data"),
                "--listen-client-urls", f"https://127.0.0.1:{self.client_ports[i]}",
                "--advertise-client-urls", f"https://127.0.0.1:{self.client_ports[i]}",
                "--listen-peer-urls", f"https://127.0.0.1:{peer_ports[i]}",
                "--initial-advertise-peer-urls", f"https://127.0.0.1:{peer_ports[i]}",
                "--initial-cluster", initial, "--initial-cluster-state", "new",
                "--initial-cluster-token", f"idcpilot-bench-{self.size}",
                "--client-cert-auth", "--trusted-ca-file", str(pki / "ca.crt"),
                "--cert-file", str(pki / "member.crt"), "--key-file", str(pki / "member.key"),
                "--peer-client-cert-auth", "--peer-trusted-ca-file", str(pki / "ca.crt"),
                "--peer-cert-file", str(pki / "member.crt"), "--peer-key-file", str(pki / "member.key"),
                "--log-level", "error",
            ]
            log = open(data / "etcd.log", "w")
            self.procs.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
            log.close()

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        self.procs.clear()

    def log_tail(self) -> str:
        return "\n".join(f"m{i}: {(self.base / f'm{i}' / 'etcd.log').read_text(errors='replace')[-600:]}" for i in range(self.size))


class Client:
    """One kept-alive TLS connection to a member's v3 JSON gateway, with the client certificate."""

    def __init__(self, pki: Path, port: int, timeout: float):
        ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(str(pki / "client.crt"), str(pki / "client.key"))
        self.conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=timeout)

    def call(self, path: str, body: dict) -> dict:
        self.conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{path}: HTTP {resp.status} {data[:200]!r}")
        return json.loads(data)

    def put(self, key: str, value: bytes) -> None:
        self.call("/v3/kv/put", {"key": base64.b64encode(key.encode()).decode(), "value": base64.b64encode(value).decode()})

    def close(self) -> None:
        self.conn.close()


def wait_ready(cluster: Cluster, pki: Path, deadline: float) -> tuple[Client, int]:
    """A client once the cluster has a leader and every member is listed; and the member count."""
    last = ""
    while time.monotonic() < deadline:
        dead = [i for i, p in enumerate(cluster.procs) if p.poll() is not None]
        if dead:
            raise SystemExit(f"etcd member(s) {dead} exited:\n{cluster.log_tail()}")
        client = Client(pki, cluster.client_ports[0], timeout=5)
        try:
            status = client.call("/v3/maintenance/status", {})
            members = client.call("/v3/cluster/member/list", {}).get("members", [])
            started = [m for m in members if m.get("clientURLs")]
            if status.get("leader") and len(started) == cluster.size:
                return client, len(started)
            last = f"leader={status.get('leader')}, members started {len(started)}/{cluster.size}"
        except (OSError, RuntimeError, ssl.SSLError, http.client.HTTPException, ValueError) as exc:
            last = f"{type(exc).__name__}: {exc}"
        client.close()
        time.sleep(0.3)
    raise SystemExit(f"the {cluster.size}-member cluster did not become ready ({last}):\n{cluster.log_tail()}")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: the smallest value with at least q% of the values at or below it."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def measure(etcd: Path, work: Path, pki: Path, size: int, puts: int, deadline: float) -> dict[str, float]:
    base = work / f"cluster{size}"
    base.mkdir()
    (base / "pki").symlink_to(pki)
    cluster = Cluster(etcd, base, size)
    client = None
    try:
        t0 = time.monotonic()
        cluster.start()
        client, members = wait_ready(cluster, pki, deadline)
        ready_s = time.monotonic() - t0
        value = os.urandom(256)
        times = []
        for i in range(WARMUP + puts):
            if time.monotonic() > deadline:
                raise SystemExit(f"stopped at the time limit after {i} writes to the {size}-member cluster")
            start = time.perf_counter()
            client.put(f"/idcpilot-bench/{size}/{i}", value)
            if i >= WARMUP:
                times.append((time.perf_counter() - start) * 1000)
        return {"members": members, "ready_s": ready_s, "p50": statistics.median(times),
                "p99": percentile(times, 99), "mean": statistics.fmean(times), "n": len(times)}
    finally:
        if client is not None:
            client.close()
        cluster.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--puts", type=int, default=500, help="measured sequential writes per cluster (default 500)")
    ap.add_argument("--timeout", type=float, default=240, help="seconds before the whole run stops itself")
    args = ap.parse_args()
    if not 1 <= args.puts <= 100_000:
        ap.error("--puts must be 1..100000")
    deadline = time.monotonic() + args.timeout
    try:
        etcd = find_etcd()
    except Skip as exc:
        print(f"etcd write latency: not measured: {exc}")
        return 0
    version = subprocess.run([str(etcd), "--version"], capture_output=True, text=True, timeout=10).stdout.splitlines()
    work = Path(tempfile.mkdtemp(prefix="idcpilot-bench-etcd-", dir="/var/tmp" if os.path.isdir("/var/tmp") else None))
    try:
        pki = work / "pki"
        try:
            make_certificates(pki)
        except Skip as exc:
            print(f"etcd write latency: not measured: {exc}")
            return 0
        fs = subprocess.run(["stat", "-f", "-c", "%T", str(work)], capture_output=True, text=True, timeout=10).stdout.strip()
        print(f"{version[0] if version else 'etcd'} ({etcd}); data on {fs or '?'} in {work.parent}; "
              f"peer and client TLS with client-certificate auth; {args.puts} sequential 256-byte puts per cluster")
        one = measure(etcd, work, pki, 1, args.puts, deadline)
        print(f"  1 member  (baseline): p50 {one['p50']:7.2f} ms  p99 {one['p99']:7.2f} ms  mean {one['mean']:7.2f} ms  "
              f"(ready in {one['ready_s']:.1f} s)")
        three = measure(etcd, work, pki, 3, args.puts, deadline)
        print(f"  3 members           : p50 {three['p50']:7.2f} ms  p99 {three['p99']:7.2f} ms  mean {three['mean']:7.2f} ms  "
              f"(ready in {three['ready_s']:.1f} s, {three['members']} members)")
        print(f"  3 / 1               : p50 {three['p50'] / one['p50']:.2f}x  p99 {three['p99'] / one['p99']:.2f}x")
        print("control-plane up time: not measured here (needs lab hosts; read it from the lab test's log)")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
