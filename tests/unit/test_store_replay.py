"""ReplayFeed: protocol, order, seek (reset state == book_at), pause, damaged segments."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from _store_synth import UNDERLYING, make_chain, random_batches
from polars.testing import assert_frame_equal

from gextui.core.chain import ChainBook
from gextui.core.events import EventBatch
from gextui.feeds.base import Feed, FeedSession, FeedState, Source, UnknownTickerError
from gextui.feeds.replay import ReplayFeed, ReplaySession
from gextui.store import Recorder, book_at

N = 160


@pytest.fixture
def recorded(tmp_path: Path) -> tuple[Path, list[EventBatch]]:
    batches = random_batches(make_chain(), N, seed=31)
    with Recorder(tmp_path, "SPX", make_chain(), "simulated", underlying_symbol=UNDERLYING) as r:
        for b in batches:
            r.write(b)
    return tmp_path, batches


def consume(book: ChainBook, session: ReplaySession, batch: EventBatch) -> ChainBook:
    """What the UI does: a fresh book on a reset, then apply."""
    if batch.reset is not None and batch.reset.first:
        book = session.chain.new_book()
    book.apply(batch)
    return book


async def test_protocol_and_full_replay(recorded: tuple[Path, list[EventBatch]]) -> None:
    root, batches = recorded
    feed = ReplayFeed(root, paced=False)
    assert isinstance(feed, Feed)
    assert feed.source is Source.REPLAY
    assert feed.tickers() == ["SPX"]
    with pytest.raises(UnknownTickerError, match="QQQ"):
        await feed.open("QQQ")
    session = await feed.open("spx")
    assert isinstance(session, FeedSession)
    assert session.chain.source is Source.REPLAY
    assert session.chain.underlying_symbol == UNDERLYING
    assert session.start_time == batches[0].time and session.end_time == batches[-1].time
    got = [b async for b in session.events()]
    assert [b.time for b in got] == [b.time for b in batches]
    assert session.position == batches[-1].time
    assert session.status.state is FeedState.CLOSED
    live = session.chain.new_book()
    for b in batches:
        live.apply(b)
    replayed = session.chain.new_book()
    for b in got:
        replayed.apply(b)
    assert_frame_equal(replayed.frame(), live.frame())
    await feed.aclose()


async def test_seek_forward_and_back_resets_to_book_at(
    recorded: tuple[Path, list[EventBatch]],
) -> None:
    root, batches = recorded
    feed = ReplayFeed(root, paced=False)
    session = await feed.open("SPX")
    book = session.chain.new_book()
    plan = [
        lambda: session.seek(timedelta(seconds=95)),  # forward over segment boundaries
        lambda: session.seek(timedelta(seconds=-130)),  # back
        lambda: session.seek_to(batches[120].time),  # exactly a batch time
        lambda: session.seek(timedelta(hours=-5)),  # clamped to the start
    ]
    targets: list[object] = []
    checked: list[object] = []
    in_group = 0
    normal_since = 0
    async for batch in session.events():
        book = consume(book, session, batch)
        if batch.reset is not None and batch.reset.first:
            assert batch.reset.at == targets[-1]
            in_group = batch.reset.total
        if in_group:
            in_group -= 1
            if in_group == 0:  # the group is applied: the book is the state at the target
                want = book_at(root, "SPX", targets[-1])  # type: ignore[arg-type]
                assert_frame_equal(book.frame(), want.frame())
                assert book.as_of == want.as_of
                checked.append(targets[-1])
                normal_since = 0
            continue
        if checked:
            assert batch.time > checked[-1]  # type: ignore[operator]
        normal_since += 1
        if len(targets) < len(plan) and normal_since == 5:
            targets.append(plan[len(targets)]())
    assert checked == targets and len(targets) == len(plan)
    assert checked[-1] == batches[0].time  # clamped
    # after the last reset the replay ran to the end: same as the live book at the end
    full = session.chain.new_book()
    for b in batches:
        full.apply(b)
    assert_frame_equal(book.frame(), full.frame())


async def test_start_yields_reset_group_then_continuation(
    recorded: tuple[Path, list[EventBatch]],
) -> None:
    """Every reset group (any size) brings a fresh book to book_at(target)."""
    root, batches = recorded
    feed = ReplayFeed(root, paced=False, start=batches[77].time + timedelta(milliseconds=1))
    session = await feed.open("SPX")
    it = session.events()
    first = await it.__anext__()
    assert first.reset is not None and first.reset.first
    book = consume(session.chain.new_book(), session, first)
    for _ in range(first.reset.total - 1):
        book = consume(book, session, await it.__anext__())
    target = batches[77].time + timedelta(milliseconds=1)
    assert session.position == target
    assert_frame_equal(book.frame(), book_at(root, "SPX", target).frame())
    nxt = await it.__anext__()
    assert nxt.time == batches[78].time and nxt.reset is None
    await session.aclose()


async def test_pause_resume_and_speed(recorded: tuple[Path, list[EventBatch]]) -> None:
    root, batches = recorded
    feed = ReplayFeed(root, paced=True, speed=1e6)  # paced code path, no wall-clock asserts
    session = await feed.open("SPX")
    it = session.events()
    await it.__anext__()
    session.pause()
    assert session.paused
    nxt = asyncio.ensure_future(it.__anext__())
    await asyncio.sleep(0.05)
    assert not nxt.done()  # held while paused
    session.speed = 2e6
    assert session.speed == 2e6
    session.resume()
    batch = await asyncio.wait_for(nxt, timeout=10)
    assert batch.time == batches[1].time
    rest = [b async for b in it]
    assert len(rest) == N - 2
    with pytest.raises(ValueError):
        session.speed = 0


async def test_damaged_segment_skipped_in_replay(recorded: tuple[Path, list[EventBatch]]) -> None:
    root, batches = recorded
    seg = sorted(root.rglob("events-*.parquet"))[1]
    seg.write_bytes(seg.read_bytes()[:100])
    session = await ReplayFeed(root, paced=False).open("SPX")
    assert any(str(seg) in w for w in session.warnings)
    got = [b async for b in session.events()]
    stamp = seg.name.removeprefix("events-").removesuffix(".parquet")
    want = [b.time for b in batches if f"{b.time:%Y%m%dT%H%M00Z}" != stamp]
    assert [b.time for b in got] == want


async def test_root_with_several_days(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from gextui.feeds.base import FeedError

    day2 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    for start in (None, day2):
        kw = {} if start is None else {"start": start}
        batches = random_batches(make_chain(), 20, seed=41, **kw)
        with Recorder(tmp_path, "SPX", make_chain(), "sim", underlying_symbol=UNDERLYING) as r:
            for b in batches:
                r.write(b)
    with pytest.raises(FeedError, match="holds 2 recordings"):
        await ReplayFeed(tmp_path).open("SPX")
    session = await ReplayFeed(tmp_path, start=day2 + timedelta(hours=2), paced=False).open("SPX")
    assert session.recording.day == "2026-11-25"
    got = [b async for b in session.events()]
    assert (
        got[0].reset is not None and got[0].reset.first
    )  # start past the end: clamped, the state at the end
    assert session.position == session.end_time
