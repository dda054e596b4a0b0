# ruff: noqa: E402  (thread limits must be set before numpy / polars are imported)
"""Benchmark of the built-in simulated market (gextui.feeds.simulated), unpaced.

Run ``python bench/bench_simulated.py [--batches N] [--repeats R] [--seed S] [--ticker T]``;
prints one JSON object. A full SPX chain (~23 k contracts at SPX ≈ 6,900), default
parameters (``greeks_interval`` 1 s, ``batch_period`` 0.1 s → ~2.3 k Greeks per batch),
``paced=False``, started 2026-11-23 10:00 New York (a Monday, in session):

* ``chain_build_s``: the first ``open`` (chain generation + model state).
* ``first_batch_events`` / ``first_batch_ms``: the opening snapshot batch (Summary for all,
  Trades of every contract with volume, the first Greeks slice).
* ``events_per_s`` / ``batches_per_s``: steady state, ``session.step()`` back to back
  (median of ``repeats`` runs of ``batches`` batches; ``*_max`` the best run), at speed 1.
* ``fast_clock_*``: the same at speed 600 (a market minute per batch: many option trades).
* ``async_events_per_s``: through ``async for batch in session.events()`` (unpaced).
* ``with_book_events_per_s``: producing + ``ChainBook.apply`` (the whole simulated path).
* ``watchlist_*``: SPX + SPY + QQQ + NDX from one feed (one clock, one coherent market),
  stepped in lockstep: contracts, events/s of all four together.
* ``closed_batches_per_s``: a closed market (started 20:00), after the opening snapshot:
  empty batches, the clock moving.

Target (issue 3): far more than 20,000 events/s for a full SPX chain. One core (thread limits
set before numpy / polars load). Wall-clock numbers are reported, never asserted; under machine
load they move a lot (see ``env.loadavg``).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "POLARS_MAX_THREADS"):
    os.environ.setdefault(_var, "1")  # one core

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from gextui.core.expiry import NEW_YORK
from gextui.feeds.simulated import SimulatedFeed, SimulatedSession

START = datetime(2026, 11, 23, 10, 0, tzinfo=NEW_YORK)  # a Monday, in session
NIGHT = datetime(2026, 11, 23, 20, 0, tzinfo=NEW_YORK)  # the same day, closed
WATCHLIST = ("SPX", "SPY", "QQQ", "NDX")


async def _open(ticker: str, seed: int, speed: float) -> tuple[SimulatedSession, float]:
    feed = SimulatedFeed(seed=seed, speed=speed, start=START, paced=False)
    t0 = time.perf_counter()
    session = await feed.open(ticker)
    return session, time.perf_counter() - t0


def _open_sync(ticker: str, seed: int, speed: float) -> tuple[SimulatedSession, float]:
    return asyncio.run(_open(ticker, seed, speed))


def _run_steps(session: SimulatedSession, batches: int) -> tuple[float, int]:
    events = 0
    t0 = time.perf_counter()
    for _ in range(batches):
        events += session.step().n_events
    return time.perf_counter() - t0, events


def _steady(ticker: str, seed: int, speed: float, batches: int, repeats: int) -> dict[str, float]:
    rates: list[float] = []
    bps: list[float] = []
    for r in range(repeats):
        session, _ = _open_sync(ticker, seed + r, speed)
        session.step()  # the opening snapshot is measured separately
        elapsed, events = _run_steps(session, batches)
        rates.append(events / elapsed)
        bps.append(batches / elapsed)
    return {
        "events_per_s": round(statistics.median(rates)),
        "events_per_s_max": round(max(rates)),
        "batches_per_s": round(statistics.median(bps), 1),
        "batches_per_s_max": round(max(bps), 1),
    }


async def _async_rate(ticker: str, seed: int, batches: int) -> float:
    session, _ = await _open(ticker, seed, 1.0)
    session.step()
    n = events = 0
    t0 = time.perf_counter()
    async for batch in session.events():
        events += batch.n_events
        n += 1
        if n == batches:
            break
    elapsed = time.perf_counter() - t0
    await session.aclose()
    return events / elapsed


async def _watchlist(seed: int, batches: int) -> tuple[int, float]:
    feed = SimulatedFeed(seed=seed, start=START, paced=False)
    sessions = [await feed.open(t) for t in WATCHLIST]
    for s in sessions:
        s.step()
    events = 0
    t0 = time.perf_counter()
    for _ in range(batches):
        for s in sessions:
            events += s.step().n_events
    elapsed = time.perf_counter() - t0
    return sum(len(s.chain.instruments) for s in sessions), events / elapsed


async def _closed_rate(seed: int, batches: int) -> float:
    session = await SimulatedFeed(seed=seed, start=NIGHT, paced=False).open("SPX")
    for _ in range(session.warmup_batches):
        session.step()
    t0 = time.perf_counter()
    for _ in range(batches):
        assert session.step().n_events == 0
    return batches / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--batches", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ticker", default="SPX")
    args = p.parse_args(argv)

    session, build_s = _open_sync(args.ticker, args.seed, 1.0)
    t0 = time.perf_counter()
    first = session.step()
    first_ms = (time.perf_counter() - t0) * 1e3
    second = session.step()
    greeks_per_batch = second.greeks.height if second.greeks is not None else 0

    steady = _steady(args.ticker, args.seed, 1.0, args.batches, args.repeats)
    fast = _steady(args.ticker, args.seed, 600.0, args.batches, args.repeats)
    async_rate = asyncio.run(_async_rate(args.ticker, args.seed, args.batches))

    book_session, _ = _open_sync(args.ticker, args.seed, 1.0)
    book = book_session.chain.new_book()
    book.apply(book_session.step())
    t0 = time.perf_counter()
    events = 0
    for _ in range(args.batches):
        batch = book_session.step()
        events += book.apply(batch).events
    with_book = events / (time.perf_counter() - t0)
    watch_contracts, watch_rate = asyncio.run(_watchlist(args.seed, max(1, args.batches // 4)))
    closed_bps = asyncio.run(_closed_rate(args.seed, args.batches))

    out: dict[str, Any] = {
        "bench": "simulated",
        "ticker": args.ticker,
        "chain_contracts": len(session.chain.instruments),
        "expirations": session.chain.instruments["expiration"].n_unique(),
        "greeks_per_batch": greeks_per_batch,
        "warmup_batches": session.warmup_batches,
        "chain_build_s": round(build_s, 3),
        "first_batch_events": first.n_events,
        "first_batch_ms": round(first_ms, 2),
        **steady,
        **{f"fast_clock_{k}": v for k, v in fast.items()},
        "async_events_per_s": round(async_rate),
        "with_book_events_per_s": round(with_book),
        "watchlist_contracts": watch_contracts,
        "watchlist_events_per_s": round(watch_rate),
        "closed_batches_per_s": round(closed_bps),
        "batches": args.batches,
        "repeats": args.repeats,
        "env": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "polars": pl.__version__,
            "cpus": os.cpu_count(),
            "loadavg": [round(x, 2) for x in os.getloadavg()],
        },
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
