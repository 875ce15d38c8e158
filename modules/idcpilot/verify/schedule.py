"""How `idcpilot verify` spreads its tests over xdist workers: all of one host's tests in one worker.

The workers of a verify run share each host's SSH master, and the baseline allows MaxSessions 2
per connection, so two workers on one host were refused sessions. Tests of one host also share
state on it: the duties suite adds a probe account for the length of a test, and another test
listing the same group from a second worker saw the account vanish under it.

xdist's own `--dist loadgroup` cannot be used for this. Its `xdist_group` marks reach the
scheduler by renaming node ids, which pytest 9.2's structured ids ignore without a word
(pytest-xdist issue 1386), and a mark added by a conftest's collection hook came after xdist's
renaming anyway. This scheduler reads the host from the node id testinfra builds,
`path::test[ansible://<host>]`, and needs neither.
"""

from __future__ import annotations

import re

import pytest
from xdist.scheduler import LoadScopeScheduling

_HOST_ID = re.compile(r"\[ansible://([^\]]+)\]$")


def host_of(nodeid: str) -> str | None:
    """The host a testinfra test runs against, from its node id; None for a test of no one host."""
    m = _HOST_ID.search(nodeid)
    return m.group(1) if m else None


class HostScheduling(LoadScopeScheduling):
    """xdist's scope scheduling with one scope per host; a test of no one host is its own scope."""

    def _split_scope(self, nodeid: str) -> str:
        host = host_of(nodeid)
        return f"host:{host}" if host else nodeid


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> HostScheduling:
    return HostScheduling(config, log)
