"""``gextui compact DIR --date D``: a day's minute segments merged into a few large files.

A recorded day is ~390 minute segments per ticker (a year of four tickers: ~400,000 small
files), which object stores and query engines handle badly (a request, a footer and a
schedule slot per file). Compaction rewrites a ticker-day as files of at most
:data:`MAX_FILE_ROWS` rows (≈ 1 GB at SPX's ~30 bytes per event) made of row groups of about
:data:`ROW_GROUP_ROWS` rows (≈ 1 M), each in write order (batch, row), so the ``time`` and
``batch`` statistics of every row group are tight ranges: a seek or a query for a time range
reads only the row groups it needs.

Replay and seeks stay exact: each compacted file lists in its footer (``gextui.minutes``) the
original minutes it holds (name, first/last time and batch, batch and event counts), and the
reader (:class:`~gextui.store.reader.Recording`) indexes those minutes as segments of their
own, reading one minute as a batch range of the big file. The state checkpoints
(``state-<minute>.parquet``) and gap bridges stay where they are and keep their names, so
``state_at`` starts from the same checkpoint and reads the same events as before.

Crash safety, in this order: (1) the new files are written under dot-prefixed temporary names
(invisible to readers), fsync'ed; (2) renamed into place — from here a reader takes the
compacted file and ignores every file named in its ``gextui.sources`` (the old segments, or an
older compacted file); (3) the old segments are deleted. Interrupted anywhere, the day reads
the same: before (2) from the old segments (a stale temporary file is removed by the next
run), after it from the new file; running ``compact`` again finishes the deletion.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import IO, Any, Final

import polars as pl

from gextui.store.reader import Recording, SegmentInfo
from gextui.store.schema import (
    FORMAT,
    FORMAT_VERSION,
    META_PREFIX,
    PARQUET_SUFFIX,
    RECORD_SCHEMA,
    ROW_COLUMN,
    SEGMENT_PREFIX,
    ZSTD_LEVEL,
    RecordingError,
    _pyarrow_parquet,
    fsync_dir,
    write_row_groups,
)

__all__ = ["MAX_FILE_ROWS", "ROW_GROUP_ROWS", "CompactResult", "compact_partition"]

ROW_GROUP_ROWS: Final = 1_000_000
MAX_FILE_ROWS: Final = 32_000_000  # ≈ 1 GB at ~30 bytes per event
COMPACT_TAG: Final = "-compact"


@dataclass(frozen=True, slots=True)
class CompactResult:
    path: Path
    segments_before: int  # files
    files_after: int
    events: int
    rows: int
    bytes_before: int
    bytes_after: int


def _groups(segs: Sequence[SegmentInfo], max_rows: int) -> list[list[SegmentInfo]]:
    """Consecutive minutes per output file: a minute never spans two files."""
    out: list[list[SegmentInfo]] = [[]]
    rows = 0
    for seg in segs:
        n = seg.events + seg.batches  # one header row per batch
        if out[-1] and rows + n > max_rows:
            out.append([])
            rows = 0
        out[-1].append(seg)
        rows += n
    return [g for g in out if g]


def _tmp(target: Path) -> Path:
    return target.with_name(f".{target.name}.tmp-{os.getpid()}")


def _write(frame: pl.DataFrame, cuts: Sequence[int], target: Path, meta: Mapping[str, str]) -> int:
    """``frame`` (write order, with ``row``) as row groups cut at ``cuts``, to a temporary
    name next to ``target``; returns its size. Not yet visible to readers."""
    full = {f"{META_PREFIX}format": FORMAT, f"{META_PREFIX}version": str(FORMAT_VERSION)}
    full.update({f"{META_PREFIX}{k}": v for k, v in meta.items()})
    tmp = _tmp(target)
    pq: Any = _pyarrow_parquet()
    try:
        with open(tmp, "wb") as fh:
            if pq is None:
                frame.write_parquet(
                    fh,
                    compression="zstd",
                    compression_level=ZSTD_LEVEL,
                    statistics=True,
                    metadata=full,
                    row_group_size=ROW_GROUP_ROWS,
                )
            else:
                _write_pyarrow(pq, frame, cuts, fh, full)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return tmp.stat().st_size


def _write_pyarrow(
    pq: Any, frame: pl.DataFrame, cuts: Sequence[int], fh: IO[bytes], meta: Mapping[str, str]
) -> None:
    table = frame.to_arrow()
    bounds = [0, *cuts, frame.height]
    parts = [
        table.slice(lo, hi - lo) for lo, hi in pairwise(bounds) if hi > lo or frame.height == 0
    ]
    write_row_groups(pq, fh, parts, table.schema.with_metadata(dict(meta)))


def _read_minutes(rec: Recording, segs: Sequence[SegmentInfo]) -> tuple[pl.DataFrame, list[int]]:
    """The minutes' rows in write order with ``row``, and the row-group cut points (at minute
    boundaries, about every ROW_GROUP_ROWS rows). Files written with ``row`` are read in one
    multi-file scan and sorted once; others (no ``row``: in write order) go minute by minute."""
    paths = list(dict.fromkeys(s.path for s in segs))
    lo, hi = segs[0].first_batch, segs[-1].last_batch
    columns = [*RECORD_SCHEMA]
    columns.insert(columns.index("kind"), ROW_COLUMN)  # time, batch, row, kind, … as segments
    casts = [pl.col(c).cast(t) for c, t in RECORD_SCHEMA.items() if c != "batch"]
    fast: pl.DataFrame | None = None
    try:  # every file has ``row`` (pyarrow's writer): one scan; else (or mixed) minute by minute
        fast = (
            pl.scan_parquet(paths)
            .filter(pl.col("batch").is_between(lo, hi))
            .with_columns(*casts, pl.col("batch").cast(pl.Int32), pl.col(ROW_COLUMN).cast(pl.Int32))
            .select(columns)
            .collect()
        )
    except (pl.exceptions.ColumnNotFoundError, pl.exceptions.SchemaError):
        fast = None
    if fast is not None:
        whole = fast
        # write order: one Int64 key (batch, row) sorts faster than two columns
        key = whole["batch"].cast(pl.Int64) * (1 << 32) + whole[ROW_COLUMN].cast(pl.Int64)
        whole = whole[key.arg_sort()]
    else:
        frames = []
        for seg in segs:
            frame = rec.read_segment(seg)
            if frame is None:
                raise RecordingError(
                    f"{seg.path}: damaged segment; not compacted (nothing changed)"
                )
            frames.append(frame)
        indexed = pl.concat(frames, how="vertical").with_row_index("_index")
        start = pl.col("_index").min().over("batch")  # the batch's header row
        whole = indexed.with_columns(
            (pl.col("_index") - start).cast(pl.Int32).alias(ROW_COLUMN),
            pl.col("batch").cast(pl.Int32),
        ).select(columns)
    # row-group cuts at minute boundaries (batch numbers increase with the minutes)
    cuts: list[int] = []
    batch = whole["batch"]
    since = 0
    for seg in segs:
        end = int(batch.search_sorted(seg.last_batch, side="right"))
        begin = cuts[-1] if cuts else 0
        if since > begin and end - begin > ROW_GROUP_ROWS:
            cuts.append(since)
        since = end
    return whole, cuts


def compact_partition(
    part: Path,
    *,
    max_rows: int = MAX_FILE_ROWS,
    before_delete: Callable[[], None] | None = None,
) -> CompactResult:
    """Compact one ticker-day partition (see module docstring). ``before_delete`` runs after
    the swap and before the old files go (tests interrupt there)."""
    for stale in part.glob(f".{SEGMENT_PREFIX}*{COMPACT_TAG}*.tmp-*"):
        with contextlib.suppress(OSError):
            stale.unlink()
    rec = Recording(part)
    damaged = [w for w in rec.warnings if "unreadable segment" in w or "damaged segment" in w]
    if damaged:
        raise RecordingError(f"{damaged[0]}: not compacted (nothing changed)")
    segs = rec.segments
    if not segs:
        raise RecordingError(f"{part}: no segments to compact")
    # every segment file: those indexed, and old ones an interrupted swap left (the reader
    # ignores them already; they go now)
    sources = sorted(p.name for p in part.glob(f"{SEGMENT_PREFIX}*{PARQUET_SUFFIX}"))
    bytes_before = sum((part / n).stat().st_size for n in sources)
    written: list[tuple[Path, Path]] = []
    rows = 0
    try:
        for group in _groups(segs, max_rows):
            try:
                frame, cuts = _read_minutes(rec, group)
            except RecordingError:
                raise
            except Exception as err:  # a segment damaged since it was indexed
                text = str(err).strip().splitlines()[0][:200] if str(err).strip() else ""
                raise RecordingError(
                    f"{part}: cannot read a segment ({text or type(err).__name__}); "
                    "not compacted (nothing changed)"
                ) from err
            rows += frame.height
            base = SEGMENT_PREFIX + group[0].checkpoint.name[len("state-") : -len(PARQUET_SUFFIX)]
            target = _free(part, base + COMPACT_TAG, {t.name for _, t in written})
            minutes = [
                [
                    s.minute or s.path.name,
                    s.first_time.isoformat(),
                    s.last_time.isoformat(),
                    s.first_batch,
                    s.last_batch,
                    s.batches,
                    s.events,
                ]
                for s in group
            ]
            meta = {
                "compacted": "1",
                "ticker": rec.ticker,
                "date": rec.day,
                "first_time": min(s.first_time for s in group).isoformat(),
                "last_time": max(s.last_time for s in group).isoformat(),
                "first_batch": str(group[0].first_batch),
                "last_batch": str(group[-1].last_batch),
                "batches": str(sum(s.batches for s in group)),
                "events": str(sum(s.events for s in group)),
                "minutes": json.dumps(minutes),
                "sources": json.dumps(sources),
            }
            _write(frame, cuts, target, meta)
            written.append((_tmp(target), target))
        fsync_dir(part)
    except BaseException:
        for tmp, _ in written:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise
    for tmp, target in written:  # the swap: each new file lists every old one
        os.replace(tmp, target)
    fsync_dir(part)
    if before_delete is not None:
        before_delete()
    new_names = {t.name for _, t in written}
    for name in sources:
        if name not in new_names:
            with contextlib.suppress(FileNotFoundError):
                (part / name).unlink()
    fsync_dir(part)
    return CompactResult(
        part,
        len(sources),
        len(written),
        sum(s.events for s in segs),
        rows,
        bytes_before,
        sum(t.stat().st_size for _, t in written),
    )


def _free(part: Path, base: str, taken: set[str]) -> Path:
    name, n = base + PARQUET_SUFFIX, 1
    while (part / name).exists() or name in taken:
        n += 1
        name = f"{base}-{n}{PARQUET_SUFFIX}"
    return part / name
