"""Render an :class:`~gextui.core.exposure.ExposureSnapshot` as JSON, CSV or plain text.

* :func:`to_json` – the snapshot's JSON object (``snap.to_dict()``): dollars, not billions;
  anything undefined (NaN, no zero gamma, no wall) is ``null``, never ``NaN``.
* :func:`to_csv` – the per-strike table: ``strike, call_gex, put_gex, net_gex, call_oi, put_oi``
  then the volume GEX, DEX, VEX, CEX and volume columns when the snapshot has them.
* :func:`to_text` – a readable summary (no colour): headline figures in $bn per 1 % move,
  levels, coverage and the top strikes by |net GEX|.
* :func:`levels_rows` – the key levels as (price, label) pairs: what ``snapshot --levels``
  prints (:func:`levels_csv`: ``price,label`` lines for charting platforms;
  :func:`levels_text`: a readable table) and what the monitor copies to the clipboard.

Sign convention (dealers long calls, short puts): call GEX positive, put GEX negative.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from gextui.core.expiry import NEW_YORK
from gextui.formats import price as fmt_price
from gextui.formats import strike as fmt_strike

if TYPE_CHECKING:
    from gextui.core.exposure import ExposureSnapshot

__all__ = [
    "CSV_COLUMNS",
    "levels_csv",
    "levels_rows",
    "levels_text",
    "to_csv",
    "to_json",
    "to_text",
]

#: Columns of every per-strike CSV, in order.
CSV_COLUMNS: Final[tuple[str, ...]] = (
    "strike",
    "call_gex",
    "put_gex",
    "net_gex",
    "call_oi",
    "put_oi",
)
_CSV_EXTRA: Final[tuple[str, ...]] = (
    "net_gex_volume",
    "net_dex",
    "net_vex",
    "net_cex",
    "call_volume",
    "put_volume",
)
TOP_STRIKES: Final = 10
BN: Final = 1e9


# ---------------------------------------------------------------------------- JSON
def _clean(value: Any) -> Any:
    """Recursively replace non-finite floats by None and dates by ISO strings."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def to_json(
    snap: ExposureSnapshot,
    *,
    warnings: Sequence[str] = (),
    indent: int | None = 2,
    since: ExposureSnapshot | None = None,
) -> str:
    """The snapshot as a JSON object (``snap.to_dict()``); NaN/inf become ``null``.

    ``warnings`` (e.g. "timed out with 80 % coverage"), when any, are added as a list under the
    key ``warnings``. ``since`` (the same chain earlier): every strike row gets
    ``net_gex_change`` (this snapshot's net GEX at the strike minus ``since``'s; null where
    ``since`` has no such strike) and the object gets ``changes`` (:func:`changes_dict`).
    """
    obj = snap.to_dict()
    if since is not None:
        from gextui.core.levels import strike_changes

        diff = strike_changes(snap, since)
        by_strike = dict(zip(diff["strike"].to_list(), diff["change"].to_list(), strict=True))
        for row in obj["strikes"]:
            row["net_gex_change"] = by_strike.get(row["strike"])
        obj["changes"] = changes_dict(snap, since)
    if warnings:
        obj["warnings"] = list(warnings)
    return json.dumps(_clean(obj), indent=indent, allow_nan=False)


def changes_dict(now: ExposureSnapshot, then: ExposureSnapshot) -> dict[str, Any]:
    """``{"since": then's as_of, "seconds": now − then, <key>: now − then …}`` for the totals
    and levels of :data:`gextui.core.levels.CHANGE_KEYS` (null when either is undefined)."""
    from gextui.core.levels import level_changes

    return {
        "since": then.as_of.isoformat(),
        "seconds": (now.as_of - then.as_of).total_seconds(),
        **level_changes(now, then),
    }


