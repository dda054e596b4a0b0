"""``gextui record SPX SPY QQQ``: record every ticker at once, headless (cron, systemd).

Every ticker streams at the same time through one :class:`~gextui.feeds.recording.
RecordingFeed` (the same Parquet format and crash safety as ``gextui --record``). A status
line goes to ``out`` (stderr) every ``status_every`` seconds: per ticker the events recorded,
the coverage of its chain (contracts with greeks and open interest) and the feed's state,
then the bytes written. It stops cleanly — every closed minute on disk, the open one flushed
— on ``stop`` (SIGINT / SIGTERM from the command line), at ``until`` (a moment of *event*
time: the market's clock, so a simulated day at ``--speed 60`` stops at its own 16:15), after
``duration`` seconds of real time, or when every stream has ended.

Market hours: the command line's RecordingFeed gets ``in_session=in_regular_session``
(09:30–16:00 New York on NYSE trading days, the closing batch at 16:00:00 included), judged by
each batch's event time — the market's clock, so tests and a simulated day need no wall clock.
Outside the regular session nothing is written, whether the feed sends empty batches (the
simulated market) or events (pre-market quotes), and the status line says ``idle``; the first
batch after the close flushes the session's last minute to disk at once. ``--quiet-hours``
records everything. Each session lands in its own ``date=`` partition (the recorder partitions
by the New York date of event time; with ``--quiet-hours`` the evening stays with its day and
the night's events after midnight start the next one).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from gextui.core.chain import ChainBook
from gextui.core.events import EventBatch
from gextui.core.expiry import NEW_YORK
from gextui.feeds.base import FeedError, wait_event
from gextui.feeds.recording import RecordingFeed, RecordingSession
from gextui.feeds.sim_chain import is_trading_day
from gextui.feeds.sim_market import SESSION_CLOSE, SESSION_OPEN
from gextui.formats import count
from gextui.formats import size as fmt_size
from gextui.headless import selected_coverage
from gextui.store.recorder import Recorder


def in_regular_session(moment: datetime) -> bool:
    """09:30:00–16:00:00 New York on an NYSE trading day, both ends included (the market's
    closing batch, stamped 16:00:00, belongs to its session)."""
    local = moment.astimezone(NEW_YORK)
    return is_trading_day(local.date()) and SESSION_OPEN <= local.time() <= SESSION_CLOSE


@dataclass
class TickerProgress:
    """What one ticker's stream has done so far."""

    ticker: str
    session: RecordingSession
    book: ChainBook
    events: int = 0
    batches: int = 0
    ended: str = ""  # why the stream ended ("" while streaming)

    def line(self) -> str:
        cov = selected_coverage(self.book, "all") if self.book.as_of is not None else 0.0
        state = self.ended or self.session.status.state.value
        if not self.ended and self.session.idle:
            state = f"idle ({state})" if state != "live" else "idle (outside the session)"
        return f"{self.ticker} {count(self.events)} ev {cov:.0%} {state}"


class RecordService:
    """Record ``tickers`` from ``feed`` (a RecordingFeed) until told to stop; see the module
    docstring. :meth:`run` returns the exit code (0: a clean stop; 2: nothing could be
    opened)."""

    def __init__(
        self,
        feed: RecordingFeed,
        tickers: Sequence[str],
        *,
        out: TextIO,
        until: datetime | None = None,
        duration: float | None = None,
        status_every: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.feed = feed
        self.tickers = [t.upper() for t in dict.fromkeys(tickers)]
        self.out = out
        self.until = until
        self.duration = duration
        self.status_every = status_every
        self.clock = clock
        self.stop = asyncio.Event()
        self.progress: dict[str, TickerProgress] = {}
        self.stopped_because = ""
        self._recorders: dict[str, Recorder] = {}

    def say(self, text: str) -> None:
        print(f"gextui record: {text}", file=self.out, flush=True)

    def status_line(self) -> str:
        last = max((p.book.as_of for p in self.progress.values() if p.book.as_of), default=None)
        when = last.astimezone(NEW_YORK).strftime("%H:%M:%S ET") if last else "--:--:--"
        parts = [p.line() for p in self.progress.values()]
        self._recorders.update(self.feed.recorders)  # kept: closing the feed forgets them
        written = sum(r.bytes_written for r in self._recorders.values())
        errors = [err for p in self.progress.values() if (err := p.session.recorder_error)]
        tail = f" · ERROR {errors[0]}" if errors else ""
        return f"{when} · " + " · ".join(parts) + f" · {fmt_size(written)} written{tail}"

    async def run(self) -> int:
        for ticker in self.tickers:
            try:
                session = await self.feed.open(ticker)
            except FeedError as exc:
                self.say(f"error: {ticker}: {exc}")
                await self._close()
                return 2
            self.progress[ticker] = TickerProgress(ticker, session, session.chain.new_book())
        self.say(
            f"recording {', '.join(self.tickers)} to {self.feed.root}"
            + (f" until {self.until.astimezone(NEW_YORK):%H:%M} ET" if self.until else "")
            + (f" for {self.duration:g} s" if self.duration else "")
        )
        streams = [asyncio.create_task(self._stream(p)) for p in self.progress.values()]
        status = asyncio.create_task(self._status())
        started = self.clock()
        try:
            while not self.stop.is_set():
                if all(t.done() for t in streams):
                    self.stopped_because = self.stopped_because or "every stream ended"
                    break
                if self.duration is not None and self.clock() - started >= self.duration:
                    self.stopped_because = "duration reached"
                    break
                await wait_event(self.stop, 0.2)
        finally:
            for task in [*streams, status]:
                task.cancel()
            for task in [*streams, status]:
                with contextlib.suppress(BaseException):
                    await task
            self._recorders.update(self.feed.recorders)
            await self._close()  # flushes the open minute
        total = sum(p.events for p in self.progress.values())
        self.say(
            f"stopped ({self.stopped_because or 'asked to stop'}): "
            f"{total:,} events recorded · {self.status_line()}"
        )
        return 0

    async def _close(self) -> None:
        with contextlib.suppress(Exception):
            await self.feed.aclose()

    async def _stream(self, p: TickerProgress) -> None:
        try:
            async for batch in p.session.events():
                self._count(p, batch)
                if self.until is not None and batch.time >= self.until:
                    self.stopped_because = f"reached {self.until.astimezone(NEW_YORK):%H:%M} ET"
                    self.stop.set()
                    return
            p.ended = "ended"
        except FeedError as exc:
            p.ended = f"failed: {exc}"
            self.say(f"{p.ticker}: {exc}")

    def _count(self, p: TickerProgress, batch: EventBatch) -> None:
        p.batches += 1
        p.events += batch.n_events
        p.book.apply(batch)

    async def _status(self) -> None:
        while True:
            await asyncio.sleep(self.status_every)
            self.say(self.status_line())


__all__ = ["RecordService", "TickerProgress", "in_regular_session"]
