"""IP address management: stable allocations from the estate supernets, kept in ipam.lock.yaml."""

from idcpilot.ipam.allocate import Allocation, Change, allocate, host_kinds
from idcpilot.ipam.lock import LOCK_FILE, Lock, read_lock, write_lock

from pathlib import Path as _Path

from idcpilot.catalogue.estate import Catalogue as _Catalogue
from idcpilot.gcpause import paused


def lock_display(cat: _Catalogue) -> str:
    """The lock file as messages show it: beside estate.yaml, as the user named that."""
    return str(_Path(cat.source.file).with_name(LOCK_FILE))


def plan(cat: _Catalogue, prune: bool = False) -> Allocation:
    """Allocation for the catalogue against the lock file beside it. The lock is checked against
    itself, the pools and the catalogue on every read: UserInputError (exit 2) on any collision."""
    with paused():
        return allocate(cat, read_lock(cat.root, lock_display(cat)), prune=prune)


__all__ = ["Allocation", "Change", "Lock", "LOCK_FILE", "allocate", "host_kinds", "lock_display", "plan", "read_lock", "write_lock"]
