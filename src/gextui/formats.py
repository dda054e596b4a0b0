"""The one set of number formatters of gextui (screen, reports, status lines).

Pure functions of a number (``None``, NaN and ±inf are *missing*: ``missing``, default ``—``):

* :func:`price` — ``6,012.34``;
* :func:`strike` — ``6,050`` (a fractional strike keeps its cents: ``412.50``);
* :func:`money` — ``+$1.23bn``, ``−$456.70M`` (:func:`scale_for` picks bn / M / K);
* :func:`pct` — ``+0.45%``, ``−1.20%``;
* :func:`count` — ``812``, ``23.4k``, ``1.2M`` (events, contracts);
* :func:`size` — ``812 B``, ``3.4 MB`` (bytes).

Negative numbers use the minus sign ``−`` (U+2212) where the screen shows them (money, pct),
so they line up with ``+``.
"""

from __future__ import annotations

import math
from typing import Final

MISSING: Final = "—"
MINUS: Final = "−"


def _ok(value: float | None) -> float | None:
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def price(value: float | None, digits: int = 2, *, missing: str = MISSING) -> str:
    """``6,012.34``."""
    v = _ok(value)
    return missing if v is None else f"{v:,.{digits}f}"


def strike(value: float | None, *, missing: str = MISSING) -> str:
    """``6,050``; ``412.50`` for a fractional strike."""
    v = _ok(value)
    if v is None:
        return missing
    return f"{v:,.0f}" if v.is_integer() else f"{v:,.2f}"


def scale_for(value: float) -> tuple[float, str]:
    """(divisor, suffix) so that ``value / divisor`` reads well: bn, M, K or units."""
    v = abs(value)
    if v >= 1e9:
        return 1e9, "bn"
    if v >= 1e6:
        return 1e6, "M"
    if v >= 1e3:
        return 1e3, "K"
    return 1.0, ""


def money(
    value: float | None, *, signed: bool = True, digits: int = 2, missing: str = MISSING
) -> str:
    """``+$1.23bn``, ``−$456.70M`` (``signed=False``: no ``+``, still ``−``)."""
    v = _ok(value)
    if v is None:
        return missing
    div, suffix = scale_for(v)
    sign = ("+" if v > 0 else MINUS if v < 0 else "") if signed else (MINUS if v < 0 else "")
    return f"{sign}${abs(v) / div:,.{digits}f}{suffix}"


def pct(value: float | None, digits: int = 2, *, missing: str = MISSING) -> str:
    """``+0.45%``, ``−1.20%``, ``0.00%``."""
    v = _ok(value)
    if v is None:
        return missing
    sign = "+" if v > 0 else MINUS if v < 0 else ""
    return f"{sign}{abs(v):.{digits}f}%"


def count(value: float | None, *, missing: str = MISSING) -> str:
    """``812``, ``9,999``, ``23.4k``, ``1.2M``, ``3.0G``."""
    v = _ok(value)
    if v is None:
        return missing
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e4, "k")):
        if abs(v) >= div:
            shown = div if div != 1e4 else 1e3
            return f"{v / shown:.1f}{suffix}"
    return f"{v:,.0f}"


def size(n: int) -> str:
    """``812 B``, ``3.4 MB``: a size in bytes (1 KB = 1024 B)."""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"  # pragma: no cover
