"""What changed between two snapshots: per-strike and level changes (pure, Textual-free).

Used by ``gextui snapshot --replay DIR --at T --since 15m`` (the value at T minus the value at
T − 15 m) and by the monitor's change view (the live snapshot against the history's sample 1 /
5 / 15 / 30 minutes ago or at the open). Both snapshots should use the same expiry selection;
figures are dollars per 1 % move (GEX) or prices (levels), as in
:class:`~gextui.core.exposure.ExposureSnapshot`.

* :func:`strike_changes` – per strike of the newer snapshot: ``now − then`` of a per-strike
  column (``net_gex`` by default); null where the older snapshot has no such strike.
* :func:`level_changes` – ``now − then`` of the totals and levels in :data:`CHANGE_KEYS`; None
  when either side is undefined (no zero gamma, no wall, no spot …).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final

import numpy as np
import polars as pl

if TYPE_CHECKING:
    from gextui.core.exposure import ExposureSnapshot

__all__ = ["CHANGE_KEYS", "level_changes", "strike_changes", "top_changes"]

#: The snapshot figures :func:`level_changes` compares, in this order.
CHANGE_KEYS: Final[tuple[str, ...]] = (
    "spot",
    "net_gex",
    "call_gex",
    "put_gex",
    "abs_gex",
    "net_gex_volume",
    "net_dex",
    "net_vex",
    "net_cex",
    "zero_gamma",
    "call_wall",
    "put_wall",
    "abs_gamma_strike",
    "max_pain",
    "expected_move",
)


def _value(snap: ExposureSnapshot, key: str) -> float | None:
    v = getattr(snap, key)
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def level_changes(now: ExposureSnapshot, then: ExposureSnapshot) -> dict[str, float | None]:
    """``now − then`` for every key of :data:`CHANGE_KEYS` (None when either is undefined)."""
    out: dict[str, float | None] = {}
    for key in CHANGE_KEYS:
        a, b = _value(now, key), _value(then, key)
        out[key] = None if a is None or b is None else a - b
    return out


def strike_changes(
    now: ExposureSnapshot, then: ExposureSnapshot, column: str = "net_gex"
) -> pl.DataFrame:
    """Columns ``strike`` (the newer snapshot's strikes, ascending) and ``change`` (its
    ``column`` minus the older one's at the same strike; null where the older snapshot does
    not have the strike, or either value is NaN)."""
    cur = now.strikes
    if cur.height == 0:
        return pl.DataFrame(schema={"strike": pl.Float64, "change": pl.Float64})
    k_now = cur["strike"].to_numpy()
    v_now = cur[column].to_numpy().astype(np.float64)
    old = then.strikes
    change = np.full(k_now.size, np.nan)
    if old.height:
        k_old = old["strike"].to_numpy()
        v_old = old[column].to_numpy().astype(np.float64)
        order = np.argsort(k_old, kind="stable")
        k_old, v_old = k_old[order], v_old[order]
        pos = np.clip(np.searchsorted(k_old, k_now), 0, k_old.size - 1)
        hit = k_old[pos] == k_now
        change[hit] = v_now[hit] - v_old[pos[hit]]
    frame = pl.DataFrame({"strike": k_now, "change": change})
    return frame.with_columns(pl.col("change").fill_nan(None)).sort("strike")


def top_changes(changes: pl.DataFrame, n: int = 5) -> list[tuple[float, float]]:
    """The ``n`` (strike, change) pairs of :func:`strike_changes` with the largest
    |change|, largest first (ties: the lower strike first)."""
    ranked = (
        changes.drop_nulls("change")
        .with_columns(pl.col("change").abs().alias("_abs"))
        .sort(["_abs", "strike"], descending=[True, False])
        .head(n)
    )
    return [(float(k), float(c)) for k, c in ranked.select("strike", "change").iter_rows()]
