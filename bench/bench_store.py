"""Recording size and speed for a realistic SPX stream; prints JSON.

A synthetic SPX chain (~22k contracts) gets a Greeks event for every contract every second
(Black–Scholes values of a random-walking spot with IV jitter: full-precision doubles, as
dxFeed sends them), plus the underlying's trade and quote and a few hundred option trades and
quotes per second. The batches are generated up front with numpy, then recorded with the
real Recorder (background writer, checkpoints on), read back, and seeked. Then the same batches
stream through a RecordingFeed on an asyncio loop at 20× their real pace (a minute segment to
write every 3 s), while a probe task measures how long the loop is ever blocked (the
recorder's writer thread competes for the GIL).

    python bench/bench_store.py [--minutes 3] [--dir DIR] [--writer auto|polars]

``--writer polars`` measures the format without pyarrow (no BYTE_STREAM_SPLIT).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from gextui.core.chain import make_instruments
from gextui.core.events import EventBatch
from gextui.core.greeks import delta, gamma, norm_pdf
from gextui.core.symbols import streamer_symbols
from gextui.feeds.base import ChainInfo, FeedState, FeedStatus, Source
from gextui.feeds.recording import RecordingFeed
from gextui.store import Recorder, open_recording, schema

T0 = datetime(2026, 11, 24, 15, 0, 0, tzinfo=UTC)  # 10:00 New York
SPOT0 = 6600.0
DAY_SECONDS = 6.5 * 3600
DAY_RATE = 22_000  # events/s for the full-day estimate
JSON_PROTOTYPE_GB_PER_DAY = 8.0


def make_spx_chain() -> pl.DataFrame:
    today = T0.date()
    days = [0, 1, 2, 3, 6, 7, 8, 14, 21, 24, 31, 59, 87]
    exps = [today + timedelta(days=d) for d in days]
    strikes = np.arange(4500.0, 8750.0, 5.0)  # 850 strikes
    n = len(exps) * strikes.size * 2
    frame = pl.DataFrame(
        {
            "root": ["SPXW"] * n,
            "expiration": pl.Series(
                np.repeat(np.array(exps, dtype="datetime64[D]"), strikes.size * 2)
            ).cast(pl.Date),
            "type": np.tile(np.repeat(np.array(["C", "P"]), strikes.size), len(exps)),
            "strike": np.tile(np.concatenate([strikes, strikes]), len(exps)),
        }
    )
    return make_instruments(frame.with_columns(symbol=streamer_symbols(frame)))


def make_batches(inst: pl.DataFrame, seconds: int, seed: int = 7) -> list[EventBatch]:
    rng = np.random.default_rng(seed)
    n = inst.height
    sym = inst["symbol"]
    k = inst["strike"].to_numpy()
    call = (inst["type"] == "C").to_numpy()
    exp_days = inst["expiration"].cast(pl.Int32).to_numpy() - (T0.date() - date(1970, 1, 1)).days
    t_years0 = (exp_days + 0.25) / 365.0
    iv0 = 0.12 + 0.25 * np.abs(np.log(k / SPOT0)) + rng.normal(0, 0.004, n)
    spot = SPOT0
    oi = np.round(rng.gamma(1.2, 800.0, n))
    out: list[EventBatch] = []
    for s in range(seconds):
        spot *= float(np.exp(rng.normal(0, 0.00015)))
        t = np.maximum(t_years0 - s / (365.0 * 86400.0), 1e-5)
        iv = iv0 * (1.0 + rng.normal(0, 0.0005, n))
        sq = np.sqrt(t)
        d1 = (np.log(spot / k) + 0.5 * iv * iv * t) / (iv * sq)
        vega = spot * sq * norm_pdf(d1) / 100.0
        theta = -spot * norm_pdf(d1) * iv / (2.0 * sq) / 365.0
        intrinsic = np.maximum(np.where(call, spot - k, k - spot), 0.0)
        price = np.round(intrinsic + 0.4 * vega * iv * 100.0 + 0.05, 2)
        greeks = pl.DataFrame(
            {
                "symbol": sym,
                "gamma": gamma(spot, k, iv, t),
                "delta": delta(spot, k, iv, t, call),
                "iv": iv,
                "theta": theta,
                "vega": vega,
                "price": price,
            }
        )
        traded = rng.choice(n, 300, replace=False)
        trades = pl.DataFrame(
            {
                "symbol": [*sym.gather(traded).to_list(), "SPX"],
                "price": [*price[traded].tolist(), round(spot, 2)],
                "day_volume": [*(oi[traded] * 0.1 + s).tolist(), float("nan")],
            }
        )
        quoted = rng.choice(n, 300, replace=False)
        quotes = pl.DataFrame(
            {
                "symbol": sym.gather(quoted),
                "bid": np.maximum(price[quoted] - 0.1, 0.0),
                "ask": price[quoted] + 0.1,
            }
        )
        summary = None
        if s == 0:
            summary = pl.DataFrame(
                {"symbol": [*sym.to_list(), "SPX"], "open_interest": [*oi.tolist(), None]}
            ).with_columns(prev_close=pl.when(pl.col("symbol") == "SPX").then(SPOT0 - 12.5))
        moment = T0 + timedelta(seconds=s)
        out.append(EventBatch(moment, greeks, summary, trades, quotes))
    return out


def json_bytes_per_event(batches: list[EventBatch], limit: int = 200_000) -> float:
    """The prototype's way: one JSON object per event (symbol, event type, time, fields)."""
    total = count = 0
    for b in batches:
        stamp = int(b.time.timestamp() * 1000)
        for kind, frame in b.frames().items():
            for row in frame.head(limit - count).iter_rows(named=True):
                obj = {"eventType": kind, "eventTime": stamp, **row}
                total += len(json.dumps(obj)) + 1
                count += 1
            if count >= limit:
                return total / count
    return total / max(count, 1)


