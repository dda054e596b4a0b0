"""On-disk format of a gextui recording (format version 2).

Layout (Hive-style partitions, readable by polars, DuckDB, Spark, pyarrow)::

    ROOT/ticker=SPX/date=2026-11-24/           date = America/New_York trading date
        manifest.json                          ticker, underlying symbol, source, format
        chain.parquet                          the instrument list (core.chain.INSTRUMENT_SCHEMA)
        events-20261124T143000Z.parquet        one segment per minute of event time (UTC)
        state-20261124T143000Z.parquet         checkpoint: book state after that segment

Every segment is one long table, one row per event:

====================  =====================  ==============================================
column                type                   meaning
====================  =====================  ==============================================
time                  Datetime(us, UTC)      the EventBatch time (its as-of time)
batch                 Int32                  batch sequence number, increasing in write order
row                   Int32                  position in its batch (0 = header; see below)
kind                  String (dictionary)    greeks | summary | trades | quotes, or ``batch``
symbol                String (dictionary)    dxFeed streamer symbol (null on ``batch`` rows)
gamma … price         Float64                greeks columns (``price`` = option mark)
open_interest         Float64                summary
prev_close            Float64                summary
day_volume            Float64                trades (``price`` = trade price for trades rows)
bid, ask              Float64                quotes
meta                  String                 JSON of EventBatch.meta, on ``batch`` rows only
====================  =====================  ==============================================

Each batch starts with one ``kind = 'batch'`` header row (``row`` 0; it keeps empty batches
and meta), followed by its events kind by kind (KINDS order), each frame in its own row order;
columns a kind does not have are null. NaN and null are stored as they came, bit for bit.

**Write order is (batch, row)**, not the order of rows in the file: to compress, a segment is
cut at batch boundaries into row groups of about :data:`ROW_GROUP_ROWS` rows, and the rows of
each row group are sorted by (kind, symbol, batch, row), so the consecutive values of one
contract sit together (their sign, exponent and leading mantissa bytes repeat). The float
greeks columns are written with Parquet's ``BYTE_STREAM_SPLIT`` encoding (when pyarrow is
installed, see below), which lets zstd find those repeats (bench/bench_store.py: 36.7 → 30.2
bytes per event on a full-precision SPX stream; reading costs a sort, ~2× slower). Readers
restore write order with :func:`restore_write_order` (sort by batch, row); row-group
statistics on ``batch`` still let a reader fetch a few batches without the rest.

Without pyarrow (polars' writer offers neither BYTE_STREAM_SPLIT nor DELTA_BINARY_PACKED, so
sorting would not pay for the ``row`` column) a segment is written unsorted, in write order,
with no ``row`` column: the same bytes per event as version 1. So is a version-1 segment
(Int64 ``batch``); readers take a segment without ``row`` as being in write order.

Files are zstd compressed, written to a dot-prefixed temporary name and ``os.replace``-d into
place, so a segment name that exists is always a complete file. Segment key/value metadata
(``gextui.*``) holds first/last time and batch number and the event count, so a reader indexes
a recording from the Parquet footers alone.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final

import polars as pl

from gextui.core.events import KINDS, SCHEMAS, EventBatch, conform

FORMAT: Final = "gextui-recording"
FORMAT_VERSION: Final = 2
ROW_COLUMN: Final = "row"
ROW_GROUP_ROWS: Final = 262_144  # rows per sorted row group of a segment (cut at batches)
ZSTD_LEVEL: Final = 3
# float columns of near-continuous values: BYTE_STREAM_SPLIT pays off (measured, bench_store)
SPLIT_COLUMNS: Final[tuple[str, ...]] = ("gamma", "delta", "iv", "theta", "vega")
HEADER_KIND: Final = "batch"
UNDERLYING_KIND: Final = "underlying"  # only in state checkpoints
# every value column of every event kind, in schema order (one column per name on disk)
VALUE_COLUMNS: Final[tuple[str, ...]] = tuple(
    dict.fromkeys(name for kind in KINDS for name in SCHEMAS[kind] if name != "symbol")
)
TIME_DTYPE: Final = pl.Datetime("us", "UTC")
RECORD_SCHEMA: Final[Mapping[str, pl.DataType]] = {
    "time": TIME_DTYPE,
    "batch": pl.Int64(),
    "kind": pl.String(),
    "symbol": pl.String(),
    **{c: pl.Float64() for c in VALUE_COLUMNS},
    "meta": pl.String(),
}
SEGMENT_PREFIX: Final = "events-"
STATE_PREFIX: Final = "state-"
CHAIN_FILE: Final = "chain.parquet"
MANIFEST_FILE: Final = "manifest.json"
PARQUET_SUFFIX: Final = ".parquet"
META_PREFIX: Final = "gextui."


class RecordingError(ValueError):
    """A recording that cannot be used (missing, ambiguous, unreadable). One line, names the
    path."""


def data_dir() -> Path:
    """``$XDG_DATA_HOME/gextui`` (default ``~/.local/share/gextui``): recordings, screenshots."""
    base = os.environ.get("XDG_DATA_HOME") or ""
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "share"
    return root / "gextui"


def default_recordings_dir() -> Path:
    """``$XDG_DATA_HOME/gextui/recordings`` (default ``~/.local/share/gextui/recordings``)."""
    return data_dir() / "recordings"


def partition_dir(root: Path, ticker: str, day: str) -> Path:
    return root / f"ticker={ticker.upper()}" / f"date={day}"


def stamp(moment: datetime) -> str:
    """``20261124T143000Z`` (UTC) for file names."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def parse_stamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def to_utc(moment: datetime) -> datetime:
    """Aware UTC datetime (naive input is taken as UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# ---------------------------------------------------------------------------- conversion
def _null_columns(names: Iterable[str]) -> list[pl.Expr]:
    return [pl.lit(None, RECORD_SCHEMA[n]).alias(n) for n in names]


def batches_to_frame(batches: Sequence[EventBatch], first_seq: int) -> pl.DataFrame:
    """The long table of ``batches`` (numbered from ``first_seq``) in RECORD_SCHEMA."""
    parts: list[pl.DataFrame] = []
    columns = list(RECORD_SCHEMA)
    for offset, batch in enumerate(batches):
        seq = first_seq + offset
        moment = to_utc(batch.time)
        meta = json.dumps(dict(batch.meta), sort_keys=True) if batch.meta else None
        parts.append(
            pl.DataFrame(
                {
                    "time": [moment],
                    "batch": [seq],
                    "kind": [HEADER_KIND],
                    "symbol": [None],
                    **{c: [None] for c in VALUE_COLUMNS},
                    "meta": [meta],
                },
                schema=dict(RECORD_SCHEMA),
            )
        )
        for kind, frame in batch.frames().items():
            conformed = conform(kind, frame)
            present = set(conformed.columns)
            parts.append(
                conformed.with_columns(
                    pl.lit(moment, TIME_DTYPE).alias("time"),
                    pl.lit(seq, pl.Int64).alias("batch"),
                    pl.lit(kind, pl.String).alias("kind"),
                    *_null_columns(c for c in (*VALUE_COLUMNS, "meta") if c not in present),
                ).select(columns)
            )
    if not parts:
        return pl.DataFrame(schema=dict(RECORD_SCHEMA))
    return pl.concat(parts, how="vertical", rechunk=True)


def frame_to_batches(frame: pl.DataFrame) -> list[EventBatch]:
    """Inverse of :func:`batches_to_frame`: EventBatches (canonical schemas) in file order."""
    out: list[EventBatch] = []
    if not frame.height:
        return out
    for part in frame.partition_by("batch", maintain_order=True, include_key=True):
        header = part.filter(pl.col("kind") == HEADER_KIND)
        if header.height:
            moment: datetime = header["time"][0]
            raw = header["meta"][0]
        else:  # a foreign writer without header rows
            moment = part["time"][0]
            raw = None
        meta: dict[str, str] = {}
        if raw:
            loaded = json.loads(raw)
            if isinstance(loaded, dict):
                meta = {str(k): str(v) for k, v in loaded.items()}
        frames: dict[str, pl.DataFrame] = {}
        kinds = part["kind"]
        for kind in KINDS:
            mask = kinds == kind
            if mask.any():
                frames[kind] = part.filter(mask).select(list(SCHEMAS[kind]))
        out.append(EventBatch.from_frames(moment, frames, meta=meta))
    return out


# ---------------------------------------------------------------------------- atomic writes
def fsync_dir(path: Path) -> None:
    """Best effort: make a rename in ``path`` durable."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(target: Path, writer: Callable[[IO[bytes]], None]) -> int:
    """Write ``target`` through a dot-prefixed temporary file in the same directory, fsync it,
    then ``os.replace`` it into place. Returns the size in bytes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            writer(fh)
            fh.flush()
            os.fsync(fh.fileno())
        size = tmp.stat().st_size
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(target.parent)
    return size


def write_parquet_atomic(
    frame: pl.DataFrame, target: Path, metadata: Mapping[str, str] | None = None
) -> int:
    """zstd Parquet with statistics and ``gextui.*`` key/value metadata, written atomically."""
    meta = {f"{META_PREFIX}format": FORMAT, f"{META_PREFIX}version": str(FORMAT_VERSION)}
    meta.update({f"{META_PREFIX}{k}": v for k, v in (metadata or {}).items()})

    def write(fh: IO[bytes]) -> None:
        frame.write_parquet(fh, compression="zstd", statistics=True, metadata=meta)

    return atomic_write(target, write)


def segment_row_groups(frame: pl.DataFrame) -> list[pl.DataFrame]:
    """The sorted on-disk row groups of a segment (see module docstring): ``frame``
    (RECORD_SCHEMA, write order, whole batches) gets ``row`` and Int32 ``batch``, is cut at
    batch boundaries into groups of about ROW_GROUP_ROWS rows, each sorted by (kind, symbol,
    batch, row)."""
    columns = [*RECORD_SCHEMA, ROW_COLUMN]
    columns.insert(columns.index("kind"), columns.pop())  # time, batch, row, kind, …
    if not frame.height:
        empty = frame.with_columns(
            pl.col("batch").cast(pl.Int32), pl.lit(0, pl.Int32).alias(ROW_COLUMN)
        )
        return [empty.select(columns)]
    indexed = frame.with_row_index("_index")
    start = pl.col("_index").min().over("batch")  # index of the batch's first (header) row
    numbered = indexed.with_columns(
        (pl.col("_index") - start).cast(pl.Int32).alias(ROW_COLUMN),
        (start // ROW_GROUP_ROWS).alias("_group"),
        pl.col("batch").cast(pl.Int32),
    )
    ordered = numbered.sort("_group", "kind", "symbol", "batch", ROW_COLUMN, nulls_last=True)
    groups = ordered.partition_by("_group", maintain_order=True, include_key=False)
    return [g.select(columns) for g in groups]


def restore_write_order(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows of a segment (or of a filtered read of one) back in write order, (batch, row);
    a version-1 segment (no ``row`` column) is in write order already."""
    if ROW_COLUMN not in frame.columns or frame.height < 2:
        return frame
    key = (pl.col("batch").cast(pl.Int64) * (1 << 32)) + pl.col(ROW_COLUMN).cast(pl.Int64)
    return frame.sort(key)


