"""The lab's NTP server (``idcpilot.lab.ntp``): the lab's stand-in for an IDC's own NTP servers.

Run by ``idcpilot lab up`` as ``python -m idcpilot.lab.ntp --bind GATEWAY --port 123`` when the
estate's ``ntpServers`` name the lab bridge's gateway address, so chrony on the lab hosts
synchronises the way production hosts do to the estate's NTP servers (MLPS3-TIME).

It answers SNTP (RFC 4330) client requests from **this machine's clock** as a stratum-2 server:
the lab is only as right as the machine it runs on, which is what a lab needs (hosts agree with
each other and with the controller); it is not a time source for anything else.
"""

from __future__ import annotations

import argparse
import os
import socket
import struct
import sys
import time

NTP_EPOCH = 2208988800  # 1900-01-01 to 1970-01-01
PORT = 123
PACKET = 48
MODE_CLIENT, MODE_SERVER = 3, 4


def ntp_time(t: float) -> tuple[int, int]:
    """Unix seconds -> NTP (seconds, fraction)."""
    t += NTP_EPOCH
    seconds = int(t)
    return seconds, int((t - seconds) * 2**32) & 0xFFFFFFFF


def unix_time(seconds: int, fraction: int) -> float:
    return seconds - NTP_EPOCH + fraction / 2**32


def reply(request: bytes, received: float, now: float) -> bytes | None:
    """Server reply to a client (mode 3) request; None for anything else (never amplifies)."""
    if len(request) < PACKET or request[0] & 0x07 != MODE_CLIENT:
        return None
    version = (request[0] >> 3) & 0x07
    head = struct.pack(
        "!BBbbII4s",
        (0 << 6) | (version << 3) | MODE_SERVER,  # leap none, the client's version, mode server
        2,                                         # stratum 2: synchronised to a local reference
        request[2],                                # poll, echoed
        -20,                                       # precision ~1 us
        0, 1 << 10,                                # root delay 0, root dispersion ~15 ms
        b"LOCL",
    )
    ref = struct.pack("!II", *ntp_time(now - 1))
    origin = request[40:48]                        # the client's transmit time
    recv = struct.pack("!II", *ntp_time(received))
    xmit = struct.pack("!II", *ntp_time(now))
    return head + ref + origin + recv + xmit


def request(now: float) -> bytes:
    """A version-4 client request whose transmit time is NOW."""
    return struct.pack("!B", (4 << 3) | MODE_CLIENT) + bytes(39) + struct.pack("!II", *ntp_time(now))


def query(address: str, port: int = PORT, timeout: float = 1.0) -> float | None:
    """Clock offset (s) of the server at ADDRESS from this machine, or None when it does not answer."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        t1 = time.time()
        try:
            sock.sendto(request(t1), (address, port))
            data, _ = sock.recvfrom(512)
        except OSError:
            return None
        t4 = time.time()
    if len(data) < PACKET or data[0] & 0x07 != MODE_SERVER or data[24:32] != request(t1)[40:48]:
        return None
    t2 = unix_time(*struct.unpack("!II", data[32:40]))
    t3 = unix_time(*struct.unpack("!II", data[40:48]))
    return ((t2 - t1) + (t3 - t4)) / 2


def serve(sock: socket.socket) -> None:
    """Answer requests on SOCK until the process is stopped."""
    while True:
        try:
            data, peer = sock.recvfrom(512)
        except InterruptedError:
            continue
        received = time.time()
        answer = reply(data, received, time.time())
        if answer:
            try:
                sock.sendto(answer, peer)
            except OSError as exc:  # a client gone away must not stop the server
                sys.stderr.write(f"{peer[0]}: {exc}\n")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bind", required=True)
    ap.add_argument("--port", type=int, default=PORT)
    args = ap.parse_args(argv)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((args.bind, args.port))
    sys.stderr.write(f"lab NTP server (stand-in for the estate's NTP servers, this machine's clock) on {args.bind}:{args.port}, pid {os.getpid()}\n")
    sys.stderr.flush()
    try:
        serve(sock)
    finally:
        sock.close()


if __name__ == "__main__":
    main()
