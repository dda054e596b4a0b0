"""The key property: the book rebuilt from a recording at time t equals the live book at t."""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import polars as pl
import pytest
from _store_synth import UNDERLYING, make_chain, new_book, random_batches
from polars.testing import assert_frame_equal

from gextui.core.chain import ChainBook, UnderlyingState
from gextui.core.events import EventBatch
from gextui.store import Recorder, book_at, open_recording


@dataclass
class Live:
    time: datetime
    frame: pl.DataFrame
    underlying: UnderlyingState
    as_of: datetime | None


def run_live(root: Path, batches: list[EventBatch], **kw: object) -> list[Live]:
    """Apply the batches to a live book while recording them; keep a copy after each."""
    inst = make_chain()
    book = new_book(inst)
    rec = Recorder(root, "SPX", inst, "simulated", underlying_symbol=UNDERLYING, **kw)  # type: ignore[arg-type]
    out = []
    for b in batches:
        rec.write(b)
        book.apply(b)
        out.append(Live(b.time, book.frame(), copy.copy(book.underlying), book.as_of))
    rec.close()
    return out


def expected_at(live: list[Live], t: datetime) -> Live | None:
    before = [x for x in live if x.time <= t]
    return before[-1] if before else None


def same_underlying(a: UnderlyingState, b: UnderlyingState) -> bool:
    names = [f.name for f in dataclasses.fields(UnderlyingState)]
    return all(
        (isinstance(y, float) and math.isnan(y))
        if isinstance(x, float) and math.isnan(x)
        else x == y
        for x, y in ((getattr(a, n), getattr(b, n)) for n in names)
    )


@pytest.mark.parametrize(
    ("kind", "column", "value"),
    [
        ("greeks", "gamma", 0.0042),
        ("greeks", "delta", 0.31),
        ("greeks", "iv", 0.27),
        ("greeks", "theta", -2.5),
        ("greeks", "vega", 3.3),
        ("greeks", "price", 12.5),
        ("summary", "open_interest", 1234.0),
        ("trades", "price", 13.75),
        ("trades", "day_volume", 77.0),
        ("quotes", "bid", 12.0),
        ("quotes", "ask", 12.5),
    ],
)
def test_every_event_column_survives_a_checkpoint(
    tmp_path: Path, kind: str, column: str, value: float
) -> None:
    """Each column that updates a book row reaches the rebuilt book, also through a checkpoint
    (the column's value lands in minute 1, the seek is in minute 2)."""
    inst = make_chain()
    symbol = inst["symbol"][5]
    t1 = datetime(2026, 11, 24, 15, 0, 10, tzinfo=UTC)
    t2 = t1 + timedelta(minutes=1)
    batches = [
        EventBatch(time=t1, **{kind: pl.DataFrame({"symbol": [symbol], column: [value]})}),
        EventBatch(time=t2, greeks=pl.DataFrame({"symbol": [inst["symbol"][0]], "gamma": [1e-3]})),
    ]
    live = run_live(tmp_path, batches)
    assert len(list(tmp_path.rglob("state-*.parquet"))) == 2
    rebuilt = book_at(tmp_path, "SPX", t2)
    check(rebuilt, expected_at(live, t2))
    row = rebuilt.frame().filter(pl.col("symbol") == symbol).row(0, named=True)
    name = {"price": "last"}.get(column, column) if kind == "trades" else column
    assert row[name] == pytest.approx(value)


def check(book: ChainBook, want: Live | None) -> None:
    if want is None:
        assert book.as_of is None
        assert_frame_equal(book.frame(), new_book(make_chain()).frame())
        return
    assert_frame_equal(book.frame(), want.frame)
    assert same_underlying(book.underlying, want.underlying), (book.underlying, want.underlying)
    assert book.as_of == want.as_of


