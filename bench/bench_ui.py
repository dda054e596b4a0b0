"""UI benchmark: the monitor headless on a full SPX-sized simulated chain, printing JSON.

The app runs under ``App.run_test`` (headless, the real compositor) with the built-in
SimulatedFeed for SPX (~23 k contracts; every contract gets a Greeks event about once a second,
plus trades: ≈ 20 k events/s, paced in real time) for ``--seconds`` seconds, while

* a probe task sleeps 10 ms at a time and records how late it wakes (event-loop blocking);
* every ``--key-interval`` seconds a view key is pressed (g, v, o, +, -, ], [, f, and the views
  x, d, D, m) and the
  time until the chart on screen shows the new view is measured (key-to-screen latency);
* redraws are counted (chart repaints and exposure recomputations per second);
* a thread sleeps 2 ms at a time and records how late it wakes: waiting for the GIL (or a
  CPU), which is what the chart's render thread waits for too (``gil_wait_ms_*``); the
  renders' wall-clock time is printed beside their CPU time (``render_*_ms_p95``).

* with several ``--tickers`` (the whole watchlist streams at once), every fourth key is a
  ``tab``: the time until the next ticker's chart is on screen showing *current* data — at
  most 2 s older than the watchlist's clock at the press (tab switch latency; the time to
  any first picture of the new ticker, maybe older, is ``tab_first_picture_ms_p95``). The
  picture is whole when the strike chart *and* the profile (drawn after the bars) show it;
  the time until the bars alone are current is ``tab_bars_current_ms_p95``.
* for a long run, the tab switch p95 and the longest loop block of the first and the last
  fifth of the run are printed side by side: they must not grow with the session.

Budgets (DESIGN.md, issue 11): ≥ 4 redraws/s, key p95 ≤ 100 ms, no loop block > 50 ms, tab
switch ≤ 150 ms, RSS ≤ 300 MB for SPX alone and ≤ 400 MB for SPX + SPY + QQQ + NDX (≈ 40 k
events/s), RSS growth < 20 MB over a long run (``--seconds 1800``).

    python bench/bench_ui.py [--seconds 10] [--size 160x48] [--tickers SPX,SPY,QQQ,NDX]
                             [--rate 40000]

``--rate`` sets the whole watchlist's event rate (issue 11's budgets are at 40 k events/s for
SPX + SPY + QQQ + NDX; by default every contract gets a Greeks event once a second, ≈ 59 k/s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import numpy as np
from textual import events

from gextui.core.expiry import NEW_YORK
from gextui.feeds.simulated import SimulatedFeed
from gextui.monitor import ProcessCompute
from gextui.settings import Settings
from gextui.ui.app import GexApp
from gextui.ui.widgets import ProfileChart, StrikeChart

KEYS = [
    "g",
    "v",
    "o",
    "plus",
    "minus",
    "right_square_bracket",
    "left_square_bracket",
    "f",
    "x",  # GEX by expiration …
    "x",  # … and back
    "d",  # the change view
    "D",  # its window
    "d",
    "m",  # the strike × time map …
    "m",
]


_VIEWS: dict[int, tuple[object, ...]] = {}


def send_key(app: GexApp, key: str) -> None:
    """Deliver a key exactly as ``Pilot.press`` does (a Key event through the driver), without
    Pilot's waits for the whole process to go idle (up to 2 × 1 s while threads are busy)."""
    _VIEWS[id(app)] = app.view_state
    driver = app._driver
    assert driver is not None
    char = {"plus": "+", "minus": "-"}.get(key, key if len(key) == 1 else None)
    if key == "right_square_bracket":
        char = "]"
    elif key == "left_square_bracket":
        char = "["
    event = events.Key(key, char)
    event.set_sender(app)
    driver.send_message(event)


def before_view(app: GexApp, key: str) -> tuple[object, ...]:
    return _VIEWS.get(id(app), ())


def on_screen(app: GexApp) -> bool:
    """The whole picture shows the app's view: the strike chart and (when shown) the
    profile, which is drawn after the bars."""
    view = app.view_state
    if app.query_one(StrikeChart).painted != view:
        return False
    drawn = app.view_mode == "strikes" and app.profile_size is not None
    return not drawn or app.query_one(ProfileChart).painted == view


