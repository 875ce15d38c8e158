"""A minimal NTP (SNTP, RFC 4330) server for lab tests: answers on one address of a bridge the
lab created, from this machine's clock, until stopped. Lab hosts' chrony synchronises to it the
way production hosts do to the estate's NTP servers (MLPS3-TIME).

Run by hand: python -m tests.roles.ntp_server 10.216.0.1 (Ctrl-C stops it).
"""

from __future__ import annotations

import socket
import struct
import sys
import threading
import time

NTP_EPOCH = 2208988800  # 1900-01-01 to 1970-01-01


def _ntp_time(t: float) -> tuple[int, int]:
    t += NTP_EPOCH
    seconds = int(t)
    return seconds, int((t - seconds) * 2**32)


def reply(request: bytes, received: float, now: float) -> bytes | None:
    """Server reply to a client (mode 3) request; None for anything else."""
    if len(request) < 48 or request[0] & 0x07 != 3:
        return None
    version = (request[0] >> 3) & 0x07
    head = struct.pack(
        "!BBbbII4s",
        (0 << 6) | (version << 3) | 4,  # leap none, client's version, mode server
        2,                               # stratum 2: synchronised to a local reference
        request[2],                      # poll, echoed
        -20,                             # precision ~1 us
        0, 1 << 10,                      # root delay 0, root dispersion ~15 ms
        b"LOCL",
    )
    ref = struct.pack("!II", *_ntp_time(now - 1))
    origin = request[40:48]              # the client's transmit time
    recv = struct.pack("!II", *_ntp_time(received))
    xmit = struct.pack("!II", *_ntp_time(now))
    return head + ref + origin + recv + xmit


class NtpServer:
    def __init__(self, address: str, port: int = 123) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, port))
        self.sock.settimeout(0.5)
        self._stop = threading.Event()
        self.answered = 0
        self._thread = threading.Thread(target=self._serve, name=f"ntp-{address}", daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            except OSError:
                return
            answer = reply(data, time.time(), time.time())
            if answer:
                self.sock.sendto(answer, peer)
                self.answered += 1

    def __enter__(self) -> "NtpServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


if __name__ == "__main__":
    with NtpServer(sys.argv[1]) as server:
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print(f"answered {server.answered} requests")
