"""Record EventBatches to compact, crash-safe Parquet segments (format: :mod:`.schema`).

``Recorder.write(batch)`` only appends the batch to an in-memory buffer. When a batch of a
later *event-time* minute arrives (or on :meth:`Recorder.flush` / :meth:`Recorder.close`),
the buffered batches become one zstd Parquet segment ``events-<minute>.parquet`` in
``ROOT/ticker=<T>/date=<New York date>/``, written under a dot-prefixed temporary name,
fsync-ed and ``os.replace``-d into place, followed by its checkpoint ``state-<minute>.parquet``
(the book state after it, for fast seeks). After ``kill -9`` every closed minute is intact;
only the open minute is lost.

By default segments are written by one background thread so ``write`` never blocks the event
loop on disk or compression (≈ 1.5 s of one core per SPX minute: building, sorting and
compressing the segment, folding the checkpoint); :attr:`errors` collects write failures,
and :meth:`flush` / :meth:`close` raise the first one; both block until the writes are done
(from asyncio: ``await asyncio.to_thread(recorder.close)``, or ``flush(wait=False)`` on the
loop, ``await asyncio.to_thread(recorder.join)``, then ``wait()``, as
:class:`~gextui.feeds.recording.RecordingFeed` does). Use ``background=False`` to write
inline.

A recording starts empty: batches before the recorder was attached are not in it, so start
recording with the session (the first batches of a feed carry the full chain state).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final, Protocol

import polars as pl

from gextui.core.chain import make_instruments
from gextui.core.events import EventBatch
from gextui.core.expiry import NEW_YORK
from gextui.store.reader import GAP_SUFFIX, Recording
from gextui.store.schema import (
    CHAIN_FILE,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST_FILE,
    PARQUET_SUFFIX,
    SEGMENT_PREFIX,
    STATE_PREFIX,
    RecordingError,
    batches_to_frame,
    default_recordings_dir,
    partition_dir,
    stamp,
    to_utc,
    write_json_atomic,
    write_parquet_atomic,
    write_segment_atomic,
)
from gextui.store.state import RecordedState, advance, state_to_frame


class ChainLike(Protocol):
    """What the recorder needs of a feed's chain (:class:`~gextui.feeds.base.ChainInfo` fits;
    the store never imports the feeds)."""

    @property
    def instruments(self) -> pl.DataFrame: ...
    @property
    def underlying_symbol(self) -> str: ...
    @property
    def source(self) -> str: ...


MINUTE: Final = timedelta(minutes=1)
#: A state checkpoint is written after a segment once the events since the previous one reach
#: CHECKPOINT_RATIO × the rows of the state (one per contract and event kind): checkpoints
#: then cost about 1/CHECKPOINT_RATIO of the events, and a seek folds at most that many
#: events past one. A busy chain (SPX: ≈ 1.3 M events a minute for ≈ 90 k state rows) still
#: gets one every minute; a sparse stream (a simulated day at 60×) one every few minutes.
CHECKPOINT_RATIO: Final = 4.0
#: A state this small is checkpointed after every segment with events (a few kB).
CHECKPOINT_MIN_ROWS: Final = 1_000


class Recorder:
    """Append-only recorder of one ticker's EventBatches. Call from one thread (the event loop).

    ``chain`` is a :class:`~gextui.feeds.base.ChainInfo` (ticker's underlying symbol and source
    taken from it) or an instrument frame. ``root_dir`` defaults to
    :func:`~gextui.store.schema.default_recordings_dir`.
    """

    def __init__(
        self,
        root_dir: str | Path | None,
        ticker: str,
        chain: ChainLike | pl.DataFrame,
        source: str | None = None,
        *,
        underlying_symbol: str | None = None,
        background: bool = True,
        checkpoints: bool = True,
        checkpoint_ratio: float = CHECKPOINT_RATIO,
        max_buffer_events: int = 4_000_000,
    ) -> None:
        self.root = Path(root_dir).expanduser() if root_dir else default_recordings_dir()
        self.ticker = ticker.upper()
        if isinstance(chain, pl.DataFrame):
            instruments = chain
            und = underlying_symbol or self.ticker
            src = str(source or "")
        else:
            instruments = chain.instruments
            und = underlying_symbol or chain.underlying_symbol
            src = str(source if source is not None else chain.source)
        self.instruments = make_instruments(instruments)
        self.underlying_symbol = und
        self.source = src
        self.checkpoints = checkpoints
        self.checkpoint_ratio = checkpoint_ratio
        self._since_checkpoint = 0  # events written since the last checkpoint (writer side)
        self.max_buffer_events = max_buffer_events
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.segments_written: list[Path] = []
        # event-loop side
        self._buffer: list[EventBatch] = []
        self._buffer_events = 0
        self._seg_start: datetime | None = None
        self._seg_day = ""
        self._events_accepted = 0
        self._closed = False
        # writer side (one thread at a time, in order)
        self._lock = threading.Lock()
        self._bytes = 0
        self._events_flushed = 0
        self._partition: Path | None = None
        self._next_seq = 0
        self._state: RecordedState | None = None
        self._bridge: tuple[str, str, str] | None = None  # lost minute: (name, last batch, time)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="gextui-rec") if background else None
        self._pending: list[Future[None]] = []

    # ------------------------------------------------------------------ public
    @property
    def bytes_written(self) -> int:
        """Bytes of the files this recorder has written so far (segments, checkpoints, chain)."""
        return self._bytes

    @property
    def events_written(self) -> int:
        """Events accepted by :meth:`write` (buffered ones included)."""
        return self._events_accepted

    @property
    def events_on_disk(self) -> int:
        return self._events_flushed

    @property
    def buffered_events(self) -> int:
        return self._buffer_events

    @property
    def partition(self) -> Path | None:
        """The partition directory written last (None before the first segment)."""
        return self._partition

    @property
    def closed(self) -> bool:
        return self._closed

    def write(self, batch: EventBatch) -> None:
        """Buffer one batch; a batch of a later minute first hands the buffer to the writer."""
        if self._closed:
            raise RecordingError(f"recorder for {self.ticker} at {self.root} is closed")
        moment = to_utc(batch.time)
        minute = moment.replace(second=0, microsecond=0)
        later = self._seg_start is not None and minute > self._seg_start
        full = self._buffer_events + batch.n_events > self.max_buffer_events
        if self._buffer and (later or full):
            self._hand_off()
        if not self._buffer:
            self._seg_start = minute
            self._seg_day = moment.astimezone(NEW_YORK).date().isoformat()
        self._buffer.append(batch)
        self._buffer_events += batch.n_events
        self._events_accepted += batch.n_events
        self._reap()

    def flush(self, *, wait: bool = True) -> None:
        """Write the buffer as a segment now and (``wait``) wait for every pending write.

        ``wait=False`` only hands the buffer to the background writer (cheap: no I/O on the
        caller's thread); follow with :meth:`join` off the event loop, then :meth:`wait`."""
        self._hand_off()
        if wait:
            self.wait()

    def join(self, timeout: float | None = None) -> bool:
        """Block until the writes handed off so far are done (or ``timeout`` seconds pass);
        True when they are. Touches no recorder state, so it may run on another thread
        (``await asyncio.to_thread(rec.join)``) while the event loop keeps writing."""
        _, pending = futures_wait(list(self._pending), timeout=timeout)
        return not pending

    def wait(self) -> None:
        """Wait for the writes handed off so far (the buffer stays); raise the first error."""
        for fut in list(self._pending):
            fut.exception()
        self._reap()
        if self.errors:
            raise RecordingError(self.errors[0])

    def close(self) -> None:
        """Flush, stop the writer thread. Idempotent."""
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            if self._pool is not None:
                self._pool.shutdown(wait=True)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ internals
    def _hand_off(self) -> None:
        if not self._buffer or self._seg_start is None:
            return
        batches, start, day = self._buffer, self._seg_start, self._seg_day
        self._buffer, self._buffer_events, self._seg_start = [], 0, None
        if self._pool is None:
            try:
                self._write_segment(batches, start, day)
            except Exception as err:
                self.errors.append(str(err))
        else:
            self._pending.append(self._pool.submit(self._write_segment, batches, start, day))

    def _reap(self) -> None:
        still: list[Future[None]] = []
        for fut in self._pending:
            if not fut.done():
                still.append(fut)
                continue
            err = fut.exception()
            if err is not None:
                self.errors.append(str(err))
        self._pending = still

    def _add_bytes(self, n: int) -> None:
        with self._lock:
            self._bytes += n

    def _open_partition(self, part: Path, day: str) -> None:
        """First segment of a ticker-day: continue an existing recording or start one. The
        partition counts as open only once its chain and manifest are written (a failure here
        is retried with the next segment)."""
        self._partition = None
        self._next_seq = 0
        self._state = RecordedState(self.underlying_symbol)
        self._bridge = None
        self._since_checkpoint = 0
        instruments = self.instruments
        created = datetime.now(UTC).isoformat()
        if (part / CHAIN_FILE).exists() or any(part.glob(f"{SEGMENT_PREFIX}*{PARQUET_SUFFIX}")):
            try:
                rec = Recording(part)
            except RecordingError as err:
                self.warnings.append(f"{err}; starting the chain afresh")
            else:
                self.warnings.extend(rec.warnings)
                if rec.segments:
                    self._next_seq = max(s.last_batch for s in rec.segments) + 1
                    end = rec.end_time
                    if self.checkpoints and end is not None:
                        self._state = rec.state_at(end)
                old = rec.instruments
                new = instruments.filter(~pl.col("symbol").is_in(old["symbol"].implode()))
                instruments = make_instruments(pl.concat([old, new])) if new.height else old
                created = _read_created(part) or created
        meta = {
            "ticker": self.ticker,
            "underlying_symbol": self.underlying_symbol,
            "source": self.source,
            "date": day,
        }
        self._add_bytes(write_parquet_atomic(instruments, part / CHAIN_FILE, meta))
        manifest: dict[str, object] = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            **meta,
            "created": created,
            "timezone_of_date": "America/New_York",
            "files": "events-<UTC minute>.parquet (events), state-<same>.parquet (checkpoint)",
        }
        self._add_bytes(write_json_atomic(manifest, part / MANIFEST_FILE))
        self._partition = part

    def _write_segment(self, batches: list[EventBatch], start: datetime, day: str) -> None:
        part = partition_dir(self.root, self.ticker, day)
        if part != self._partition:
            self._open_partition(part, day)
        first = self._next_seq
        frame = batches_to_frame(batches, first)
        times = [to_utc(b.time) for b in batches]
        events = sum(b.n_events for b in batches)
        name = _free_name(part, SEGMENT_PREFIX + stamp(start))
        meta: Mapping[str, str] = {
            "ticker": self.ticker,
            "date": day,
            "first_time": min(times).isoformat(),
            "last_time": max(times).isoformat(),
            "first_batch": str(first),
            "last_batch": str(first + len(batches) - 1),
            "batches": str(len(batches)),
            "events": str(events),
        }
        target = part / (name + PARQUET_SUFFIX)
        if self._bridge is not None:
            self._write_bridge(part)
        try:
            self._add_bytes(write_segment_atomic(frame, target, meta))
        except OSError as err:
            # the minute is lost, but not silently: its batch numbers are skipped (the reader
            # sees the gap) and its events still move the state, which the next segment's
            # bridge checkpoint writes out in full
            self._next_seq = first + len(batches)
            if self.checkpoints and self._state is not None:
                self._state = advance(self._state, frame)
                self._bridge = (name, meta["last_batch"], meta["last_time"])
            raise RecordingError(f"cannot write {target}: {err}") from err
        self._next_seq = first + len(batches)
        self.segments_written.append(target)
        with self._lock:
            self._events_flushed += events
        if self.checkpoints and self._state is not None and events > 0:
            # a minute without events (a closed market) changes no state: no checkpoint (a
            # seek folds from the one before, reading only empty segments)
            self._state = advance(self._state, frame)
            self._since_checkpoint += events
            rows = self._state.options.height + 1
            due = self._since_checkpoint >= self.checkpoint_ratio * rows
            if not due and rows > CHECKPOINT_MIN_ROWS:
                return  # a seek folds these minutes from the checkpoint before
            self._since_checkpoint = 0
            ck = part / (STATE_PREFIX + name[len(SEGMENT_PREFIX) :] + PARQUET_SUFFIX)
            ck_meta = {"segment": target.name, "last_batch": meta["last_batch"]}
            try:
                self._add_bytes(write_parquet_atomic(state_to_frame(self._state), ck, ck_meta))
            except OSError as err:
                raise RecordingError(f"cannot write {ck}: {err}") from err

    def _write_bridge(self, part: Path) -> None:
        """The full state after lost minutes (``state-<minute>-gap.parquet``), written before
        the next segment; retried with the one after if it fails too."""
        assert self._bridge is not None and self._state is not None
        name, last_batch, last_time = self._bridge
        ck = part / (STATE_PREFIX + name[len(SEGMENT_PREFIX) :] + GAP_SUFFIX + PARQUET_SUFFIX)
        ck_meta = {"gap": "1", "last_batch": last_batch, "last_time": last_time}
        try:
            self._add_bytes(write_parquet_atomic(state_to_frame(self._state), ck, ck_meta))
        except OSError:
            return
        self._bridge = None
        self._since_checkpoint = 0


def _free_name(part: Path, base: str) -> str:
    """``base`` or ``base-2``, ``base-3``… whichever has no segment yet (restarts, early
    flushes within one minute)."""
    name, n = base, 1
    while (part / (name + PARQUET_SUFFIX)).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def _read_created(part: Path) -> str | None:
    try:
        data = json.loads((part / MANIFEST_FILE).read_text())
    except (OSError, ValueError):
        return None
    value = data.get("created") if isinstance(data, dict) else None
    return str(value) if value else None


__all__ = ["CHECKPOINT_MIN_ROWS", "CHECKPOINT_RATIO", "Recorder", "default_recordings_dir"]
