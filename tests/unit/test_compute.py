"""Where the exposure is computed: a thread, or a worker process that gets a chain's
instruments once and then only market states. Both give the same numbers; the worker's
failures fall back to a thread with one notice; the monitor uses either."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import threading
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from polars.testing import assert_frame_equal

from gextui.core.chain import BookSpec, ChainBook
from gextui.core.expiry import NEW_YORK
from gextui.core.exposure import ExposureSnapshot, compute_exposure
from gextui.feeds.simulated import SimulatedFeed
from gextui.monitor import Monitor, ProcessCompute, ThreadCompute
from gextui.monitor.compute import (
    MissingBookError,
    ViewTask,
    _remote_view,
    compute_for,
    compute_view,
)
from gextui.settings import Settings, SettingsError

START = datetime(2026, 1, 5, 10, 0, tzinfo=NEW_YORK)  # a Monday, in session


async def sim_book(ticker: str = "SPY", batches: int = 30) -> ChainBook:
    feed = SimulatedFeed(seed=5, paced=False, start=START)
    session = await feed.open(ticker)
    book = session.chain.new_book()
    n = 0
    async for batch in session.events():
        book.apply(batch)
        n += 1
        if n >= batches:
            break
    await session.aclose()
    return book


def same_snapshot(a: ExposureSnapshot, b: ExposureSnapshot) -> None:
    assert (a.ticker, a.expiry, a.as_of, a.spot) == (b.ticker, b.expiry, b.as_of, b.spot)
    assert a.net_gex == b.net_gex and a.abs_gex == b.abs_gex
    assert (a.zero_gamma, a.call_wall, a.put_wall) == (b.zero_gamma, b.call_wall, b.put_wall)
    assert a.coverage == b.coverage
    assert_frame_equal(a.strikes, b.strikes)
    assert_frame_equal(a.profile, b.profile)


@pytest.fixture(scope="module")
def book() -> ChainBook:
    return asyncio.run(sim_book())


def test_market_state_and_spec_rebuild_the_same_book_elsewhere(book: ChainBook) -> None:
    state = pickle.loads(pickle.dumps(book.market_state()))
    spec: BookSpec = pickle.loads(pickle.dumps(book.spec()))
    rebuilt = spec.build().with_state(state)
    assert rebuilt.ticker == book.ticker and rebuilt.source == book.source
    assert rebuilt.symbols == book.symbols  # the same order: no second normalisation
    assert (rebuilt.version, rebuilt.as_of, rebuilt.spot) == (book.version, book.as_of, book.spot)
    assert rebuilt.events_applied == book.events_applied
    assert_frame_equal(rebuilt.state, book.state)
    same_snapshot(compute_exposure(rebuilt, "all"), compute_exposure(book, "all"))
    # the state is a copy: the book's next batch does not change it
    before = state.state["gamma"].copy()
    book._state["gamma"][:] = 0.0  # what an apply would do to the live columns
    try:
        assert np.array_equal(state.state["gamma"], before, equal_nan=True)
    finally:
        book._state["gamma"][:] = before


def test_copy_is_with_state_of_market_state(book: ChainBook) -> None:
    clone = book.copy()
    assert clone.version == book.version and clone.underlying == book.underlying
    assert clone._state["gamma"] is not book._state["gamma"]
    assert clone.instruments is book.instruments  # shared, read-only
    same_snapshot(compute_exposure(clone, "0dte"), compute_exposure(book, "0dte"))


def test_worker_function_needs_the_spec_once(book: ChainBook) -> None:
    task = ViewTask("SPY", "all", 1, also="0dte")
    with pytest.raises(MissingBookError):
        _remote_view(10**9, None, book.market_state(), task)  # never seen, no spec
    result, also = _remote_view(10**9, book.spec(), book.market_state(), task)
    again, _ = _remote_view(10**9, None, book.market_state(), task)  # now it has it
    expected, expected_also = compute_view(book.copy(), task)
    same_snapshot(result.snapshot, expected.snapshot)
    same_snapshot(again.snapshot, expected.snapshot)
    assert also is not None and expected_also is not None
    same_snapshot(also, expected_also)
    assert result.expirations == expected.expirations and result.version == book.version
    # the alerts' 0DTE snapshot is the view's 0DTE levels, not computed twice
    assert expected.zero_dte is not None and expected_also is expected.zero_dte
    same_snapshot(expected_also, compute_exposure(book, "0dte"))


@pytest.mark.asyncio
async def test_process_compute_matches_threads_and_resends_a_forgotten_chain() -> None:
    book = await sim_book("QQQ")
    lock = threading.Lock()
    task = ViewTask("QQQ", "all", id(book), also="0dte")
    expected, expected_also = await ThreadCompute().view(book, lock, task)
    compute = ProcessCompute()
    compute.start()
    try:
        for _ in range(3000):  # the worker imports polars and numpy first
            if compute.ready or compute.failed:
                break
            await asyncio.sleep(0.01)
        assert compute.ready, compute.failed
        pid = compute.worker_pid
        assert isinstance(pid, int) and pid != os.getpid()  # another process
        result, also = await compute.view(book, lock, task)
        assert compute.remote == 1
        same_snapshot(result.snapshot, expected.snapshot)
        assert also is not None and expected_also is not None
        same_snapshot(also, expected_also)
        assert (result.book_id, result.version) == (id(book), book.version)
        # a worker that lost the chain (restarted, or dropped it) is sent its spec again
        compute._sent.clear()
        token = compute._token[book]
        compute._token[book] = token + 10**6
        compute._sent.add(token + 10**6)
        again, _ = await compute.view(book, lock, ViewTask("QQQ", "0dte", id(book)))
        assert compute.remote == 2 and not compute.failed
        same_snapshot(again.snapshot, expected_also)
        assert compute.take_notice() == ""
    finally:
        compute.close()


@pytest.mark.asyncio
async def test_a_dead_worker_falls_back_to_threads_with_one_notice() -> None:
    book = await sim_book("SPY", batches=10)
    lock = threading.Lock()
    compute = ProcessCompute()
    compute.start()
    try:
        for _ in range(3000):
            if compute.ready or compute.failed:
                break
            await asyncio.sleep(0.01)
        assert compute.ready, compute.failed
        pool = compute._pool
        assert pool is not None
        for proc in list(pool._processes.values()):  # the worker dies (OOM killer, kill -9)
            proc.kill()
            proc.join()
        task = ViewTask("SPY", "all", id(book))
        result, _ = await compute.view(book, lock, task)
        expected, _ = compute_view(book.copy(), task)
        same_snapshot(result.snapshot, expected.snapshot)  # computed in a thread instead
        assert compute.failed and not compute.ready
        notice = compute.take_notice()
        assert notice.startswith("computing in a thread: the worker process failed")
        assert compute.take_notice() == ""  # said once
        await compute.view(book, lock, task)  # and it stays on threads
        assert compute.remote == 0
    finally:
        compute.close()


@pytest.mark.asyncio
async def test_monitor_computes_in_the_worker_process() -> None:
    feed = SimulatedFeed(seed=3, speed=60.0, start=START, paced=False)
    compute = ProcessCompute()
    monitor = Monitor(feed, ["SPX", "SPY"], compute=compute)
    task = asyncio.create_task(monitor.run())
    try:
        for _ in range(3000):
            ready = compute.ready and all(
                (b := monitor.book(t)) is not None and b.version > 0 for t in monitor.tickers
            )
            if ready or compute.failed:
                break
            await asyncio.sleep(0.01)
        assert compute.ready, compute.failed
        result = await monitor.view("SPX", "all")
        await monitor.observe()
        assert result is not None and compute.remote >= 2
        assert monitor.latest("SPY") is not None  # observed in the worker too
        assert result.snapshot.ticker == "SPX" and result.snapshot.net_gex != 0
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await feed.aclose()
    assert compute._pool is None  # the monitor closed its compute when it stopped


def test_compute_setting_and_its_modes() -> None:
    assert Settings().compute == "process"
    assert isinstance(compute_for("process"), ProcessCompute)
    assert isinstance(compute_for("thread"), ThreadCompute)
    with pytest.raises(ValueError, match="compute: expected one of process, thread"):
        compute_for("gpu")
    with pytest.raises(SettingsError, match="compute: expected one of process, thread"):
        Settings(compute="gpu")


def test_settings_file_sets_compute(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('compute = "thread"\n')
    assert Settings.load(path).compute == "thread"
    path.write_text('compute = "cloud"\n')
    with pytest.raises(SettingsError, match="compute"):
        Settings.load(path)


class _StandIn:
    """What Textual puts in sys.stderr while it runs: a stream with no real descriptor."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass

    def fileno(self) -> int:
        return -1


@pytest.mark.asyncio
async def test_the_worker_starts_under_a_tui_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    """multiprocessing passes sys.stderr's descriptor to the new process: under Textual
    it is -1 and the start failed ("bad value(s) in fds_to_keep"), silently on threads."""
    stand_in = _StandIn()
    monkeypatch.setattr("sys.stderr", stand_in)
    compute = ProcessCompute()
    compute.start()
    try:
        import sys

        assert sys.stderr is stand_in  # put back after the start
        for _ in range(3000):
            if compute.ready or compute.failed:
                break
            await asyncio.sleep(0.01)
        assert compute.ready and not compute.failed, compute.failed
    finally:
        compute.close()
