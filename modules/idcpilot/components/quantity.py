"""Kubernetes resource quantities: parse, add and print CPU and memory amounts."""

from __future__ import annotations

import re
from decimal import Decimal

_SUFFIX = {
    "": Decimal(1), "m": Decimal("0.001"), "k": Decimal(10**3), "M": Decimal(10**6), "G": Decimal(10**9),
    "T": Decimal(10**12), "Ki": Decimal(2**10), "Mi": Decimal(2**20), "Gi": Decimal(2**30), "Ti": Decimal(2**40),
}
_RE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")


def parse(value: str | int | float) -> Decimal:
    """'250m' -> 0.25, '4Gi' -> 4294967296. Raises ValueError on anything else."""
    match = _RE.match(str(value).strip())
    if not match:
        raise ValueError(f"{value!r} is not a Kubernetes quantity (e.g. 250m, 1, 512Mi, 4Gi)")
    return Decimal(match.group(1)) * _SUFFIX[match.group(2) or ""]


def cpu(amount: Decimal) -> str:
    """CPU as millicores: Decimal('2.5') -> '2500m'."""
    return f"{int((amount * 1000).to_integral_value(rounding='ROUND_CEILING'))}m"


def memory(amount: Decimal) -> str:
    """Memory in Mi, rounded up: 4294967296 -> '4096Mi'."""
    return f"{int((amount / _SUFFIX['Mi']).to_integral_value(rounding='ROUND_CEILING'))}Mi"
