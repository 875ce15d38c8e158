"""Integer arithmetic on IPv4 prefixes: fast enough for 10,000 hosts, exact, no objects per host."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import netaddr


@dataclass(frozen=True, order=True)
class Block:
    """A prefix as [first, last] integers."""

    first: int
    last: int

    @classmethod
    def parse(cls, text: str) -> "Block":
        try:
            net = netaddr.IPNetwork(text, expand_partial=False)
        except (netaddr.AddrFormatError, TypeError) as exc:
            raise ValueError(f"not a CIDR prefix: {text!r}") from exc
        if net.version != 4:
            raise ValueError("only IPv4 prefixes are supported")
        if net.ip != net.network:
            raise ValueError(f"{text!r} has host bits set (did you mean {net.cidr}?)")
        return cls(int(net.first), int(net.last))

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    @property
    def prefixlen(self) -> int:
        return 32 - (self.size.bit_length() - 1)

    def overlaps(self, other: "Block") -> bool:
        return self.first <= other.last and other.first <= self.last

    def contains(self, other: "Block") -> bool:
        return self.first <= other.first and other.last <= self.last

    def __str__(self) -> str:
        return f"{netaddr.IPAddress(self.first, 4)}/{self.prefixlen}"


def address(value: int) -> str:
    return str(netaddr.IPAddress(value, 4))


def parse_address(text: str) -> int:
    try:
        addr = netaddr.IPAddress(text)
    except (netaddr.AddrFormatError, TypeError, ValueError) as exc:
        raise ValueError(f"not an IP address: {text!r}") from exc
    if addr.version != 4:
        raise ValueError("only IPv4 addresses are supported")
    return int(addr)


class UsedSet:
    """Sorted, non-overlapping used blocks with first-fit search."""

    def __init__(self) -> None:
        self._firsts: list[int] = []
        self._blocks: list[Block] = []
        # Nothing is freed while a set lives, so every candidate below a previous answer of the
        # same size is still taken: the next search resumes there (first fit stays first fit).
        self._resume: dict[tuple[int, int], int] = {}

    def overlapping(self, block: Block) -> Block | None:
        i = bisect.bisect_right(self._firsts, block.last)
        if i and self._blocks[i - 1].last >= block.first:
            return self._blocks[i - 1]
        return None

    def add(self, block: Block) -> None:
        i = bisect.bisect_left(self._firsts, block.first)
        self._firsts.insert(i, block.first)
        self._blocks.insert(i, block)

    def first_fit(self, pools: list[Block], prefixlen: int) -> Block | None:
        size = 1 << (32 - prefixlen)
        for index, pool in enumerate(pools):
            start = max((pool.first + size - 1) // size * size, self._resume.get((index, size), 0))
            while start + size - 1 <= pool.last:
                candidate = Block(start, start + size - 1)
                clash = self.overlapping(candidate)
                if clash is None:
                    self._resume[(index, size)] = start
                    return candidate
                # jump past the clashing block, realigned
                start = (clash.last + 1 + size - 1) // size * size
        return None