class _ListSession:
    """A FeedSession that yields prepared batches at ``speed`` × their event-time pace."""

    def __init__(self, chain: ChainInfo, batches: list[EventBatch], speed: float) -> None:
        self.chain = chain
        self.status = FeedStatus(FeedState.LIVE)
        self._batches = batches
        self._speed = speed

    async def events(self) -> AsyncIterator[EventBatch]:
        t0 = time.perf_counter()
        first = self._batches[0].time
        for b in self._batches:
            due = t0 + (b.time - first).total_seconds() / self._speed
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            yield b

    async def set_expirations(self, expirations: Sequence[date] | None) -> None:
        return None

    async def aclose(self) -> None:
        return None


class _ListFeed:
    def __init__(self, inst: pl.DataFrame, batches: list[EventBatch], speed: float) -> None:
        self.chain = ChainInfo("SPX", "SPX", Source.SIMULATED, inst)
        self.batches = batches
        self.speed = speed

    @property
    def source(self) -> Source:
        return Source.SIMULATED

    async def open(self, ticker: str) -> _ListSession:
        return _ListSession(self.chain, self.batches, self.speed)

    async def aclose(self) -> None:
        return None


async def recording_feed_lag(
    root: Path, inst: pl.DataFrame, batches: list[EventBatch], speed: float = 20.0
) -> dict[str, float]:
    """Stream ``batches`` through a RecordingFeed; the longest the event loop was blocked."""
    feed = RecordingFeed(_ListFeed(inst, batches, speed), root)
    session = await feed.open("SPX")
    lags: list[float] = []
    done = False

    async def probe() -> None:
        while not done:
            t = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append(time.perf_counter() - t - 0.001)

    task = asyncio.create_task(probe())
    async for _ in session.events():
        pass
    t = time.perf_counter()
    await feed.aclose()
    close_s = time.perf_counter() - t
    done = True
    await task
    lags.sort()
    assert session.recorder_error is None, session.recorder_error
    return {
        "stream_speed_x_real_time": speed,
        "loop_blocked_max_ms": round(lags[-1] * 1e3, 1),
        "loop_blocked_p99_ms": round(lags[int(0.99 * (len(lags) - 1))] * 1e3, 1),
        "aclose_s": round(close_s, 2),
    }


def dir_bytes(root: Path, pattern: str) -> int:
    return sum(p.stat().st_size for p in root.rglob(pattern))


DAY_START = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)  # 09:30 New York, a Tuesday
DAY_END = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)  # 16:00


async def record_simulated_day(
    root: Path, speed: float, checkpoint_ratio: float | None = None
) -> tuple[int, float]:
    """A whole simulated SPX session (09:30–16:00 at ``speed``× its clock, unpaced) recorded
    through the real Recorder; (events, seconds)."""
    from gextui.feeds.simulated import SimulatedFeed

    feed = SimulatedFeed(seed=11, speed=speed, start=DAY_START, paced=False)
    session = await feed.open("SPX")
    kw = {} if checkpoint_ratio is None else {"checkpoint_ratio": checkpoint_ratio}
    rec = Recorder(root, "SPX", session.chain, background=True, **kw)  # type: ignore[arg-type]
    events = 0
    t = time.perf_counter()
    while True:
        batch = session.step()
        if batch.time > DAY_END:
            break
        if batch.n_events:
            rec.write(batch)
            events += batch.n_events
    rec.close()
    await session.aclose()
    await feed.aclose()
    return events, time.perf_counter() - t


