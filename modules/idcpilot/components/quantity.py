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
    """CPU rounded up to a millicore, in Kubernetes' canonical form: Decimal('2.5') -> '2500m',
    Decimal(6) -> '6' (the API server and the Kubernetes provider write quantities this way, so a
    plan that wrote '6000m' would differ from what is applied)."""
    millis = int((amount * 1000).to_integral_value(rounding="ROUND_CEILING"))
    if millis % 1000:
        return f"{millis}m"
    value, suffix = millis // 1000, ""
    for bigger in ("k", "M", "G", "T", "P", "E"):
        if value == 0 or value % 1000:
            break
        value, suffix = value // 1000, bigger
    return f"{value}{suffix}"


def memory(amount: Decimal) -> str:
    """Memory rounded up to a Mi, in Kubernetes' canonical form: 4294967296 -> '4Gi', 3 * 2**29 -> '1536Mi'."""
    value, suffix = int((amount / _SUFFIX["Mi"]).to_integral_value(rounding="ROUND_CEILING")), "Mi"
    for bigger in ("Gi", "Ti", "Pi", "Ei"):
        if value == 0 or value % 1024:
            break
        value, suffix = value // 1024, bigger
    return f"{value}{suffix}" if value else "0"
