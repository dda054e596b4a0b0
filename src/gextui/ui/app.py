"""The terminal monitor: ``GexApp(feed, tickers, settings=..., expiry=...).run()``.

Data flow: a feed worker (one per open ticker, group ``feed``) applies each EventBatch to the
ticker's :class:`~gextui.core.chain.ChainBook` (kept per ticker, so coming back to a ticker
continues its book). A timer at ``settings.redraw_hz`` recomputes
:func:`~gextui.core.exposure.compute_exposure` only when the book's version or a view setting
changed, updates the text widgets inside ``batch_update()``, and hands the chart drawing
(plotext, 5–20 ms) to a thread. Every key redraws at once, without waiting for the timer.

Errors from the feed (unknown ticker, bad credentials…) are notifications and a red status
note; the app stays on what it had.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, Final

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.strip import Strip

from gextui.alert_cmd import spawn_alert_command
from gextui.core.alerts import RULE_KINDS, Alert, AlertKind, LevelMonitor
from gextui.core.chain import ChainBook
from gextui.core.events import EventBatch
from gextui.core.expiry import (
    SELECTIONS,
    ExpirySelectionError,
    ny_date,
    parse_selection,
    select_expirations,
    selection_note,
    step_selection,
)
from gextui.core.exposure import (
    ExposureSnapshot,
    compute_exposure,
    exposure_by_expiration,
    live_expirations,
)
from gextui.core.history import LevelSample
from gextui.feeds.base import Feed, FeedError, FeedSession, ReloadableSession, Source
from gextui.feeds.replay import ReplaySession
from gextui.settings import METRICS, Colors, KeySpec, Settings, check_keymap
from gextui.store.reader import Recording
from gextui.store.schema import data_dir
from gextui.store.state import reset_batches
from gextui.ui.alerts_panel import AlertsPanel
from gextui.ui.chart import (
    BarData,
    bar_data,
    bar_rows,
    collect_plotext_garbage,
    money,
    profile_key,
    render_bars,
    render_profile,
)
from gextui.ui.commands import GexCommands
from gextui.ui.history_panel import HistoryPanel
from gextui.ui.screens import ExpiryPicker, HelpScreen, TickerPrompt
from gextui.ui.widgets import (
    SELECTION_LABELS,
    ExpiryBar,
    LevelsPanel,
    ProfileChart,
    ReplayBar,
    StatusInfo,
    StatusLine,
    StrikeChart,
    TickerTabs,
    expiry_text,
    levels_text,
    replay_text,
    status_text,
    tabs_text,
    text_to_strips,
)

RATE_WINDOW: Final = 5.0  # seconds of batches behind the events/s figure
# the history and the alerts wait until a chain has filled in: while the coverage (contracts
# with greeks and open interest) still climbs by more than this from one snapshot to the next
# — a feed's first seconds — the walls and zero gamma jump around for no market reason
WARMUP_STEP: Final = 0.01
FULL_COVERAGE: Final = 0.99
SPEEDS: Final = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


@dataclass(frozen=True, slots=True)
class ChartJob:
    """Everything the chart thread needs (immutable)."""

    key: tuple[object, ...]
    view: tuple[object, ...]
    snapshot: ExposureSnapshot
    bars: BarData
    bar_size: tuple[int, int]
    profile_size: tuple[int, int] | None
    colors: Colors
    bars_key: tuple[object, ...] = ()  # the bar picture (skip the render when on screen)
    profile_key: tuple[object, ...] | None = None  # None: profile not needed


Rendered = tuple[Text, list[Strip]]


def _render_job(
    job: ChartJob, bars_needed: bool = True, profile_needed: bool = True
) -> tuple[Rendered | None, Rendered | None]:
    """In a thread: plotext → Rich text → Textual strips, for the charts that changed."""
    out_bars = None
    if bars_needed:
        bars = render_bars(job.bars, *job.bar_size, job.colors)
        out_bars = (bars, text_to_strips(bars, job.bar_size[0]))
    out_prof = None
    if job.profile_size is not None and profile_needed:
        prof = render_profile(job.snapshot, *job.profile_size, job.colors)
        out_prof = (prof, text_to_strips(prof, job.profile_size[0]))
    collect_plotext_garbage()
    return out_bars, out_prof


class GexApp(App[None]):
    """Live dealer gamma exposure monitor (see the module docstring)."""

    TITLE = "gextui"
    CSS_PATH = "gextui.tcss"
    COMMANDS: ClassVar[set[Any]] = {*App.COMMANDS, GexCommands}
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012 (declared by App)
        (0, "-narrow"),
        (110, "-wide"),
    ]
    VERTICAL_BREAKPOINTS = [  # noqa: RUF012 (declared by App)
        (0, "-short"),
        (30, "-tall"),
    ]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
        # the most used views first: the footer shows what fits, in this order
        Binding("f", "toggle_profile", "Profile", id="view.profile"),
        Binding("h", "toggle_history", "History", id="view.history"),
        Binding("a", "toggle_alerts", "Alerts log", id="view.alerts"),
        Binding("p", "pause", "Pause", id="app.pause"),
        Binding("space", "replay_toggle", "Play/pause", id="replay.toggle"),
        Binding("left", "seek(-60)", "−1 min", id="replay.back"),
        Binding("right", "seek(60)", "+1 min", id="replay.forward"),
        Binding("shift+left", "seek(-600)", "−10 min", id="replay.back_10", show=False),
        Binding("shift+right", "seek(600)", "+10 min", id="replay.forward_10", show=False),
        # the tabs line says "tab ⇥ · t add · w close": not repeated in the footer
        Binding("tab", "next_ticker", "Next ticker", id="ticker.next", priority=True, show=False),
        Binding(
            "shift+tab", "prev_ticker", "Prev ticker", id="ticker.prev", priority=True, show=False
        ),
        *(
            Binding(str(n), f"ticker_index({n})", f"Ticker {n}", id=f"ticker.{n}", show=False)
            for n in range(1, 10)
        ),
        Binding("t", "add_ticker", "Add ticker", id="ticker.add", show=False),
        Binding("w", "close_ticker", "Close ticker", id="ticker.close", show=False),
        Binding("left_square_bracket", "expiry_step(-1)", "Prev expiry", id="expiry.prev"),
        Binding("right_square_bracket", "expiry_step(1)", "Next expiry", id="expiry.next"),
        Binding("e", "pick_expiry", "Pick expiry", id="expiry.pick"),
        Binding("g", "cycle_metric", "GEX/DEX/VEX/CEX", id="view.metric"),
        Binding("v", "toggle_split", "Net / calls-puts", id="view.split"),
        Binding("o", "toggle_basis", "OI / volume", id="view.basis"),
        Binding("plus", "widen('key')", "Wider", id="range.widen"),
        Binding("minus", "narrow('key')", "Narrower", id="range.narrow"),
        Binding("plus", "speed(1)", "Faster", id="replay.faster"),
        Binding("minus", "speed(-1)", "Slower", id="replay.slower"),
        Binding("full_stop", "widen('alt')", "Wider strikes", id="range.widen_alt", show=False),
        Binding("comma", "narrow('alt')", "Narrower strikes", id="range.narrow_alt", show=False),
        Binding("c", "recenter", "Centre", id="view.center"),
        Binding("r", "reload", "Reload file", id="file.reload"),
    ]

    ticker: reactive[str] = reactive("", init=False)
    expiry: reactive[str] = reactive("all", init=False)
    metric: reactive[str] = reactive("gex", init=False)
    basis: reactive[str] = reactive("oi", init=False)
    split: reactive[bool] = reactive(False, init=False)
    strikes: reactive[int] = reactive(0, init=False)  # 0: as many as fit
    strike_pct: reactive[float] = reactive(0.0, init=False)
    show_profile: reactive[bool] = reactive(False, init=False)
    show_history: reactive[bool] = reactive(False, init=False)
    show_alerts: reactive[bool] = reactive(False, init=False)
    paused: reactive[bool] = reactive(False, init=False)

    def __init__(
        self,
        feed: Feed,
        tickers: Sequence[str],
        *,
        settings: Settings | None = None,
        expiry: str | None = None,
        clock: Callable[[], float] = time.time,
        notice: str | None = None,
        alert_cmd: str | None = None,
    ) -> None:
        """``clock`` gives epoch seconds (tests freeze it for deterministic screens);
        ``notice`` is shown as a notification at start (e.g. "no credentials: simulated
        market"); ``alert_cmd`` runs for every alert (overrides ``[alerts] command``)."""
        super().__init__()
        self.settings = settings or Settings()
        self.notice = notice
        self.alert_cmd = alert_cmd or self.settings.alerts.command
        # intraday history of the levels (by event time) and the alert rules
        self.monitor = LevelMonitor(self.settings.alerts)
        self._coverage: dict[str, float] = {}  # last coverage seen per ticker (warm-up)
        self._warming: dict[str, bool] = {}  # per ticker: the chain is still filling in
        self._error_clears = False  # the top-line error goes with the next batch
        self._history_gen: dict[str, int] = {}  # replay history rebuilds, per ticker
        names = [t.strip().upper() for t in tickers if t.strip()] or list(self.settings.tickers)
        self.feed = feed
        self.tickers: list[str] = list(dict.fromkeys(names))
        self._clock = clock
        self._books: dict[str, ChainBook] = {}
        self._session: FeedSession | None = None
        self._session_ticker = ""
        self._pending = ""
        self._error = ""
        self._snapshot: ExposureSnapshot | None = None
        self._snap_key: tuple[object, ...] = ()
        self._observed_key: tuple[object, ...] = ()
        self._live_exps: list[date] = []
        self._center: float | None = None
        self._last_bars: BarData | None = None
        self._chart_job: ChartJob | None = None
        self._chart_running = False
        self._requested_key: tuple[object, ...] = ()
        self._rates: deque[tuple[float, int]] = deque()
        self._last_batch_at: float | None = None
        self._feed_ended = ""
        self._pending_redraw = False
        check_keymap(self.settings.keys, self.keymap_specs())
        self._keymap = dict(self.settings.keys)
        self._reset_pending = False  # inside a replay reset group: do not redraw yet
        self._seeked = asyncio.Event()
        self._compute_running = False
        self._compute_wanted = False
        self._painted_keys: dict[str, object] = {}
        # ChainBook.apply runs in a thread (polars releases the GIL); the lock keeps the
        # frozen copies the exposure thread works on consistent
        self._book_lock = threading.Lock()
        # counters for tests and the bench
        self.snapshots_computed = 0
        self.frames = 0  # repaints that changed something on screen
        self._gc_frozen = False
        self._shown_bars_key: tuple[object, ...] = ()
        self._shown_prof_key: tuple[object, ...] | None = None
        self._frame_dirty = False
        self.chart_paints = 0
        self.batches_applied = 0
        self.set_reactive(GexApp.ticker, self.tickers[0])
        initial_expiry = expiry if expiry is not None else self.settings.expiry
        self.set_reactive(GexApp.expiry, parse_selection(initial_expiry))
        self.set_reactive(GexApp.metric, self.settings.metric)
        self.set_reactive(GexApp.basis, self.settings.basis)
        self.set_reactive(GexApp.strikes, self.settings.strikes)
        self.set_reactive(GexApp.strike_pct, float(self.settings.strike_pct))

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        yield TickerTabs(id="tabs")
        yield ExpiryBar(id="expiries")
        with Horizontal(id="body"):
            with Vertical(id="charts"):
                yield StrikeChart(id="strike-chart")
                yield ProfileChart(id="profile-chart")
                yield HistoryPanel(id="history-panel")
            yield LevelsPanel(id="levels")
        yield AlertsPanel(id="alerts-log")
        yield ReplayBar(id="replay")
        from textual.widgets import Footer

        yield Footer()

    def on_mount(self) -> None:
        if self._keymap:
            self.set_keymap(self._keymap)
        self.query_one(ReplayBar).display = self.is_replay
        self.query_one(ProfileChart).display = False
        self.query_one(HistoryPanel).display = False
        self.query_one(AlertsPanel).display = False
        if self.notice:
            # short: the toast sits over the chart's value axis
            self.notify(self.notice, title="gextui", severity="warning", timeout=6)
        self.set_interval(1.0 / self.settings.redraw_hz, self._tick)
        self._open(self.ticker, previous="", added=False)
        self._redraw()

    async def on_unmount(self) -> None:
        """Close the session and the feed (the app owns the feed once it runs)."""
        self.workers.cancel_group(self, "feed")
        session = self._session
        if session is not None:
            with contextlib.suppress(Exception):
                await session.aclose()
        with contextlib.suppress(Exception):
            await self.feed.aclose()

    def on_resize(self) -> None:
        self.call_after_refresh(self._redraw)

    # ------------------------------------------------------------------ properties
    @property
    def is_replay(self) -> bool:
        return self.feed.source is Source.REPLAY

    @property
    def book(self) -> ChainBook | None:
        """The ChainBook of the ticker on screen (None until it opened)."""
        return self._books.get(self.ticker)

    @property
    def snapshot(self) -> ExposureSnapshot | None:
        """The snapshot on screen."""
        return self._snapshot

    @property
    def session(self) -> FeedSession | None:
        return self._session

    @property
    def view_state(self) -> tuple[object, ...]:
        """What the chart should show now (compared with ``StrikeChart.painted``)."""
        return (
            self.ticker,
            self.expiry,
            self.metric,
            self.basis,
            self.split,
            self.strikes,
            self.strike_pct,
            self.show_profile,
        )

    # ------------------------------------------------------------------ feed
    def switch_ticker(self, name: str) -> None:
        """Show ``name`` (adding a tab if new) and stream it; errors keep the current one."""
        name = name.strip().upper()
        if not name:
            return
        if name == self.ticker and self._session_ticker == name:
            return
        added = name not in self.tickers
        if added:
            self.tickers.append(name)
        previous = self.ticker
        if name in self._books:  # show the cached book at once
            self.ticker = name
        self._pending = name if name != self._session_ticker else ""
        self._open(name, previous=previous, added=added)
        self._redraw()

    @work(group="open", exclusive=True, exit_on_error=False)
    async def _open(self, name: str, previous: str, added: bool) -> None:
        self._pending = name
        try:
            session = await self.feed.open(name)
        except FeedError as exc:
            self._open_failed(name, previous, added, str(exc))
            return
        except Exception as exc:  # an unexpected bug in a feed: say so, keep running
            self._open_failed(name, previous, added, f"unexpected error: {exc!r}")
            return
        self._pending = ""
        self._error = ""
        self._feed_ended = ""
        self._rates.clear()
        self._last_batch_at = None
        self._session = session
        self._session_ticker = name
        self._stream(name, session)
        if self.ticker != name:
            self.ticker = name
        else:
            self._redraw()

    def _open_failed(self, name: str, previous: str, added: bool, message: str) -> None:
        self._pending = ""
        self._error = f"{name}: {message}"
        self._error_clears = True  # the next good update of the ticker on screen clears it
        self.notify(message, title=f"Cannot open {name}", severity="error", timeout=8)
        if added and name in self.tickers and len(self.tickers) > 1:
            self.tickers.remove(name)
        if self.ticker == name and previous and previous != name:
            self.ticker = previous
        self._redraw()

    def _book_for(self, name: str, session: FeedSession) -> ChainBook:
        cached = self._books.get(name)
        ins = session.chain.instruments
        if cached is not None and cached.instruments["symbol"].sort().equals(
            ins["symbol"].sort()
        ):  # same contracts (order-independent): keep the cached book
            return cached
        book = session.chain.new_book()
        self._books[name] = book
        return book

    @work(group="feed", exclusive=True, exit_on_error=False)
    async def _stream(self, name: str, session: FeedSession) -> None:
        book = self._book_for(name, session)
        hinted_without_clock = book.as_of is None
        await self._send_hint(session, book)
        bad_batches = 0
        replay = hasattr(session, "seek")
        for warning in getattr(session, "warnings", None) or []:
            self.notify(str(warning), title="recording", severity="warning")
        try:
            while True:
                async for batch in session.events():
                    meta = batch.meta
                    if meta.get("reset") == "1":
                        book = session.chain.new_book()
                        self._books[name] = book
                        self._reset_levels(name)  # a seek: the alert state restarts here
                        if isinstance(session, ReplaySession) and "at" in meta:
                            # ... and the history is rebuilt from the recording up to it
                            target = datetime.fromisoformat(meta["at"])
                            self._rebuild_history(name, session.recording, target)
                        self._reset_pending = meta.get("reset_batches", "1") != "1"
                    elif "reset_part" in meta:
                        part, _, total = meta["reset_part"].partition("/")
                        self._reset_pending = part != total
                    try:
                        await asyncio.to_thread(self._apply, book, batch)
                    except Exception as exc:
                        bad_batches += 1
                        if bad_batches == 1:
                            self.notify(f"bad batch skipped: {exc!r}", severity="warning")
                        continue
                    self.batches_applied += 1
                    self._note_batch(batch.n_events)
                    if hinted_without_clock and book.as_of is not None:
                        hinted_without_clock = False  # now the feed's own clock is known
                        await self._send_hint(session, book)
                self._reset_pending = False
                if not replay:
                    self._feed_ended = "feed ended"
                    break
                # a replay at its end: wait for a seek, then play on
                self._feed_ended = "end of recording (← / → to seek)"
                self._redraw()
                self._seeked.clear()
                await self._seeked.wait()
                self._feed_ended = ""
        except FeedError as exc:
            self._error = f"{name}: {exc}"
            self.notify(str(exc), title=f"{name} feed", severity="error", timeout=8)
        except Exception as exc:
            self._error = f"{name}: unexpected feed error {exc!r}"
            self.notify(f"{exc!r}", title=f"{name}: unexpected feed error", severity="error")
        finally:
            if self._session is session:
                self._session = None
                self._session_ticker = ""
            with contextlib.suppress(Exception):
                await session.aclose()

    def _rebuild_history(self, name: str, recording: Recording, target: datetime) -> None:
        """After a replay seek: the history of ``name`` before ``target``, one sample per
        recorded minute (the recording's checkpoints), on the alerts' fixed selection; put in
        front of what the replay samples from ``target`` on. A later seek discards it."""
        self._history_gen[name] = generation = self._history_gen.get(name, 0) + 1
        selection = self.monitor.rules.expiry

        def job() -> list[LevelSample]:
            out: list[LevelSample] = []
            for when, state in recording.checkpoint_states(target):
                if when >= target:
                    break
                book = recording.new_book()
                for batch in reset_batches(state, when_empty=when):
                    book.apply(batch)
                out.append(LevelSample.from_snapshot(compute_exposure(book, selection)))
            return out

        async def run() -> None:
            try:
                samples = await asyncio.to_thread(job)
            except Exception as exc:  # a damaged recording: the history starts at the seek
                self.log.warning(f"history rebuild failed: {exc!r}")
                return
            if self._history_gen.get(name) == generation:
                self.monitor.history(name).backfill(samples)
                self._redraw()

        self.run_worker(run(), group=f"history-{name}", exclusive=True, exit_on_error=False)

    def _apply(self, book: ChainBook, batch: EventBatch) -> None:
        with self._book_lock:
            book.apply(batch)

    def _frozen(self, book: ChainBook) -> ChainBook:
        with self._book_lock:
            return book.copy()  # later apply calls do not touch it

    def _compute_job(
        self, book: ChainBook, expiry: str
    ) -> tuple[ExposureSnapshot, list[date], ExposureSnapshot]:
        """In a thread: freeze the book (under the lock) and compute its exposure for the view
        and for the alerts' fixed selection (``[alerts] expiry``; one computation when they
        are the same)."""
        frozen = self._frozen(book)
        snap = compute_exposure(frozen, expiry)
        watched = self.monitor.rules.expiry
        alert_snap = snap if watched == expiry else compute_exposure(frozen, watched)
        return snap, live_expirations(frozen, snap.as_of), alert_snap

    def _note_batch(self, n_events: int) -> None:
        if self._error and self._error_clears:
            self._error = ""  # e.g. a ticker that could not open: told once, then gone
            self._error_clears = False
        now = self._clock()
        self._last_batch_at = now
        self._rates.append((now, n_events))
        while self._rates and now - self._rates[0][0] > RATE_WINDOW:
            self._rates.popleft()

    def events_per_second(self) -> float | None:
        if len(self._rates) < 2:
            return None
        span = self._rates[-1][0] - self._rates[0][0]
        if span <= 0:
            return None
        return sum(n for _, n in list(self._rates)[1:]) / span

    async def _send_hint(self, session: FeedSession, book: ChainBook) -> None:
        """Tell the feed which expirations are on screen (None: all)."""
        dates: list[date] | None = None
        if self.expiry != "all":
            # the feed's clock once data came (simulated / replayed time), else the wall clock
            moment = book.as_of or datetime.now(UTC)
            with contextlib.suppress(ExpirySelectionError):
                live = live_expirations(book, moment)
                # an empty list is "no options" (e.g. 0DTE on a day without one), not "all"
                dates = select_expirations(live, self.expiry, moment)
        try:
            await session.set_expirations(dates)
        except FeedError as exc:
            self.notify(str(exc), severity="warning")
        except Exception as exc:
            self.notify(f"set_expirations failed: {exc!r}", severity="warning")

    @work(group="hint", exclusive=True, exit_on_error=False)
    async def _hint(self) -> None:
        session, book = self._session, self.book
        if session is not None and book is not None and self._session_ticker == self.ticker:
            await self._send_hint(session, book)

    # ------------------------------------------------------------------ redraw
    def _tick(self) -> None:
        """The redraw timer: recompute when the book changed (the result repaints when it
        is ready); otherwise repaint what may have changed (clock, STALE, replay bar)."""
        self._pending_redraw = False
        if not self.is_running:
            return
        try:
            started = self._recompute()
        except Exception as exc:  # never a traceback over the screen
            self._error = f"display error: {exc!r}"
            started = False
        if not started:
            self._paint()

    def request_redraw(self) -> None:
        """Redraw soon (after the current message), coalescing several requests."""
        if not self._pending_redraw:
            self._pending_redraw = True
            self.call_later(self._redraw)

    def _recompute(self) -> bool:
        """Start an exposure computation (off the loop, on a frozen copy of the book) when
        the book changed (unless paused) or the ticker / expiry changed. True if started
        (its completion repaints)."""
        book = self.book
        if book is None or book.version == 0:
            if self._snapshot is not None and self._snapshot.ticker != self.ticker:
                self._snapshot = None
                self._snap_key = ()
            return False
        view_key = (self.ticker, self.expiry, id(book))
        data_key = book.version
        snap = self._snapshot
        if self._reset_pending and snap is not None and snap.ticker == self.ticker:
            return False  # a replay reset group is half applied: keep the last picture
        same_view = bool(self._snap_key) and self._snap_key[0] == view_key
        if same_view and self._snap_key[1] == data_key:
            return False
        if same_view and self.paused and self._observed_key == (view_key, data_key):
            return False  # paused: this version already went to the history and alerts
        if self._compute_running:
            self._compute_wanted = True
            return False
        self._compute_running = True
        self.run_worker(
            self._compute(book, self.expiry, view_key, data_key),
            group="compute",
            exit_on_error=False,
        )
        return True

    async def _compute(
        self, book: ChainBook, expiry: str, view_key: tuple[object, ...], data_key: int
    ) -> None:
        try:
            snap, live, alert_snap = await asyncio.to_thread(self._compute_job, book, expiry)
        except ExpirySelectionError as exc:
            self.notify(str(exc), severity="error")
            self.expiry = "all"
            return
        except Exception as exc:
            self._error = f"exposure error: {exc!r}"
            self.notify(f"{exc!r}", title="exposure computation failed", severity="error")
            return
        finally:
            self._compute_running = False
        current = self.book
        shown = bool(self._snap_key) and self._snap_key[0] == view_key
        if current is not None and self.paused and shown:
            # the screen stays frozen, but history and alerts keep following the market
            self._observed_key = (view_key, data_key)
            self._observe(alert_snap)
        elif current is not None and (self.ticker, self.expiry, id(current)) == view_key:
            self._snapshot = snap
            self._snap_key = (view_key, data_key)
            self._live_exps = live
            self.snapshots_computed += 1
            self._observe(alert_snap)
            self._paint()
        if self._compute_wanted:
            self._compute_wanted = False
            self._recompute()

    def _redraw(self) -> None:
        """Recompute if needed (async) and repaint what is on screen now."""
        self._pending_redraw = False
        if not self.is_running:
            return
        try:
            self._recompute()
        except Exception as exc:  # never a traceback over the screen
            self._error = f"display error: {exc!r}"
            self.log.error(f"recompute failed: {exc!r}")
        self._paint()

    def _paint(self) -> None:
        if not self.is_running:
            return
        self._frame_dirty = False
        try:
            with self.batch_update():
                self._paint_text()
                self._request_charts()
            if self._frame_dirty:
                self.frames += 1
        except Exception as exc:  # never a traceback over the screen
            self._error = f"display error: {exc!r}"
            self.log.error(f"redraw failed: {exc!r}")

    def _status_info(self) -> StatusInfo:
        book = self.book
        snap = self._snapshot
        session = self._session if self._session_ticker == self.ticker else None
        stale_for = None
        replay_paused = bool(session is not None and getattr(session, "paused", False))
        if self._last_batch_at is not None and session is not None and not replay_paused:
            age = self._clock() - self._last_batch_at
            if age > self.settings.stale_seconds:
                stale_for = age
        recording = None
        rec = getattr(session, "recorder", None) if session is not None else None
        if rec is not None:
            with contextlib.suppress(Exception):
                recording = int(rec.bytes_written)
        status = session.status if session is not None else None
        if status is not None and self._feed_ended:
            status = replace(status, reason=self._feed_ended)
        pending = f"opening {self._pending}…" if self._pending else ""
        source = session.chain.source if session is not None else self.feed.source
        origin = str(getattr(getattr(session, "recording", None), "source", "") or "")
        last = None
        if self._last_batch_at is not None:
            if source in (Source.SIMULATED, Source.REPLAY) and book is not None:
                last = book.as_of  # the feed's own clock, like the market clock beside it
            else:
                last = datetime.fromtimestamp(self._last_batch_at).astimezone()
        return StatusInfo(
            origin=origin,
            ticker=self.ticker,
            spot=snap.spot if snap is not None else (book.spot if book is not None else None),
            prev_close=snap.prev_close if snap is not None else None,
            source=source,
            expiry=self.expiry,
            n_expirations=len(snap.expirations) if snap is not None else 0,
            as_of=(snap.as_of if snap is not None and self.paused else book.as_of)
            if book is not None
            else None,
            status=status,
            last_update=last,
            stale_for=stale_for,
            paused=self.paused,
            pending=pending,
            recording=recording,
            error=self._error,
        )

    def _changed(self, name: str, key: object) -> bool:
        """True (and remember ``key``) when widget ``name`` needs new content: updating a
        Static re-lays the screen out, so unchanged widgets are left alone."""
        if self._painted_keys.get(name) == key:
            return False
        self._painted_keys[name] = key
        self._frame_dirty = True
        return True

    def _paint_text(self) -> None:
        width = self.size.width
        info = self._status_info()
        if self._changed("status", info):
            text = status_text(info, self.settings.colors)
            lines = 1 if text.cell_len <= max(width - 2, 1) else 2
            # a re-layout only when the line wraps differently (height: auto)
            relayout = self._changed("status-lines", (lines, width))
            self.query_one(StatusLine).update(text, layout=relayout)
        tabs_key = (tuple(self.tickers), self.ticker, self._pending, width)
        if self._changed("tabs", tabs_key):
            tabs = tabs_text(self.tickers, self.ticker, self._pending, width)
            self.query_one(TickerTabs).update(tabs, layout=False)
        snap_now = self._snapshot
        today = ny_date(snap_now.as_of) if snap_now is not None else None
        exp_key = (self.expiry, tuple(self._live_exps), width, today)
        if self._changed("expiries", exp_key):
            exps = expiry_text(self.expiry, self._live_exps, width, today)
            self.query_one(ExpiryBar).update(exps, layout=False)
        snap = self._snapshot if self._snapshot and self._snapshot.ticker == self.ticker else None
        panel = self.query_one(LevelsPanel)
        eps = self.events_per_second()
        pwidth = panel.content_size.width
        warming = snap is not None and self._warming.get(snap.ticker.upper(), True)
        levels_key = (id(snap), None if eps is None else round(eps, -1), pwidth, warming)
        if self._changed("levels", levels_key):
            text = levels_text(snap, eps, self.settings.colors, pwidth or 32, warming=warming)
            panel.update(text, layout=False)
            panel.border_title = "Levels · warming up" if warming else "Levels"
        if self.show_history:
            self._paint_history()
        if self.show_alerts:
            self._paint_alerts()
        if self.is_replay:
            self._paint_replay(width)

    def _paint_history(self) -> None:
        panel = self.query_one(HistoryPanel)
        panel.border_title = f"{self.ticker} history · levels and net GEX · New York time"
        panel.show_history(self.monitor.history(self.ticker), self.settings.colors)

    def _paint_alerts(self) -> None:
        panel = self.query_one(AlertsPanel)
        panel.show_alerts(self.monitor.log, self.settings.colors, self.monitor.rules)

    def _paint_replay(self, width: int) -> None:
        session: Any = self._session
        bar = self.query_one(ReplayBar)
        if session is None:
            if self._changed("replay", None):
                bar.update(Text("replay: no session", style="dim"))
            return
        args = (
            getattr(session, "position", None),
            getattr(session, "start_time", None),
            getattr(session, "end_time", None),
            float(getattr(session, "speed", 1.0)),
            bool(getattr(session, "paused", False)),
            width,
        )
        if self._changed("replay", args):
            bar.update(replay_text(*args), layout=False)

    def _legend_markup(self, legend: str) -> str:
        """The chart legend with its colour keys in the chart's colours (markup)."""
        c = self.settings.colors
        text = legend.replace("[", r"\[")
        return (
            text.replace("█ calls", f"[{c.positive}]█[/] calls")
            .replace("█ puts", f"[{c.negative}]█[/] puts")
            .replace("→ positive", f"[{c.positive}]→[/] positive")
            .replace("← negative", f"[{c.negative}]←[/] negative")
            .replace("─ S spot", f"[{c.spot}]─ S[/] spot")
            .replace("┄ Z zero γ", f"[{c.zero_gamma}]┄ Z[/] zero γ")
        )

    def _chart_title(self, shown: str = "") -> str:
        """``shown``: what the chart holds (BarData.span: strikes, price range, per row)."""
        from gextui.ui.chart import METRIC_NAMES, METRIC_UNITS

        name = METRIC_NAMES[self.metric]
        what = "calls vs puts" if self.split else "net"
        base = "volume" if self.basis == "volume" else "OI"
        asked = f"±{self.strike_pct:g}%" if self.strike_pct > 0 else ""
        span = " · ".join(x for x in (asked, shown or f"{self.strikes} strikes") if x)
        title = f"{self.ticker} {name} · {what} · {base} · $ {METRIC_UNITS[self.metric]}"
        title += f" · {span}"
        if self.paused:
            title += " · PAUSED"
        return title

    def _request_charts(self) -> None:
        chart = self.query_one(StrikeChart)
        prof = self.query_one(ProfileChart)
        chart.border_title = self._chart_title()
        prof.border_title = "GEX profile: net GEX vs spot · │ spot · │ flip"
        snap = self._snapshot
        empty_note = None
        if snap is not None and snap.ticker == self.ticker and not snap.expirations:
            # e.g. 0DTE after 16:00, a date with no options: say so, not "waiting for data"
            with contextlib.suppress(ExpirySelectionError):
                empty_note = selection_note(snap.expiry, self._live_exps, snap.as_of)
        if snap is None or snap.ticker != self.ticker or empty_note:
            msg = f"opening {self._pending}…" if self._pending else "waiting for data…"
            if empty_note:
                msg = empty_note.replace("; all figures are zero", "")
            if self._error:
                msg = self._error
            if self._changed("chart-message", msg) or chart.painted:
                chart.show(Text(msg, style="dim"))
            chart.painted = ()
            self._requested_key = ()
            self._shown_bars_key = ()
            return
        size = chart.content_size
        if size.width < 10 or size.height < 4:
            return
        spot = snap.spot
        if spot is not None and math.isfinite(spot):
            last = self._last_bars
            if self._center is None or last is None or not last.strikes:
                self._center = spot
            else:
                lo, hi = last.strikes[0], last.strikes[-1]
                quarter = (hi - lo) / 4.0
                if not (lo + quarter <= spot <= hi - quarter):
                    self._center = spot
        bars = bar_data(
            snap,
            metric=self.metric,
            basis=self.basis,
            split=self.split,
            count=self.strikes,
            pct=self.strike_pct,
            center=self._center,
            rows=bar_rows(size.height),
        )
        self._last_bars = bars
        chart.border_title = self._chart_title(bars.span)
        chart.border_subtitle = self._legend_markup(bars.legend)
        psize = None
        if self.show_profile:
            ps = prof.content_size
            if ps.width >= 10 and ps.height >= 4:
                psize = (ps.width, ps.height)
        colors = self.settings.colors
        view = self.view_state
        # what the picture looks like at cell resolution: unchanged → no re-render
        visual = bars.visual_key(size.width)
        pvisual = profile_key(snap, *psize) if psize is not None else None
        key = (visual, pvisual, view, (size.width, size.height), psize, colors)
        if key == self._requested_key:
            if chart.painted != view and self._chart_job is None and not self._chart_running:
                chart.painted = view  # the same picture is already on screen
            return
        self._requested_key = key
        self._frame_dirty = True
        self._chart_job = ChartJob(
            key,
            view,
            snap,
            bars,
            (size.width, size.height),
            psize,
            colors,
            bars_key=(visual, (size.width, size.height), colors),
            profile_key=None if psize is None else (pvisual, psize, colors),
        )
        if not self._chart_running:
            self._chart_running = True
            self.run_worker(self._chart_loop(), group="chart", exit_on_error=False)

    async def _chart_loop(self) -> None:
        try:
            while self._chart_job is not None:
                job = self._chart_job
                self._chart_job = None
                chart = self.query_one(StrikeChart)
                pchart = self.query_one(ProfileChart)
                bars_needed = job.bars_key != self._shown_bars_key
                prof_needed = (
                    job.profile_key is not None and job.profile_key != self._shown_prof_key
                )
                try:
                    bars, prof = await asyncio.to_thread(_render_job, job, bars_needed, prof_needed)
                except Exception as exc:
                    self.log.error(f"chart failed: {exc!r}")
                    chart.show(Text(f"chart error: {exc!r}", style="red"))
                    self._shown_bars_key = ()
                    continue
                with self.batch_update():
                    if bars is not None:
                        chart.show(*bars)
                        self._shown_bars_key = job.bars_key
                    chart.painted = job.view
                    if prof is not None:
                        pchart.show(*prof)
                        self._shown_prof_key = job.profile_key
                    if job.profile_key is not None:
                        pchart.painted = job.view
                self.chart_paints += 1
                if not self._gc_frozen:
                    # everything alive now (Textual, polars, the chain) lives as long as the
                    # app: keep it out of the cyclic GC, whose full passes otherwise stall the
                    # loop for 50–150 ms on a 22 k-contract chain
                    self._gc_frozen = True
                    gc.freeze()
        finally:
            self._chart_running = False

    # ------------------------------------------------------------------ watchers
    def watch_ticker(self, old: str, new: str) -> None:
        self._center = None
        self._last_bars = None
        self._snapshot = None
        self._snap_key = ()
        self._redraw()

    def watch_expiry(self) -> None:
        # history and alerts follow the fixed [alerts] expiry selection: nothing to reset
        self._hint()
        self._redraw()

    def watch_show_profile(self, shown: bool) -> None:
        self.query_one(ProfileChart).display = shown
        self._redraw()
        self.call_after_refresh(self._redraw)

    def watch_show_history(self, shown: bool) -> None:
        self.query_one(HistoryPanel).display = shown
        # on short screens the history takes the place of the strike chart (see the .tcss)
        self.query_one("#charts").set_class(shown, "-history")
        self._redraw()
        self.call_after_refresh(self._redraw)

    def watch_show_alerts(self, shown: bool) -> None:
        self.query_one(AlertsPanel).display = shown
        self._redraw()
        self.call_after_refresh(self._redraw)

    # ------------------------------------------------------------------ alerts
    def _reset_levels(self, ticker: str) -> None:
        """Restart the history and the alert state of ``ticker`` (seek, other expiries)."""
        self.monitor.reset(ticker)
        self._coverage.pop(ticker.upper(), None)
        self._warming.pop(ticker.upper(), None)

    def _observe(self, snap: ExposureSnapshot) -> None:
        """Sample ``snap`` into the history of its ticker and deliver the alerts it raises
        (once the chain has filled in, see ``WARMUP_STEP``)."""
        tk = snap.ticker.upper()
        fraction = snap.coverage.fraction
        previous = self._coverage.get(tk)
        self._coverage[tk] = fraction
        filling = previous is None or fraction > previous + WARMUP_STEP
        self._warming[tk] = filling and fraction < FULL_COVERAGE
        if self._warming[tk]:
            return  # no history sample, no alert while the chain fills in
        try:
            alerts = self.monitor.observe(snap)
        except Exception as exc:  # never let the monitor break the display
            self.log.error(f"level monitor failed: {exc!r}")
            return
        for alert in alerts:
            self._deliver(alert)

    def _deliver(self, alert: Alert) -> None:
        """Notification, terminal bell (``[alerts] bell``) and the alert command."""
        self.notify(
            alert.message, title=f"Alert: {alert.kind.label}", severity="warning", timeout=6
        )
        if self.monitor.rules.bell:
            self.bell()
        if self.alert_cmd:
            spawn_alert_command(self.alert_cmd, alert, on_error=self._alert_command_failed)

    def _alert_command_failed(self, message: str) -> None:
        self.notify(message, title="alert command", severity="error", timeout=10)

    def toggle_alert_rule(self, kind: AlertKind | str) -> None:
        """Switch one alert rule on or off (command palette)."""
        k = AlertKind(kind)
        self.monitor.rules = self.monitor.rules.with_enabled(k)
        state = "on" if self.monitor.rules.is_enabled(k) else "off"
        self.notify(f"{k.label}: {state}", title="Alert rule")
        self._redraw()

    def toggle_alert_bell(self) -> None:
        rules = self.monitor.rules
        self.monitor.rules = replace(rules, bell=not rules.bell)
        self.notify(f"terminal bell {'on' if not rules.bell else 'off'}", title="Alerts")

    def clear_alerts(self) -> None:
        self.monitor.clear_log()
        self._redraw()

    def _watch_view(self) -> None:
        self._redraw()

    watch_metric = _watch_view
    watch_basis = _watch_view
    watch_split = _watch_view
    watch_strikes = _watch_view
    watch_strike_pct = _watch_view
    watch_paused = _watch_view

    # ------------------------------------------------------------------ actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        replay = self.is_replay
        if action in ("speed", "replay_toggle", "seek"):
            return replay
        if action == "reload":
            return self.feed.source is Source.FILE
        if action in ("widen", "narrow") and parameters == ("key",) and replay:
            return False
        # let modal screens use tab
        return not (action in ("next_ticker", "prev_ticker") and len(self.screen_stack) > 1)

    def deliver_screenshot(
        self,
        filename: str | None = None,
        path: str | None = None,
        time_format: str | None = None,
    ) -> str | None:
        """Save an SVG of the screen (palette: Screenshot) in gextui's data folder
        (``$XDG_DATA_HOME/gextui/screenshots``) and say where it went."""
        target = Path(path) if path else data_dir() / "screenshots"
        try:
            target.mkdir(parents=True, exist_ok=True)
            saved = self.save_screenshot(filename, str(target), time_format)
        except OSError as exc:
            reason = (exc.strerror or type(exc).__name__).lower()
            self.notify(f"cannot save a screenshot in {target}: {reason}", severity="error")
            return None
        self.notify(f"saved {saved}", title="Screenshot", timeout=8)
        return saved

    def action_reload(self) -> None:
        """Read the CBOE file of the ticker on screen again (it is also re-read by itself
        when it changes on disk)."""
        session = self._session
        if isinstance(session, ReloadableSession):
            session.request_reload()
            self.notify(f"reloading {self.ticker} from its file", timeout=3)

    def action_next_ticker(self) -> None:
        self._step_ticker(1)

    def action_prev_ticker(self) -> None:
        self._step_ticker(-1)

    def _step_ticker(self, step: int) -> None:
        if len(self.tickers) < 2:
            return
        target = self._pending or self.ticker
        i = self.tickers.index(target) if target in self.tickers else 0
        self.switch_ticker(self.tickers[(i + step) % len(self.tickers)])

    def action_ticker_index(self, n: int) -> None:
        if 1 <= n <= len(self.tickers):
            self.switch_ticker(self.tickers[n - 1])

    def action_add_ticker(self) -> None:
        def done(name: str | None) -> None:
            if name:
                self.switch_ticker(name)

        self.push_screen(TickerPrompt(), done)

    def action_close_ticker(self) -> None:
        if len(self.tickers) < 2:
            self.notify("This is the last ticker (q quits).", severity="warning")
            return
        name = self.ticker
        i = self.tickers.index(name)
        self.tickers.remove(name)
        self._books.pop(name, None)
        self._reset_levels(name)
        self.switch_ticker(self.tickers[min(i, len(self.tickers) - 1)])

    def action_expiry_step(self, step: int) -> None:
        self.expiry = step_selection(self.expiry, self._live_exps, step)

    def expiry_choices(self) -> list[tuple[str, str]]:
        """(selection, label) for the picker: named selections, then each expiration with
        its net GEX."""
        choices: list[tuple[str, str]] = []
        book = self.book
        as_of = book.as_of if book is not None else None
        exps = self._live_exps
        for sel in SELECTIONS:
            n = len(select_expirations(exps, sel, as_of)) if as_of is not None else 0
            choices.append((sel, f"{SELECTION_LABELS[sel]:<8} {n:>3} expirations"))
        per_exp = self._net_gex_by_expiration()
        for e in exps:
            gex = money(per_exp.get(e)) if e in per_exp else ""
            choices.append((e.isoformat(), f"{e.isoformat()} {e.strftime('%a')}  {gex:>12}"))
        return choices

    def _net_gex_by_expiration(self) -> dict[date, float]:
        """Net GEX per live expiration at the book's spot (empty until there is a spot)."""
        book = self.book
        if book is None or book.as_of is None or not math.isfinite(book.spot):
            return {}
        return dict(exposure_by_expiration(book))

    def action_pick_expiry(self) -> None:
        def done(value: str | None) -> None:
            if value:
                self.expiry = value

        self.push_screen(ExpiryPicker(self.expiry_choices(), self.expiry), done)

    def action_switch_to(self, name: str) -> None:
        """Switch to a ticker tab (mouse click on a tab)."""
        self.switch_ticker(name)

    def action_set_expiry(self, value: str) -> None:
        """Choose an expiry selection (mouse click on the expiry bar)."""
        self._set_expiry(value)

    def action_cycle_metric(self) -> None:
        self.metric = METRICS[(METRICS.index(self.metric) + 1) % len(METRICS)]

    def action_toggle_split(self) -> None:
        self.split = not self.split

    def action_toggle_basis(self) -> None:
        self.basis = "volume" if self.basis == "oi" else "oi"

    def action_widen(self, _which: str = "key") -> None:
        if self.strike_pct > 0:
            self.strike_pct = round(min(self.strike_pct * 1.25, 100.0), 2)
        else:
            shown = self._shown_strikes()
            self.strikes = min(max(shown + 2, round(shown * 1.25)), 2000)

    def action_narrow(self, _which: str = "key") -> None:
        if self.strike_pct > 0:
            self.strike_pct = round(max(self.strike_pct / 1.25, 0.25), 2)
        else:
            self.strikes = max(round(self._shown_strikes() / 1.25), 6)

    def _shown_strikes(self) -> int:
        """The strike count the +/- keys start from: the setting, or (0 = as many as fit)
        the strike steps on screen now."""
        if self.strikes > 0:
            return self.strikes
        bars = self._last_bars
        return max(len(bars.strikes) * bars.per_row, 6) if bars is not None else 40

    def action_recenter(self) -> None:
        snap = self._snapshot
        self._center = snap.spot if snap is not None else None
        self._requested_key = ()
        self._redraw()

    def action_toggle_profile(self) -> None:
        self.show_profile = not self.show_profile

    def action_toggle_history(self) -> None:
        self.show_history = not self.show_history

    def action_toggle_alerts(self) -> None:
        self.show_alerts = not self.show_alerts

    def action_pause(self) -> None:
        self.paused = not self.paused

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.keys_markdown()))

    # replay ------------------------------------------------------------
    def _replay_session(self) -> Any:
        session = self._session
        if session is None or not hasattr(session, "pause"):
            return None
        return session

    def action_replay_toggle(self) -> None:
        session = self._replay_session()
        if session is None:
            return
        if session.paused:
            session.resume()
        else:
            session.pause()
        self._redraw()

    def action_seek(self, seconds: int) -> None:
        session = self._replay_session()
        if session is None:
            return
        try:
            session.seek(timedelta(seconds=seconds))
        except Exception as exc:
            self.notify(f"seek failed: {exc}", severity="warning")
        self._seeked.set()
        self._redraw()

    def action_speed(self, step: int) -> None:
        session = self._replay_session()
        if session is None:
            return
        current = float(session.speed)
        i = min(range(len(SPEEDS)), key=lambda j: abs(SPEEDS[j] - current))
        i = min(max(i + step, 0), len(SPEEDS) - 1)
        try:
            session.speed = SPEEDS[i]
        except Exception as exc:
            self.notify(f"speed change failed: {exc}", severity="warning")
        self._redraw()

    # ------------------------------------------------------------------ help, palette
    def _key_for(self, binding: Binding) -> str:
        keys = self._keymap.get(binding.id or "", binding.key)
        shown = []
        for key in keys.split(","):
            shown.append(self.get_key_display(replace(binding, key=key.strip())))
        return " / ".join(shown)

    def _binding_list(self) -> list[Binding]:
        return [b for b in self.BINDINGS if isinstance(b, Binding)]

    @classmethod
    def keymap_specs(cls) -> list[KeySpec]:
        """Every remappable binding with the modes it is active in (see ``check_action``):
        replay controls only in replay, the live ``+``/``-`` strike range only live."""
        specs = []
        for b in cls.BINDINGS:
            if not isinstance(b, Binding) or not b.id:
                continue
            if b.id.startswith("replay."):
                modes = frozenset({"replay"})
            elif b.id in ("range.widen", "range.narrow"):
                modes = frozenset({"live"})
            else:
                modes = frozenset({"live", "replay"})
            specs.append(KeySpec(b.id, tuple(b.key.split(",")), modes))
        return specs

    def keys_markdown(self) -> str:
        """The keys table of the help screen (reflecting a remapped keymap)."""
        lines = ["## Keys", "", "| Key | Id | Action |", "|---|---|---|"]
        for b in self._binding_list():
            if b.id and b.id.startswith("ticker.") and b.id[-1].isdigit():
                if b.id == "ticker.1":
                    lines.append("| `1` … `9` | ticker.1 … ticker.9 | Jump to ticker tab 1–9 |")
                continue
            lines.append(f"| `{self._key_for(b)}` | {b.id} | {b.description} |")
        lines.append("| `ctrl+p` | command palette | every action, ticker, expiry and alert rule |")
        lines.append("")
        lines.append(
            "`1`–`9` jump to a ticker tab. In replay mode `+` / `-` change the speed; "
            "`.` / `,` always widen / narrow the strike range."
        )
        lines.append("")
        lines.append(
            "Alerts (spot crosses zero gamma, spot near a wall, net GEX changes sign, a wall "
            "moves) are notifications, ring the bell and are listed in the alerts log (`a`); "
            "switch rules on and off from the command palette, set them in `[alerts]` of the "
            "settings file. The history (`h`) samples the levels every 5 s of market time."
        )
        return "\n".join(lines)

    def palette_commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        out: list[tuple[str, str, Callable[[], object]]] = []
        seen: set[str] = set()
        for b in self._binding_list():
            if b.action in seen or b.action.startswith("ticker_index"):
                continue
            seen.add(b.action)
            name, _, params = b.action.partition("(")
            if self.check_action(name, (params.rstrip(")").strip("'"),) if params else ()) is False:
                continue
            out.append((b.description, f"key {self._key_for(b)}", partial(self._run, b.action)))
        for name in self.tickers:
            switch = partial(self.switch_ticker, name)
            out.append((f"Ticker: {name}", "switch to this ticker", switch))
        for sel in SELECTIONS:
            choose = partial(self._set_expiry, sel)
            out.append((f"Expiry: {SELECTION_LABELS[sel]}", "expiry selection", choose))
        for e in self._live_exps:
            iso = e.isoformat()
            out.append((f"Expiry: {iso}", "one expiration", partial(self._set_expiry, iso)))
        rules = self.monitor.rules
        for kind in RULE_KINDS:
            state = "on" if rules.is_enabled(kind) else "off"
            toggle = partial(self.toggle_alert_rule, kind)
            out.append((f"Alert rule: {kind.label} ({state})", "switch this alert on/off", toggle))
        bell = "on" if rules.bell else "off"
        out.append(
            (f"Alert bell ({bell})", "ring the terminal bell with alerts", self.toggle_alert_bell)
        )
        out.append(("Alerts: clear the log", "empty the alerts log", self.clear_alerts))
        return out

    def _run(self, action: str) -> None:
        self.call_later(self.run_action, action)

    def _set_expiry(self, value: str) -> None:
        try:
            self.expiry = parse_selection(value)
        except ExpirySelectionError as exc:
            self.notify(str(exc), severity="error")


def run(
    feed: Feed,
    tickers: Sequence[str],
    *,
    settings: Settings | None = None,
    expiry: str | None = None,
    notice: str | None = None,
    alert_cmd: str | None = None,
) -> None:
    """Convenience wrapper: build and run the app."""
    GexApp(
        feed, tickers, settings=settings, expiry=expiry, notice=notice, alert_cmd=alert_cmd
    ).run()


__all__ = ["GexApp", "run"]
