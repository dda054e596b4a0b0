"""Synthetic option chains written in the CBOE delayed-quotes formats (CSV and JSON).

Tests carry their own data: :func:`synth_chain` builds a small chain with Black–Scholes greeks
(vendor-style rounding), :func:`cboe_csv` / :func:`cboe_json` write it the way cboe.com's
download does — banner, ``Last:`` line, a ``Date:`` line in a chosen locale (en-US quoted,
en-GB unquoted, Spanish with a GMT offset and ``21.801.210`` thousands), the 22 columns by
position, expired rows with IV and greeks 0 — and the JSON with ``timestamp``,
``data.current_price`` and ``data.options[]`` (OCC symbols).

The chain frame is also the expected answer: tests recompute the figures from it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from gextui.core.expiry import NEW_YORK, settlement_time
from gextui.core.greeks import delta as bs_delta
from gextui.core.greeks import gamma as bs_gamma

YEAR_S = 365.0 * 86400.0
HEADER = (
    "Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest,Strike,"
    "Puts,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest"
)
MONTHS_EN = tuple(
    [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ]
)
MONTHS_ES = tuple(
    [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ]
)
MONDAY_10AM = datetime(2024, 1, 8, 15, 0, tzinfo=UTC)  # 10:00 New York


@dataclass(frozen=True)
class Synth:
    """A synthetic chain: one row per option (root, expiration, type, strike, iv, gamma,
    delta, oi, volume, bid, ask, last, occ) plus the underlying and the quote time."""

    options: pl.DataFrame
    spot: float
    as_of: datetime
    ticker: str = "SPX"
    index_name: str = "S&P 500 INDEX"
    change: float = 8.5602

    def live(self) -> pl.DataFrame:
        """Options not settled at ``as_of``."""
        return self.options.filter(pl.col("settles") > self.as_of)


def occ(root: str, expiration: date, kind: str, strike: float) -> str:
    return f"{root}{expiration:%y%m%d}{kind}{round(strike * 1000):08d}"


def synth_chain(
    *,
    spot: float = 4700.0,
    as_of: datetime = MONDAY_10AM,
    expirations: Sequence[tuple[str, date]] = (
        ("SPXW", date(2024, 1, 5)),  # expired (the Friday before)
        ("SPXW", date(2024, 1, 8)),  # 0DTE
        ("SPXW", date(2024, 1, 10)),
        ("SPX", date(2024, 1, 19)),  # AM monthly
        ("SPXW", date(2024, 1, 19)),
    ),
    strikes: Sequence[float] | None = None,
    seed: int = 1,
    ticker: str = "SPX",
    index_name: str = "S&P 500 INDEX",
) -> Synth:
    """A chain of every (root, expiration) × strike, calls and puts, with skewed IV, OI peaked
    near spot and at round strikes, BS gamma/delta rounded to 4 decimals like CBOE's."""
    rng = np.random.default_rng(seed)
    ks = (
        list(strikes)
        if strikes is not None
        else [round(spot * (1 + x), -1 if spot > 1000 else 0) for x in np.linspace(-0.1, 0.1, 9)]
    )
    rows = []
    for root, exp in expirations:
        settles = settlement_time(root, exp)
        t = (settles - as_of).total_seconds() / YEAR_S
        for k in ks:
            for kind in ("C", "P"):
                m = math.log(k / spot)
                iv = round(0.16 - 0.4 * m + 0.02 * rng.random(), 4)
                if t > 0:
                    tt = max(t, 3600.0 / YEAR_S)
                    g = round(float(bs_gamma(spot, k, iv, tt)), 4)
                    d = round(float(bs_delta(spot, k, iv, tt, kind == "C")), 4)
                    iv_out = iv
                else:  # expired rows: CBOE writes IV and greeks 0
                    g = d = iv_out = 0.0
                oi = float(int(rng.integers(0, 3000) * math.exp(-abs(m) * 8)) + 10)
                if k % 100 == 0:
                    oi *= 3
                vol = float(rng.integers(0, 500))
                mid = round(max(0.05, spot * 0.02 * rng.random()), 2)
                rows.append(
                    {
                        "root": root,
                        "expiration": exp,
                        "settles": settles,
                        "type": kind,
                        "strike": float(k),
                        "iv": iv_out,
                        "gamma": g,
                        "delta": d,
                        "oi": oi,
                        "volume": vol,
                        "bid": round(mid * 0.98, 2),
                        "ask": round(mid * 1.02, 2),
                        "last": mid if vol else 0.0,
                        "occ": occ(root, exp, kind, k),
                    }
                )
    frame = pl.DataFrame(rows).with_columns(
        pl.col("settles").dt.convert_time_zone("UTC"),
    )
    return Synth(frame, spot, as_of, ticker, index_name)


