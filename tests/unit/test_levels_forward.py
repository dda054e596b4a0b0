"""levels' books go forward batch by batch from one book_at: at every sample they equal
book_at (random batches with NaN, duplicates, unknown symbols; across a gap via its bridge)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from _store_synth import make_chain, random_batches, record_partition
from polars.testing import assert_frame_equal
from test_store_gaps import disk_full_once, minute_batches  # noqa: F401 (fixture)

from gextui.core.events import EventBatch
from gextui.core.exposure import compute_exposure
from gextui.store.levels import books_forward, level_row, sample_times
from gextui.store.reader import Recording


def record(root: Path, batches: list[EventBatch]) -> Recording:
    return Recording(record_partition(root, batches))


def check(rec: Recording, every: float) -> int:
    assert rec.start_time is not None and rec.end_time is not None
    times = sample_times(rec.start_time, rec.end_time, every)
    assert len(times) >= 5
    for t, book in zip(times, books_forward(rec, times), strict=True):
        want = rec.book_at(t)
        assert_frame_equal(book.frame(), want.frame())
        assert book.as_of == want.as_of
        got_row = level_row(compute_exposure(book), "SPX", t)
        assert got_row == level_row(compute_exposure(want), "SPX", t)
    return len(times)


def test_random_batches(tmp_path: Path) -> None:
    batches = random_batches(make_chain(), 200, seed=21)
    t0 = batches[0].time
    spread = [
        EventBatch(time=t0 + i * timedelta(seconds=4), meta=b.meta, **b.frames())
        for i, b in enumerate(batches)
    ]
    assert check(record(tmp_path, spread), 30.0) > 20


def test_across_a_gap(tmp_path: Path, disk_full_once: list[int]) -> None:  # noqa: F811
    rec = record(tmp_path, minute_batches())
    assert len(rec.gaps) == 1 and rec.gaps[0].bridge is not None
    check(rec, 10.0)
