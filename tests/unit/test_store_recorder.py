"""Recorder: layout, round trip, counters, restarts and crash safety (kill -9)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from _store_synth import UNDERLYING, make_chain, random_batches
from polars.testing import assert_frame_equal

from gextui.core.events import EventBatch
from gextui.feeds.base import ChainInfo, Source
from gextui.store import Recorder, default_recordings_dir, open_recording, schema
from gextui.store.schema import RECORD_SCHEMA

HERE = Path(__file__).parent


def assert_same_batches(written: list[EventBatch], read: list[EventBatch]) -> None:
    assert len(read) == len(written)
    for a, b in zip(written, read, strict=True):
        assert b.time == a.time
        assert b.time.utcoffset() == timedelta(0)
        assert dict(b.meta) == dict(a.meta)
        fa, fb = a.conformed().frames(), b.frames()
        assert list(fb) == list(fa)
        for kind in fa:
            assert_frame_equal(fb[kind], fa[kind])


def record(root: Path, batches: list[EventBatch], **kw: object) -> Recorder:
    chain = ChainInfo("SPX", UNDERLYING, Source.SIMULATED, make_chain())
    rec = Recorder(root, "SPX", chain, **kw)  # type: ignore[arg-type]
    for b in batches:
        rec.write(b)
    rec.close()
    return rec


@pytest.mark.parametrize(
    ("background", "writer", "group_rows"),
    [
        (True, "pyarrow", None),
        (False, "pyarrow", None),
        (True, "polars", None),  # pyarrow not installed: polars writes the same layout
        (True, "pyarrow", 50),  # many sorted row groups per segment
        (False, "polars", 50),
    ],
)
def test_round_trip_identical_frames(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    background: bool,
    writer: str,
    group_rows: int | None,
) -> None:
    if writer == "polars":
        monkeypatch.setattr(schema, "_pyarrow_parquet", lambda: None)  # not installed
        assert schema.segment_writer() == "polars"
    else:
        pytest.importorskip("pyarrow")
    if group_rows is not None:
        monkeypatch.setattr(schema, "ROW_GROUP_ROWS", group_rows)
    batches = random_batches(make_chain(), 150, seed=1)
    rec = record(tmp_path, batches, background=background)
    assert rec.events_written == sum(b.n_events for b in batches)
    assert rec.events_on_disk == rec.events_written
    part = tmp_path / "ticker=SPX" / "date=2026-11-24"
    on_disk = sum(p.stat().st_size for p in part.iterdir())
    assert rec.bytes_written == on_disk
    recording = open_recording(tmp_path)
    assert recording.path == part
    assert recording.warnings == []
    assert_same_batches(batches, list(recording.batches()))
    assert recording.start_time == batches[0].time
    assert recording.end_time == batches[-1].time
    assert recording.events == rec.events_written
    assert recording.underlying_symbol == UNDERLYING
    assert recording.source == "simulated"
    assert_frame_equal(recording.instruments, make_chain())


def test_layout_one_segment_per_event_minute(tmp_path: Path) -> None:
    batches = random_batches(make_chain(), 150, seed=2)
    record(tmp_path, batches)
    part = tmp_path / "ticker=SPX" / "date=2026-11-24"
    minutes = sorted({b.time.strftime("%Y%m%dT%H%M00Z") for b in batches})
    assert sorted(p.name for p in part.glob("events-*.parquet")) == [
        f"events-{m}.parquet" for m in minutes
    ]
    assert sorted(p.name for p in part.glob("state-*.parquet")) == [
        f"state-{m}.parquet" for m in minutes
    ]
    assert not list(part.glob(".*"))  # no temp file left behind
    manifest = json.loads((part / "manifest.json").read_text())
    assert manifest["ticker"] == "SPX" and manifest["underlying_symbol"] == UNDERLYING
    # a plain polars / hive read of the whole recording works
    every = pl.scan_parquet(tmp_path / "**" / "events-*.parquet", hive_partitioning=True)
    df = every.collect()
    assert set(RECORD_SCHEMA) <= set(df.columns)
    assert df.schema["time"] == pl.Datetime("us", "UTC")
    assert df.filter(pl.col("kind") != "batch").height == sum(b.n_events for b in batches)
    assert df.filter(pl.col("kind") == "batch").height == len(batches)
    assert df.schema["batch"] == pl.Int32
    assert df.schema.get("row") == (pl.Int32 if schema.segment_writer() == "pyarrow" else None)
    assert manifest["version"] == schema.FORMAT_VERSION == 2


def test_segment_rows_grouped_by_contract_and_restorable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On disk a segment is cut at batch boundaries into row groups of about ROW_GROUP_ROWS
    rows, each sorted by (kind, symbol, batch, row); sorting by (batch, row) gives back the
    write order exactly (schema module docstring)."""
    pq = pytest.importorskip("pyarrow.parquet")
    monkeypatch.setattr(schema, "ROW_GROUP_ROWS", 300)
    batches = random_batches(make_chain(), 60, seed=7)
    record(tmp_path, batches)
    seg = max(tmp_path.rglob("events-*.parquet"), key=lambda p: p.stat().st_size)
    meta = schema.read_gextui_metadata(seg)
    first, last = int(meta["first_batch"]), int(meta["last_batch"])
    written = schema.batches_to_frame(batches[first : last + 1], first)
    sizes = written.group_by("batch", maintain_order=True).len()["len"].to_list()
    file = pq.ParquetFile(seg)
    assert file.metadata.num_row_groups == len({s // 300 for s in _starts(sizes)})
    previous_last = first - 1
    for i in range(file.metadata.num_row_groups):
        group = pl.from_arrow(file.read_row_group(i))
        assert isinstance(group, pl.DataFrame)
        key = group.select("kind", "symbol", "batch", "row")
        assert key.equals(key.sort("kind", "symbol", "batch", "row", nulls_last=True))
        lo, hi = group["batch"].min(), group["batch"].max()
        assert lo == previous_last + 1  # whole batches, in order
        previous_last = int(hi)  # type: ignore[arg-type]
    assert previous_last == last
    raw = pl.read_parquet(seg)
    assert raw["row"].max() == max(sizes) - 1  # the position within the batch
    restored = schema.restore_write_order(raw).drop("row")
    assert_frame_equal(restored, written.cast({"batch": pl.Int32}))


def _starts(sizes: list[int]) -> list[int]:
    out, at = [], 0
    for n in sizes:
        out.append(at)
        at += n
    return out


def test_restart_same_day_continues(tmp_path: Path) -> None:
    batches = random_batches(make_chain(), 120, seed=3)
    record(tmp_path, batches[:70])
    record(tmp_path, batches[70:])  # the app restarted; maybe within the same minute
    recording = open_recording(tmp_path / "ticker=SPX")
    seqs = [s.first_batch for s in recording.segments]
    assert seqs == sorted(seqs) and recording.segments[-1].last_batch == len(batches) - 1
    assert_same_batches(batches, list(recording.batches()))


def test_new_york_date_partitions(tmp_path: Path) -> None:
    inst = make_chain()
    from datetime import UTC, datetime

    late = datetime(2026, 11, 25, 4, 59, 30, tzinfo=UTC)  # 23:59:30 New York
    batches = random_batches(inst, 40, seed=4, start=late)
    record(tmp_path, batches)
    days = sorted(p.name for p in (tmp_path / "ticker=SPX").iterdir())
    assert days == ["date=2026-11-24", "date=2026-11-25"]


def test_default_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_recordings_dir() == tmp_path / "gextui" / "recordings"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_recordings_dir() == Path.home() / ".local/share/gextui/recordings"


def test_abandoned_recorder_keeps_closed_minutes(tmp_path: Path) -> None:
    batches = random_batches(make_chain(), 100, seed=5)
    rec = Recorder(tmp_path, "SPX", make_chain(), "simulated", underlying_symbol=UNDERLYING)
    for b in batches:
        rec.write(b)
    rec.wait()  # the background writes of the closed minutes are done; never closed
    open_minute = batches[-1].time.replace(second=0, microsecond=0)
    closed = [b for b in batches if b.time < open_minute]
    assert_same_batches(closed, list(open_recording(tmp_path).batches()))
    rec.close()


CHILD = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {here!r})
    from _store_synth import UNDERLYING, make_chain, random_batches
    from gextui.store import Recorder
    batches = random_batches(make_chain(), 160, seed=6)
    rec = Recorder({root!r}, "SPX", make_chain(), "simulated", underlying_symbol=UNDERLYING)
    for b in batches:
        rec.write(b)
    rec.wait()
    print("ready", flush=True)
    time.sleep(120)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_sigkill_leaves_closed_segments_readable(tmp_path: Path) -> None:
    code = CHILD.format(here=str(HERE), root=str(tmp_path))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    part = tmp_path / "ticker=SPX" / "date=2026-11-24"
    # a temp file of a write in progress must never be mistaken for a segment
    (part / ".events-20261124T150700Z.parquet.tmp-999").write_bytes(b"PAR1 half a file")
    batches = random_batches(make_chain(), 160, seed=6)
    open_minute = batches[-1].time.replace(second=0, microsecond=0)
    closed = [b for b in batches if b.time < open_minute]
    assert len({b.time.minute for b in closed}) >= 3
    recording = open_recording(tmp_path)
    assert recording.warnings == []
    assert_same_batches(closed, list(recording.batches()))
