# ruff: noqa: E402  (thread limits must be set before numpy / polars are imported)
"""Ingest benchmark for the tastytrade feed: SDK event objects → EventBatch → ChainBook.

Run ``python bench/bench_ingest_sdk.py [--repeats N] [--seed S]``; prints one JSON object.

Events are real SDK objects (``tastytrade.dxfeed.Greeks / Summary / Trade``) made by the SDK's
own COMPACT parser (``Event.from_stream``) from realistic values, for a 22,000-contract
SPX-sized chain (SPXW, 55 expirations × 200 strikes × C/P). Figures (median of ``repeats``):

* ``sdk_parse_events_per_s``: the SDK's own parse (wire list → objects), for comparison; this
  is not gextui's work and bounds the whole live path.
* ``convert_*_events_per_s``: gextui's conversion only (:func:`gextui.feeds.tt_convert.to_batch`)
  – Greeks-only batches, and a mixed tick (80 % Greeks, 15 % Summary, 5 % Trade).
* ``drain_convert_*_events_per_s``: the feed's per-tick path without the book: drain the
  parsed events kept by :class:`gextui.feeds.tt_stream.WatchedStreamer` + convert.
* ``into_book_*_events_per_s``: drain + convert + ``ChainBook.apply`` into the 22 k book, for
  batches of 2,000 events (a 0.1 s tick at 20 k events/s) and of 22,000 (a full snapshot).
* ``book_apply_ms_per_2k_greeks_batch``: ChainBook.apply alone for a 2,000-row Greeks batch
  (the book's fixed cost per batch shows here).
* ``wire_*``: the live hot path, which does not make SDK objects at all: a ``FEED_DATA``
  COMPACT frame's text → :mod:`gextui.feeds.tt_wire` columns as the reader does it (the text
  path: comma split, one polars cast per category of fields, no ``json.loads``) → drain →
  ``ChainBook.apply``, for frames of 2,000 Greeks (≈ 366 KB of text) and a mixed 2,000-event
  tick in three frames (and the same tick in 200 frames of 10 events, ``*_in_10_event_frames``:
  a frame's fixed cost, which the budget does not cover yet);
  ``wire_*_us_per_event`` is gextui CPU per event from the frame's text to the book (budget
  ≤ 3 µs); ``wire_json_path_*`` the same through ``json.loads`` (the path for any frame the
  text path declines) and the share of ``json.loads`` in it.

Times are CPU time of this process (``time.process_time``, one thread), so that a busy machine
moves them less than wall time; each rate is the median of the repeats and ``*_best_*`` the
fastest repeat (see ``env.loadavg``).

Budget (DESIGN.md): ≥ 300 k events/s from SDK event objects into the ChainBook. One core
(thread limits set before numpy / polars load). Reported, never asserted.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "POLARS_MAX_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import contextlib
import gc
import json
import platform
import random
import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import polars as pl
from tastytrade import Session
from tastytrade.dxfeed import Event, Greeks, Summary, Trade

from gextui.core.chain import ChainBook
from gextui.feeds.tt_convert import to_batch
from gextui.feeds.tt_stream import WatchedStreamer

N_CONTRACTS = 22_000


def make_chain() -> tuple[pl.DataFrame, list[str]]:
    start = date(2031, 1, 3)
    rows: dict[str, list[Any]] = {k: [] for k in ("symbol", "root", "expiration", "type", "strike")}
    for e in range(55):
        exp = start + timedelta(days=7 * e)
        for i in range(200):
            strike = 5000.0 + 5 * i
            for t in ("C", "P"):
                rows["symbol"].append(f".SPXW{exp:%y%m%d}{t}{strike:.0f}")
                rows["root"].append("SPXW")
                rows["expiration"].append(exp)
                rows["type"].append(t)
                rows["strike"].append(strike)
    frame = pl.DataFrame(rows)
    return frame, rows["symbol"]


def greeks_wire(symbols: list[str], rng: random.Random) -> list[Any]:
    out: list[Any] = []
    for s in symbols:
        out += [
            s, 0, 0, rng.randrange(10**18), 1_798_000_000_000, 0,
            f"{rng.uniform(0.05, 300):.2f}", repr(rng.uniform(0.08, 0.6)),
            repr(rng.uniform(-1, 1)), repr(rng.uniform(1e-5, 4e-3)), repr(-rng.uniform(0.01, 5)),
            repr(rng.uniform(-1, 1)), repr(rng.uniform(0.01, 9)),
        ]  # fmt: skip
    return out


def summary_wire(symbols: list[str], rng: random.Random) -> list[Any]:
    out: list[Any] = []
    for s in symbols:
        out += [
            s, 0, 20400, "REGULAR", 20399, "FINAL", rng.randrange(50_000),
            f"{rng.uniform(0.05, 300):.2f}", f"{rng.uniform(0.05, 300):.2f}",
            f"{rng.uniform(0.05, 300):.2f}", "NaN", f"{rng.uniform(0.05, 300):.2f}",
            rng.randrange(20_000),
        ]  # fmt: skip
    return out


def trade_wire(symbols: list[str], rng: random.Random) -> list[Any]:
    out: list[Any] = []
    for s in symbols:
        out += [
            s, 0, 1_798_000_000_000, 0, 0, "Q", 20400, "UP", False,
            f"{rng.uniform(0.05, 300):.2f}", "0.5", 1, rng.randrange(10_000), "NaN",
        ]  # fmt: skip
    return out


def median_rate(fn: Callable[[], int], repeats: int) -> tuple[float, float]:
    """(median, best) events per second over ``repeats`` runs of ``fn`` (returns #events)."""
    rates = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.process_time()
        n = fn()
        rates.append(n / (time.process_time() - t0))
    return statistics.median(rates), max(rates)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    instruments, symbols = make_chain()
    book = ChainBook("SPX", instruments, underlying_symbol="SPX")

    # SDK objects, made by the SDK's own parser
    t0 = time.process_time()
    g_all: list[Event] = list(Greeks.from_stream(greeks_wire(symbols, rng)))
    sdk_parse = len(g_all) / (time.process_time() - t0)
    s_all: list[Event] = list(Summary.from_stream(summary_wire(symbols, rng)))
    t_all: list[Event] = list(Trade.from_stream(trade_wire(symbols, rng)))

    def tick(n: int, offset: int = 0) -> dict[str, list[Event]]:
        """A mixed tick of n events: 80 % Greeks, 15 % Summary, 5 % Trade."""
        ng, ns = int(n * 0.8), int(n * 0.15)
        nt = n - ng - ns

        def pick(seq: list[Event], k: int) -> list[Event]:
            return [seq[(offset + i) % len(seq)] for i in range(k)]

        return {"greeks": pick(g_all, ng), "summary": pick(s_all, ns), "trades": pick(t_all, nt)}

    greeks_2k = {"greeks": g_all[:2000]}
    greeks_22k = {"greeks": g_all}
    mixed_2k = tick(2000)
    mixed_22k = tick(N_CONTRACTS)
    reps = args.repeats

    def convert(ticks: dict[str, list[Event]], loops: int) -> Callable[[], int]:
        n = sum(map(len, ticks.values()))

        def run() -> int:
            for _ in range(loops):
                to_batch(ticks)
            return n * loops

        return run

    # the feed's own path: WatchedStreamer keeps parsed events in lists (its _map_message);
    # each tick drains them and converts. The Session makes no network call when built.
    streamer = WatchedStreamer(Session("bench-secret", "bench-refresh"))
    cls_of: dict[str, type[Event]] = {"greeks": Greeks, "summary": Summary, "trades": Trade}

    def drain_convert(ticks: dict[str, list[Event]], loops: int, apply: bool) -> Callable[[], int]:
        n = sum(map(len, ticks.values()))

        def run() -> int:
            elapsed = 0.0
            for _ in range(loops):
                for kind, evs in ticks.items():  # what _map_message appends (SDK parse: untimed)
                    streamer.pending[cls_of[kind]].extend(evs)
                t0 = time.process_time()
                out: dict[str, list[Event]] = {}
                streamer.drain_into(out, [])
                batch = to_batch(out)
                if apply and batch is not None:
                    book.apply(batch)
                elapsed += time.process_time() - t0
            run.elapsed = elapsed  # type: ignore[attr-defined]
            return n * loops

        return run

    def timed(fn: Callable[[], int]) -> tuple[float, float]:
        rates = []
        for _ in range(reps):
            gc.collect()
            n = fn()
            rates.append(n / fn.elapsed)  # type: ignore[attr-defined]
        return statistics.median(rates), max(rates)

    conv_g2k = median_rate(convert(greeks_2k, 10), reps)
    conv_g22k = median_rate(convert(greeks_22k, 2), reps)
    conv_m2k = median_rate(convert(mixed_2k, 10), reps)
    conv_m22k = median_rate(convert(mixed_22k, 2), reps)
    drain_m2k = timed(drain_convert(mixed_2k, 10, apply=False))
    book_m2k = timed(drain_convert(mixed_2k, 10, apply=True))
    book_m22k = timed(drain_convert(mixed_22k, 2, apply=True))
    book_g22k = timed(drain_convert(greeks_22k, 2, apply=True))

    # the live hot path: frame text → json → tt_wire columns → book (no SDK objects)
    import json as _json

    from gextui.core.events import EventBatch
    from gextui.feeds.tt_wire import JsonConstant, split_frame

    wrng = random.Random(args.seed + 1)

    def as_numbers(wire: list[Any]) -> list[Any]:
        """Numbers as JSON numbers, as DXLink sends them ("NaN" stays text)."""
        out: list[Any] = []
        for v in wire:
            if isinstance(v, str) and v not in ("NaN", "Infinity", "-Infinity"):
                with contextlib.suppress(ValueError):
                    v = float(v)
            out.append(v)
        return out

    def frame_text(kind: str, wire: list[Any]) -> str:
        wire = as_numbers(wire)
        channel = streamer._channels[kind]
        return _json.dumps(
            {"type": "FEED_DATA", "channel": channel, "data": [kind, wire]}, separators=(",", ":")
        )

    g_text = frame_text("Greeks", greeks_wire(symbols[:2000], wrng))
    mixed_texts = [
        frame_text("Greeks", greeks_wire(symbols[2000:3600], wrng)),
        frame_text("Summary", summary_wire(symbols[3600:3900], wrng)),
        frame_text("Trade", trade_wire(symbols[3900:4000], wrng)),
    ]
    # a quiet stretch: the same mix in frames of 10 events (each frame's fixed cost shows)
    small_texts = [
        frame_text(kind, wire(symbols[i : i + 10], wrng))
        for kind, wire, lo, hi in (
            ("Greeks", greeks_wire, 4000, 5600),
            ("Summary", summary_wire, 5600, 5900),
            ("Trade", trade_wire, 5900, 6000),
        )
        for i in range(lo, hi, 10)
    ]

    def wire_path(
        texts: list[str], loops: int, text_path: bool = True
    ) -> tuple[float, float, int, int]:
        """(seconds all in, seconds in json.loads, events, bytes) for ``loops`` rounds."""
        json_s = total = 0.0
        n = 0
        for _ in range(loops):
            t0 = time.process_time()
            for text in texts:
                split = split_frame(text) if text_path else None
                if split is not None and streamer._feed_tokens(*split, 0.0):
                    continue  # the reader's own path: no json.loads
                t1 = time.process_time()
                message = _json.loads(text, parse_constant=JsonConstant)
                json_s += time.process_time() - t1
                streamer._feed_data(message, 0.0)
            batches: list[EventBatch] = []
            streamer.drain_into({}, batches)
            for batch in batches:
                book.apply(batch)
                n += batch.n_events
            total += time.process_time() - t0
        return total, json_s, n, sum(map(len, texts)) * loops

    wire_g, wire_m, wire_j, wire_s = [], [], [], []
    for _ in range(reps):
        gc.collect()
        wire_g.append(wire_path([g_text], 5))
        wire_m.append(wire_path(mixed_texts, 5))
        wire_j.append(wire_path([g_text], 5, text_path=False))
        wire_s.append(wire_path(small_texts, 2))

    def us_per_event(runs: list[tuple[float, float, int, int]]) -> tuple[float, float, float]:
        per = [t / n * 1e6 for t, _, n, _ in runs]
        share = statistics.median(j / t for t, j, _, _ in runs)
        return statistics.median(per), min(per), share

    g_med, g_min, _ = us_per_event(wire_g)
    m_med, m_min, _ = us_per_event(wire_m)
    j_med, j_min, j_share = us_per_event(wire_j)
    s_med, s_min, _ = us_per_event(wire_s)

    batch_2k = to_batch(greeks_2k)
    assert batch_2k is not None
    applies = []
    for _ in range(reps):
        t0 = time.process_time()
        for _ in range(10):
            book.apply(batch_2k)
        applies.append((time.process_time() - t0) / 10 * 1e3)

    rates = {
        "convert_greeks_2k_events_per_s": conv_g2k,
        "convert_greeks_22k_events_per_s": conv_g22k,
        "convert_mixed_2k_events_per_s": conv_m2k,
        "convert_mixed_22k_events_per_s": conv_m22k,
        "drain_convert_mixed_2k_events_per_s": drain_m2k,
        "into_book_mixed_2k_events_per_s": book_m2k,
        "into_book_mixed_22k_events_per_s": book_m22k,
        "into_book_greeks_22k_events_per_s": book_g22k,
    }
    out: dict[str, Any] = {
        "benchmark": "ingest_sdk",
        "contracts": len(book),
        "repeats": reps,
        "sdk_parse_events_per_s": round(sdk_parse),
    }
    for name, (med, best) in rates.items():
        out[name] = round(med)
        out[name.replace("_events_per_s", "_best_events_per_s")] = round(best)
    out["book_apply_ms_per_2k_greeks_batch"] = round(statistics.median(applies), 3)
    out["book_apply_ms_per_2k_greeks_batch_min"] = round(min(applies), 3)
    out["budget_events_per_s"] = 300_000
    out["wire_greeks_2k_frame_bytes"] = len(g_text)
    out["wire_greeks_2k_us_per_event"] = round(g_med, 3)
    out["wire_greeks_2k_best_us_per_event"] = round(g_min, 3)
    out["wire_mixed_2k_us_per_event"] = round(m_med, 3)
    out["wire_mixed_2k_best_us_per_event"] = round(m_min, 3)
    out["wire_mixed_2k_in_10_event_frames_us_per_event"] = round(s_med, 3)
    out["wire_mixed_2k_in_10_event_frames_best_us_per_event"] = round(s_min, 3)
    out["wire_json_path_greeks_2k_us_per_event"] = round(j_med, 3)
    out["wire_json_path_greeks_2k_best_us_per_event"] = round(j_min, 3)
    out["wire_json_path_json_share"] = round(j_share, 3)
    out["wire_budget_us_per_event"] = 3.0
    out["env"] = {
        "python": platform.python_version(),
        "polars": pl.__version__,
        "cpus": os.cpu_count(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
