"""The monitor's controller: a watchlist of live option chains, without any UI.

``Monitor(feed, ["SPX", "SPY"], rules=AlertRules())`` owns, for every watched ticker:

* its **feed session** and one **stream task** (all tickers stream all the time, from the
  start; :meth:`Monitor.run` runs them — the app runs it in a worker, a test or a script with
  ``asyncio``); :meth:`add` starts a ticker, :meth:`remove` stops it;
* its :class:`~gextui.core.chain.ChainBook`, to which every batch is applied (in a thread:
  polars and numpy release the GIL; a per-ticker lock keeps the frozen copies that the
  computations work on consistent); a reset group (``batch.reset``: a replay seek, a file
  read again) starts a fresh book;
* **when to compute**: :meth:`view` computes the exposure of one ticker at one expiry
  selection for a screen — only when the book or the selection changed — and
  :meth:`observe` samples every other ticker (at the alerts' fixed selection, at most every
  ``observe_every`` seconds) into its **history** and the **alerts**
  (:class:`~gextui.core.alerts.LevelMonitor`), once its chain has filled in (warm-up);
* its **status** (:meth:`status`): opening, streaming, ended, failed, with the feed's own
  status, events per second, the recording size, staleness.

It returns results — :class:`ViewResult`, :class:`TickerStatus`, alerts
(:meth:`take_alerts`) and notices (:meth:`take_notices`: errors and warnings for a user) — and
never calls the UI. :attr:`market_clock` is the newest event time of any ticker: it never goes
back (except on a replay seek), so a screen's clock does not jump back on a tab switch.

Capabilities of a session are typed (:mod:`gextui.feeds.base`): replay control
(:class:`~gextui.feeds.base.ReplayControl`), the recording size
(:class:`~gextui.feeds.base.RecordingStatus`), a replay's recorded history
(:class:`~gextui.feeds.base.RecordedHistory`), one-off warnings.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Final, Literal

from gextui.core.alerts import Alert, AlertRules, LevelMonitor
from gextui.core.chain import ChainBook
from gextui.core.events import EventBatch
from gextui.core.expiry import ExpirySelectionError, ny_date
from gextui.core.exposure import ExposureSnapshot, compute_exposure, live_expirations
from gextui.core.history import LevelHistory, LevelSample
from gextui.core.strike_history import StrikeHistory, samples_from_snapshots
from gextui.core.symbols import TickerError, ticker_name
from gextui.feeds.base import (
    Feed,
    FeedError,
    FeedSession,
    FeedStatus,
    RecordedHistory,
    RecordingStatus,
    ReloadableSession,
    ReplayControl,
    SessionWarnings,
    Source,
    UnknownTickerError,
)
from gextui.monitor.compute import Compute, ThreadCompute, ViewResult, ViewTask

RATE_WINDOW: Final = 5.0  # seconds of batches behind the events/s figure
#: the history and the alerts wait until a chain has filled in: while the coverage (contracts
#: with greeks and open interest) still climbs by more than this from one observation to the
#: next — a feed's first seconds — the walls and zero gamma jump around for no market reason
WARMUP_STEP: Final = 0.01
FULL_COVERAGE: Final = 0.99
OBSERVE_EVERY: Final = 1.0  # seconds between two observations of a ticker off screen

Severity = Literal["information", "warning", "error"]


class TickerPhase(enum.StrEnum):
    OPENING = "opening"
    STREAMING = "streaming"
    ENDED = "ended"  # the source ended (a file, a replay at its end)
    FAILED = "failed"  # could not open, or the stream failed for good


@dataclass(frozen=True, slots=True)
class Notice:
    """Something a user should read once (a failed open, a feed error, a skipped file)."""

    message: str
    title: str = ""
    severity: Severity = "information"
    ticker: str = ""


@dataclass(frozen=True, slots=True)
class TickerStatus:
    """What a status line or an overview row says about one ticker."""

    ticker: str
    phase: TickerPhase
    source: Source
    feed: FeedStatus | None  # the session's own status (None while opening / after it)
    origin: str = ""  # a replay: the recorded source
    error: str = ""
    ended: str = ""  # "feed ended", "end of recording (← / → to seek)"
    last_batch_at: float | None = None  # the monitor's clock (epoch seconds)
    as_of: datetime | None = None  # the book's event time
    events_per_second: float | None = None
    recorded_bytes: int | None = None
    recorder_error: str | None = None
    warming: bool = True
    stale_for: float | None = None  # seconds without a batch, when over the limit
    replay_paused: bool = False


@dataclass(slots=True)
class _Watched:
    """The monitor's state of one ticker (internal)."""

    name: str
    phase: TickerPhase = TickerPhase.OPENING
    session: FeedSession | None = None
    book: ChainBook | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    error: str = ""
    error_clears: bool = False  # the error goes with the next good batch
    ended: str = ""
    rates: deque[tuple[float, int]] = field(default_factory=deque)
    last_batch_at: float | None = None
    batches_applied: int = 0
    bad_batches: int = 0
    reset_pending: bool = False  # inside a reset group: the book is half a state
    coverage: float | None = None
    warming: bool = True
    observed: tuple[int, int] = (0, -1)  # (book id, version) last sampled into the history
    observed_at: float = -math.inf
    latest: ExposureSnapshot | None = None  # at the alerts' selection (overview, history)
    view: ViewResult | None = None  # the screen's last result (kept while paused)
    #: the last full result at the alerts' selection from :meth:`Monitor.observe` (a ticker
    #: off screen): a tab switch shows it at once, ≤ ``observe_every`` seconds old
    observed_view: ViewResult | None = None
    #: the same at the screen's selection when it is another one (``observe(screen=...)``)
    observed_screen: ViewResult | None = None
    seeked: asyncio.Event = field(default_factory=asyncio.Event)
    history_gen: int = 0
    history_task: asyncio.Task[None] | None = None
    #: per-strike net GEX a minute, by expiry selection: the alerts' one (every ticker, all
    #: the time: the strike × time map) and the views' (while shown: the change view)
    strikes: dict[str, StrikeHistory] = field(default_factory=dict)
    hinted_clock: bool = False  # the subscription hint was sent with the feed's own clock
    task: asyncio.Task[None] | None = None
    added: bool = False  # added while running (``t``): a failed open takes the tab away
    previous: tuple[date, ExposureSnapshot] | None = None  # the last session's close
    previous_for: date | None = None  # the trading date it was looked up for