def probe_times(batches: list[EventBatch]) -> list[datetime]:
    first, last = batches[0].time, batches[-1].time
    picks = [batches[i].time for i in (0, 1, 7, len(batches) // 3, len(batches) // 2, -2, -1)]
    minute = (first + timedelta(minutes=1)).replace(second=0, microsecond=0)
    return [
        *picks,
        first - timedelta(seconds=1),  # before the recording: an empty book
        batches[20].time + timedelta(microseconds=1),  # between batches
        minute,  # a segment boundary exactly
        minute - timedelta(microseconds=1),
        last + timedelta(hours=1),  # after the end
    ]


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_book_at_equals_live_book(tmp_path: Path, seed: int) -> None:
    batches = random_batches(make_chain(), 180, seed=seed)
    live = run_live(tmp_path, batches)
    for t in probe_times(batches):
        check(book_at(tmp_path, "SPX", t), expected_at(live, t))


def test_without_checkpoints_same_result(tmp_path: Path) -> None:
    batches = random_batches(make_chain(), 150, seed=14)
    live = run_live(tmp_path, batches, checkpoints=False)
    assert not list(tmp_path.rglob("state-*.parquet"))
    for t in probe_times(batches):
        check(book_at(tmp_path, "SPX", t), expected_at(live, t))


def test_checkpoint_is_used_for_a_late_seek(tmp_path: Path) -> None:
    """state_at reads the last checkpoint and one segment, not the whole recording: make the
    first segment unreadable; a late book_at neither needs it nor notices."""
    batches = random_batches(make_chain(), 150, seed=18)
    live = run_live(tmp_path, batches)
    first = sorted(tmp_path.rglob("events-*.parquet"))[0]
    rec = open_recording(tmp_path)
    first.write_bytes(b"gone")  # after indexing: only a read would notice
    t = batches[-3].time
    check(rec.book_at(t), expected_at(live, t))
    assert rec.warnings == []


def test_damaged_checkpoint_falls_back(tmp_path: Path) -> None:
    batches = random_batches(make_chain(), 150, seed=15)
    live = run_live(tmp_path, batches)
    states = sorted(tmp_path.rglob("state-*.parquet"))
    states[-1].write_bytes(b"garbage")
    rec = open_recording(tmp_path)
    t = batches[-1].time
    check(rec.book_at(t), expected_at(live, t))
    assert any(str(states[-1]) in w for w in rec.warnings)


def test_spot_is_quote_mid_until_a_trade(tmp_path: Path) -> None:
    """Until the underlying trades, spot is the quote mid (ChainBook's rule; a zero bid leaves
    the last mid in place); the rebuilt book must agree at every step."""
    t0 = datetime(2026, 11, 24, 15, 0, 0, tzinfo=UTC)

    def q(sec: int, bid: float | None, ask: float | None) -> EventBatch:
        frame = pl.DataFrame({"symbol": [UNDERLYING], "bid": [bid], "ask": [ask]})
        return EventBatch(time=t0 + timedelta(seconds=sec), quotes=frame)

    trade = EventBatch(
        time=t0 + timedelta(seconds=130),
        trades=pl.DataFrame({"symbol": [UNDERLYING], "price": [6600.5]}),
    )
    batches = [q(0, 6590.0, None), q(30, None, 6600.0), q(70, 6598.0, 6599.0), q(90, 0.0, 6601.0)]
    batches += [trade, q(140, 1, 2)]
    live = run_live(tmp_path, batches)
    for b in batches:
        got = book_at(tmp_path, "SPX", b.time)
        want = expected_at(live, b.time)
        assert want is not None
        assert same_underlying(got.underlying, want.underlying), (got.underlying, want.underlying)
    assert book_at(tmp_path, "SPX", t0 + timedelta(seconds=100)).spot == 6598.5
    assert book_at(tmp_path, "SPX", t0 + timedelta(seconds=135)).spot == 6600.5


def test_bare_time_is_new_york_on_recording_date(tmp_path: Path) -> None:
    batches = random_batches(make_chain(), 120, seed=16)
    live = run_live(tmp_path, batches)
    t = batches[60].time
    local = t.astimezone(__import__("zoneinfo").ZoneInfo("America/New_York"))
    at = time(local.hour, local.minute, local.second)
    cut = datetime.combine(local.date(), at, tzinfo=local.tzinfo)
    check(book_at(tmp_path, "SPX", at), expected_at(live, cut))


def test_exposure_snapshot_identical(tmp_path: Path) -> None:
    exposure = pytest.importorskip("gextui.core.exposure")
    batches = random_batches(make_chain(), 150, seed=17)
    inst = make_chain()
    live_book = new_book(inst)
    rec = Recorder(tmp_path, "SPX", inst, "simulated", underlying_symbol=UNDERLYING)
    snaps = {}
    for i, b in enumerate(batches):
        rec.write(b)
        live_book.apply(b)
        if i in (40, 90, 149):
            snaps[b.time] = exposure.compute_exposure(live_book).to_dict()
    rec.close()
    for t, want in snaps.items():
        got = exposure.compute_exposure(book_at(tmp_path, "SPX", t)).to_dict()
        # how many values the book refused is its stream's history, not its state: a book
        # rebuilt from a checkpoint counts only what it refused since (the figures are equal)
        for d in (got, want):
            assert d["coverage"].pop("rejected_values") >= 0
        assert got == want