def rss_mb(pid: int | str = "self") -> float:
    """Current resident set size (MB) of this process (or ``pid``), from /proc."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[idx]


class Samples:
    """A fixed buffer of float64 samples, allocated and written once before the measured run
    starts, so that the probes' own memory (a 2 ms probe takes ~900 k samples in 30 minutes:
    ≈ 30 MB as a list of Python floats) is not counted as the app's RSS growth."""

    def __init__(self, capacity: int) -> None:
        self._data = np.empty(capacity, dtype=np.float64)
        self._data.fill(0.0)  # touch every page now
        self._n = 0
        self.dropped = 0  # appends past the capacity (reported: none expected)

    def append(self, value: float) -> None:
        if self._n < self._data.size:
            self._data[self._n] = value
            self._n += 1
        else:
            self.dropped += 1

    def values(self) -> list[float]:
        return self._data[: self._n].tolist()


#: the probes' sleeps: the event loop's, and the GIL probe thread's (seconds)
LOOP_PERIOD: Final = 0.01
GIL_PERIOD: Final = 0.002
#: a loop block at least this long is logged with the key pressed last (``loop_blocks_longest``)
LOGGED_BLOCK: Final = 0.04


async def probe(
    lateness: Samples,
    when: Samples,
    stop: asyncio.Event,
    blocks: list[tuple[float, float, str, float]],
    last_key: list[Any],
    period: float = LOOP_PERIOD,
) -> None:
    """On the event loop: how late a 10 ms sleep wakes (the longest loop block). Blocks of
    :data:`LOGGED_BLOCK` or more go to ``blocks`` as (seconds into the run, ms, the key pressed
    last, ms from that press to the block's start)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not stop.is_set():
        t0 = loop.time()
        await asyncio.sleep(period)
        late = loop.time() - t0 - period
        lateness.append(late)
        when.append(t0)
        if late >= LOGGED_BLOCK and len(blocks) < 200:
            key, pressed = last_key
            blocks.append(
                (
                    round(t0 - start, 1),
                    round(late * 1000, 1),
                    key,
                    round((time.perf_counter() - pressed) * 1000 - late * 1000),
                )
            )


def gil_probe(lateness: Samples, stop: threading.Event, period: float = GIL_PERIOD) -> None:
    """In a thread: how late a 2 ms sleep wakes (the wait for the GIL, or for a CPU)."""
    while not stop.is_set():
        t0 = time.perf_counter()
        time.sleep(period)
        lateness.append(time.perf_counter() - t0 - period)


#: a tab switch is done when the new ticker's chart shows data at most this much older than
#: the watchlist's clock at the press (the tickers off screen are sampled once a second)
CURRENT: Final = timedelta(seconds=2)
#: the simulated market's seed (the same run every time)
SEED: Final = 7


def current(as_of: datetime | None, clock: datetime | None) -> bool:
    return as_of is not None and (clock is None or as_of >= clock - CURRENT)


def first_and_last_fifth(
    times: list[float], values: list[float], summary: Callable[[list[float]], float]
) -> tuple[float, float] | None:
    """``summary`` of ``values`` (seconds, shown in ms) in the first and in the last fifth of
    the span of ``times``."""
    if len(times) < 5:
        return None
    lo, span = times[0], times[-1] - times[0]
    early = [v * 1000 for t, v in zip(times, values, strict=True) if t - lo < span / 5]
    late = [v * 1000 for t, v in zip(times, values, strict=True) if t - lo >= span * 4 / 5]
    if not early or not late:
        return None
    return round(summary(early), 1), round(summary(late), 1)


def p95(values: list[float]) -> float:
    return pct(values, 0.95) or 0.0


def all_events(app: GexApp) -> int:
    return sum(b.events_applied for t in app.tickers if (b := app.monitor.book(t)) is not None)


def _spin(n: int = 2_000_000) -> float:
    t = time.perf_counter()
    x = 0
    for i in range(n):
        x += i * i
    return time.perf_counter() - t


def two_process_slowdown() -> float:
    """How much slower a CPU-bound loop runs when two processes run it at once than alone:
    ≈ 1 on a machine with two real cores, ≈ 2 when its two CPUs share one core's time
    (the UI's budgets assume the former: chart renders and computes run beside the loop)."""
    import multiprocessing

    alone = min(_spin() for _ in range(2))
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_spin, [10_000, 10_000])  # started and warm
        both = max(pool.map(_spin, [2_000_000, 2_000_000]))
    return both / alone


