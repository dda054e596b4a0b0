"""Synthetic chains and seeded random EventBatches for the store / replay tests."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from gextui.core.chain import ChainBook, make_instruments
from gextui.core.events import EventBatch

UNDERLYING = "SPX"
START = datetime(2026, 11, 24, 14, 58, 50, tzinfo=UTC)  # 09:58:50 New York


def make_chain(n_strikes: int = 10) -> pl.DataFrame:
    exps = [date(2026, 11, 24), date(2026, 11, 27), date(2026, 12, 18)]
    rows = []
    for i, exp in enumerate(exps):
        root = "SPX" if i == 2 else "SPXW"
        for k in range(n_strikes):
            strike = 6500.0 + 5.0 * k + (2.5 if k == 3 else 0.0)
            for typ in ("C", "P"):
                strike_txt = f"{strike:g}"
                rows.append(
                    {
                        "symbol": f".{root}{exp:%y%m%d}{typ}{strike_txt}",
                        "root": root,
                        "expiration": exp,
                        "type": typ,
                        "strike": strike,
                    }
                )
    return make_instruments(pl.DataFrame(rows))


def _values(rng: np.random.Generator, n: int, scale: float, p_nan: float) -> list[float | None]:
    vals: list[float | None] = list(rng.normal(scale, abs(scale) / 3, n))
    for i in range(n):
        r = rng.random()
        if r < p_nan / 2:
            vals[i] = float("nan")
        elif r < p_nan:
            vals[i] = None
    return vals


def _symbols(rng: np.random.Generator, symbols: list[str], k: int) -> list[str]:
    picks = [symbols[i] for i in rng.integers(0, len(symbols), k)]  # duplicates on purpose
    if rng.random() < 0.3:
        picks.append(UNDERLYING)
    if rng.random() < 0.1:
        picks.append(".SPXW991231C1")  # not in the chain
    rng.shuffle(picks)
    return picks


def random_batches(
    instruments: pl.DataFrame, n: int, seed: int, start: datetime = START
) -> list[EventBatch]:
    """``n`` batches over a few minutes: random subsets, duplicates, NaN and null, missing
    columns, empty batches, equal consecutive times, the underlying and unknown symbols."""
    rng = np.random.default_rng(seed)
    symbols = instruments["symbol"].to_list()
    t = start
    out: list[EventBatch] = []
    for i in range(n):
        t += timedelta(microseconds=int(rng.choice([0, 1, 333_333, 1_000_000, 7_654_321])))
        frames: dict[str, pl.DataFrame] = {}
        if rng.random() < 0.8:
            s = _symbols(rng, symbols, int(rng.integers(1, len(symbols))))
            cols: dict[str, object] = {"symbol": s}
            for c, scale in (("gamma", 0.002), ("delta", 0.5), ("iv", 0.2), ("theta", -3.0)):
                cols[c] = _values(rng, len(s), scale, 0.2)
            if rng.random() < 0.7:  # sometimes the column is missing altogether
                cols["vega"] = _values(rng, len(s), 4.0, 0.2)
            cols["price"] = _values(rng, len(s), 30.0, 0.3)
            frames["greeks"] = pl.DataFrame(cols)
        if rng.random() < 0.3:
            s = _symbols(rng, symbols, int(rng.integers(1, 10)))
            frames["summary"] = pl.DataFrame(
                {
                    "symbol": s,
                    "open_interest": _values(rng, len(s), 1000.0, 0.3),
                    "prev_close": _values(rng, len(s), 6550.0, 0.5),
                }
            )
        if rng.random() < 0.5:
            s = _symbols(rng, symbols, int(rng.integers(1, 8)))
            if rng.random() < 0.5:
                s.append(UNDERLYING)
            frames["trades"] = pl.DataFrame(
                {
                    "symbol": s,
                    "price": _values(rng, len(s), 6550.0, 0.3),
                    "day_volume": _values(rng, len(s), 100.0, 0.3),
                }
            ).with_columns(pl.col("day_volume").cast(pl.Float32))  # conform() casts
        if rng.random() < 0.5:
            s = _symbols(rng, symbols, int(rng.integers(1, 8)))
            frames["quotes"] = pl.DataFrame(
                {
                    "symbol": s,
                    "bid": _values(rng, len(s), 6549.0, 0.3),
                    "ask": _values(rng, len(s), 6551.0, 0.3),
                }
            )
        meta = {"seq": str(i)} if rng.random() < 0.1 else {}
        out.append(EventBatch(time=t, meta=meta, **frames))
    return out


def new_book(instruments: pl.DataFrame) -> ChainBook:
    return ChainBook("SPX", instruments, underlying_symbol=UNDERLYING, source="replay")


def record_partition(root: Path, batches: list[EventBatch]) -> Path:
    """Record ``batches`` of :func:`make_chain` (synchronously) under ``root``; returns the
    partition folder (a recorder error at close, e.g. a test's broken disk, is tolerated)."""
    from gextui.store.recorder import Recorder
    from gextui.store.schema import RecordingError

    rec = Recorder(
        root, "SPX", make_chain(), "simulated", underlying_symbol=UNDERLYING, background=False
    )
    for b in batches:
        rec.write(b)
    with contextlib.suppress(RecordingError):
        rec.close()
    assert rec.partition is not None
    return rec.partition