# ---------------------------------------------------------------------------- dates
def date_text(as_of: datetime, style: str = "en-US") -> str:
    """The ``Date:`` cell content as the page writes it in ``style``."""
    local = as_of.astimezone(NEW_YORK)
    zone = local.tzname() or "EST"
    h12 = local.hour % 12 or 12
    ampm = "AM" if local.hour < 12 else "PM"
    off = int((local.utcoffset() or timedelta(0)).total_seconds() // 3600)
    if style == "en-US":
        month = MONTHS_EN[local.month - 1]
        return f"{month} {local.day}, {local.year} at {h12}:{local.minute:02d} {ampm} {zone}"
    if style == "en-US-old":  # February 5 2022, 8:09 PM EST
        month = MONTHS_EN[local.month - 1]
        return f"{month} {local.day} {local.year}, {h12}:{local.minute:02d} {ampm} {zone}"
    if style == "en-GB":
        month = MONTHS_EN[local.month - 1]
        return f"{local.day} {month} {local.year}, {h12}:{local.minute:02d} {ampm} {zone}"
    if style == "es":
        month = MONTHS_ES[local.month - 1]
        return f"{local.day} de {month} de {local.year}, {local:%H:%M} GMT{off:+d}"
    if style == "de":
        return f"{local.day}. Januar {local.year} um {local:%H:%M} GMT{off:+d}"
    raise ValueError(style)


def _num(x: float) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".") if x else "0"


# ---------------------------------------------------------------------------- CSV
def cboe_csv(
    synth: Synth,
    *,
    style: str = "en-US",
    banner: str = "",
    volume: str = "0",
    rows: pl.DataFrame | None = None,
) -> str:
    """The chain as a CBOE delayed-quotes CSV: ``banner`` (or a blank line), the index line,
    the ``Date:`` line in ``style`` (en-GB unquoted, so its comma splits the cell; others
    quoted), the header and one row per (root, expiration, strike) — call half, strike, put
    half. ``volume`` is the banner's volume text (``21.801.210`` for es)."""
    opts = synth.options if rows is None else rows
    bid, ask = synth.spot - 0.5, synth.spot + 0.5
    when = date_text(synth.as_of, style)
    date_cell = f"Date: {when}" if style == "en-GB" else f'"Date: {when}"'
    vol_cell = f'"Volume: {volume}"' if "," in volume else f"Volume: {volume}"
    lines = [
        banner,
        f"{synth.index_name},Last: {synth.spot},Change:  {synth.change}",
        f"{date_cell},Bid: {bid},Ask: {ask},Size: 1*1,{vol_cell}",
        HEADER,
    ]
    calls = opts.filter(pl.col("type") == "C").sort("expiration", "root", "strike")
    puts = opts.filter(pl.col("type") == "P")
    put_by = {(r["root"], r["expiration"], r["strike"]): r for r in puts.iter_rows(named=True)}
    for c in calls.iter_rows(named=True):
        p = put_by[(c["root"], c["expiration"], c["strike"])]
        lines.append(
            ",".join(
                [
                    f"{c['expiration']:%a %b %d %Y}",
                    *_half(c),
                    f"{c['strike']:.2f}",
                    *_half(p),
                ]
            )
        )
    return "\n".join(lines) + "\n"


def _half(r: dict[str, object]) -> list[str]:
    f = {k: float(v) for k, v in r.items() if isinstance(v, int | float)}
    return [
        str(r["occ"]),
        _num(f["last"]),
        "0",
        _num(f["bid"]),
        _num(f["ask"]),
        _num(f["volume"]),
        _num(f["iv"]),
        _num(f["delta"]),
        _num(f["gamma"]),
        _num(f["oi"]),
    ]


# ---------------------------------------------------------------------------- JSON
def cboe_json(synth: Synth, *, symbol: str | None = None) -> str:
    """The chain as the CBOE delayed-quotes JSON (``timestamp`` in New York time, no zone)."""
    local = synth.as_of.astimezone(NEW_YORK).replace(tzinfo=None)
    options = [
        {
            "option": r["occ"],
            "bid": r["bid"],
            "bid_size": 7.0,
            "ask": r["ask"],
            "ask_size": 7.0,
            "iv": r["iv"],
            "open_interest": r["oi"],
            "volume": r["volume"],
            "delta": r["delta"],
            "gamma": r["gamma"],
            "theta": 0.0,
            "vega": 0.0,
            "last_trade_price": r["last"],
            "last_trade_time": None,
            "tick": "no_change",
        }
        for r in synth.options.iter_rows(named=True)
    ]
    obj = {
        "timestamp": f"{local:%Y-%m-%d %H:%M:%S}",
        "data": {
            "options": options,
            "symbol": symbol or f"^{synth.ticker}",
            "current_price": synth.spot,
            "prev_day_close": round(synth.spot - synth.change, 4),
            "bid": 0.0,
            "ask": 0.0,
        },
        "symbol": symbol or f"^{synth.ticker}",
    }
    return json.dumps(obj)


def write(tmp_path: Path, text: str | bytes, name: str = "chain.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def expected_gex(synth: Synth, multiplier: float = 100.0) -> tuple[float, float]:
    """(call GEX, put GEX) of the live options by the classic recipe, from the chain frame."""
    s = synth.spot
    live = synth.live()
    g = live["gamma"].to_numpy() * live["oi"].to_numpy() * multiplier * s * s * 0.01
    calls = live["type"].to_numpy() == "C"
    return float(g[calls].sum()), float(-g[~calls].sum())