async def count_contracts(start: datetime, tickers: list[str]) -> int:
    """The watchlist's contracts, from an unpaced feed of the same seed and start."""
    probe_feed = SimulatedFeed(seed=SEED, paced=False, start=start)
    total = 0
    for ticker in tickers:
        session = await probe_feed.open(ticker)
        total += session.chain.instruments.height
        await session.aclose()
    return total


async def run(
    seconds: float,
    size: tuple[int, int],
    key_interval: float,
    tickers: list[str],
    rate: float | None = None,
    compute: str = "process",
) -> dict[str, Any]:
    start = datetime(2026, 1, 5, 10, 0, tzinfo=NEW_YORK)  # pinned: a Monday, in session
    slowdown = two_process_slowdown()
    # a Greeks event per contract every `greeks_interval` s: `rate` events/s in all
    greeks_interval = 1.0 if rate is None else await count_contracts(start, tickers) / rate
    feed = SimulatedFeed(
        seed=SEED, speed=1.0, paced=True, start=start, greeks_interval=greeks_interval
    )
    # as `gextui` runs it: the computations in a worker process (``--compute thread``: as
    # the tests run it, for comparison)
    worker = ProcessCompute() if compute == "process" else None
    app = GexApp(feed, tickers, settings=Settings(redraw_hz=5.0), compute=worker)
    latencies: list[float] = []
    tab_latencies: list[float] = []
    tab_first: list[float] = []  # until any picture of the new ticker (maybe older data)
    tab_bars: list[float] = []  # until its bars are current (the profile follows them)
    tab_times: list[float] = []
    per_key: dict[str, list[float]] = {}
    pilot_latencies: list[float] = []
    # the probes' buffers: at most one sample per sleep
    lateness = Samples(int(seconds / LOOP_PERIOD) + 1000)
    late_at = Samples(int(seconds / LOOP_PERIOD) + 1000)  # loop.time() of each probe
    gil_late = Samples(int(seconds / GIL_PERIOD) + 1000)
    blocks: list[tuple[float, float, str, float]] = []
    last_key: list[Any] = ["", time.perf_counter()]
    stop = asyncio.Event()
    async with app.run_test(size=size) as pilot:
        chart = app.query_one(StrikeChart)
        # wait for the chain to open and the first picture
        t_open = time.perf_counter()
        while app.snapshot is None or not on_screen(app):
            await asyncio.sleep(0.02)
            if time.perf_counter() - t_open > 60:
                book = app.book
                raise RuntimeError(
                    "the app never showed the chain: "
                    f"book version {book.version if book else None}, "
                    f"snapshot {app.snapshot is not None}, painted {chart.painted}, "
                    f"view {app.view_state}, error {app._error!r}, "
                    f"compute running {app.computing}, chart idle {app.chart_idle}"
                )
        # the whole watchlist has data
        while any((b := app.monitor.book(t)) is None or b.version == 0 for t in app.tickers):  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        open_seconds = time.perf_counter() - t_open
        book = app.book
        assert book is not None
        rss_start = rss_mb()
        probe_task = asyncio.create_task(probe(lateness, late_at, stop, blocks, last_key))
        gil_stop = threading.Event()
        gil_thread = threading.Thread(target=gil_probe, args=(gil_late, gil_stop), daemon=True)
        gil_thread.start()
        renders0 = app.render_loop.renders
        cpu_main0, cpu_all0 = time.thread_time(), time.process_time()
        ev0, snaps0 = all_events(app), app.snapshots_computed
        frames0, paints0 = app.frames, app.chart_paints
        t0 = time.perf_counter()
        next_key = t0 + key_interval
        k = 0
        presses = 0
        rss_fifths: list[float] = []  # RSS at the end of each fifth of the run
        while time.perf_counter() - t0 < seconds:
            if time.perf_counter() - t0 >= (len(rss_fifths) + 1) * seconds / 5:
                rss_fifths.append(round(rss_mb(), 1))
            if time.perf_counter() >= next_key and len(app.tickers) > 1 and presses % 4 == 3:
                presses += 1  # every fourth press is a tab (the view keys keep their cycle)
                t_tab = time.perf_counter()
                was = app.ticker
                clock = app.monitor.market_clock
                last_key[:] = ["tab", t_tab]
                send_key(app, "tab")
                first = bars_at = None
                while not (
                    app.ticker != was and on_screen(app) and current(chart.painted_as_of, clock)
                ):
                    if first is None and app.ticker != was and chart.painted == app.view_state:
                        first = time.perf_counter() - t_tab
                    if (
                        bars_at is None
                        and app.ticker != was
                        and chart.painted == app.view_state
                        and current(chart.painted_as_of, clock)
                    ):
                        bars_at = time.perf_counter() - t_tab
                    await asyncio.sleep(0.001)
                    if time.perf_counter() - t_tab > 5:
                        break
                tab_latencies.append(time.perf_counter() - t_tab)
                tab_first.append(first if first is not None else tab_latencies[-1])
                tab_bars.append(bars_at if bars_at is not None else tab_latencies[-1])
                tab_times.append(t_tab - t0)
                next_key = time.perf_counter() + key_interval
            elif time.perf_counter() >= next_key:
                key = KEYS[k % len(KEYS)]
                k += 1
                presses += 1
                t_key = time.perf_counter()
                last_key[:] = [key, t_key]
                send_key(app, key)
                # the key is handled when the view changes; the screen reflects it when the
                # chart shows that view
                while app.view_state == before_view(app, key) or not on_screen(app):
                    await asyncio.sleep(0.001)
                    if time.perf_counter() - t_key > 5:
                        break
                latencies.append(time.perf_counter() - t_key)
                per_key.setdefault(key, []).append(latencies[-1])
                if k % 4 == 0:  # now and then also the full Pilot round trip
                    t_pilot = time.perf_counter()
                    last_key[:] = ["v (pilot)", t_pilot]
                    await pilot.press("v")
                    while not on_screen(app):
                        await asyncio.sleep(0.001)
                        if time.perf_counter() - t_pilot > 5:
                            break
                    pilot_latencies.append(time.perf_counter() - t_pilot)
                next_key = time.perf_counter() + key_interval
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - t0
        cpu_main = time.thread_time() - cpu_main0
        cpu_all = time.process_time() - cpu_all0
        stop.set()
        await probe_task
        gil_stop.set()
        gil_thread.join()
        n_renders = app.render_loop.renders - renders0
        timings = list(app.render_loop.timings)[-n_renders:] if n_renders else []
        events = all_events(app) - ev0
        contracts_all = sum(len(b) for t in app.tickers if (b := app.monitor.book(t)) is not None)
        paints = app.chart_paints - paints0
        frames = app.frames - frames0
        snaps = app.snapshots_computed - snaps0
        contracts = len(book)
        rss_now = rss_mb()
        worker_pid = worker.worker_pid if worker is not None else None
        worker_rss = rss_mb(worker_pid) if worker_pid is not None else 0.0
    await feed.aclose()
    ms = [x * 1000 for x in latencies]
    late_s, late_times = lateness.values(), late_at.values()
    late_ms = [x * 1000 for x in late_s]
    gil_ms = [x * 1000 for x in gil_late.values()]
    return {
        "bench": "ui",
        "terminal": f"{size[0]}x{size[1]}",
        "tickers": tickers,
        "contracts": contracts,
        "contracts_all_tickers": contracts_all,
        "seconds": round(elapsed, 2),
        "open_seconds": round(open_seconds, 2),
        "events_per_second": round(events / elapsed),
        "greeks_interval_s": round(greeks_interval, 3),
        "frames_per_second": round(frames / elapsed, 2),
        "chart_repaints_per_second": round(paints / elapsed, 2),
        "recomputes_per_second": round(snaps / elapsed, 2),
        "compute": compute,
        "computed_in_worker_process": worker.remote if worker is not None else 0,
        "key_presses": len(ms),
        "key_latency_ms_p50": round(statistics.median(ms), 1) if ms else None,
        "key_latency_ms_p95": round(pct(ms, 0.95) or 0.0, 1) if ms else None,
        "key_latency_ms_max": round(max(ms), 1) if ms else None,
        "key_latency_ms_max_by_key": {
            k: round(max(v) * 1000, 1) for k, v in sorted(per_key.items())
        },
        "tab_switches": len(tab_latencies),
        "tab_switch_ms_p95": (
            round((pct([x * 1000 for x in tab_latencies], 0.95) or 0.0), 1)
            if tab_latencies
            else None
        ),
        "tab_switch_ms_max": round(max(tab_latencies) * 1000, 1) if tab_latencies else None,
        "tab_switch_ms_p95_first_vs_last_fifth": first_and_last_fifth(
            tab_times, tab_latencies, p95
        ),
        "tab_first_picture_ms_p95": (
            round((pct([x * 1000 for x in tab_first], 0.95) or 0.0), 1) if tab_first else None
        ),
        "tab_bars_current_ms_p95": (
            round((pct([x * 1000 for x in tab_bars], 0.95) or 0.0), 1) if tab_bars else None
        ),
        "pilot_press_roundtrip_ms_p50": (
            round(statistics.median(pilot_latencies) * 1000, 1) if pilot_latencies else None
        ),
        "loop_block_ms_max": round(max(late_ms), 1) if late_ms else None,
        "loop_block_ms_p99": round(pct(late_ms, 0.99) or 0.0, 1) if late_ms else None,
        "loop_blocks_over_40ms": sum(1 for x in late_s if x >= LOGGED_BLOCK),
        # (seconds into the run, ms, the key pressed last, ms from that press to the block)
        "loop_blocks_longest": sorted(blocks, key=lambda b: -b[1])[:8],
        "loop_block_ms_max_first_vs_last_fifth": first_and_last_fifth(late_times, late_s, max),
        "probe_samples_dropped": lateness.dropped + late_at.dropped + gil_late.dropped,
        "gil_wait_ms_p50": round(pct(gil_ms, 0.5) or 0.0, 2),
        "gil_wait_ms_p99": round(pct(gil_ms, 0.99) or 0.0, 1),
        "render_wall_ms_p95": round(p95([w for w, _ in timings]) * 1000, 1),
        "render_cpu_ms_p95": round(p95([c for _, c in timings]) * 1000, 1),
        "loop_thread_cpu_pct": round(cpu_main / elapsed * 100, 1),
        "process_cpu_pct": round(cpu_all / elapsed * 100, 1),
        "machine_load_avg_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "machine_two_process_slowdown": round(slowdown, 2),
        "rss_mb": round(rss_now, 1),
        # the compute process's own (the monitor's memory is both)
        "worker_rss_mb": round(worker_rss, 1),
        "rss_mb_with_worker": round(rss_now + worker_rss, 1),
        "rss_growth_mb": round(rss_now - rss_start, 1),
        # warm-up (histories, caches, allocator arenas) vs growth: flat after the first fifths
        "rss_mb_start_and_by_fifth": [round(rss_start, 1), *rss_fifths[:4], round(rss_now, 1)],
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "budgets": {
            "frames_per_second": ">= 4",
            "key_latency_ms_p95": "<= 100",
            "loop_block_ms_max": "<= 50",
            "rss_mb": "<= 300 (SPX), <= 400 (SPX SPY QQQ NDX)",
            "tab_switch_ms_p95": "<= 150",
            "rss_growth_mb": "< 20 over 30 minutes",
        },
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--size", default="160x48", help="terminal WIDTHxHEIGHT")
    ap.add_argument("--key-interval", type=float, default=0.4)
    ap.add_argument("--tickers", default="SPX", help="comma-separated watchlist (default SPX)")
    ap.add_argument(
        "--rate",
        type=float,
        default=None,
        help="events/s of the whole watchlist (default: a Greeks event per contract per second)",
    )
    ap.add_argument(
        "--compute",
        choices=("process", "thread"),
        default="process",
        help="where the exposure is computed: a worker process as `gextui` does (default), "
        "or a thread as the tests do",
    )
    args = ap.parse_args(argv)
    if args.rate is not None and not args.rate > 0:
        ap.error("--rate must be positive")
    w, h = (int(x) for x in args.size.lower().split("x"))
    tickers = [t.strip().upper() for t in args.tickers.split(",") if t.strip()]
    result = asyncio.run(
        run(args.seconds, (w, h), args.key_interval, tickers, args.rate, args.compute)
    )
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
