"""Replay a recording (:mod:`gextui.store`) as a feed, with pause, speed and seek.

``ReplayFeed(path, speed=1.0, start=None, paced=True)`` opens the ticker-day recorded at (or
under) ``path``; ``open(ticker)`` raises :class:`UnknownTickerError` for a ticker the
recording does not hold. Its session yields the recorded EventBatches in write order, paced by
event time / ``speed`` (``paced=False``: as fast as the consumer takes them). A wall-clock wait
between two batches is capped at ``max_gap`` seconds, so a gap in the recording (a restart)
does not stall the replay.

Controls (call from the event loop): :meth:`ReplaySession.pause`, :meth:`~ReplaySession.resume`,
:attr:`~ReplaySession.paused`, :attr:`~ReplaySession.speed` (settable),
:meth:`~ReplaySession.seek` (a timedelta from the current position),
:meth:`~ReplaySession.seek_to` (a datetime, or a bare time = America/New_York on the recording's
date), :attr:`~ReplaySession.position` (event time of the last batch yielded, or the seek
target), :attr:`~ReplaySession.start_time` / :attr:`~ReplaySession.end_time`,
:attr:`~ReplaySession.warnings` (damaged files skipped, to show the user).

**Reset protocol.** After a seek (and first of all when ``start`` is given) the session yields
*reset batches* before anything else: each carries ``batch.reset``, a
:class:`~gextui.core.events.Reset` (part i of n, ``at`` = the target time). On
``reset.first`` the consumer must make a *fresh*
ChainBook (``session.chain.new_book()``) and apply this and the following batches as usual;
once the group is applied the book equals exactly the book that applied every recorded batch
with time ≤ the target (values and per-symbol ``updated`` times; see
:mod:`gextui.store.state`). A UI may defer redrawing until ``reset.last``. Normal batches
with time > target follow.
When the recording ends, ``events()`` returns; after a seek it may be called again.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from time import monotonic

from gextui.core.chain import ChainBook
from gextui.core.events import EventBatch
from gextui.core.expiry import NEW_YORK
from gextui.feeds.base import (
    ChainInfo,
    FeedError,
    FeedState,
    FeedStatus,
    Source,
    UnknownTickerError,
    wait_event,
)
from gextui.store.reader import (
    Recording,
    RecordingTickerError,
    find_recordings,
    open_recording,
)
from gextui.store.schema import RecordingError, to_utc
from gextui.store.state import reset_batches

CHUNK_BATCHES = 5  # batches read at a time (a few seconds of events), one chunk prefetched


class ReplaySession:
    """A FeedSession over one recorded ticker-day (see module docstring)."""

    def __init__(
        self,
        recording: Recording,
        *,
        speed: float = 1.0,
        start: datetime | time | None = None,
        paced: bool = True,
        max_gap: float = 5.0,
    ) -> None:
        if not recording.segments:
            raise FeedError(f"{recording.path}: no complete segment to replay")
        self.recording = recording
        self._chain = ChainInfo(
            recording.ticker, recording.underlying_symbol, Source.REPLAY, recording.instruments
        )
        self._speed = _check_speed(speed)
        self.paced = paced
        self.max_gap = max_gap
        self._paused = False
        self._closed = False
        self._wake = asyncio.Event()
        self._pending_seek: datetime | None = (
            None if start is None else self._clamp(recording.to_utc(start))
        )
        first = recording.start_time
        assert first is not None
        self._position: datetime = first
        self._anchor: tuple[float, datetime] | None = None
        self._queue: deque[EventBatch] = deque()
        self._cursor: tuple[int, int] | None = (0, recording.segments[0].first_batch)
        self._cut: datetime | None = None
        self._prefetch: dict[tuple[int, int], asyncio.Task[list[EventBatch]]] = {}
        self._iterating = False
        self._gaps = {g.index: g for g in recording.gaps}
        self._bridged: set[int] = set()
        self._status = FeedStatus(FeedState.LIVE, self._label())

    # ------------------------------------------------------------------ FeedSession
    @property
    def chain(self) -> ChainInfo:
        return self._chain

    @property
    def status(self) -> FeedStatus:
        return self._status

    async def set_expirations(self, expirations: Sequence[date] | None) -> None:
        """A recording holds every recorded expiration: nothing to subscribe."""

    async def aclose(self) -> None:
        self._closed = True
        self._wake.set()
        for task in self._prefetch.values():
            task.cancel()
        self._prefetch.clear()
        self._status = FeedStatus(FeedState.CLOSED, "replay closed")

    # ------------------------------------------------------------------ controls
    @property
    def start_time(self) -> datetime:
        t = self.recording.start_time
        assert t is not None
        return t

    @property
    def end_time(self) -> datetime:
        t = self.recording.end_time
        assert t is not None
        return t

    @property
    def position(self) -> datetime:
        """Event time of the last batch yielded (or of the last seek target)."""
        return self._position

    @property
    def warnings(self) -> list[str]:
        return self.recording.warnings

    @property
    def origin(self) -> str:
        """The recorded source ("simulated", "tastytrade", …)."""
        return str(self.recording.source or "")

    def books_before(self, until: datetime) -> Iterator[ChainBook]:
        """A fresh book at each recorded checkpoint (one a minute) before ``until``: what a
        replay's level history is rebuilt from after a seek."""
        for when, state in self.recording.checkpoint_states(until):
            if when >= until:
                break
            book = self.recording.new_book()
            for batch in reset_batches(state, when_empty=when):
                book.apply(batch)
            yield book

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        self._paused = True
        self._status = FeedStatus(FeedState.LIVE, self._label())
        self._wake.set()

    def resume(self) -> None:
        self._paused = False
        self._reanchor()
        self._status = FeedStatus(FeedState.LIVE, self._label())
        self._wake.set()

    @property
    def speed(self) -> float:
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        self._speed = _check_speed(value)
        self._reanchor()
        self._status = FeedStatus(FeedState.LIVE, self._label())
        self._wake.set()

    def seek(self, delta: timedelta) -> datetime:
        """Move by ``delta`` from the current position (or a pending seek); returns the target
        (clamped to the recording)."""
        base = self._pending_seek or self._position
        return self.seek_to(base + delta)

    def seek_to(self, moment: datetime | time) -> datetime:
        """Jump to ``moment``; the next batches yielded are the reset group (module docstring)."""
        target = self._clamp(self.recording.to_utc(moment))
        self._pending_seek = target
        self._wake.set()
        return target

    # ------------------------------------------------------------------ events
    async def events(self) -> AsyncIterator[EventBatch]:
        if self._iterating:
            raise RuntimeError("ReplaySession.events() is already being iterated")
        self._iterating = True
        try:
            while not self._closed:
                if self._pending_seek is not None:
                    target = self._pending_seek
                    resets = await asyncio.to_thread(self.recording.reset_batches, target)
                    if self._pending_seek != target:
                        continue  # another seek came in meanwhile
                    self._pending_seek = None
                    self._start_from(target)
                    for batch in resets:
                        yield batch
                    self._reanchor()
                    continue
                if not self._queue:
                    cursor = self._cursor
                    if cursor is None:
                        self._status = FeedStatus(FeedState.CLOSED, "end of recording")
                        return
                    bridge = await self._bridge(cursor)
                    if bridge:
                        self._queue.extend(bridge)
                        continue
                    batches = await self._load(cursor)
                    if self._pending_seek is not None:
                        continue
                    self._queue.extend(batches)
                    self._cursor = self._advance(cursor)
                    if self._cursor is not None:
                        self._start_prefetch(self._cursor)
                    continue
                batch = self._queue[0]
                if not await self._wait_until(batch.time):
                    continue
                self._queue.popleft()
                self._position = batch.time
                yield batch
        finally:
            self._iterating = False

    # ------------------------------------------------------------------ internals
    def _label(self) -> str:
        state = "paused" if self._paused else f"×{self._speed:g}"
        return f"replay {self.recording.ticker} {self.recording.day} {state}"

    def _clamp(self, target: datetime) -> datetime:
        return max(self.start_time, min(self.end_time, target))

    def _reanchor(self) -> None:
        self._anchor = (_now(), self._position)

    def _start_from(self, target: datetime) -> None:
        for task in self._prefetch.values():
            task.cancel()
        self._prefetch.clear()
        self._queue.clear()
        self._bridged.clear()
        self._cut = target
        self._position = target
        segs = self.recording.segments
        i = next((i for i, s in enumerate(segs) if s.last_time > target), None)
        self._cursor = None if i is None else (i, segs[i].first_batch)

    async def _bridge(self, cursor: tuple[int, int]) -> list[EventBatch]:
        """At the first batch after a gap in the recording: the reset group with the state
        after the lost batches (never splice events across a gap)."""
        i, lo = cursor
        gap = self._gaps.get(i)
        if gap is None or i in self._bridged or lo != self.recording.segments[i].first_batch:
            return []
        if self._cut is not None and self._cut >= gap.before:
            return []
        self._bridged.add(i)
        return await asyncio.to_thread(self.recording.bridge_batches, gap)

    def _advance(self, cursor: tuple[int, int]) -> tuple[int, int] | None:
        """The next chunk of CHUNK_BATCHES batch numbers, in this segment or the next."""
        segs = self.recording.segments
        i, lo = cursor
        lo += CHUNK_BATCHES
        if lo <= segs[i].last_batch:
            return i, lo
        return (i + 1, segs[i + 1].first_batch) if i + 1 < len(segs) else None

    def _read(self, cursor: tuple[int, int], cut: datetime | None) -> list[EventBatch]:
        i, lo = cursor
        seg = self.recording.segments[i]
        after = cut if cut is not None and seg.first_time <= cut else None
        return self.recording.read_batches(seg, lo, lo + CHUNK_BATCHES - 1, after)

    def _start_prefetch(self, cursor: tuple[int, int]) -> None:
        if cursor not in self._prefetch:
            self._prefetch[cursor] = asyncio.create_task(
                asyncio.to_thread(self._read, cursor, self._cut)
            )

    async def _load(self, cursor: tuple[int, int]) -> list[EventBatch]:
        task = self._prefetch.pop(cursor, None)
        if task is None:
            return await asyncio.to_thread(self._read, cursor, self._cut)
        return await task

    async def _wait_until(self, moment: datetime) -> bool:
        """Sleep until ``moment`` is due; False when a seek or close interrupts."""
        while True:
            if self._closed or self._pending_seek is not None:
                return False
            if self._paused:
                self._wake.clear()
                await self._wake.wait()
                continue
            if not self.paced:
                return True
            if self._anchor is None:
                self._reanchor()
            assert self._anchor is not None
            wall0, event0 = self._anchor
            delay = wall0 + (moment - event0).total_seconds() / self._speed - _now()
            if delay <= 0:
                return True
            if delay > self.max_gap:
                self._anchor = (_now() + self.max_gap, moment)
                delay = self.max_gap
            self._wake.clear()
            if await wait_event(self._wake, delay):
                continue  # woken by a control: re-evaluate
            return True