def _seek_ms(part: Path, n: int = 9) -> float:
    """Median time of ``Recording.state_at`` at ``n`` times spread over the day."""
    rec = open_recording(part)
    assert rec.start_time is not None and rec.end_time is not None
    span = (rec.end_time - rec.start_time).total_seconds()
    times = [rec.start_time + timedelta(seconds=span * (k + 0.5) / n) for k in range(n)]
    out = []
    for at in times:
        t = time.perf_counter()
        rec.state_at(at)
        out.append(time.perf_counter() - t)
    return round(1e3 * float(np.median(out)), 1)


def simulated_day(root: Path, speed: float) -> dict[str, object]:
    """Issue 14's budgets on one recorded simulated SPX day: levels at 5-minute steps,
    compaction, DuckDB over the compacted day; checkpoint bytes per event and seek times for
    the checkpoint policy, a checkpoint every minute (the old one) and none."""
    from gextui.store import levels
    from gextui.store.compact import compact_partition
    from gextui.store.recorder import CHECKPOINT_RATIO

    out: dict[str, object] = {"speed": speed}
    policies = {"policy": None, "every_minute": 0.0, "none": -1.0}
    parts: dict[str, Path] = {}
    for name, ratio in policies.items():
        sub = root / f"day-{name}"
        if ratio == -1.0:
            events, secs = _record_without_checkpoints(sub, speed)
        else:
            events, secs = asyncio.run(record_simulated_day(sub, speed, ratio))
        (part,) = [p for p in sub.glob("ticker=*/date=*")]
        parts[name] = part
        ev_bytes = dir_bytes(part, "events-*.parquet")
        ck_bytes = dir_bytes(part, "state-*.parquet")
        out[f"checkpoints_{name}"] = {
            "events": events,
            "record_s": round(secs, 1),
            "segments": len(list(part.glob("events-*.parquet"))),
            "checkpoints": len(list(part.glob("state-*.parquet"))),
            "bytes_per_event_events_only": round(ev_bytes / events, 2),
            "bytes_per_event_with_checkpoints": round((ev_bytes + ck_bytes) / events, 2),
            "checkpoint_bytes_pct_of_events": round(100 * ck_bytes / ev_bytes, 1),
            "seek_state_at_median_ms": _seek_ms(part),
        }
    out["checkpoint_ratio"] = CHECKPOINT_RATIO
    part = parts["policy"]
    cpus = levels.default_workers()
    t = time.perf_counter()
    tasks = levels.plan_tasks(part, every=300.0, workers=cpus)
    series = levels.level_series(tasks, workers=cpus)
    levels_s = time.perf_counter() - t
    out["levels_5m"] = {
        "samples": series.height,
        "workers": cpus,
        "seconds": round(levels_s, 2),
        "budget_s": 10.0,
    }
    events = sum(s.events for s in open_recording(part).segments)
    t = time.perf_counter()
    res = compact_partition(part)
    compact_s = time.perf_counter() - t
    out["compact"] = {
        "events": events,
        "rows": res.rows,
        "segments": res.segments_before,
        "files": res.files_after,
        "seconds": round(compact_s, 2),
        "events_per_s": round(events / compact_s),
        "budget_events_per_s": 1_000_000,
        "mb_before": round(res.bytes_before / 1e6, 1),
        "mb_after": round(res.bytes_after / 1e6, 1),
    }
    try:
        import duckdb
    except ImportError:
        out["duckdb"] = "not installed (pip install '.[sql]')"
    else:
        con = duckdb.connect()
        glob = str(root / "day-policy" / "*" / "*" / "events-*.parquet")
        query = (
            f"SELECT kind, count(*) FROM read_parquet('{glob}', hive_partitioning = true) "
            "GROUP BY kind"
        )
        t = time.perf_counter()
        counts = dict(con.execute(query).fetchall())
        duck_s = time.perf_counter() - t
        assert sum(v for k, v in counts.items() if k != "batch") == events
        out["duckdb_count_by_kind"] = {
            "seconds": round(duck_s, 3),
            "budget_s": 2.0,
            "rows": sum(counts.values()),
            "version": duckdb.__version__,
        }
    return out


