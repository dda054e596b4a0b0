"""RecordingFeed: record a simulated session, take snapshots while recording, and compare with
the book / exposure snapshot rebuilt from the recording at the same times (and by a replay)."""

from __future__ import annotations

import copy
import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from _store_synth import UNDERLYING, make_chain, random_batches
from polars.testing import assert_frame_equal

from gextui.core.chain import ChainBook, UnderlyingState
from gextui.core.events import EventBatch
from gextui.core.exposure import compute_exposure
from gextui.feeds.base import (
    ChainInfo,
    Feed,
    FeedError,
    FeedSession,
    FeedState,
    FeedStatus,
    Source,
)
from gextui.feeds.recording import RecordingFeed, RecordingSession
from gextui.feeds.replay import ReplayFeed
from gextui.feeds.simulated import SimulatedFeed
from gextui.store import book_at, find_recordings, open_recording

START = datetime(2026, 11, 24, 10, 0)  # New York (naive = New York for SimulatedFeed)


@dataclass
class Probe:
    time: datetime
    frame: pl.DataFrame
    underlying: UnderlyingState
    snapshot: dict[str, Any]


def sim(speed: float = 1.0) -> SimulatedFeed:
    return SimulatedFeed(seed=3, paced=False, start=START, speed=speed)


async def stream(
    session: RecordingSession, n: int, keep: set[int], book: ChainBook | None = None
) -> tuple[ChainBook, list[Probe], float]:
    """Consume ``n`` batches into a live book, keeping probes after batches ``keep``; also the
    slowest ``recorder.write`` seen (seconds)."""
    book = book or session.chain.new_book()
    probes: list[Probe] = []
    worst = 0.0
    rec = session.recorder
    original = rec.write

    def timed(batch: Any) -> None:
        nonlocal worst
        t0 = time.perf_counter()
        original(batch)
        worst = max(worst, time.perf_counter() - t0)

    rec.write = timed  # type: ignore[method-assign]
    try:
        i = 0
        async for batch in session.events():
            book.apply(batch)
            if i in keep:
                snap = compute_exposure(book).to_dict()
                probes.append(Probe(batch.time, book.frame(), copy.copy(book.underlying), snap))
            i += 1
            if i >= n:
                break
    finally:
        del rec.write
    return book, probes, worst


def same_snapshot(replayed: dict[str, Any], live: dict[str, Any]) -> None:
    # the rebuilt book is labelled "replay"; everything else must be identical
    assert replayed["source"] == "replay" and live["source"] == "simulated"
    assert {**replayed, "source": "simulated"} == live


@pytest.mark.parametrize("speed", [1.0, 40.0])  # one segment; several minutes of segments
async def test_recorded_session_equals_live_snapshots(tmp_path: Path, speed: float) -> None:
    feed = RecordingFeed(sim(speed), tmp_path)
    assert isinstance(feed, Feed) and feed.source is Source.SIMULATED
    session = await feed.open("SPX")
    assert isinstance(session, FeedSession)
    assert session.chain.source is Source.SIMULATED
    n = 60
    keep = {0, 1, 9, 10, 23, 37, 58, 59}
    book, probes, worst = await stream(session, n, keep)
    assert session.recorder.events_written == book.events_applied
    assert session.recorder_error is None
    await session.aclose()
    assert session.recorder.events_on_disk == book.events_applied
    assert session.recorder.bytes_written > 0
    await feed.aclose()
    assert session.recorder.closed
    print(f"max Recorder.write call: {worst * 1e3:.2f} ms")

    recording = open_recording(tmp_path, "SPX")
    assert recording.warnings == []
    assert recording.source == "simulated"
    if speed > 1:
        assert len(recording.segments) >= 3
    for p in probes:
        replayed = book_at(tmp_path, "SPX", p.time)
        assert_frame_equal(replayed.frame(), p.frame)
        assert replayed.underlying == p.underlying
        same_snapshot(compute_exposure(replayed).to_dict(), p.snapshot)
    assert_frame_equal(book_at(tmp_path, "SPX", probes[-1].time).frame(), book.frame())

    # a ReplayFeed over the recording yields batches that rebuild the same book
    replay = ReplayFeed(tmp_path, paced=False)
    rs = await replay.open("SPX")
    rebuilt = rs.chain.new_book()
    count = 0
    async for batch in rs.events():
        rebuilt.apply(batch)
        count += 1
    assert count == n
    assert_frame_equal(rebuilt.frame(), book.frame())
    assert rebuilt.underlying == book.underlying
    same_snapshot(compute_exposure(rebuilt).to_dict(), compute_exposure(book).to_dict())
    await replay.aclose()


async def test_replay_batches_identical_to_streamed(tmp_path: Path) -> None:
    feed = RecordingFeed(sim(20.0), tmp_path)
    session = await feed.open("SPY")
    streamed = []
    async for batch in session.events():
        streamed.append(batch)
        if len(streamed) == 40:
            break
    await feed.aclose()
    replay = ReplayFeed(tmp_path, paced=False)
    rs = await replay.open("SPY")
    got = [b async for b in rs.events()]
    await replay.aclose()
    assert [b.time for b in got] == [b.time for b in streamed]
    for a, b in zip(streamed, got, strict=True):
        assert dict(b.meta) == dict(a.meta)
        fa, fb = a.conformed().frames(), b.frames()
        assert list(fa) == list(fb)
        for kind in fa:
            assert_frame_equal(fb[kind], fa[kind])