def _newer(held: ViewResult, other: ViewResult) -> bool:
    """Whether ``held`` is of a later version of the same book and selection than ``other``
    (two computations that overlapped finish in either order)."""
    return (
        held.book_id == other.book_id
        and held.expiry == other.expiry
        and held.version > other.version
    )


class Monitor:
    """The watchlist controller (see the module docstring).

    ``clock`` gives epoch seconds (tests inject a fake one); ``subscribe_days`` limits the
    live subscription to expirations within that many days (0: every expiration);
    ``stale_seconds``: a ticker without a batch for longer is stale; ``previous_close(ticker,
    day)`` gives the closing (day, snapshot) of the ticker's last session before ``day`` when a
    recording of it exists (looked up once a day per ticker, off the event loop).
    """

    def __init__(
        self,
        feed: Feed,
        tickers: Iterable[str],
        *,
        rules: AlertRules | None = None,
        clock: Callable[[], float] = time.time,
        stale_seconds: float = 10.0,
        subscribe_days: int = 0,
        observe_every: float = OBSERVE_EVERY,
        previous_close: Callable[[str, date], tuple[date, ExposureSnapshot] | None] | None = None,
        compute: Compute | None = None,
    ) -> None:
        self.feed = feed
        #: where the exposure computations run (a thread by default; see
        #: :mod:`gextui.monitor.compute`): :meth:`run` starts it and closes it when it stops
        self.compute: Compute = compute if compute is not None else ThreadCompute()
        self.levels = LevelMonitor(rules or AlertRules())
        self._clock = clock
        self.stale_seconds = stale_seconds
        self.subscribe_days = max(0, int(subscribe_days))
        self.observe_every = observe_every
        self._previous_close = previous_close
        self._watched: dict[str, _Watched] = {}
        for raw in tickers:
            with contextlib.suppress(TickerError):
                name = ticker_name(raw)
                self._watched.setdefault(name, _Watched(name))
        self._notices: deque[Notice] = deque(maxlen=200)
        self._alerts: list[Alert] = []
        self._clock_high: datetime | None = None
        self._running = False
        self._changed = asyncio.Event()
        self._background: set[asyncio.Task[None]] = set()
        #: counters for tests and the bench
        self.snapshots_computed = 0
        self.observations = 0

    # ------------------------------------------------------------------ the watchlist
    @property
    def tickers(self) -> list[str]:
        return list(self._watched)

    def add(self, text: str) -> str:
        """Watch ``text`` (the ticker rule applies; :class:`TickerError` when it cannot be a
        ticker); starts streaming it at once when the monitor runs. Returns the name."""
        name = ticker_name(text)
        if name not in self._watched:
            self._watched[name] = w = _Watched(name, added=self._running)
            if self._running:
                self._start(w)
        return name

    def remove(self, name: str) -> None:
        """Stop watching ``name``: its stream ends (the live feed unsubscribes it), its book,
        history and alert state go."""
        w = self._watched.pop(name, None)
        if w is None:
            return
        if w.task is not None:
            w.task.cancel()
        if w.history_task is not None:
            w.history_task.cancel()
        self.levels.reset(name)

    def book(self, name: str) -> ChainBook | None:
        w = self._watched.get(name)
        return w.book if w is not None else None

    def session(self, name: str) -> FeedSession | None:
        w = self._watched.get(name)
        return w.session if w is not None else None

    def latest(self, name: str) -> ExposureSnapshot | None:
        """The newest snapshot of ``name`` at the alerts' selection (None before one)."""
        w = self._watched.get(name)
        return w.latest if w is not None else None

    def last_view(self, name: str, expiry: str) -> ViewResult | None:
        """The newest result of ``name`` at ``expiry``: the last :meth:`view`, or the last
        observation of a ticker off screen (at the alerts' selection), whichever saw the later
        book version (None: none yet, or the book was reset since). A tab switch shows it at
        once, while the step it starts brings it up to date."""
        w = self._watched.get(name)
        if w is None or w.book is None:
            return None
        found = [
            v
            for v in (w.view, w.observed_view, w.observed_screen)
            if v is not None and v.book_id == id(w.book) and v.expiry == expiry
        ]
        return max(found, key=lambda v: v.version) if found else None

    def previous(self, name: str) -> tuple[date, ExposureSnapshot] | None:
        """The closing levels of ``name``'s previous recorded session (None: none found)."""
        w = self._watched.get(name)
        return w.previous if w is not None else None

    def _look_up_previous(self, w: _Watched, day: date) -> None:
        lookup = self._previous_close
        if lookup is None or w.previous_for == day:
            return
        w.previous_for = day

        async def run() -> None:
            try:
                found = await asyncio.to_thread(lookup, w.name, day)
            except Exception as exc:  # a damaged recording: nothing to show, say why once
                self._notice(f"previous session: {exc!r}", w.name, "warning", w.name)
                return
            w.previous = found
            self._changed.set()

        self._background.add(task := asyncio.create_task(run()))
        task.add_done_callback(self._background.discard)

    def strike_history(self, name: str, expiry: str) -> StrikeHistory | None:
        """Per-strike net GEX of ``name`` a minute at ``expiry`` (None: none kept)."""
        w = self._watched.get(name)
        return w.strikes.get(expiry) if w is not None else None

    def batches_applied(self, name: str | None = None) -> int:
        ws = self._watched.values() if name is None else [self._watched[name]]
        return sum(w.batches_applied for w in ws)

    @property
    def market_clock(self) -> datetime | None:
        """The newest event time of any watched ticker (never goes back but on a seek)."""
        return self._clock_high

    # ------------------------------------------------------------------ history and alerts
    def history(self, name: str) -> LevelHistory:
        """The level history of ``name`` (by event time)."""
        return self.levels.history(name)

    @property
    def log(self) -> tuple[Alert, ...]:
        """Every alert so far, oldest first (each names its ticker)."""
        return self.levels.log

    @property
    def rules(self) -> AlertRules:
        return self.levels.rules

    @rules.setter
    def rules(self, rules: AlertRules) -> None:
        self.levels.rules = rules

    def clear_log(self) -> None:
        self.levels.clear_log()

    # ------------------------------------------------------------------ running
    async def run(self) -> None:
        """Stream every watched ticker until cancelled (then close every session)."""
        self._running = True
        self.compute.start()
        try:
            for w in list(self._watched.values()):
                if w.task is None or w.task.done():
                    self._start(w)
            await asyncio.Event().wait()
        finally:
            self._running = False
            tasks = [w.task for w in self._watched.values() if w.task is not None]
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(BaseException):
                    await task
            self.compute.close()

    def _start(self, w: _Watched) -> None:
        w.task = asyncio.create_task(self._stream(w), name=f"gextui-stream-{w.name}")

    def changed(self) -> asyncio.Event:
        """Set whenever a batch was applied (a consumer clears it)."""
        return self._changed

    async def _stream(self, w: _Watched) -> None:
        w.phase = TickerPhase.OPENING
        try:
            session = await self.feed.open(w.name)
        except FeedError as exc:
            self._open_failed(w, str(exc), unknown=isinstance(exc, UnknownTickerError))
            return
        except Exception as exc:  # an unexpected bug in a feed: say so, keep the rest
            self._open_failed(w, f"unexpected error: {exc!r}", unknown=False)
            return
        if self._watched.get(w.name) is not w:  # removed while opening
            with contextlib.suppress(Exception):
                await session.aclose()
            return
        w.session = session
        w.phase = TickerPhase.STREAMING
        w.error = ""
        w.ended = ""
        w.rates.clear()
        w.last_batch_at = None
        w.book = self._book_for(w, session)
        await self._subscribe(w)
        if isinstance(session, SessionWarnings):
            for warning in session.warnings:
                self._notice(str(warning), "recording", "warning", w.name)
        try:
            while True:
                async for batch in session.events():
                    await self._apply(w, session, batch)
                w.reset_pending = False
                if not isinstance(session, ReplayControl):
                    w.ended = "feed ended"
                    w.phase = TickerPhase.ENDED
                    return
                # a replay at its end: wait for a seek, then play on
                w.ended = "end of recording (← / → to seek)"
                w.seeked.clear()
                await w.seeked.wait()
                w.ended = ""
        except FeedError as exc:
            w.error = f"{w.name}: {exc}"
            w.phase = TickerPhase.FAILED
            self._notice(str(exc), f"{w.name} feed", "error", w.name)
        except Exception as exc:
            w.error = f"{w.name}: unexpected feed error {exc!r}"
            w.phase = TickerPhase.FAILED
            self._notice(f"{exc!r}", f"{w.name}: unexpected feed error", "error", w.name)
        finally:
            w.session = None
            with contextlib.suppress(Exception):
                await session.aclose()

    def _open_failed(self, w: _Watched, message: str, *, unknown: bool) -> None:
        w.phase = TickerPhase.FAILED
        w.error = f"{w.name}: {message}"
        w.error_clears = True
        self._notice(message, f"Cannot open {w.name}", "error", w.name)
        if (unknown or w.added) and len(self._watched) > 1 and self._watched.get(w.name) is w:
            # a ticker the source does not have, or one just typed in: no tab for it (the
            # notice says why; the watchlist's own tickers keep theirs, with the error)
            del self._watched[w.name]

    def _book_for(self, w: _Watched, session: FeedSession) -> ChainBook:
        cached = w.book
        ins = session.chain.instruments
        if cached is not None and cached.instruments["symbol"].sort().equals(
            ins["symbol"].sort()
        ):  # the same contracts (order-independent): continue the book
            return cached
        return session.chain.new_book()

    async def _subscribe(self, w: _Watched) -> None:
        """Tell the session which expirations to stream: every one (default), or those within
        ``subscribe_days`` of the feed's clock (the monitor's clock until data came)."""
        session, book = w.session, w.book
        if session is None or book is None:
            return
        dates: list[date] | None = None
        if self.subscribe_days > 0:
            moment = book.as_of or datetime.fromtimestamp(self._clock(), UTC)
            w.hinted_clock = book.as_of is not None
            horizon = moment.date() + timedelta(days=self.subscribe_days)
            dates = [e for e in live_expirations(book, moment) if e <= horizon]
        else:
            w.hinted_clock = True
        try:
            await session.set_expirations(dates)
        except FeedError as exc:
            self._notice(str(exc), f"{w.name} subscription", "warning", w.name)
        except Exception as exc:
            self._notice(f"set_expirations failed: {exc!r}", w.name, "warning", w.name)

    async def _apply(self, w: _Watched, session: FeedSession, batch: EventBatch) -> None:
        reset = batch.reset
        if reset is not None:
            if reset.first:
                w.book = session.chain.new_book()
                self._restart_levels(w)
                if reset.at is not None:
                    self._clock_high = reset.at  # a seek: the clock may go back
                    if isinstance(session, RecordedHistory):
                        self._rebuild_history(w, session, reset.at)
            w.reset_pending = not reset.last
        book = w.book
        assert book is not None
        try:
            await asyncio.to_thread(self._apply_locked, w, book, batch)
        except Exception as exc:
            w.bad_batches += 1
            if w.bad_batches == 1:
                self._notice(f"bad batch skipped: {exc!r}", w.name, "warning", w.name)
            return
        w.batches_applied += 1
        if w.error and w.error_clears:
            w.error, w.error_clears = "", False
        now = self._clock()
        w.last_batch_at = now
        w.rates.append((now, batch.n_events))
        while w.rates and now - w.rates[0][0] > RATE_WINDOW:
            w.rates.popleft()
        as_of = book.as_of
        if as_of is not None and (self._clock_high is None or as_of > self._clock_high):
            self._clock_high = as_of
        if not w.hinted_clock and as_of is not None:
            await self._subscribe(w)  # now the feed's own clock is known
        self._changed.set()

    @staticmethod
    def _apply_locked(w: _Watched, book: ChainBook, batch: EventBatch) -> None:
        with w.lock:
            book.apply(batch)

    def _restart_levels(self, w: _Watched) -> None:
        """A fresh book (seek, reload): the history and the alert state restart here."""
        self.levels.reset(w.name)
        w.coverage = None
        w.warming = True
        w.latest = None
        w.view = None
        w.observed_view = None
        w.observed_screen = None
        w.observed = (0, -1)
        w.strikes.clear()

    def _rebuild_history(self, w: _Watched, session: RecordedHistory, target: datetime) -> None:
        """After a replay seek: the history of ``w`` before ``target``, one sample per recorded
        minute, on the alerts' fixed selection, put in front of what the replay samples from
        ``target`` on. A later seek discards it."""
        w.history_gen += 1
        generation = w.history_gen
        selection = self.levels.rules.expiry

        def job() -> list[ExposureSnapshot]:
            return [compute_exposure(book, selection) for book in session.books_before(target)]

        async def run() -> None:
            try:
                snaps = await asyncio.to_thread(job)
            except Exception as exc:  # a damaged recording: the history starts at the seek
                self._notice(f"history rebuild failed: {exc!r}", w.name, "warning", w.name)
                return
            if w.history_gen == generation and self._watched.get(w.name) is w:
                self.levels.history(w.name).backfill(LevelSample.from_snapshot(s) for s in snaps)
                per_strike = samples_from_snapshots((s.as_of, s) for s in snaps if s.as_of)
                w.strikes.setdefault(selection, StrikeHistory()).backfill(per_strike)
                self._changed.set()

        if w.history_task is not None:
            w.history_task.cancel()
        w.history_task = asyncio.create_task(run(), name=f"gextui-history-{w.name}")

    # ------------------------------------------------------------------ computing
    async def _compute(
        self, w: _Watched, book: ChainBook, task: ViewTask
    ) -> tuple[ViewResult, ExposureSnapshot | None]:
        try:
            return await self.compute.view(book, w.lock, task)
        finally:
            if note := self.compute.take_notice():
                self._notice(note, "computing", "warning", "")

    async def view(self, name: str, expiry: str, *, paused: bool = False) -> ViewResult | None:
        """The exposure of ``name`` at ``expiry`` for a screen: computed (off the event loop,
        on a frozen copy of the book) when the book or the selection changed since the last
        call, else the last result; None before the first batch. ``paused``: keep the last
        result of the same book and selection (history and alerts go on, see
        :meth:`observe`). Raises :class:`ExpirySelectionError` for a bad selection."""
        w = self._watched.get(name)
        if w is None or w.book is None or w.book.version == 0:
            return None
        book = w.book
        last = w.view
        same = last is not None and last.book_id == id(book) and last.expiry == expiry
        if same and (
            w.reset_pending or paused or (last is not None and last.version == book.version)
        ):
            return last
        newest = self.last_view(name, expiry)
        if newest is not None and (newest.version == book.version or paused or w.reset_pending):
            w.view = newest  # observed off screen at this version already (or paused on it)
            return newest
        task = ViewTask(name, expiry, id(book), also=self.levels.rules.expiry)
        result, alert_snap = await self._compute(w, book, task)
        assert alert_snap is not None
        snap, version = result.snapshot, result.version
        self.snapshots_computed += 1
        if w.book is book and (w.view is None or not _newer(w.view, result)):
            w.view = result
            if snap.as_of is not None:
                self._look_up_previous(w, ny_date(snap.as_of))
            if not w.warming:
                w.strikes.setdefault(expiry, StrikeHistory()).observe(snap)
            self._observe(w, alert_snap, id(book), version)
        return result

    async def observe(
        self,
        eager: Iterable[str] = (),
        interrupt: Callable[[], bool] | None = None,
        screen: str | None = None,
    ) -> None:
        """Sample every ticker whose book changed (and was not sampled in the last
        ``observe_every`` seconds; the ``eager`` ones — the ticker on screen — whenever it
        changed) into its history and the alerts, at the alerts' fixed selection
        (``[alerts] expiry``). New alerts: :meth:`take_alerts`. ``interrupt``: asked before
        each of the other tickers; true (e.g. the screen switched tickers) stops here, and
        those not sampled are due at the next call. ``screen``: the screen's selection; when
        it is another one, the tickers off screen are computed at it too (in the same
        computation), so a tab switch shows that selection at once as well."""
        now_first = set(eager)
        selection = self.levels.rules.expiry
        # the eager ones first: an interrupt leaves only the others for later; of those the
        # longest unsampled first, so that frequent interrupts (tab, tab…) starve none
        watched = sorted(
            self._watched.values(), key=lambda w: (w.name not in now_first, w.observed_at)
        )
        for w in watched:
            book = w.book
            if book is None or book.version == 0 or w.reset_pending:
                continue
            other = screen if screen not in (None, selection) and w.name not in now_first else None
            sampled = w.observed == (id(book), book.version)
            held = w.observed_screen
            # a new screen selection is computed at once, then at the sampling interval
            has_screen = other is None or (
                held is not None and held.expiry == other and held.book_id == id(book)
            )
            if sampled and has_screen:
                continue
            if w.name not in now_first:
                if has_screen and self._clock() - w.observed_at < self.observe_every:
                    continue
                if interrupt is not None and interrupt():
                    return

            # the whole view (the expiry bar's dates, the 0DTE levels) at the alerts'
            # selection, and at the screen's: a tab switch shows it at once
            result, shown = await self._observe_views(
                w, book, None if sampled else selection, other
            )
            if w.book is not book:
                continue
            if shown is not None and (
                w.observed_screen is None or not _newer(w.observed_screen, shown)
            ):
                w.observed_screen = shown
            if result is None:
                continue
            if w.observed_view is None or not _newer(w.observed_view, result):
                w.observed_view = result
            self._observe(w, result.snapshot, id(book), result.version)

    async def _observe_views(
        self, w: _Watched, book: ChainBook, selection: str | None, screen: str | None
    ) -> tuple[ViewResult | None, ViewResult | None]:
        """``w``'s view at the alerts' ``selection`` and at the ``screen``'s, from one
        computation (None for either: not wanted, or it matches nothing)."""
        if screen is not None:
            try:
                shown, snap = await self._compute(
                    w, book, ViewTask(w.name, screen, id(book), also=selection)
                )
            except ExpirySelectionError:
                pass  # not a selection of this ticker's chain: the alerts' alone
            else:
                if selection is None or snap is None:
                    return None, shown
                return replace(shown, expiry=selection, snapshot=snap), shown
        if selection is None:
            return None, None
        try:
            result, _ = await self._compute(w, book, ViewTask(w.name, selection, id(book)))
        except ExpirySelectionError:
            return None, None  # the alerts' selection was checked when the settings were read
        return result, None

    def _observe(self, w: _Watched, snap: ExposureSnapshot, book_id: int, version: int) -> None:
        """Sample ``snap`` into the history of its ticker and queue the alerts it raises,
        once the chain has filled in (see :data:`WARMUP_STEP`)."""
        seen_id, seen_version = w.observed
        if w.reset_pending or (seen_id == book_id and seen_version >= version):
            return  # sampled already, or an older version finished after a newer one
        w.observed = (book_id, version)
        w.observed_at = self._clock()
        w.latest = snap
        self.observations += 1
        fraction = snap.coverage.fraction
        previous = w.coverage
        w.coverage = fraction
        filling = previous is None or fraction > previous + WARMUP_STEP
        w.warming = filling and fraction < FULL_COVERAGE
        if w.warming:
            return  # no history sample, no alert while the chain fills in
        w.strikes.setdefault(self.levels.rules.expiry, StrikeHistory()).observe(snap)
        try:
            self._alerts.extend(self.levels.observe(snap))
        except Exception as exc:  # never let the alert engine stop the monitor
            self._notice(f"level monitor failed: {exc!r}", w.name, "error", w.name)

    # ------------------------------------------------------------------ results
    def take_alerts(self) -> list[Alert]:
        """Alerts raised since the last call (every ticker; each names its ticker)."""
        out, self._alerts = self._alerts, []
        return out

    def take_notices(self) -> list[Notice]:
        out = list(self._notices)
        self._notices.clear()
        return out

    def _notice(self, message: str, title: str, severity: Severity, ticker: str) -> None:
        self._notices.append(Notice(message, title, severity, ticker))

    def events_per_second(self, name: str) -> float | None:
        w = self._watched.get(name)
        if w is None or len(w.rates) < 2:
            return None
        span = w.rates[-1][0] - w.rates[0][0]
        if span <= 0:
            return None
        return sum(n for _, n in list(w.rates)[1:]) / span

    def phase(self, name: str) -> TickerPhase:
        """Where ``name`` is (opening, streaming, …) without gathering its whole status."""
        w = self._watched.get(name)
        return w.phase if w is not None else TickerPhase.FAILED

    def status(self, name: str) -> TickerStatus:
        """The status of ``name`` (a ticker not watched: FAILED, "not watched")."""
        w = self._watched.get(name)
        if w is None:
            return TickerStatus(name, TickerPhase.FAILED, self.feed.source, None, error="")
        session = w.session
        source = session.chain.source if session is not None else self.feed.source
        replay_paused = isinstance(session, ReplayControl) and session.paused
        stale_for = None
        if w.last_batch_at is not None and session is not None and not replay_paused:
            age = self._clock() - w.last_batch_at
            if age > self.stale_seconds:
                stale_for = age
        recorded = recorder_error = None
        if isinstance(session, RecordingStatus):
            with contextlib.suppress(Exception):
                recorded = session.recorded_bytes
                recorder_error = session.recorder_error
        return TickerStatus(
            ticker=w.name,
            phase=w.phase,
            source=source,
            feed=session.status if session is not None else None,
            origin=session.origin if isinstance(session, RecordedHistory) else "",
            error=w.error,
            ended=w.ended,
            last_batch_at=w.last_batch_at,
            as_of=w.book.as_of if w.book is not None else None,
            events_per_second=self.events_per_second(name),
            recorded_bytes=recorded,
            recorder_error=recorder_error,
            warming=w.warming,
            stale_for=stale_for,
            replay_paused=replay_paused,
        )

    # ------------------------------------------------------------------ controls
    def replay(self, name: str) -> ReplayControl | None:
        session = self.session(name)
        return session if isinstance(session, ReplayControl) else None

    def _replays(self) -> list[tuple[_Watched, ReplayControl]]:
        out: list[tuple[_Watched, ReplayControl]] = []
        for w in self._watched.values():
            if isinstance(w.session, ReplayControl):
                out.append((w, w.session))
        return out

    def seek(self, seconds: float) -> list[str]:
        """Move every replayed ticker by ``seconds`` (one clock for the watchlist); returns
        the failures, one line each."""
        failures = []
        for w, session in self._replays():
            try:
                session.seek(timedelta(seconds=seconds))
            except Exception as exc:
                failures.append(f"{w.name}: seek failed: {exc}")
            w.seeked.set()
        return failures

    def toggle_replay(self, name: str) -> bool | None:
        """Pause / play every replayed ticker like ``name``; returns the new paused state."""
        ref = self.replay(name)
        if ref is None:
            return None
        pause = not ref.paused
        for _, session in self._replays():
            if pause:
                session.pause()
            else:
                session.resume()
        return pause

    def set_speed(self, speed: float) -> list[str]:
        failures = []
        for w, session in self._replays():
            try:
                session.speed = speed
            except Exception as exc:
                failures.append(f"{w.name}: speed change failed: {exc}")
        return failures

    def reload(self, name: str) -> bool:
        """Read the file of ``name`` again (a CBOE file); False when it has none."""
        session = self.session(name)
        if isinstance(session, ReloadableSession):
            session.request_reload()
            return True
        return False
