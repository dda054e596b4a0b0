"""Read a gextui recording: index, batches in order, and the book state at any time.

:func:`open_recording` accepts a partition directory (``…/ticker=SPX/date=2026-11-24``) or a
root holding recordings (then ``ticker``/``day`` pick one; several matches or none give a
:class:`~gextui.store.schema.RecordingError` naming the path and what is there).

The index comes from the Parquet footers only (``gextui.*`` key/value metadata: first/last
event time and batch number of each segment), so opening a day of SPX costs milliseconds.
A segment whose footer cannot be read (truncated, not Parquet) is skipped and reported in
:attr:`Recording.warnings`; so is one whose data fails to decode when it is read.

State at time t (:meth:`Recording.state_at`): the book after applying, in write order, every
batch whose time is ≤ t. Computed as the latest checkpoint (``state-*.parquet``, written by
the recorder after each segment) of a segment that ends at or before t, folded with the rows
≤ t of the following segments (see :mod:`gextui.store.state`). Without checkpoints (a
recording made elsewhere, a damaged checkpoint) it folds from the first segment: correct,
only slower. Replaying every batch into a ChainBook would be exact too but costs a pass over
all events (≈ 10⁸ per SPX hour); the checkpoint makes a seek cost one segment.

**Gaps.** Batch numbers run on without a break across segments, so a jump between two
segments means batches were lost (a minute the recorder could not write: disk full, I/O
error; or a segment damaged since). :attr:`Recording.gaps` lists them and the recording's
warnings name each. Events are never spliced across a gap: after a failed minute the recorder
writes a *bridge* checkpoint ``state-<minute>-gap.parquet`` (the full state after the lost
batches, kept in memory), and :meth:`Recording.state_at` starts from it for any time after
the gap. A time inside a gap, or after one with no bridge, gives the best state the file
allows and says so in :attr:`Recording.warnings`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from itertools import pairwise
from pathlib import Path

import polars as pl

from gextui.core.chain import ChainBook, make_instruments
from gextui.core.events import EventBatch
from gextui.core.expiry import NEW_YORK
from gextui.store.schema import (
    CHAIN_FILE,
    MANIFEST_FILE,
    PARQUET_SUFFIX,
    RECORD_SCHEMA,
    SEGMENT_PREFIX,
    STATE_PREFIX,
    RecordingError,
    frame_to_batches,
    parse_stamp,
    read_gextui_metadata,
    restore_write_order,
    to_utc,
)
from gextui.store.state import RecordedState, advance, reset_batches, state_from_frame

_TICKER_RE = re.compile(r"^ticker=(.+)$")
_DATE_RE = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")
_STAMP_RE = re.compile(r"^events-(\d{8}T\d{6}Z)")
FOLD_LIMIT = 4_000_000  # events checkpoint_states folds past a checkpoint before it gives up


class RecordingTickerError(RecordingError):
    """The recording has no partition for the requested ticker."""

    def __init__(self, message: str, available: list[str]) -> None:
        super().__init__(message)
        self.available = available


@dataclass(frozen=True, slots=True)
class PartitionRef:
    """One recorded ticker-day: a directory with chain.parquet and events-*.parquet."""

    ticker: str
    day: str
    path: Path


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    path: Path
    first_time: datetime
    last_time: datetime
    first_batch: int
    last_batch: int
    batches: int
    events: int
    # a minute inside a compacted file (``gextui compact``): ``path`` is the compacted file,
    # the minute is its batches first_batch..last_batch, ``minute`` the original segment name
    minute: str | None = None

    @property
    def checkpoint(self) -> Path:
        name = self.minute if self.minute is not None else self.path.name
        return self.path.with_name(STATE_PREFIX + name[len(SEGMENT_PREFIX) :])

    @property
    def compacted(self) -> bool:
        return self.minute is not None


GAP_SUFFIX = "-gap"  # state-<stamp>-gap.parquet: the bridge checkpoint after lost batches


@dataclass(frozen=True, slots=True)
class Gap:
    """Batches lost between two segments: ``index`` is the segment after the gap."""

    index: int
    after: datetime  # last event time before the gap
    before: datetime  # first event time after it
    lost_batches: int
    bridge: Path | None  # checkpoint with the state after the lost batches, if written
    bridge_time: datetime | None  # event time of the last lost batch (from the bridge)


def _is_segment(p: Path) -> bool:
    return p.name.startswith(SEGMENT_PREFIX) and p.name.endswith(PARQUET_SUFFIX)


def _is_partition(p: Path) -> bool:
    return p.is_dir() and ((p / CHAIN_FILE).is_file() or any(map(_is_segment, p.iterdir())))


def _read_manifest(p: Path) -> dict[str, str]:
    try:
        data = json.loads((p / MANIFEST_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _ref(p: Path) -> PartitionRef:
    manifest = _read_manifest(p)
    t = _TICKER_RE.match(p.parent.name)
    d = _DATE_RE.match(p.name)
    ticker = manifest.get("ticker") or (t.group(1) if t else p.name)
    day = manifest.get("date") or (d.group(1) if d else "")
    return PartitionRef(ticker.upper(), day, p)


def find_recordings(path: str | Path) -> list[PartitionRef]:
    """Every recorded ticker-day at or under ``path`` (sorted by ticker, day)."""
    p = Path(path).expanduser()
    if not p.exists():
        raise RecordingError(f"no recording at {p}: the path does not exist")
    if p.is_file():
        if _is_segment(p) or p.name in (CHAIN_FILE, MANIFEST_FILE):
            p = p.parent
        else:
            raise RecordingError(f"{p} is a file, not a recording directory")
    if _is_partition(p):
        return [_ref(p)]
    dirs = {q.parent for q in p.rglob(f"{SEGMENT_PREFIX}*{PARQUET_SUFFIX}") if _is_segment(q)}
    dirs |= {q.parent for q in p.rglob(CHAIN_FILE)}
    return sorted((_ref(d) for d in dirs), key=lambda r: (r.ticker, r.day, str(r.path)))


def open_recording(
    path: str | Path, ticker: str | None = None, day: date | str | None = None
) -> Recording:
    """Open one recorded ticker-day (see module docstring for how ``path`` is resolved)."""
    refs = find_recordings(path)
    if not refs:
        raise RecordingError(f"no recording under {path}: no events-*.parquet / chain.parquet")
    if ticker is not None:
        wanted = ticker.upper()
        matching = [r for r in refs if r.ticker == wanted]
        if not matching:
            tickers = sorted({r.ticker for r in refs})
            raise RecordingTickerError(
                f"no {wanted} in the recording at {path} (it has {', '.join(tickers)})", tickers
            )
        refs = matching
    if day is not None:
        wanted_day = day.isoformat() if isinstance(day, date) else str(day)
        matching = [r for r in refs if r.day == wanted_day]
        if not matching:
            days = ", ".join(sorted({r.day for r in refs}))
            raise RecordingError(f"no recording of {wanted_day} at {path} (it has {days})")
        refs = matching
    if len(refs) > 1:
        listing = ", ".join(f"ticker={r.ticker}/date={r.day}" for r in refs[:8])
        more = f" and {len(refs) - 8} more" if len(refs) > 8 else ""
        raise RecordingError(
            f"{path} holds {len(refs)} recordings ({listing}{more}): "
            "give one partition directory, a ticker or a date"
        )
    return Recording(refs[0].path)


class Recording:
    """One recorded ticker-day, opened read-only. Not thread-safe (one reader per thread)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        if not self.path.is_dir():
            raise RecordingError(f"no recording at {self.path}: not a directory")
        ref = _ref(self.path)
        manifest = _read_manifest(self.path)
        self.ticker = ref.ticker
        self.day = ref.day
        self.warnings: list[str] = []
        self._damaged: set[Path] = set()
        chain_path = self.path / CHAIN_FILE
        try:
            chain = pl.read_parquet(chain_path)
            chain_meta = read_gextui_metadata(chain_path)
        except Exception as err:
            raise RecordingError(
                f"{chain_path}: chain metadata missing or unreadable ({_brief(err)})"
            ) from err
        self.instruments = make_instruments(chain)
        self.underlying_symbol = (
            manifest.get("underlying_symbol") or chain_meta.get("underlying_symbol") or self.ticker
        )
        self.source = manifest.get("source") or chain_meta.get("source") or ""
        self.segments = self._index()
        if not self.day and self.segments:
            self.day = self.segments[0].first_time.astimezone(NEW_YORK).date().isoformat()
        self.gaps = self._find_gaps()
        for gap in self.gaps:
            self.warnings.append(
                f"{self.path}: gap in the recording: no events from {_hms(gap.after)} to "
                f"{_hms(gap.before)} New York time ({gap.lost_batches} batches lost; "
                + (
                    "state after it restored from its checkpoint)"
                    if gap.bridge is not None
                    else "no checkpoint after it: figures until the next one miss them)"
                )
            )

    # ------------------------------------------------------------------ index
    def _index(self) -> list[SegmentInfo]:
        out: list[SegmentInfo] = []
        replaced: set[str] = set()  # files a compacted file holds (left by an interrupted swap)
        for p in sorted(self.path.iterdir()):
            if not _is_segment(p):
                continue  # temp files are dot-prefixed and never match
            try:
                meta = read_gextui_metadata(p)
                if meta.get("compacted") == "1":
                    out.extend(_compacted_minutes(p, meta))
                    replaced.update(json.loads(meta["sources"]))
                else:
                    out.append(self._segment_info(p, meta))
            except Exception as err:
                self._warn(p, f"unreadable segment ({_brief(err)}); skipped")
        out = [s for s in out if s.compacted or s.path.name not in replaced]
        out = [s for s in out if not (s.compacted and s.path.name in replaced)]
        out.sort(key=lambda s: (s.first_batch, s.first_time, s.path.name))
        return out

    def _segment_info(self, p: Path, meta: dict[str, str]) -> SegmentInfo:
        if {"first_time", "last_time", "first_batch", "last_batch"} <= meta.keys():
            return SegmentInfo(
                p,
                datetime.fromisoformat(meta["first_time"]),
                datetime.fromisoformat(meta["last_time"]),
                int(meta["first_batch"]),
                int(meta["last_batch"]),
                int(meta.get("batches", "0")),
                int(meta.get("events", "0")),
            )
        # no gextui metadata: ask the data (statistics) instead
        stats = (
            pl.scan_parquet(p)
            .select(
                pl.col("time").min().alias("t0"),
                pl.col("time").max().alias("t1"),
                pl.col("batch").min().alias("b0"),
                pl.col("batch").max().alias("b1"),
                pl.col("batch").n_unique().alias("n"),
                (pl.col("kind") != "batch").sum().alias("e"),
            )
            .collect()
            .row(0)
        )
        if stats[0] is None:
            m = _STAMP_RE.match(p.name)
            if not m:
                raise RecordingError(f"{p}: empty segment without a time stamp")
            t0 = parse_stamp(m.group(1))
            return SegmentInfo(p, t0, t0, 0, -1, 0, 0)
        return SegmentInfo(p, stats[0], stats[1], stats[2], stats[3], stats[4], stats[5])

    def _find_gaps(self) -> list[Gap]:
        bridges: dict[int, tuple[Path, datetime | None]] = {}
        for p in self.path.glob(f"{STATE_PREFIX}*{GAP_SUFFIX}{PARQUET_SUFFIX}"):
            try:
                meta = read_gextui_metadata(p)
                last = int(meta["last_batch"])
                when = datetime.fromisoformat(meta["last_time"]) if "last_time" in meta else None
            except Exception as err:
                self._warn(p, f"damaged gap checkpoint ({_brief(err)}); ignored")
                continue
            bridges[last] = (p, when)
        gaps: list[Gap] = []
        segs = [s for s in self.segments if s.batches > 0]
        for prev, seg in pairwise(segs):
            if seg.first_batch <= prev.last_batch + 1:
                continue
            bridge = bridges.get(seg.first_batch - 1)
            gaps.append(
                Gap(
                    self.segments.index(seg),
                    prev.last_time,
                    seg.first_time,
                    seg.first_batch - prev.last_batch - 1,
                    bridge[0] if bridge else None,
                    bridge[1] if bridge else None,
                )
            )
        return gaps

    def describe_range(self) -> str:
        """``the SPX recording of 2026-11-24 covers 10:00:00–10:31:12 New York time``
        (+ its gaps), for messages about times outside it."""
        first, last = self.start_time, self.end_time
        if first is None or last is None:
            return f"the {self.ticker} recording of {self.day} holds no events"
        text = (
            f"the {self.ticker} recording of {self.day} covers {_hms(first)}–{_hms(last)} "
            "New York time"
        )
        if self.gaps:
            spans = ", ".join(f"{_hms(g.after)}–{_hms(g.before)}" for g in self.gaps)
            text += f" (gaps: {spans})"
        return text

    def _warn(self, p: Path, text: str) -> None:
        if p not in self._damaged:
            self._damaged.add(p)
            self.warnings.append(f"{p}: {text}")

    def _note(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    @property
    def start_time(self) -> datetime | None:
        return min((s.first_time for s in self.segments), default=None)

    @property
    def end_time(self) -> datetime | None:
        return max((s.last_time for s in self.segments), default=None)

    @property
    def events(self) -> int:
        return sum(s.events for s in self.segments)

    def to_utc(self, at: datetime | time) -> datetime:
        """A datetime as UTC; a bare time is America/New_York on the recording's date."""
        if isinstance(at, datetime):
            return to_utc(at)
        if not self.day:
            raise RecordingError(f"{self.path}: the recording has no date for a bare time")
        local = datetime.combine(date.fromisoformat(self.day), at, tzinfo=NEW_YORK)
        return local.astimezone(UTC)

    # ------------------------------------------------------------------ reading
    def read_segment(self, seg: SegmentInfo) -> pl.DataFrame | None:
        """The rows of one segment (RECORD_SCHEMA), or None if it is damaged (warned)."""
        return self._read(seg, None, None)

    def read_batches(
        self, seg: SegmentInfo, first: int, last: int, after: datetime | None = None
    ) -> list[EventBatch]:
        """Batches ``first``..``last`` (batch numbers) of one segment, only those later than
        ``after``. Reads just the row groups holding them (Parquet statistics), so a replay
        keeps a few seconds of events in memory, not a minute. Damaged: [] (warned)."""
        frame = self._read(seg, (first, last), after)
        return [] if frame is None else frame_to_batches(frame)

    def _read(
        self,
        seg: SegmentInfo,
        batches: tuple[int, int] | None,
        after: datetime | None,
        until: datetime | None = None,
    ) -> pl.DataFrame | None:
        if seg.path in self._damaged:
            return None
        if seg.compacted:  # one minute of a compacted file: its batches only
            lo, hi = seg.first_batch, seg.last_batch
            batches = (max(lo, batches[0]), min(hi, batches[1])) if batches else (lo, hi)
        try:
            if batches is None and after is None and until is None:
                frame = pl.read_parquet(seg.path)
            else:
                lf = pl.scan_parquet(seg.path)
                if batches is not None:
                    lf = lf.filter(pl.col("batch").is_between(*batches))
                if after is not None:
                    lf = lf.filter(pl.col("time") > after)
                if until is not None:
                    lf = lf.filter(pl.col("time") <= until)
                frame = lf.collect()
            missing = set(RECORD_SCHEMA) - set(frame.columns)
            if missing:
                raise RecordingError(f"missing columns {', '.join(sorted(missing))}")
            return restore_write_order(frame).select(
                [pl.col(c).cast(t) for c, t in RECORD_SCHEMA.items()]
            )
        except Exception as err:
            self._warn(seg.path, f"damaged segment ({_brief(err)}); skipped")
            return None

    def iter_segments(
        self, after: datetime | None = None
    ) -> Iterator[tuple[SegmentInfo, pl.DataFrame]]:
        """Readable segments in write order with their rows; only rows with time > ``after``."""
        for seg in self.segments:
            if after is not None and seg.last_time <= after:
                continue
            frame = self.read_segment(seg)
            if frame is None:
                continue
            if after is not None and seg.first_time <= after:
                frame = frame.filter(pl.col("time") > after)
            yield seg, frame

    def batches(self, after: datetime | time | None = None) -> Iterator[EventBatch]:
        """All batches in write order (time order for a normal feed); with ``after``, only the
        batches whose time is later (the continuation of :meth:`reset_batches`)."""
        cut = None if after is None else self.to_utc(after)
        for _, frame in self.iter_segments(cut):
            yield from frame_to_batches(frame)

    # ------------------------------------------------------------------ state
    def _load_checkpoint(self, seg: SegmentInfo) -> RecordedState | None:
        p = seg.checkpoint
        if not p.is_file() or p in self._damaged:
            return None
        try:
            meta = read_gextui_metadata(p)
            if int(meta.get("last_batch", "-2")) != seg.last_batch:
                raise RecordingError("checkpoint does not match its segment")
            return state_from_frame(pl.read_parquet(p), self.underlying_symbol)
        except Exception as err:
            self._warn(p, f"damaged checkpoint ({_brief(err)}); state rebuilt from events")
            return None

    def _load_bridge(self, gap: Gap) -> RecordedState | None:
        if gap.bridge is None or gap.bridge in self._damaged:
            return None
        try:
            return state_from_frame(pl.read_parquet(gap.bridge), self.underlying_symbol)
        except Exception as err:
            self._warn(gap.bridge, f"damaged gap checkpoint ({_brief(err)}); ignored")
            return None

    def state_at(self, at: datetime | time) -> RecordedState:
        """State after every batch with time ≤ ``at`` (see module docstring); never folds
        events across a gap without saying so in :attr:`warnings`."""
        cut = self.to_utc(at)
        segs = self.segments
        k = 0
        while k < len(segs) and segs[k].last_time <= cut:
            k += 1
        state = RecordedState(self.underlying_symbol)
        start = 0
        # the latest usable starting point: a segment's checkpoint (start after it) or a gap's
        # bridge checkpoint (start at the segment after the gap; it includes the lost batches)
        bridges = {
            g.index: g
            for g in self.gaps
            if (g.bridge_time if g.bridge_time is not None else g.before) <= cut
        }
        bridged = -1
        for p in range(min(k + 1, len(segs)), 0, -1):
            loaded = self._load_bridge(bridges[p]) if p in bridges else None
            if loaded is not None:
                bridged = p
            elif p - 1 < k:
                loaded = self._load_checkpoint(segs[p - 1])
            if loaded is not None:
                state, start = loaded, p
                break
        for gap in self.gaps:
            if gap.index < start or gap.index == bridged:
                continue  # before the starting checkpoint, or bridged by it
            if gap.after < cut < gap.before:
                self._note(
                    f"{_hms(cut)} falls in a gap of the recording (no events from "
                    f"{_hms(gap.after)} to {_hms(gap.before)}): the book is as of {_hms(gap.after)}"
                )
            elif gap.before <= cut:
                self._note(
                    f"the state at {_hms(cut)} misses the events lost in the gap "
                    f"{_hms(gap.after)}–{_hms(gap.before)} (no checkpoint after it)"
                )
        frames = []  # the segments after the checkpoint, folded in one pass
        for seg in segs[start:]:
            if seg.first_time > cut:
                continue
            frame = self._read(seg, None, None, cut if seg.last_time > cut else None)
            if frame is not None:
                frames.append(frame)
        if frames:
            state = advance(state, pl.concat(frames, how="vertical"))
        return state

    def checkpoint_states(self, until: datetime | time) -> Iterator[tuple[datetime, RecordedState]]:
        """(time, state) at the end of every segment with events up to ``until``, oldest
        first: the recording's state once a minute, for a cheap look back (a replay rebuilds
        its history from these after a seek). A segment with a checkpoint gives it; one
        without (the recorder writes one only every few minutes when they are sparse, see
        :data:`~gextui.store.recorder.CHECKPOINT_RATIO`) is folded forward from the one before
        — at most :data:`FOLD_LIMIT` events past a checkpoint, never across a gap without
        its bridge."""
        cut = self.to_utc(until)
        gaps = {g.index: g for g in self.gaps}
        state: RecordedState | None = RecordedState(self.underlying_symbol)
        folded = 0
        for i, seg in enumerate(self.segments):
            if seg.last_time > cut:
                break
            if i in gaps:
                state = self._load_bridge(gaps[i])  # None: nothing until the next checkpoint
                folded = 0
            loaded = self._load_checkpoint(seg) if seg.events else None
            if loaded is not None:
                state, folded = loaded, 0
            elif state is not None and seg.events:
                folded += seg.events
                frame = self._read(seg, None, None) if folded <= FOLD_LIMIT else None
                state = None if frame is None else advance(state, frame)
            if state is not None and seg.events:
                yield seg.last_time, state

    def bridge_batches(self, gap: Gap) -> list[EventBatch]:
        """The reset group (``reset.gap``) that carries a replay across ``gap``: the state
        after the lost batches, from its bridge checkpoint; [] when there is none."""
        state = self._load_bridge(gap)
        if state is None:
            return []
        when = gap.bridge_time or gap.before
        return reset_batches(state, when_empty=when, at=when, gap=True)

    def reset_batches(self, at: datetime | time) -> list[EventBatch]:
        """Batches that bring a fresh book to the state at ``at`` (a reset group: each has
        ``reset``, :class:`~gextui.core.events.Reset`, with ``reset.at`` = ``at``)."""
        cut = self.to_utc(at)
        return reset_batches(self.state_at(cut), when_empty=cut, at=cut)

    def new_book(self, source: str = "replay") -> ChainBook:
        return ChainBook(
            self.ticker, self.instruments, underlying_symbol=self.underlying_symbol, source=source
        )

    def book_at(self, at: datetime | time) -> ChainBook:
        """A ChainBook exactly as it was after every batch with time ≤ ``at``."""
        book = self.new_book()
        state = self.state_at(at)
        if state.as_of is None:
            return book
        for batch in reset_batches(state, when_empty=self.to_utc(at)):
            book.apply(batch)
        return book


def _compacted_minutes(p: Path, meta: dict[str, str]) -> list[SegmentInfo]:
    """The original minute segments a compacted file holds (its ``gextui.minutes``)."""
    out = []
    for name, t0, t1, b0, b1, n, e in json.loads(meta["minutes"]):
        out.append(
            SegmentInfo(
                p,
                datetime.fromisoformat(t0),
                datetime.fromisoformat(t1),
                int(b0),
                int(b1),
                int(n),
                int(e),
                minute=str(name),
            )
        )
    return out


def _hms(moment: datetime) -> str:
    return moment.astimezone(NEW_YORK).strftime("%H:%M:%S")


def _brief(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text[:200]


__all__ = [
    "GAP_SUFFIX",
    "Gap",
    "PartitionRef",
    "Recording",
    "RecordingError",
    "RecordingTickerError",
    "SegmentInfo",
    "find_recordings",
    "open_recording",
]