# ---------------------------------------------------------------------------- levels
def levels_rows(snap: ExposureSnapshot) -> list[tuple[float, str]]:
    """The key levels as (price, label), in this order, each only when defined: zero gamma,
    call walls 1–3, put walls 1–3, the absolute gamma strike, expected move up / down (spot ±
    the ATM straddle of the nearest selected expiration), max pain, spot."""
    rows: list[tuple[float, str]] = []

    def add(value: float | None, label: str) -> None:
        if value is not None and math.isfinite(value):
            rows.append((float(value), label))

    add(snap.zero_gamma, "Zero Gamma")
    for i, w in enumerate(snap.call_walls, start=1):
        add(w.strike, f"Call Wall {i}")
    for i, w in enumerate(snap.put_walls, start=1):
        add(w.strike, f"Put Wall {i}")
    add(snap.abs_gamma_strike, "Abs Gamma Strike")
    if snap.expected_move is not None and snap.spot is not None:
        add(snap.spot + snap.expected_move, "Expected Move Up")
        add(snap.spot - snap.expected_move, "Expected Move Down")
    add(snap.max_pain, "Max Pain")
    add(snap.spot, "Spot")
    return rows


def _price(value: float) -> str:
    """Shortest text of a price to the cent (``4750``, ``4734.44``)."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def levels_csv(snap: ExposureSnapshot) -> str:
    """:func:`levels_rows` as ``price,label`` lines (no header), for charting platforms."""
    return "".join(f"{_price(p)},{label}\n" for p, label in levels_rows(snap))


def levels_text(snap: ExposureSnapshot) -> str:
    """:func:`levels_rows` as a readable table (price, label, distance from spot), without a
    trailing newline."""
    spot = snap.spot
    local = snap.as_of.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M:%S %Z")
    lines = [
        f"{snap.ticker} key levels  [source: {_source(snap.source)}]  {local} (New York), "
        f"expiry {snap.expiry}",
        f"  {'price':>10}  {'level':<20} {'from spot':>10}",
    ]
    for price, label in levels_rows(snap):
        dist = f"{(price - spot) / spot * 100:+.2f} %" if spot else ""
        lines.append(f"  {price:>10,.2f}  {label:<20} {dist:>10}")
    if snap.expected_move is not None and snap.expected_move_expiration is not None:
        lines.append(
            f"expected move ±{snap.expected_move:,.2f} to "
            f"{snap.expected_move_expiration.isoformat()} (ATM straddle at "
            f"{_strike(snap.expected_move_strike)})"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------- CSV
def strike_table(snap: ExposureSnapshot, since: ExposureSnapshot | None = None) -> pl.DataFrame:
    """The per-strike frame written by :func:`to_csv` (NaN as null), sorted by strike; with
    ``since``, a last column ``net_gex_change`` (as in :func:`to_json`)."""
    frame = snap.strikes
    if "net_gex_vol" in frame.columns and "net_gex_volume" not in frame.columns:
        frame = frame.rename({"net_gex_vol": "net_gex_volume"})
    cols = [*CSV_COLUMNS, *(c for c in _CSV_EXTRA if c in frame.columns)]
    missing = [c for c in CSV_COLUMNS if c not in frame.columns]
    out = frame.with_columns(pl.lit(None, pl.Float64).alias(c) for c in missing).select(cols)
    floats = [c for c, t in out.schema.items() if t.is_float()]
    out = out.with_columns(pl.col(floats).fill_nan(None)).sort("strike")
    if since is not None:
        from gextui.core.levels import strike_changes

        diff = strike_changes(snap, since).rename({"change": "net_gex_change"})
        out = out.join(diff, on="strike", how="left", maintain_order="left")
    return out


def to_csv(snap: ExposureSnapshot, since: ExposureSnapshot | None = None) -> str:
    """The per-strike table as CSV text (header line first; dollars; empty cell = null)."""
    buf = io.StringIO()
    strike_table(snap, since).write_csv(buf, float_precision=None)
    return buf.getvalue()


# ---------------------------------------------------------------------------- text
def _bn(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value / BN:+,.2f} bn"


def _px(value: float | None) -> str:
    return fmt_price(value, missing="n/a")


def _strike(value: float | None) -> str:
    return fmt_strike(value, missing="n/a")


def _dist(level: float | None, spot: float | None) -> str:
    if level is None or spot is None or not spot:
        return ""
    return f" ({(level - spot) / spot * 100:+.2f} % from spot)"


def _dates(dates: Sequence[date]) -> str:
    if not dates:
        return "none"
    if len(dates) <= 6:
        return ", ".join(d.isoformat() for d in dates)
    return f"{len(dates)} ({dates[0].isoformat()} … {dates[-1].isoformat()})"


def _source(source: str) -> str:
    return "SIMULATED" if source.lower() == "simulated" else source


def to_text(snap: ExposureSnapshot, *, top: int = TOP_STRIKES) -> str:
    """A plain-text summary of the snapshot (no colour; $bn per 1 % move for GEX), without a
    trailing newline."""
    spot = snap.spot
    lines: list[str] = []
    add = lines.append
    add(f"{snap.ticker} dealer gamma exposure  [source: {_source(snap.source)}]")
    # New York time, like every time gextui takes (--at, --start) and shows
    local = snap.as_of.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M:%S %Z")
    add(f"as of        {local} (New York)")
    add(f"spot         {_px(spot)}")
    add(f"expiry       {snap.expiry}: {_dates(list(snap.expirations))}")
    add("")
    add("GEX ($ per 1 % move)")
    add(f"  net        {_bn(snap.net_gex)}")
    add(f"  calls      {_bn(snap.call_gex)}")
    add(f"  puts       {_bn(snap.put_gex)}")
    add(f"  absolute   {_bn(snap.abs_gex)}")
    add(f"  by volume  {_bn(snap.net_gex_volume)}")
    add(f"DEX ($ delta)            {_bn(snap.net_dex)}")
    add(f"VEX ($ per vol point)    {_bn(snap.net_vex)}")
    add(f"CEX ($ delta per day)    {_bn(snap.net_cex)}")
    add("")
    if snap.zero_gamma is not None:
        add(f"zero gamma   {_px(snap.zero_gamma)}{_dist(snap.zero_gamma, spot)}")
        crossings = ", ".join(_px(x) for x in snap.zero_gamma_crossings)
        n = len(snap.zero_gamma_crossings)
        add(f"  {n} crossing{'s' if n != 1 else ''} in ±20 % of spot: {crossings}")
    else:
        add(f"zero gamma   none ({snap.zero_gamma_note or 'no sign change'})")
    add(f"call wall    {_strike(snap.call_wall)}{_dist(snap.call_wall, spot)}")
    add(f"put wall     {_strike(snap.put_wall)}{_dist(snap.put_wall, spot)}")
    if len(snap.call_walls) > 1 or len(snap.put_walls) > 1:
        calls = " · ".join(_strike(w.strike) for w in snap.call_walls) or "none"
        puts = " · ".join(_strike(w.strike) for w in snap.put_walls) or "none"
        add(f"top walls    calls {calls}; puts {puts}")
    add(f"abs gamma    {_strike(snap.abs_gamma_strike)}{_dist(snap.abs_gamma_strike, spot)}")
    if snap.expected_move is not None and snap.expected_move_expiration is not None:
        add(
            f"exp. move    ±{snap.expected_move:,.2f} to "
            f"{snap.expected_move_expiration.isoformat()} (ATM straddle at "
            f"{_strike(snap.expected_move_strike)})"
        )
    else:
        add("exp. move    n/a (no prices for the nearest expiration's ATM straddle)")
    mp_exp = (
        f" (expiration {snap.max_pain_expiration.isoformat()})"
        if (snap.max_pain_expiration)
        else ""
    )
    add(f"max pain     {_strike(snap.max_pain)}{mp_exp}")
    ratio = snap.put_call_oi_ratio
    add(f"P/C OI ratio {'n/a' if ratio is None else f'{ratio:.2f}'}")
    cov = snap.coverage
    add(
        f"coverage     {cov.with_both:,} of {cov.contracts:,} live contracts with greeks and OI"
        f" ({cov.with_greeks:,} greeks, {cov.with_oi:,} OI; {cov.chain_total:,} in chain)"
    )
    add("")
    table = strike_table(snap)
    ranked = (
        table.filter(pl.col("net_gex").is_not_null())
        .sort(pl.col("net_gex").abs(), descending=True)
        .head(top)
    )
    add(f"top {ranked.height} strikes by |net GEX| ($bn per 1 % move)")
    add(f"  {'strike':>10} {'net':>9} {'calls':>9} {'puts':>9} {'call OI':>10} {'put OI':>10}")
    for row in ranked.iter_rows(named=True):
        add(
            f"  {_strike(row['strike']):>10} {_num_bn(row['net_gex']):>9}"
            f" {_num_bn(row['call_gex']):>9} {_num_bn(row['put_gex']):>9}"
            f" {_int(row['call_oi']):>10} {_int(row['put_oi']):>10}"
        )
    return "\n".join(lines)


def _num_bn(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value / BN:+.3f}"


def _int(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:,.0f}"
