"""`gextui compact`: a day's minute segments merged into few files; replay batches, seeks
(state_at, book_at), checkpoints and gap bridges give exactly what they gave before; an
interrupted swap loses nothing."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from _store_synth import make_chain, random_batches, record_partition
from polars.testing import assert_frame_equal
from test_store_gaps import disk_full_once, minute_batches  # noqa: F401 (fixture)

from gextui.core.events import EventBatch
from gextui.store.compact import compact_partition
from gextui.store.reader import Recording

record = record_partition


def spread(batches: list[EventBatch], every: timedelta) -> list[EventBatch]:
    """The same batches ``every`` apart: one minute segment per few batches."""
    t0 = batches[0].time
    return [
        EventBatch(time=t0 + i * every, meta=b.meta, **b.frames()) for i, b in enumerate(batches)
    ]


def observe(rec: Recording) -> dict[str, object]:
    """Everything a replay or a seek sees."""
    assert rec.start_time is not None and rec.end_time is not None
    span = (rec.end_time - rec.start_time).total_seconds()
    times = [rec.start_time + timedelta(seconds=span * f) for f in (0, 0.13, 0.5, 0.77, 1)]
    times += [s.last_time for s in rec.segments[::3]]
    out: dict[str, object] = {
        "batches": [(b.time, b.meta, {k: f for k, f in b.frames().items()}) for b in rec.batches()],
        "books": [rec.book_at(t).frame() for t in times],
        "states": [rec.state_at(t) for t in times],
        "minutes": [(s.first_time, s.last_time, s.first_batch, s.last_batch) for s in rec.segments],
        "chunks": [rec.read_batches(s, s.first_batch, s.first_batch + 1) for s in rec.segments],
        "checkpoints": [(t, st.last_batch) for t, st in rec.checkpoint_states(rec.end_time)],
        "warnings": list(rec.warnings),
    }
    return out


def assert_same(a: dict[str, object], b: dict[str, object]) -> None:
    assert a["minutes"] == b["minutes"] and a["checkpoints"] == b["checkpoints"]
    assert a["warnings"] == b["warnings"]
    ba, bb = a["batches"], b["batches"]
    assert isinstance(ba, list) and isinstance(bb, list) and len(ba) == len(bb) > 0
    for (t1, m1, f1), (t2, m2, f2) in zip(ba, bb, strict=True):
        assert t1 == t2 and m1 == m2 and f1.keys() == f2.keys()
        for k in f1:
            assert_frame_equal(f1[k], f2[k])
    for x, y in zip(a["books"], b["books"], strict=True):  # type: ignore[call-overload]
        assert_frame_equal(x, y)
    for x, y in zip(a["states"], b["states"], strict=True):  # type: ignore[call-overload]
        assert_frame_equal(x.options, y.options)
        assert (x.as_of, x.last_batch) == (y.as_of, y.last_batch)
        assert repr(x.underlying) == repr(y.underlying)
    for x, y in zip(a["chunks"], b["chunks"], strict=True):  # type: ignore[call-overload]
        assert [(c.time, c.n_events) for c in x] == [(c.time, c.n_events) for c in y]


@pytest.mark.parametrize("seed", [3, 11])
def test_compacted_day_reads_the_same(tmp_path: Path, seed: int) -> None:
    batches = spread(random_batches(make_chain(), 120, seed), timedelta(seconds=13))
    part = record(tmp_path, batches)
    minutes = len(list(part.glob("events-*.parquet")))
    assert minutes >= 20
    before = observe(Recording(part))
    result = compact_partition(part, max_rows=1_000)
    files = sorted(p.name for p in part.glob("events-*.parquet"))
    assert len(files) == result.files_after >= 2 and all("-compact" in f for f in files)
    assert result.segments_before == minutes
    assert result.events == sum(b.n_events for b in batches)
    assert result.rows == result.events + len(batches)  # one header row per batch
    assert len(list(part.glob("state-*.parquet"))) >= 20  # checkpoints kept
    assert_same(before, observe(Recording(part)))
    # again (compacted files compacted into one): still the same
    compact_partition(part)
    assert len(list(part.glob("events-*.parquet"))) == 1
    assert_same(before, observe(Recording(part)))


def test_row_groups_in_time_order(tmp_path: Path) -> None:
    """Write order in the compacted file: each row group's time and batch are a tight range,
    so readers skip what they do not need."""
    import pyarrow.parquet as pq

    part = record(tmp_path, spread(random_batches(make_chain(), 200, 5), timedelta(seconds=7)))
    compact_partition(part)
    (path,) = part.glob("events-*.parquet")
    frame = pl.read_parquet(path)
    assert frame["batch"].is_sorted() and frame["time"].is_sorted()
    md = pq.ParquetFile(path).metadata
    assert md.num_row_groups == 1 and md.num_rows == frame.height


def test_gap_bridges_survive_compaction(tmp_path: Path, disk_full_once: list[int]) -> None:  # noqa: F811
    batches = minute_batches()
    part = record(tmp_path, batches)
    before = Recording(part)
    assert len(before.gaps) == 1
    seen = observe(before)
    compact_partition(part)
    after = Recording(part)
    assert len(after.gaps) == 1 and after.gaps[0].lost_batches == 2
    assert after.gaps[0].bridge == before.gaps[0].bridge
    assert_same(seen, observe(after))


def test_interrupted_swap_loses_nothing(tmp_path: Path) -> None:
    part = record(tmp_path, spread(random_batches(make_chain(), 60, 8), timedelta(seconds=17)))
    before = observe(Recording(part))
    old = sorted(p.name for p in part.glob("events-*.parquet"))

    def crash() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        compact_partition(part, before_delete=crash)
    names = sorted(p.name for p in part.glob("events-*.parquet"))
    assert set(old) < set(names)  # both layouts on disk: the reader takes the new one only
    assert_same(before, observe(Recording(part)))
    compact_partition(part)  # finishes the job
    assert len(list(part.glob("events-*.parquet"))) == 1
    assert_same(before, observe(Recording(part)))


def test_failed_write_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gextui.store.compact as compact_mod

    part = record(tmp_path, spread(random_batches(make_chain(), 40, 9), timedelta(seconds=17)))
    old = sorted(p.name for p in part.iterdir())

    def full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(compact_mod, "_write_pyarrow", full)
    with pytest.raises(OSError, match="No space"):
        compact_partition(part)
    assert sorted(p.name for p in part.iterdir()) == old  # no temporary file left either
    assert not math.isnan(float(len(old)))


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gextui.cli import main

    part = record(tmp_path, spread(random_batches(make_chain(), 50, 4), timedelta(seconds=17)))
    before = observe(Recording(part))
    assert main(["compact", str(tmp_path), "--date", "2026-11-24", "--ticker", "spx"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("SPX 2026-11-24: 15 segments → 1 file, ") and " events, " in err
    assert_same(before, observe(Recording(part)))
    for argv, needle in (
        (["--date", "2026-11-25"], "no recording of 2026-11-25 at "),
        (["--date", "2026-11-24", "--ticker", "SPY"], "no SPY in the recordings at"),
        (["--date", "24.11.2026"], "not a date YYYY-MM-DD"),
        ([], "the following arguments are required: --date"),
    ):
        with pytest.raises(SystemExit) as exc:
            main(["compact", str(tmp_path), *argv])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and len(err.strip().splitlines()) == 1 and needle in err, err


def test_row_groups_cut_at_minutes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow.parquet as pq

    import gextui.store.compact as compact_mod

    monkeypatch.setattr(compact_mod, "ROW_GROUP_ROWS", 400)
    part = record(tmp_path, spread(random_batches(make_chain(), 120, 6), timedelta(seconds=13)))
    before = observe(Recording(part))
    compact_partition(part)
    (path,) = part.glob("events-*.parquet")
    md = pq.ParquetFile(path).metadata
    assert md.num_row_groups >= 5
    sizes = [md.row_group(i).num_rows for i in range(md.num_row_groups)]
    # every row group ends where a minute ends, and holds ≤ 400 rows unless one minute is more
    rec = Recording(part)
    ends = set()
    total = 0
    frame = pl.read_parquet(path)
    for s in rec.segments:
        total = int(frame["batch"].search_sorted(s.last_batch, side="right"))
        ends.add(total)
    acc = 0
    for n in sizes:
        acc += n
        assert acc in ends
    assert_same(before, observe(rec))


@pytest.mark.parametrize("layout", ["polars", "mixed"])
def test_segments_without_row_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    """Segments written by polars' writer (no pyarrow: no ``row`` column, in write order),
    alone or beside pyarrow ones, compact the same."""
    import gextui.store.schema as schema_mod

    batches = spread(random_batches(make_chain(), 80, 12), timedelta(seconds=13))
    monkeypatch.setattr(schema_mod, "PREFER_PYARROW", False)
    if layout == "polars":
        part = record(tmp_path, batches)
    else:
        record(tmp_path, batches[:40])
        monkeypatch.setattr(schema_mod, "PREFER_PYARROW", True)
        part = record(tmp_path, batches[40:])
    names = sorted(part.glob("events-*.parquet"))
    has_row = {"row" in pl.read_parquet_schema(p) for p in names}
    assert has_row == ({False} if layout == "polars" else {False, True})
    before = observe(Recording(part))
    compact_partition(part)
    assert len(list(part.glob("events-*.parquet"))) == 1
    assert_same(before, observe(Recording(part)))
