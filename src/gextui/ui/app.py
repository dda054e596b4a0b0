"""The terminal monitor: ``GexApp(feed, tickers, settings=..., expiry=...).run()``.

Data flow: the app is the screen of a :class:`~gextui.monitor.Monitor` (the Textual-free
controller): the monitor streams every ticker of the watchlist all the time (one task each,
run in the ``feed`` worker), keeps their books, history and alerts. A timer at
``settings.redraw_hz`` (and every key) starts one *step* off the event loop: the exposure of
the ticker on screen at the selected expiry (recomputed only when its book or the view
changed) and the history / alert observation of every other ticker. The step posts a
:class:`SnapshotReady` message (coalescing: a slow screen skips stale ones); its handler sets
the ``data`` reactives the widgets render themselves from, and hands the chart pictures to the
shared "newest job wins" :class:`~gextui.ui.render_loop.RenderLoop` (a thread).

Errors from the feed (unknown ticker, bad credentials…) are notifications and a red status
note; the app stays on what it had.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, Final

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip

from gextui.alert_cmd import spawn_alert_command
from gextui.core.alerts import RULE_KINDS, Alert, AlertKind
from gextui.core.chain import ChainBook
from gextui.core.expiry import (
    SELECTIONS,
    ExpirySelectionError,
    ny_date,
    parse_selection,
    select_expirations,
    selection_note,
    step_selection,
)
from gextui.core.exposure import ExposureSnapshot, exposure_by_expiration
from gextui.core.symbols import TickerError, ticker_name
from gextui.feeds.base import Feed, FeedSession, Source
from gextui.formats import money
from gextui.monitor import Monitor, Notice, TickerPhase, ViewResult
from gextui.monitor.compute import Compute
from gextui.report import levels_rows
from gextui.settings import METRICS, Colors, KeySpec, Settings, check_keymap
from gextui.store.previous import previous_close
from gextui.store.schema import data_dir
from gextui.ui import gc_policy
from gextui.ui.alerts_panel import AlertsPanel
from gextui.ui.change_view import next_window
from gextui.ui.chart import BarData, bar_data, bar_rows, render_bars
from gextui.ui.commands import GexCommands
from gextui.ui.history_panel import HistoryPanel
from gextui.ui.overview import overview_row, render_overview
from gextui.ui.profile_chart import profile_key, render_profile
from gextui.ui.render_loop import RenderLoop
from gextui.ui.screens import ExpiryPicker, HelpScreen, TickerPrompt
from gextui.ui.views import change_inputs, earlier_sample, expirations_job, map_job
from gextui.ui.widgets import (
    SELECTION_LABELS,
    ExpiryBar,
    ExpiryData,
    LevelsData,
    LevelsPanel,
    OverviewTable,
    ProfileChart,
    ReplayBar,
    ReplayData,
    StatusData,
    StatusInfo,
    StatusLine,
    StrikeChart,
    TabsData,
    TickerTabs,
    retitle,
    text_to_strips,
)

#: the Levels panel's events/s changes when the rate moves by more than this fraction
RATE_STEP: Final = 0.05
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
    """In a thread: Rich text → Textual strips, for the charts that changed."""
    out_bars = None
    if bars_needed:
        bars = render_bars(job.bars, *job.bar_size, job.colors)
        out_bars = (bars, text_to_strips(bars, job.bar_size[0]))
    out_prof = None
    if job.profile_size is not None and profile_needed:
        prof = render_profile(job.snapshot, *job.profile_size, job.colors)
        out_prof = (prof, text_to_strips(prof, job.profile_size[0]))
    return out_bars, out_prof


class SnapshotReady(Message):
    """A step of the monitor finished (``result``: the view's snapshot, or None before the
    first data). Coalescing: a newer one replaces one still queued."""

    def __init__(self, result: ViewResult | None) -> None:
        super().__init__()
        self.result = result

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SnapshotReady)


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
        Binding("0", "toggle_overview", "Overview", id="view.overview"),
        Binding("x", "toggle_view('expirations')", "GEX by expiry", id="view.expirations"),
        Binding("m", "toggle_view('map')", "Strike × time map", id="view.map"),
        Binding("d", "toggle_change", "Change", id="view.change"),
        Binding("D", "cycle_change_window", "Change window", id="view.change_window"),
        Binding("y", "copy_levels", "Copy levels", id="levels.copy"),
        Binding("up", "expiry_cursor(-1)", "Expiry view: up", id="expview.up", show=False),
        Binding("down", "expiry_cursor(1)", "Expiry view: down", id="expview.down", show=False),
        Binding("enter", "expiry_cursor_open", "Select expiry", id="expview.open", show=False),
        Binding("up", "overview_move(-1)", "Overview: up", id="overview.up", show=False),
        Binding("down", "overview_move(1)", "Overview: down", id="overview.down", show=False),
        Binding("enter", "overview_open", "Open ticker", id="overview.open", show=False),
    ]

    # the app's view state: its watchers redraw what it changes (an App reactive that
    # repaints refreshes the whole screen: a full frame, 40–50 ms, at every tab switch)
    ticker: reactive[str] = reactive("", repaint=False, init=False)
    expiry: reactive[str] = reactive("all", repaint=False, init=False)
    metric: reactive[str] = reactive("gex", repaint=False, init=False)
    basis: reactive[str] = reactive("oi", repaint=False, init=False)
    split: reactive[bool] = reactive(False, repaint=False, init=False)
    strikes: reactive[int] = reactive(0, repaint=False, init=False)  # 0: as many as fit
    strike_pct: reactive[float] = reactive(0.0, repaint=False, init=False)
    show_profile: reactive[bool] = reactive(False, repaint=False, init=False)
    show_history: reactive[bool] = reactive(False, repaint=False, init=False)
    show_alerts: reactive[bool] = reactive(False, repaint=False, init=False)
    paused: reactive[bool] = reactive(False, repaint=False, init=False)
    show_overview: reactive[bool] = reactive(False, repaint=False, init=False)
    # strikes | expirations | map
    view_mode: reactive[str] = reactive("strikes", repaint=False, init=False)
    show_change: reactive[bool] = reactive(False, repaint=False, init=False)
    change_window: reactive[str] = reactive("5m", repaint=False, init=False)
    overview_index: reactive[int] = reactive(0, repaint=False, init=False)

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
        recordings: Path | None = None,
        compute: Compute | None = None,
    ) -> None:
        """``clock`` gives epoch seconds (tests freeze it for deterministic screens);
        ``notice`` is shown as a notification at start (e.g. "no credentials: simulated
        market"); ``alert_cmd`` runs for every alert (overrides ``[alerts] command``);
        ``recordings``: where to look for the previous session of each ticker (its closing
        levels are shown beside today's); ``compute``: where the exposure is computed (a
        thread by default; ``gextui`` gives a worker process, see
        :mod:`gextui.monitor.compute`)."""
        super().__init__()
        self.settings = settings or Settings()
        self.notice = notice
        self.alert_cmd = alert_cmd or self.settings.alerts.command
        names: list[str] = []
        for raw in tickers or self.settings.tickers:
            with contextlib.suppress(TickerError):
                names.append(ticker_name(raw))
        names = list(dict.fromkeys(names)) or list(self.settings.tickers)
        self.feed = feed
        #: the controller: every ticker's stream, book, history, alerts and status
        self.monitor = Monitor(
            feed,
            names,
            rules=self.settings.alerts,
            clock=clock,
            stale_seconds=self.settings.stale_seconds,
            subscribe_days=self.settings.subscribe_days,
            previous_close=self._previous_lookup(recordings),
            compute=compute,
        )
        self.render_loop = RenderLoop(self)
        self._clock = clock
        self._error = ""  # a display error, or a ticker that could not open
        self._error_batches = -1  # the error goes once more batches than this were applied
        self._snapshot: ExposureSnapshot | None = None
        self._rates_shown: dict[str, float] = {}  # ticker → the events/s on screen
        self._live_exps: list[date] = []
        self._center: float | None = None
        self._last_bars: BarData | None = None
        self._requested_key: tuple[object, ...] = ()
        self._step_running = False
        self._step_wanted = False
        # a tab switch paints the new ticker's last picture first; its fresh computation
        # waits until that picture is drawn (they would share the CPUs and both be late)
        self._step_held = False
        self._pending_redraw = False
        self._previous_ticker = ""
        check_keymap(self.settings.keys, self.keymap_specs())
        self._keymap = dict(self.settings.keys)
        self._chart_error = False
        self._gc_previous: tuple[int, ...] | None = None  # the GC thresholds before settle()
        self._shown_bars_key: tuple[object, ...] = ()
        self._shown_prof_key: tuple[object, ...] | None = None
        self._chart_pending: tuple[object, ...] | None = None
        self._frame_dirty = False
        self._exp_cursor: date | None = None  # the GEX-by-expiration view's cursor
        self._zero_dte: ExposureSnapshot | None = None
        self._changes_text: Text | None = None
        # counters for tests and the bench
        self.frames = 0  # repaints that changed something on screen
        self.chart_paints = 0
        self.set_reactive(GexApp.ticker, names[0] if names else "SPX")
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
        yield OverviewTable(id="overview")
        with Horizontal(id="body"):
            with Vertical(id="charts"):
                yield StrikeChart(id="strike-chart")
                yield ProfileChart(id="profile-chart")
                yield HistoryPanel(self.render_loop, id="history-panel")
            yield LevelsPanel(self.render_loop, id="levels")
        yield AlertsPanel(id="alerts-log")
        yield ReplayBar(id="replay")
        from textual.widgets import Footer

        yield Footer()

    def on_mount(self) -> None:
        gc_policy.release_large_blocks()  # before the chains' first states are copied
        if self._keymap:
            self.set_keymap(self._keymap)
        self.query_one(ReplayBar).display = self.is_replay
        self.query_one(ProfileChart).display = False
        self.query_one(HistoryPanel).display = False
        self.query_one(AlertsPanel).display = False
        self.query_one(OverviewTable).display = False
        if self.notice:
            # short: the toast sits over the chart's value axis
            self.notify(self.notice, title="gextui", severity="warning", timeout=6)
        self.set_interval(1.0 / self.settings.redraw_hz, self._tick)
        self._run_monitor()
        self._redraw()

    async def on_unmount(self) -> None:
        """Stop the streams and close the feed (the app owns the feed once it runs)."""
        self.workers.cancel_group(self, "feed")
        with contextlib.suppress(Exception):
            await self.feed.aclose()
        if self._gc_previous is not None:
            gc_policy.restore(self._gc_previous)
            self._gc_previous = None

    def on_resize(self) -> None:
        self.call_after_refresh(self._redraw)

    def _previous_lookup(
        self, root: Path | None
    ) -> Callable[[str, date], tuple[date, ExposureSnapshot] | None] | None:
        """The previous session's closing levels from the recordings under ``root``, at the
        alerts' selection (a thread calls it)."""
        if root is None:
            return None
        folder = Path(root)

        def lookup(ticker: str, day: date) -> tuple[date, ExposureSnapshot] | None:
            found = previous_close(folder, ticker, day, self.settings.alerts.expiry)
            return None if found is None else (found.day, found.snapshot)

        return lookup

    @work(group="feed", exclusive=True, exit_on_error=False)
    async def _run_monitor(self) -> None:
        """Every ticker of the watchlist streams, all the time (see :class:`Monitor`)."""
        await self.monitor.run()

    # ------------------------------------------------------------------ properties
    @property
    def tickers(self) -> list[str]:
        """The watchlist (tab order)."""
        return self.monitor.tickers

    @property
    def is_replay(self) -> bool:
        return self.feed.source is Source.REPLAY

    @property
    def book(self) -> ChainBook | None:
        """The ChainBook of the ticker on screen (None until it opened)."""
        return self.monitor.book(self.ticker)

    @property
    def snapshot(self) -> ExposureSnapshot | None:
        """The snapshot on screen."""
        return self._snapshot

    @property
    def session(self) -> FeedSession | None:
        return self.monitor.session(self.ticker)

    @property
    def snapshots_computed(self) -> int:
        return self.monitor.snapshots_computed

    @property
    def batches_applied(self) -> int:
        return self.monitor.batches_applied()

    @property
    def computing(self) -> bool:
        """A monitor step is running (tests wait for it)."""
        return self._step_running

    @property
    def chart_idle(self) -> bool:
        """No picture (the chart, the levels panel) waits to be drawn (tests and the bench
        wait for it)."""
        return self._chart_jobs_idle and not self.query_one(LevelsPanel).rendering

    @property
    def _chart_jobs_idle(self) -> bool:
        """No chart picture is asked for or waits in the render loop."""
        return self._chart_pending is None and not self.render_loop.pending("chart")

    @property
    def _step_waits_for_picture(self) -> bool:
        """A tab switch held the monitor step until its picture is drawn (_release_step)."""
        return self._step_held and self._chart_pending is not None

    @property
    def profile_size(self) -> tuple[int, int] | None:
        """The profile chart's size when it is drawn (shown, and big enough), else None."""
        if not self.show_profile:
            return None
        ps = self.query_one(ProfileChart).content_size
        return (ps.width, ps.height) if ps.width >= 10 and ps.height >= 4 else None

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
            self.view_mode,
            self.show_change,
            self.change_window,
        )

    @property
    def view_expiry(self) -> str:
        """The selection computed for the screen: the GEX-by-expiration view shows every
        expiration (``all``), whatever is selected."""
        return "all" if self.view_mode == "expirations" else self.expiry

    # ------------------------------------------------------------------ watchlist
    def switch_ticker(self, text: str) -> None:
        """Show ``text`` (adding it to the watchlist, where it starts streaming, if new);
        a name that cannot be a ticker is an error line, the screen stays."""
        try:
            name = self.monitor.add(text)
        except TickerError as exc:
            self.notify(str(exc), title="Add ticker", severity="error", timeout=8)
            return
        if name != self.ticker:
            self._previous_ticker = self.ticker
            self.ticker = name  # its watcher redraws
        else:
            self._redraw()

    def _take_notices(self) -> None:
        """Show what the monitor has to say (failed opens, feed errors, warnings)."""
        for n in self.monitor.take_notices():
            self._show_notice(n)
        if self.ticker not in self.monitor.tickers and self.monitor.tickers:
            # the ticker on screen could not open (and is gone): back to the one before
            back = self._previous_ticker
            self.ticker = back if back in self.monitor.tickers else self.monitor.tickers[0]

    def _show_notice(self, n: Notice) -> None:
        timeout = 8 if n.severity == "error" else 6
        self.notify(n.message, title=n.title, severity=n.severity, timeout=timeout)
        if n.severity == "error" and n.ticker:
            self._error = f"{n.ticker}: {n.message}"
            self._error_batches = self.monitor.batches_applied()

    # ------------------------------------------------------------------ redraw
    def _tick(self) -> None:
        """The redraw timer: a monitor step (its result repaints), and a repaint of what
        may have changed meanwhile (clock, STALE, replay bar)."""
        self._pending_redraw = False
        if not self.is_running:
            return
        self._paint()  # (first: a picture it asks for may hold the step, see _release_step)
        self._start_step()

    def request_redraw(self) -> None:
        """Redraw soon (after the current message), coalescing several requests."""
        if not self._pending_redraw:
            self._pending_redraw = True
            self.call_later(self._redraw)

    def _redraw(self) -> None:
        """A monitor step now (async) and a repaint of what is on screen now."""
        self._pending_redraw = False
        if not self.is_running:
            return
        self._paint()  # (first: a picture it asks for may hold the step, see _release_step)
        self._start_step()

    def _start_step(self) -> None:
        if self._step_running or self._step_waits_for_picture:
            self._step_wanted = True
            return
        self._step_held = False
        self._step_running = True
        self.run_worker(self._step(), group="compute", exit_on_error=False)

    async def _step(self) -> None:
        """One monitor step: the view's snapshot (computed only when something changed),
        then every other ticker's history and alerts; posts :class:`SnapshotReady`."""
        try:
            while True:
                if self._step_waits_for_picture:
                    self._step_wanted = True  # after the new ticker's picture (_release_step)
                    return
                self._step_wanted = False
                ticker, expiry = self.ticker, self.view_expiry
                result = None
                try:
                    result = await self.monitor.view(ticker, expiry, paused=self.paused)
                except ExpirySelectionError as exc:
                    self.notify(str(exc), severity="error")
                    self.expiry = "all"
                except Exception as exc:
                    self._error = f"exposure error: {exc!r}"
                    self.notify(f"{exc!r}", title="exposure computation failed", severity="error")
                # the screen first: the other tickers' samples come after it is painted
                self.post_message(SnapshotReady(result))
                if self._view_moved(ticker, expiry):
                    continue  # a tab or expiry switch meanwhile: that view next, samples later
                observed = self.monitor.observations
                try:
                    # the other tickers' samples yield to a tab or expiry switch too
                    await self.monitor.observe(
                        eager=(ticker,),
                        interrupt=functools.partial(self._view_moved, ticker, expiry),
                        screen=expiry,  # a tab switch shows this selection at once
                    )
                except Exception as exc:
                    self.log.error(f"observation failed: {exc!r}")
                if self.monitor.observations != observed:
                    # new samples (history, overview rows) and maybe alerts to show
                    self.post_message(SnapshotReady(result))
                if not self._step_wanted and not self._view_moved(ticker, expiry):
                    break
        finally:
            self._step_running = False

    def _view_moved(self, ticker: str, expiry: str) -> bool:
        """Whether the screen shows another ticker or expiry than ``ticker``/``expiry``."""
        return (self.ticker, self.view_expiry) != (ticker, expiry)

    def on_snapshot_ready(self, message: SnapshotReady) -> None:
        result = message.result
        if result is not None and (result.ticker, result.expiry) == (
            self.ticker,
            self.view_expiry,
        ):
            if result.snapshot is not self._snapshot:
                self._snapshot = result.snapshot
                self._zero_dte = result.zero_dte
                self._live_exps = list(result.expirations)
        elif result is None and self.book is None:
            self._snapshot = None
        for alert in self.monitor.take_alerts():
            self._deliver(alert)
        self._take_notices()
        self._paint()

    def _paint(self) -> None:
        if not self.is_running:
            return
        told = self._error and self._error_batches >= 0
        if told and self.monitor.batches_applied() > self._error_batches:
            self._error, self._error_batches = "", -1  # told once, then gone
        self._frame_dirty = False
        try:
            with self.batch_update():
                self._paint_text()
                if not self.show_overview:
                    self._request_charts()
            if self._frame_dirty:
                self.frames += 1  # a repaint that changed something on screen
        except Exception as exc:  # never a traceback over the screen
            self._error = f"display error: {exc!r}"
            self.log.error(f"redraw failed: {exc!r}")

    def _set(self, widget: Any, data: object) -> None:
        """Give ``widget`` new data (it renders itself; equal data repaints nothing)."""
        if widget.data != data:
            widget.data = data
            self._frame_dirty = True

    def _status_info(self) -> StatusInfo:
        ticker = self.ticker
        st = self.monitor.status(ticker)
        snap = self._snapshot if self._snapshot and self._snapshot.ticker == ticker else None
        book = self.book
        status = st.feed
        if status is not None and st.ended:
            status = replace(status, reason=st.ended)
        pending = f"opening {ticker}…" if st.phase is TickerPhase.OPENING else ""
        last = None
        if st.last_batch_at is not None:
            if st.source in (Source.SIMULATED, Source.REPLAY):
                last = st.as_of  # the feed's own clock, like the market clock beside it
            else:
                last = datetime.fromtimestamp(st.last_batch_at).astimezone()
        # the top-line clock: the newest event time of the whole watchlist (never goes back
        # on a tab switch); frozen with the picture while paused
        clock = snap.as_of if (snap is not None and self.paused) else self.monitor.market_clock
        error = self._error or st.error
        if st.recorder_error:
            error = f"{error}  {st.recorder_error}".strip()
        return StatusInfo(
            origin=st.origin,
            ticker=ticker,
            spot=snap.spot if snap is not None else (book.spot if book is not None else None),
            prev_close=snap.prev_close if snap is not None else None,
            source=st.source,
            expiry=self.expiry,
            n_expirations=len(snap.expirations) if snap is not None else 0,
            as_of=clock if book is not None else None,
            status=status,
            last_update=last,
            stale_for=st.stale_for,
            paused=self.paused,
            pending=pending,
            recording=st.recorded_bytes,
            error=error,
        )

    def _paint_text(self) -> None:
        width = self.size.width
        colors = self.settings.colors
        self._set(self.query_one(StatusLine), StatusData(self._status_info(), colors, width))
        opening = [t for t in self.tickers if self.monitor.phase(t) is TickerPhase.OPENING]
        pending = opening[0] if opening else ""
        self._set(
            self.query_one(TickerTabs), TabsData(tuple(self.tickers), self.ticker, pending, width)
        )
        if self.show_overview:
            self._paint_overview(width)
            return
        snap_now = self._snapshot
        today = ny_date(snap_now.as_of) if snap_now is not None else None
        self._set(
            self.query_one(ExpiryBar),
            ExpiryData(self.expiry, tuple(self._live_exps), width, today),
        )
        snap = self._snapshot if self._snapshot and self._snapshot.ticker == self.ticker else None
        panel = self.query_one(LevelsPanel)
        eps = self._shown_rate(self.ticker)
        warming = snap is not None and self.monitor.status(self.ticker).warming
        zero_dte = self._zero_dte if snap is not None else None
        previous = self.monitor.previous(self.ticker) if snap is not None else None
        changes = self._changes_text if self.show_change and self.view_mode == "strikes" else None
        self._set(
            panel,
            LevelsData(
                id(snap),
                eps,
                colors,
                panel.content_size.width or 32,
                warming,
                snapshot=snap,
                zero_dte_id=id(zero_dte),
                zero_dte=zero_dte,
                changes=changes,
                previous_id=id(previous),
                previous=previous,
            ),
        )
        if self.show_history:
            self._paint_history()
        if self.show_alerts:
            self._paint_alerts()
        if self.is_replay:
            self._paint_replay(width)

    def _shown_rate(self, ticker: str) -> float | None:
        """The events/s figure of the Levels panel: it changes when the rate moved by more
        than :data:`RATE_STEP` (a rate that wobbles by a few events repaints nothing)."""
        rate = self.monitor.events_per_second(ticker)
        if rate is None:
            self._rates_shown.pop(ticker, None)
            return None
        shown = self._rates_shown.get(ticker)
        if shown is None or abs(rate - shown) > RATE_STEP * max(shown, 1.0):
            shown = self._rates_shown[ticker] = round(rate, -1)
        return shown

    def overview_rows(self) -> list[Any]:
        """One row per watched ticker (spot, net GEX, levels, regime, coverage, status)."""
        rows = []
        for name in self.tickers:
            st = self.monitor.status(name)
            if st.error:
                state = st.error.removeprefix(f"{name}: ")
            elif st.phase is TickerPhase.OPENING:
                state = "opening…"
            elif st.feed is not None:
                state = st.feed.state.value
                if st.feed.progress is not None:
                    state = f"{state} {st.feed.progress:.0%}"
            else:
                state = st.phase.value
            if st.warming and st.phase is TickerPhase.STREAMING:
                state = f"{state} · warming up"
            snap = self.monitor.latest(name)
            shown = self._snapshot
            if (
                name == self.ticker
                and shown is not None
                and self.expiry == self.monitor.rules.expiry
            ):
                snap = shown  # the same numbers as the top line (computed more often)
            rows.append(overview_row(name, snap, state))
        return rows

    def _paint_overview(self, width: int) -> None:
        table = self.query_one(OverviewTable)
        rows = self.overview_rows()
        index = min(self.overview_index, max(len(rows) - 1, 0))
        text = render_overview(rows, max(width - 4, 20), self.settings.colors, selected=index)
        self._set(table, text)
        retitle(
            table,
            f"Overview · {len(rows)} tickers · ↑/↓ select · enter open · 0 back · "
            f"levels at the alerts' selection ({self.monitor.rules.expiry})",
        )

    def _paint_history(self) -> None:
        panel = self.query_one(HistoryPanel)
        retitle(panel, f"{self.ticker} history · levels and net GEX · New York time")
        panel.show_history(self.monitor.history(self.ticker), self.settings.colors)

    def _paint_alerts(self) -> None:
        panel = self.query_one(AlertsPanel)
        panel.show_alerts(self.monitor.log, self.settings.colors, self.monitor.rules)

    def _paint_replay(self, width: int) -> None:
        control = self.monitor.replay(self.ticker)
        bar = self.query_one(ReplayBar)
        if control is None:
            self._set(bar, ReplayData(None, None, None, 1.0, False, width, available=False))
            return
        data = ReplayData(
            control.position,
            control.start_time,
            control.end_time,
            float(control.speed),
            control.paused,
            width,
        )
        self._set(bar, data)

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
        retitle(prof, "GEX profile: net GEX vs spot · │ spot · │ flip")
        snap = self._snapshot
        empty_note = None
        if snap is not None and snap.ticker == self.ticker and not snap.expirations:
            # e.g. 0DTE after 16:00, a date with no options: say so, not "waiting for data"
            with contextlib.suppress(ExpirySelectionError):
                empty_note = selection_note(snap.expiry, self._live_exps, snap.as_of)
        if snap is None or snap.ticker != self.ticker or empty_note:
            st = self.monitor.status(self.ticker)
            msg = (
                f"opening {self.ticker}…"
                if st.phase is TickerPhase.OPENING
                else "waiting for data…"
            )
            if empty_note:
                msg = empty_note.replace("; all figures are zero", "")
            error = self._error or st.error
            if error:
                msg = error
            retitle(chart, self._chart_title())
            if chart.text.plain != msg or chart.painted:
                chart.show(Text(msg, style="dim"))
                self._frame_dirty = True
            chart.painted, chart.painted_as_of = (), None
            self._requested_key = ()
            self._shown_bars_key = ()
            return
        size = chart.content_size
        if size.width < 10 or size.height < 4:
            return
        if self.view_mode != "strikes":
            self._request_view(snap, chart, size.width, size.height)
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
        previous = None
        self._changes_text = None
        if self.show_change:
            history = self.monitor.strike_history(self.ticker, self.expiry)
            sample = earlier_sample(history, snap.as_of, self.change_window)
            width = self.query_one(LevelsPanel).content_size.width or 32
            previous, self._changes_text = change_inputs(
                snap,
                sample,
                self.settings.colors,
                width,
                self.change_window,
                metric=self.metric,
                basis=self.basis,
            )
        bars = bar_data(
            snap,
            metric=self.metric,
            basis=self.basis,
            split=self.split,
            count=self.strikes,
            pct=self.strike_pct,
            center=self._center,
            rows=bar_rows(size.height),
            previous=previous,
        )
        self._last_bars = bars
        retitle(chart, self._chart_title(bars.span), self._legend_markup(bars.legend))
        psize = self.profile_size
        colors = self.settings.colors
        view = self.view_state
        # what the picture looks like at cell resolution: unchanged → no re-render
        visual = bars.visual_key(size.width)
        pvisual = profile_key(snap, *psize) if psize is not None else None
        key = (visual, pvisual, view, (size.width, size.height), psize, colors)
        if key == self._requested_key:
            idle = self._chart_jobs_idle
            if (chart.painted, chart.painted_as_of) != (view, snap.as_of) and idle:
                # the same picture is already on screen: it shows this snapshot too
                chart.painted, chart.painted_as_of = view, snap.as_of
            return
        self._requested_key = key
        self._frame_dirty = True
        job = ChartJob(
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
        bars_needed = job.bars_key != self._shown_bars_key
        prof_needed = job.profile_key is not None and job.profile_key != self._shown_prof_key
        self._chart_pending = key
        # the bars first, the profile after them (its own slot: an unchanged profile costs
        # nothing); a tab switch shows the new ticker's bars without waiting for its profile
        self.render_loop.submit(
            "chart",
            partial(_render_job, job, bars_needed, False),
            partial(self._chart_done, job, part="bars" if prof_needed else "all"),
            failed=self._chart_failed,
        )
        if not prof_needed:
            self.render_loop.cancel("profile")  # an older request's profile: not any more
        else:
            self.render_loop.submit(
                "profile",
                partial(_render_job, job, False, True),
                partial(self._chart_done, job, part="profile"),
                failed=self._chart_failed,
            )

    def _request_view(
        self, snap: ExposureSnapshot, chart: StrikeChart, width: int, height: int
    ) -> None:
        """The GEX-by-expiration view or the strike × time map, in the chart's place."""
        colors = self.settings.colors
        view = self.view_state
        if self.view_mode == "expirations":
            exps = [e.expiration for e in snap.by_expiration]
            if self._exp_cursor not in exps:
                chosen = next((e for e in exps if e.isoformat() == self.expiry), None)
                self._exp_cursor = chosen or (exps[0] if exps else None)
            retitle(
                chart,
                f"{self.ticker} GEX by expiration · all {len(exps)} · ↑/↓ · enter selects · x back",
                "",
            )
            key: tuple[object, ...] = (
                "expirations",
                id(snap),
                self._exp_cursor,
                self.split,
                width,
                height,
                colors,
            )
            job = expirations_job(
                snap, width, height, colors, split=self.split, selected=self._exp_cursor
            )
        else:
            history = self.monitor.strike_history(self.ticker, self.monitor.rules.expiry)
            samples = history.samples if history is not None else []
            lo, hi = self._map_range(snap)
            sel = self.monitor.rules.expiry
            retitle(
                chart,
                f"{self.ticker} net GEX by strike × time · {len(samples)} min · "
                f"alerts' expiry {sel} · m back",
                "",
            )
            last = samples[-1].as_of if samples else None
            key = ("map", len(samples), last, lo, hi, width, height, colors)
            job = map_job(samples, lo, hi, width, height, colors, title=f"{self.ticker} net GEX")
        key = (*key, view)
        if key == self._requested_key:
            idle = self._chart_jobs_idle
            if chart.painted != view and idle:
                chart.painted, chart.painted_as_of = view, snap.as_of
            return
        self._requested_key = key
        self._chart_pending = key

        def done(result: Rendered) -> None:
            if self._chart_pending == key:
                self._chart_pending = None
            chart.show(*result)
            chart.painted, chart.painted_as_of = view, snap.as_of
            self._shown_bars_key = ()
            self.chart_paints += 1
            self._release_step()

        self.render_loop.submit("chart", job, done, failed=self._chart_failed)

    def _map_range(self, snap: ExposureSnapshot) -> tuple[float, float]:
        """The strikes of the map: those of the strike chart's view, else spot ± 3 %."""
        bars = self._last_bars
        if bars is not None and bars.strikes:
            return float(bars.strikes[0]), float(bars.strikes[-1])
        spot = snap.spot if snap.spot is not None and math.isfinite(snap.spot) else None
        if spot is None:
            return 0.0, math.inf
        return spot * 0.97, spot * 1.03

    def _chart_done(
        self,
        job: ChartJob,
        result: tuple[Rendered | None, Rendered | None],
        *,
        part: str = "all",
    ) -> None:
        """A picture of ``job`` drawn. ``part``: "all" (bars and profile, each when it
        changed), "bars" (the profile follows) or "profile" (after the bars)."""
        bars, prof = result
        chart = self.query_one(StrikeChart)
        pchart = self.query_one(ProfileChart)
        last = part != "bars"
        if last and self._chart_pending == job.key:
            self._chart_pending = None
        if part == "profile" and self._requested_key != job.key:
            return  # drawn for an older request: a newer picture is on its way
        with self.batch_update():
            if part != "profile":
                if bars is not None:
                    chart.show(*bars)
                    self._shown_bars_key = job.bars_key
                chart.painted, chart.painted_as_of = job.view, job.snapshot.as_of
            if prof is not None:
                pchart.show(*prof)
                self._shown_prof_key = job.profile_key
            if job.profile_key is not None and last:
                pchart.painted = job.view
            elif not last and pchart.painted[:1] != job.view[:1]:
                # another ticker's profile must not stand beside these bars: blank until
                # this one's is drawn
                pchart.show(Text(""), [])
                self._shown_prof_key = None
        if not last:
            return
        self.chart_paints += 1
        if self._gc_previous is None:
            self._gc_previous = gc_policy.settle()  # see gc_policy: short GC passes
        self._release_step()

    def _chart_failed(self, exc: BaseException) -> None:
        self.log.error(f"chart failed: {exc!r}")
        self.query_one(StrikeChart).show(Text(f"chart error: {exc!r}", style="red"))
        self._shown_bars_key = ()
        self._chart_pending = None
        self._requested_key = ()
        self._release_step()

    # ------------------------------------------------------------------ watchers
    def watch_ticker(self, old: str, new: str) -> None:
        self._center = None
        self._last_bars = None
        # the ticker streams already: its last snapshot (if any) is shown at once, the
        # step started below brings it up to date
        self._snapshot = None
        self._zero_dte = None
        self._live_exps = []
        w_view = self.monitor.last_view(new, self.view_expiry)
        if w_view is not None:
            self._snapshot = w_view.snapshot
            self._zero_dte = w_view.zero_dte
            self._live_exps = list(w_view.expirations)
            self._step_held = True  # the picture first (see _release_step)
        self._redraw()

    def _release_step(self) -> None:
        """After a picture is drawn: the monitor step held back for it starts now."""
        if self._step_held and self._chart_pending is None:
            self._step_held = False
            if self._step_wanted and not self._step_running:
                self._start_step()

    def watch_expiry(self) -> None:
        # history and alerts follow the fixed [alerts] expiry selection; the subscription
        # covers every expiration a view may need: nothing to reset or resubscribe
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

    def watch_show_overview(self, shown: bool) -> None:
        self.query_one(OverviewTable).display = shown
        self.query_one("#body").display = not shown
        self.query_one(ExpiryBar).display = not shown
        if shown and self.ticker in self.tickers:
            self.overview_index = self.tickers.index(self.ticker)
        self._requested_key = ()
        self._redraw()

    def watch_overview_index(self) -> None:
        self._redraw()

    def watch_view_mode(self) -> None:
        self._requested_key = ()
        # the expiration view computes at "all": its snapshot, if one was computed already
        last = self.monitor.last_view(self.ticker, self.view_expiry)
        self._snapshot = last.snapshot if last is not None else None
        self._redraw()

    def watch_show_change(self) -> None:
        self._requested_key = ()
        self._redraw()

    watch_change_window = watch_show_change

    # ------------------------------------------------------------------ alerts
    def _deliver(self, alert: Alert) -> None:
        """Notification, terminal bell (``[alerts] bell``) and the alert command."""
        self.notify(
            alert.message,
            title=f"Alert: {alert.ticker} {alert.kind.label}",
            severity="warning",
            timeout=6,
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
        if action in ("overview_move", "overview_open"):
            return self.show_overview and len(self.screen_stack) == 1
        if action in ("expiry_cursor", "expiry_cursor_open"):
            modal = len(self.screen_stack) > 1
            return self.view_mode == "expirations" and not self.show_overview and not modal
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
        if self.monitor.reload(self.ticker):
            self.notify(f"reloading {self.ticker} from its file", timeout=3)

    def action_next_ticker(self) -> None:
        self._step_ticker(1)

    def action_prev_ticker(self) -> None:
        self._step_ticker(-1)

    def _step_ticker(self, step: int) -> None:
        if len(self.tickers) < 2:
            return
        if self.show_overview:
            self.action_overview_move(step)
            return
        i = self.tickers.index(self.ticker) if self.ticker in self.tickers else 0
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
        i = self.tickers.index(name) if name in self.tickers else 0
        self.monitor.remove(name)  # its stream ends: the live feed unsubscribes it
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

    # views ------------------------------------------------------------
    def action_toggle_view(self, mode: str) -> None:
        """Show the GEX-by-expiration view or the strike × time map (again: the strikes)."""
        self.view_mode = "strikes" if self.view_mode == mode else mode

    def action_toggle_change(self) -> None:
        self.view_mode = "strikes"
        self.show_change = not self.show_change

    def action_cycle_change_window(self) -> None:
        self.change_window = next_window(self.change_window)
        if not self.show_change:
            self.show_change = True
        self.notify(f"change over {self.change_window}", title="Change", timeout=3)

    def action_expiry_cursor(self, step: int) -> None:
        snap = self._snapshot
        if snap is None or not snap.by_expiration:
            return
        exps = [e.expiration for e in snap.by_expiration]
        i = exps.index(self._exp_cursor) if self._exp_cursor in exps else 0
        self._exp_cursor = exps[min(max(i + step, 0), len(exps) - 1)]
        self._requested_key = ()
        self._redraw()

    def action_expiry_cursor_open(self) -> None:
        if self._exp_cursor is not None:
            self.view_mode = "strikes"
            self.expiry = self._exp_cursor.isoformat()

    def levels_text_for_clipboard(self) -> str:
        """The key levels of the screen, one ``price,label`` line each (as
        ``snapshot --levels --csv``)."""
        snap = self._snapshot
        if snap is None:
            return ""
        return "\n".join(f"{price:.2f},{label}" for price, label in levels_rows(snap))

    def action_copy_levels(self) -> None:
        """Copy the levels to the clipboard (OSC 52: works over SSH, in terminals that
        allow it)."""
        text = self.levels_text_for_clipboard()
        if not text:
            self.notify("no levels yet", title="Copy levels", severity="warning", timeout=3)
            return
        self.copy_to_clipboard(text)
        n = text.count("\n") + 1
        self.notify(f"{n} levels of {self.ticker} copied (price,label)", title="Copy", timeout=4)

    # overview ------------------------------------------------------------
    def action_toggle_overview(self) -> None:
        self.show_overview = not self.show_overview

    def action_overview_move(self, step: int) -> None:
        if self.tickers:
            self.overview_index = (self.overview_index + step) % len(self.tickers)

    def action_overview_open(self) -> None:
        if self.tickers:
            name = self.tickers[min(self.overview_index, len(self.tickers) - 1)]
            self.show_overview = False
            self.switch_ticker(name)

    # replay (every replayed ticker of the watchlist moves together) ---------------------
    def action_replay_toggle(self) -> None:
        if self.monitor.toggle_replay(self.ticker) is not None:
            self._redraw()

    def action_seek(self, seconds: int) -> None:
        for failure in self.monitor.seek(seconds):
            self.notify(failure, severity="warning")
        self._redraw()

    def action_speed(self, step: int) -> None:
        control = self.monitor.replay(self.ticker)
        if control is None:
            return
        current = float(control.speed)
        i = min(range(len(SPEEDS)), key=lambda j: abs(SPEEDS[j] - current))
        i = min(max(i + step, 0), len(SPEEDS) - 1)
        for failure in self.monitor.set_speed(SPEEDS[i]):
            self.notify(failure, severity="warning")
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
            elif b.id.startswith(("overview.", "expview.")):
                # only while the overview / the GEX-by-expiration view is shown
                modes = frozenset({b.id.partition(".")[0]})
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