async def test_one_recorder_per_ticker_reused(tmp_path: Path) -> None:
    feed = RecordingFeed(sim(), tmp_path)
    s1 = await feed.open("SPX")
    book, _, _ = await stream(s1, 15, set())
    await s1.aclose()
    s2 = await feed.open("QQQ")
    await stream(s2, 5, set())
    await s2.aclose()
    s3 = await feed.open("SPX")
    assert s3.recorder is s1.recorder
    assert s2.recorder is not s1.recorder
    assert set(feed.recorders) == {"SPX", "QQQ"}
    book, probes, _ = await stream(s3, 15, {14}, book)
    await feed.aclose()
    assert s1.recorder.closed and s2.recorder.closed
    # the SPX recording continues across the switch: the same book at the end
    replayed = book_at(tmp_path, "SPX", probes[0].time)
    assert_frame_equal(replayed.frame(), book.frame())
    assert {r.ticker for r in find_recordings(tmp_path)} == {"SPX", "QQQ"}


async def test_forwards_inner_session(tmp_path: Path) -> None:
    feed = RecordingFeed(sim(), tmp_path)
    session = await feed.open("SPX")
    inner = session.inner
    assert session.chain is inner.chain
    assert session.market is inner.market  # type: ignore[attr-defined]
    assert session.warmup_batches == 10
    await session.set_expirations(None)
    async for _ in session.events():
        break
    assert session.status == inner.status
    assert session.status.state is FeedState.LIVE
    with pytest.raises(AttributeError):
        _ = session.no_such_thing
    await feed.aclose()
    final = session.status
    assert final.state is FeedState.CLOSED


async def test_unwritable_dir_is_a_feed_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the directory should be")
    root = blocker / "recordings"
    feed = RecordingFeed(sim(), root)
    with pytest.raises(FeedError, match="recordings") as info:
        await feed.open("SPX")
    assert str(root) in str(info.value) and "\n" not in str(info.value)
    await feed.aclose()


async def test_recorder_failure_keeps_streaming(tmp_path: Path) -> None:
    feed = RecordingFeed(sim(40.0), tmp_path)
    session = await feed.open("SPX")
    await stream(session, 25, set())  # 100 s of market time: a segment on disk
    session.recorder.wait()
    assert session.recorder_error is None
    # the ticker directory disappears and a file takes its place: every later write fails
    ticker_dir = tmp_path / "ticker=SPX"
    shutil.rmtree(ticker_dir)
    ticker_dir.write_text("in the way")
    book, _, _ = await stream(session, 30, set())
    assert book.events_applied > 0  # the feed kept going
    await session.aclose()  # flushing fails too, but does not raise
    err = session.recorder_error
    assert err is not None and err.startswith("recording failed") and "\n" not in err
    assert "ticker=SPX" in err
    assert session.status.reason.endswith(err)
    assert session.status.state is FeedState.CLOSED
    await feed.aclose()  # closing the failed recorder does not raise either


async def test_recorder_write_exception_is_contained(tmp_path: Path) -> None:
    feed = RecordingFeed(sim(), tmp_path)
    session = await feed.open("SPX")

    def boom(batch: object) -> None:
        raise OSError(28, "No space left on device")

    session.recorder.write = boom  # type: ignore[method-assign]
    n = 0
    async for _ in session.events():
        n += 1
        if n == 3:
            break
    assert (
        session.recorder_error
        == "recording failed (3 failures): [Errno 28] No space left on device"
    )
    assert session.status.state is FeedState.LIVE
    assert "No space left" in session.status.reason
    del session.recorder.write
    await feed.aclose()


class _ListSession:
    def __init__(self, chain: ChainInfo, batches: list[EventBatch]) -> None:
        self.chain = chain
        self.status = FeedStatus(FeedState.LIVE)
        self.batches = batches

    async def events(self) -> Any:
        for b in self.batches:
            yield b

    async def set_expirations(self, expirations: object) -> None:
        return None

    async def aclose(self) -> None:
        return None


class _GrowingFeed:
    """Each open lists more strikes (new expirations or strikes listed during the day)."""

    def __init__(self, parts: list[tuple[int, list[EventBatch]]]) -> None:
        self.parts = parts
        self.opened = 0

    @property
    def source(self) -> Source:
        return Source.TASTYTRADE

    async def open(self, ticker: str) -> _ListSession:
        n_strikes, batches = self.parts[self.opened]
        self.opened += 1
        chain = ChainInfo("SPX", UNDERLYING, Source.TASTYTRADE, make_chain(n_strikes))
        return _ListSession(chain, batches)

    async def aclose(self) -> None:
        return None


async def test_chain_that_grows_gets_a_new_recorder_same_recording(tmp_path: Path) -> None:
    batches = random_batches(make_chain(12), 120, seed=8)
    feed = RecordingFeed(_GrowingFeed([(12, batches[:60]), (12, []), (14, batches[60:])]), tmp_path)
    live = ChainBook("SPX", make_chain(14), underlying_symbol=UNDERLYING, source="replay")
    first = await feed.open("SPX")
    async for b in first.events():
        live.apply(b)
    await first.aclose()
    same = await feed.open("SPX")  # same instruments: the same recorder
    assert same.recorder is first.recorder
    await same.aclose()
    grown = await feed.open("SPX")
    assert grown.recorder is not first.recorder and first.recorder.closed
    async for b in grown.events():
        live.apply(b)
    await feed.aclose()
    rec = open_recording(tmp_path, "SPX")
    assert rec.warnings == [] and rec.source == "tastytrade"
    assert rec.instruments["symbol"].sort().equals(make_chain(14)["symbol"].sort())
    assert [b.time for b in rec.batches()] == [b.time for b in batches]
    assert_frame_equal(book_at(tmp_path, "SPX", batches[-1].time).frame(), live.frame())