PREFER_PYARROW = True  # False: always polars' writer (benchmarks, tests)


def segment_writer() -> str:
    """Which library writes event segments here: ``pyarrow`` (BYTE_STREAM_SPLIT) or
    ``polars`` (pyarrow not installed, or PREFER_PYARROW off)."""
    return "pyarrow" if PREFER_PYARROW and _pyarrow_parquet() is not None else "polars"


@functools.cache
def _pyarrow_parquet() -> Any:
    """``pyarrow.parquet`` if installed (it writes BYTE_STREAM_SPLIT), else None."""
    try:
        return importlib.import_module("pyarrow.parquet")
    except ImportError:
        return None


def write_row_groups(pq: Any, fh: IO[bytes], tables: Iterable[Any], schema: Any) -> None:
    """Write pyarrow ``tables`` as one row group each, in the segment layout (zstd,
    dictionaries for the repeated strings, BYTE_STREAM_SPLIT floats, delta-coded row numbers,
    statistics for pruning): the one writer of segments and compacted days."""
    with pq.ParquetWriter(
        fh,
        schema,
        compression="zstd",
        compression_level=ZSTD_LEVEL,
        use_dictionary=["time", "kind", "symbol", "meta"],
        use_byte_stream_split=list(SPLIT_COLUMNS),
        column_encoding={ROW_COLUMN: "DELTA_BINARY_PACKED"},
        write_statistics=True,
    ) as writer:
        for table in tables:
            part = table.cast(schema)
            writer.write_table(part, row_group_size=max(part.num_rows, 1))