def _record_without_checkpoints(root: Path, speed: float) -> tuple[int, float]:
    import gextui.store.recorder as recorder_mod

    real = recorder_mod.Recorder

    class NoCheckpoints(real):  # type: ignore[misc, valid-type]
        def __init__(self, *a: object, **kw: object) -> None:
            kw.pop("checkpoint_ratio", None)
            super().__init__(*a, checkpoints=False, **kw)  # type: ignore[arg-type]

    globals()["Recorder"] = NoCheckpoints
    try:
        return asyncio.run(record_simulated_day(root, speed))
    finally:
        globals()["Recorder"] = real


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--dir", type=Path, default=None, help="where to write (default: a temp dir)")
    ap.add_argument("--writer", choices=["auto", "polars"], default="auto")
    ap.add_argument(
        "--day-speed", type=float, default=300.0,
        help="clock speed of the recorded simulated day (levels, compact, DuckDB budgets)",
    )  # fmt: skip
    ap.add_argument("--day-only", action="store_true", help="only the simulated-day part")
    args = ap.parse_args()
    if args.writer == "polars":
        schema.PREFER_PYARROW = False
    seconds = int(args.minutes * 60)
    root = args.dir or Path(tempfile.mkdtemp(prefix="gextui-bench-"))
    try:
        if args.day_only:
            day = simulated_day(root / "day", args.day_speed)
            print(json.dumps({"benchmark": "store", "cpus": os.cpu_count(),
                              "load_average_1m": round(os.getloadavg()[0], 2),
                              "simulated_day": day}, indent=2))  # fmt: skip
            return
        inst = make_spx_chain()
        t = time.perf_counter()
        batches = make_batches(inst, seconds)
        gen_s = time.perf_counter() - t
        events = sum(b.n_events for b in batches)

        rec = Recorder(root, "SPX", inst, "simulated")
        worst_call = 0.0
        t = time.perf_counter()
        for b in batches:
            c = time.perf_counter()
            rec.write(b)
            worst_call = max(worst_call, time.perf_counter() - c)
        rec.close()
        write_s = time.perf_counter() - t
        seg_bytes = dir_bytes(root, "events-*.parquet")
        ck_bytes = dir_bytes(root, "state-*.parquet")
        total_bytes = dir_bytes(root, "*")

        recording = open_recording(root)
        t = time.perf_counter()
        n_read = sum(b.n_events for b in recording.batches())
        read_s = time.perf_counter() - t
        assert n_read == events, (n_read, events)
        t = time.perf_counter()
        raw = pl.scan_parquet(root / "**" / "events-*.parquet").select(pl.len()).collect().item()
        raw_s = time.perf_counter() - t
        t = time.perf_counter()
        frame = pl.read_parquet(root / "**" / "events-*.parquet")
        scan_s = time.perf_counter() - t

        mid = T0 + timedelta(seconds=seconds * 0.75 + 0.5)
        t = time.perf_counter()
        resets = recording.reset_batches(mid)
        seek_s = time.perf_counter() - t
        t = time.perf_counter()
        book = recording.book_at(mid)
        book_at_s = time.perf_counter() - t

        assert not recording.warnings, recording.warnings
        feed_stats = asyncio.run(recording_feed_lag(root / "feed", inst, batches))
        bpe = seg_bytes / events
        bpe_total = total_bytes / events
        json_bpe = json_bytes_per_event(batches)
        day_events = DAY_RATE * DAY_SECONDS
        proto_events = JSON_PROTOTYPE_GB_PER_DAY * 1e9 / json_bpe
        result = {
            "benchmark": "store",
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
            "contracts": inst.height,
            "seconds_of_events": seconds,
            "events": events,
            "events_per_second_of_stream": round(events / seconds),
            "rows_on_disk": raw,
            "format_version": schema.FORMAT_VERSION,
            "segment_writer": schema.segment_writer(),
            "generate_s": round(gen_s, 2),
            "bytes_per_event": round(bpe, 2),
            "bytes_per_event_incl_checkpoints": round(bpe_total, 2),
            "checkpoint_overhead_pct": round(100 * ck_bytes / seg_bytes, 1),
            "write_events_per_s": round(events / write_s),
            "write_call_max_ms": round(worst_call * 1e3, 3),
            "read_batches_events_per_s": round(events / read_s),
            "read_parquet_rows_per_s": round(frame.height / scan_s),
            "count_rows_s": round(raw_s, 4),
            "seek_reset_batches_s": round(seek_s, 3),
            "seek_reset_batch_count": len(resets),
            "book_at_s": round(book_at_s, 3),
            "book_at_contracts_with_gamma": book.coverage()[0],
            "recording_feed": feed_stats,
            "full_day_estimate": {
                "hours": 6.5,
                "events_per_s": DAY_RATE,
                "events": int(day_events),
                "gb": round(day_events * bpe_total / 1e9, 2),
            },
            "json_prototype": {
                "bytes_per_event": round(json_bpe, 1),
                "gb_per_day_at_same_rate": round(day_events * json_bpe / 1e9, 1),
                "reported_gb_per_day": JSON_PROTOTYPE_GB_PER_DAY,
                "its_events_per_day": int(proto_events),
                "those_events_in_parquet_gb": round(proto_events * bpe_total / 1e9, 2),
                "size_ratio": round(json_bpe / bpe_total, 1),
            },
        }
        result["simulated_day"] = simulated_day(root / "day", args.day_speed)
        print(json.dumps(result, indent=2))
    finally:
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
