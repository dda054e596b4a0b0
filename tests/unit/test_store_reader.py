"""Reader: resolving paths, clear errors, damaged segments skipped and reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from _store_synth import UNDERLYING, make_chain, random_batches
from polars.testing import assert_frame_equal

from gextui.core.events import EventBatch
from gextui.store import (
    Recorder,
    RecordingError,
    RecordingTickerError,
    find_recordings,
    open_recording,
)


def record(root: Path, ticker: str, batches: list[EventBatch]) -> Path:
    with Recorder(root, ticker, make_chain(), "simulated", underlying_symbol=UNDERLYING) as rec:
        for b in batches:
            rec.write(b)
    assert rec.partition is not None
    return rec.partition


def times(batches: list[EventBatch]) -> list[object]:
    return [b.time for b in batches]


def test_truncated_and_garbage_segments_are_skipped_and_named(tmp_path: Path) -> None:
    batches = random_batches(make_chain(), 150, seed=21)
    part = record(tmp_path, "SPX", batches)
    segs = sorted(part.glob("events-*.parquet"))
    assert len(segs) >= 4
    truncated, garbage = segs[1], segs[2]
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    garbage.write_bytes(b"this is not parquet at all" * 10)
    rec = open_recording(part)
    skipped = [w for w in rec.warnings if "skipped" in w]
    assert len(skipped) == 2
    assert any(str(truncated) in w for w in skipped)
    assert any(str(garbage) in w for w in skipped)
    # the two lost segments are one gap in the batch numbers, named as such
    assert len(rec.gaps) == 1
    assert [w for w in rec.warnings if w not in skipped] == [
        w for w in rec.warnings if "gap in the recording" in w
    ]
    damaged = (truncated.name, garbage.name)
    kept = [b for b in batches if f"events-{b.time:%Y%m%dT%H%M00Z}.parquet" not in damaged]
    assert 0 < len(kept) < len(batches)
    got = list(rec.batches())
    assert times(got) == times(kept)
    for a, b in zip(kept, got, strict=True):
        for kind, frame in a.conformed().frames().items():
            assert_frame_equal(b.frames()[kind], frame)


def test_corrupt_data_pages_reported_when_read(tmp_path: Path) -> None:
    batches = random_batches(make_chain(), 90, seed=22)
    part = record(tmp_path, "SPX", batches)
    seg = sorted(part.glob("events-*.parquet"))[0]
    raw = bytearray(seg.read_bytes())
    for i in range(8, len(raw) // 2):  # scramble the data pages, keep the footer
        raw[i] ^= 0x5A
    seg.write_bytes(bytes(raw))
    rec = open_recording(part)
    got = list(rec.batches())
    assert len(got) < len(batches)
    assert any(str(seg) in w for w in rec.warnings)


def test_resolving_paths(tmp_path: Path) -> None:
    b = random_batches(make_chain(), 30, seed=23)
    spx = record(tmp_path, "SPX", b)
    record(tmp_path, "SPY", b)
    refs = find_recordings(tmp_path)
    assert [(r.ticker, r.day) for r in refs] == [("SPX", "2026-11-24"), ("SPY", "2026-11-24")]
    with pytest.raises(RecordingError, match="holds 2 recordings") as err:
        open_recording(tmp_path)
    assert str(tmp_path) in str(err.value)
    assert open_recording(tmp_path, "spx").path == spx
    assert open_recording(spx).ticker == "SPX"
    assert open_recording(sorted(spx.glob("events-*"))[0]).path == spx  # a file inside
    with pytest.raises(RecordingTickerError, match="no QQQ") as terr:
        open_recording(tmp_path, "QQQ")
    assert terr.value.available == ["SPX", "SPY"]
    with pytest.raises(RecordingError, match="no recording of 2026-11-25"):
        open_recording(tmp_path, "SPX", "2026-11-25")


def test_missing_and_empty(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="does not exist"):
        open_recording(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RecordingError, match="no recording under") as err:
        open_recording(tmp_path / "empty")
    assert "empty" in str(err.value)


def test_missing_chain_is_a_clear_error(tmp_path: Path) -> None:
    part = record(tmp_path, "SPX", random_batches(make_chain(), 30, seed=24))
    (part / "chain.parquet").write_bytes(b"nope")
    with pytest.raises(RecordingError, match=r"chain\.parquet"):
        open_recording(part)


def test_format_1_segments_still_read(tmp_path: Path) -> None:
    """Version 1 wrote rows in write order, Int64 ``batch`` and no ``row`` column; a v2
    reader (and a v2 recorder continuing the day) must keep using such segments."""
    import polars as pl

    from gextui.store.schema import batches_to_frame, read_gextui_metadata, write_parquet_atomic

    batches = random_batches(make_chain(), 120, seed=24)
    part = record(tmp_path, "SPX", batches[:80])
    for seg in sorted(part.glob("events-*.parquet")):  # rewrite as format 1
        meta = read_gextui_metadata(seg)
        first, last = int(meta["first_batch"]), int(meta["last_batch"])
        v1 = batches_to_frame(batches[first : last + 1], first)
        write_parquet_atomic(v1, seg, {**meta, "version": "1"})
        assert "row" not in pl.read_parquet_schema(seg)
    record(tmp_path, "SPX", batches[80:])  # the day continues in format 2
    rec = open_recording(part)
    assert rec.warnings == []
    got = list(rec.batches())
    assert times(got) == times(batches)
    for a, b in zip(batches, got, strict=True):
        fa, fb = a.conformed().frames(), b.frames()
        assert list(fb) == list(fa)
        for kind in fa:
            assert_frame_equal(fb[kind], fa[kind])
