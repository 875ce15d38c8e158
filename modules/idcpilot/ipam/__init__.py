"""IP address management: stable allocations from the estate supernets, kept in ipam.lock.yaml."""

from idcpilot.ipam.allocate import Allocation, Change, allocate, host_kinds
from idcpilot.ipam.lock import LOCK_FILE, Lock, read_lock, write_lock

from pathlib import Path as _Path

from idcpilot.catalogue.estate import Catalogue as _Catalogue


def plan(cat: _Catalogue, prune: bool = False) -> Allocation:
    """Allocation for the catalogue against the lock file beside it."""
    return allocate(cat, read_lock(cat.root, str(_Path(cat.file).with_name(LOCK_FILE))), prune=prune)


__all__ = ["Allocation", "Change", "Lock", "LOCK_FILE", "allocate", "host_kinds", "plan", "read_lock", "write_lock"]