def write_segment_atomic(
    frame: pl.DataFrame, target: Path, metadata: Mapping[str, str] | None = None
) -> int:
    """Write an event segment (RECORD_SCHEMA rows in write order) in the compact layout of the
    module docstring, atomically; returns its size in bytes."""
    meta = {f"{META_PREFIX}format": FORMAT, f"{META_PREFIX}version": str(FORMAT_VERSION)}
    meta.update({f"{META_PREFIX}{k}": v for k, v in (metadata or {}).items()})
    pq: Any = _pyarrow_parquet() if PREFER_PYARROW else None

    def write_pyarrow(fh: IO[bytes]) -> None:
        tables = [g.to_arrow() for g in segment_row_groups(frame)]
        write_row_groups(pq, fh, tables, tables[0].schema.with_metadata(meta))

    def write_polars(fh: IO[bytes]) -> None:
        frame.with_columns(pl.col("batch").cast(pl.Int32)).write_parquet(
            fh,
            compression="zstd",
            compression_level=ZSTD_LEVEL,
            statistics=True,
            metadata=meta,
            row_group_size=ROW_GROUP_ROWS,
        )

    return atomic_write(target, write_polars if pq is None else write_pyarrow)


def write_json_atomic(data: Mapping[str, object], target: Path) -> int:
    payload = (json.dumps(data, indent=2, sort_keys=True, default=str) + "\n").encode()

    def write(fh: IO[bytes]) -> None:
        fh.write(payload)

    return atomic_write(target, write)


def read_gextui_metadata(path: Path) -> dict[str, str]:
    """The ``gextui.*`` key/value metadata of a Parquet file (footer only), prefix removed."""
    raw = pl.read_parquet_metadata(path)
    return {k[len(META_PREFIX) :]: v for k, v in raw.items() if k.startswith(META_PREFIX)}
