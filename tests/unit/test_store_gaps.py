"""A minute the recorder could not write (disk full, then space again) is a gap, never spliced:
the recorder skips its batch numbers and writes a bridge checkpoint with the full state after
it; the reader finds the gap, seeks after it exactly and warns for times inside it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from _store_synth import UNDERLYING, make_chain, new_book
from polars.testing import assert_frame_equal

import gextui.store.recorder as recorder_mod
from gextui.cli import main
from gextui.core.events import EventBatch
from gextui.feeds.replay import ReplayFeed
from gextui.store import Recorder, open_recording
from gextui.store.schema import RecordingError

T0 = datetime(2026, 11, 24, 15, 0, 5, tzinfo=UTC)  # 10:00:05 New York


def minute_batches(minutes: int = 5) -> list[EventBatch]:
    """Two batches a minute; every batch moves the gamma and OI of a different contract, so a
    lost minute changes the final book."""
    inst = make_chain()
    syms = inst["symbol"].to_list()
    out = []
    for m in range(minutes):
        for k in range(2):
            i = (2 * m + k) % len(syms)
            out.append(
                EventBatch(
                    time=T0 + timedelta(minutes=m, seconds=20 * k),
                    greeks=pl.DataFrame(
                        {"symbol": [syms[i]], "gamma": [0.001 * (i + 1)], "iv": [0.2]}
                    ),
                    summary=pl.DataFrame({"symbol": [syms[i]], "open_interest": [100.0 + i]}),
                    trades=pl.DataFrame({"symbol": [UNDERLYING], "price": [6500.0 + m + k]}),
                )
            )
    return out


@pytest.fixture
def disk_full_once(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The second segment write fails with ENOSPC; the others succeed."""
    real = recorder_mod.write_segment_atomic
    calls = [0]

    def flaky(*args: object, **kw: object) -> int:
        calls[0] += 1
        if calls[0] == 2:
            raise OSError(28, "No space left on device")
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(recorder_mod, "write_segment_atomic", flaky)
    yield calls


def record(root: Path, batches: list[EventBatch]) -> Recorder:
    rec = Recorder(
        root, "SPX", make_chain(), "simulated", underlying_symbol=UNDERLYING, background=False
    )
    for b in batches:
        rec.write(b)
    with contextlib.suppress(RecordingError):
        rec.close()  # raises the write error; the recording went on after it
    return rec


def live_book_at(batches: list[EventBatch], t: datetime) -> pl.DataFrame:
    book = new_book(make_chain())
    for b in batches:
        if b.time <= t:
            book.apply(b)
    return book.frame()


def test_lost_minute_is_a_gap_and_seeks_after_it_are_exact(
    tmp_path: Path, disk_full_once: list[int]
) -> None:
    batches = minute_batches()
    rec = record(tmp_path, batches)
    assert any("No space left" in e for e in rec.errors)
    assert len(list(tmp_path.rglob("events-*.parquet"))) == 4  # 5 minutes, one lost
    assert len(list(tmp_path.rglob("state-*-gap.parquet"))) == 1

    recording = open_recording(tmp_path, "SPX")
    assert len(recording.gaps) == 1
    gap = recording.gaps[0]
    assert gap.lost_batches == 2
    assert gap.after == batches[1].time and gap.before == batches[4].time
    assert any("gap in the recording" in w and "10:01:05" not in w for w in recording.warnings)
    assert "gaps: 10:00:25–10:02:05" in recording.describe_range()

    # after the gap: exactly the live book, lost minute included (from the bridge checkpoint)
    for t in (batches[4].time, batches[5].time, batches[-1].time):
        assert_frame_equal(recording.book_at(t).frame(), live_book_at(batches, t))


def test_time_inside_a_gap_warns(tmp_path: Path, disk_full_once: list[int]) -> None:
    batches = minute_batches()
    record(tmp_path, batches)
    recording = open_recording(tmp_path, "SPX")
    inside = batches[2].time  # 10:01:05, a lost batch
    book = recording.book_at(inside)
    assert_frame_equal(book.frame(), live_book_at(batches, batches[1].time))
    assert any("falls in a gap" in w for w in recording.warnings)


def test_without_the_bridge_the_splice_is_named(tmp_path: Path, disk_full_once: list[int]) -> None:
    batches = minute_batches()
    record(tmp_path, batches)
    for p in tmp_path.rglob("state-*.parquet"):
        p.unlink()  # no checkpoints at all: the state must be folded across the gap
    recording = open_recording(tmp_path, "SPX")
    t = batches[-1].time
    book = recording.book_at(t)
    assert not book.frame().equals(live_book_at(batches, t))  # the lost events are missing
    assert any("misses the events lost in the gap" in w for w in recording.warnings)


def test_snapshot_at_inside_and_outside(
    tmp_path: Path, disk_full_once: list[int], capsys: pytest.CaptureFixture[str]
) -> None:
    record(tmp_path, minute_batches())
    assert main(["snapshot", "--replay", str(tmp_path), "--at", "10:01:10", "--json"]) == 0
    out, err = capsys.readouterr()
    assert "falls in a gap" in err or "falls in a gap" in out
    for at, side in (("09:59:00", "before the recording starts"), ("10:30", "after")):
        with pytest.raises(SystemExit) as exc:
            main(["snapshot", "--replay", str(tmp_path), "--at", at])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert side in err
        assert "covers 10:00:05–10:04:25 New York time (gaps: 10:00:25–10:02:05)" in err
        assert err.count("\n") == 1


async def test_replay_crosses_the_gap_with_a_reset(
    tmp_path: Path, disk_full_once: list[int]
) -> None:
    batches = minute_batches()
    record(tmp_path, batches)
    feed = ReplayFeed(tmp_path, paced=False)
    session = await feed.open("SPX")
    book = session.chain.new_book()
    resets = 0
    async for batch in session.events():
        if batch.reset is not None and batch.reset.first:
            resets += 1
            book = session.chain.new_book()
        book.apply(batch)
    await feed.aclose()
    assert resets == 1
    assert_frame_equal(book.frame(), live_book_at(batches, batches[-1].time))


def test_minutes_without_events_write_no_checkpoint(tmp_path: Path) -> None:
    """A closed market still sends (empty) batches: their minutes cost a segment header, not
    a full state checkpoint each; seeks into them still give the last state."""
    batches = minute_batches(2)
    quiet = [EventBatch(time=T0 + timedelta(minutes=m)) for m in range(2, 6)]
    rec = Recorder(
        tmp_path, "SPX", make_chain(), "simulated", underlying_symbol=UNDERLYING, background=False
    )
    for b in [*batches, *quiet]:
        rec.write(b)
    rec.close()
    assert len(list(tmp_path.rglob("events-*.parquet"))) == 6
    assert len(list(tmp_path.rglob("state-*.parquet"))) == 2  # only the minutes with events
    recording = open_recording(tmp_path, "SPX")
    t = quiet[-1].time
    assert_frame_equal(recording.book_at(t).frame(), live_book_at(batches, t))