class ReplayFeed:
    """The :class:`~gextui.feeds.base.Feed` over a recording directory (see module docstring)."""

    def __init__(
        self,
        path: str | Path,
        *,
        speed: float = 1.0,
        start: datetime | time | None = None,
        paced: bool = True,
        max_gap: float = 5.0,
    ) -> None:
        self.path = Path(path).expanduser()
        self.speed = _check_speed(speed)
        self.start = start
        self.paced = paced
        self.max_gap = max_gap
        self._sessions: list[ReplaySession] = []

    @property
    def source(self) -> Source:
        return Source.REPLAY

    def tickers(self) -> list[str]:
        """Tickers recorded at or under the path."""
        try:
            return sorted({r.ticker for r in find_recordings(self.path)})
        except RecordingError as err:
            raise FeedError(str(err)) from err

    async def open(self, ticker: str) -> ReplaySession:
        rec = await asyncio.to_thread(self._open_recording, ticker)
        session = ReplaySession(
            rec, speed=self.speed, start=self.start, paced=self.paced, max_gap=self.max_gap
        )
        self._sessions.append(session)
        return session

    def _open_recording(self, ticker: str) -> Recording:
        try:
            day = None
            if isinstance(self.start, datetime):
                wanted = ticker.upper()
                refs = [r for r in find_recordings(self.path) if r.ticker == wanted]
                if len(refs) > 1:
                    day = to_utc(self.start).astimezone(NEW_YORK).date()
            return open_recording(self.path, ticker, day)
        except RecordingTickerError as err:
            raise UnknownTickerError(str(err)) from err
        except RecordingError as err:
            raise FeedError(str(err)) from err

    async def aclose(self) -> None:
        for session in self._sessions:
            await session.aclose()
        self._sessions.clear()


def _check_speed(value: float) -> float:
    if not value > 0:
        raise ValueError(f"replay speed must be > 0, not {value!r}")
    return float(value)


def _now() -> float:
    return monotonic()
