"""Pilot tests of the monitor with a deterministic fake feed (no wall-clock assertions)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from textual.command import CommandPalette

from gextui.core.events import EventBatch
from gextui.core.exposure import compute_exposure
from gextui.feeds.base import FeedError, FeedState, FeedStatus
from gextui.settings import Settings
from gextui.ui.app import GexApp
from gextui.ui.screens import ExpiryPicker, HelpScreen, TickerPrompt
from gextui.ui.widgets import (
    ExpiryBar,
    LevelsPanel,
    ProfileChart,
    ReplayBar,
    StatusLine,
    StrikeChart,
    TickerTabs,
)

from .fakes import (
    START,
    FakeFeed,
    FakeReplayFeed,
    FakeReplaySession,
    FakeSession,
    make_batch,
)
from .helpers import frozen_clock, settle, text_of

SIZE = (120, 40)


def make_app(
    tickers: list[str] | None = None, feed: FakeFeed | None = None, **kw: object
) -> GexApp:
    return GexApp(
        feed or FakeFeed(),
        tickers or ["SPX", "SPY", "QQQ"],
        settings=kw.pop("settings", None) or Settings(),  # type: ignore[arg-type]
        clock=frozen_clock,
        **kw,  # type: ignore[arg-type]
    )


async def test_startup_shows_chain_levels_and_status() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        book = app.book
        assert book is not None and book.version == 3
        expected = compute_exposure(book, "all")
        assert expected.zero_gamma is not None
        levels = text_of(app.query_one(LevelsPanel))
        assert f"{expected.zero_gamma:,.2f}" in levels
        assert f"{expected.call_wall:,.0f}" in levels
        assert f"{expected.put_wall:,.0f}" in levels
        assert "positive γ" in levels or "negative γ" in levels
        status = text_of(app.query_one(StatusLine), 200)
        assert "SPX" in status and "SIMULATED" in status
        assert "▲" in status  # spot above the previous close
        assert "2026-01-05 10:30:02 ET" in status  # the book's as-of time, New York
        assert "● live" in status and "↻ 10:30:02" in status
        chart = text_of(app.query_one(StrikeChart), 120)
        assert "S" in chart and "6,0" not in chart  # strike labels are plain numbers
        assert str(app.query_one(StrikeChart).border_title).startswith("SPX GEX")
        tabs = text_of(app.query_one(TickerTabs))
        assert "1 SPX" in tabs and "2 SPY" in tabs and "3 QQQ" in tabs
        bar = text_of(app.query_one(ExpiryBar), 120)
        for label in ("0DTE", "next", "week", "month", "all", "ex-next", "Jan05", "Jan16"):
            assert label in bar


async def test_tab_and_number_keys_switch_ticker_and_every_ticker_streams() -> None:
    feed = FakeFeed()
    app = make_app(feed=feed)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        # the whole watchlist streams from the start: one session each, never reopened
        assert sorted(feed.opened) == ["QQQ", "SPX", "SPY"]
        spx_book = app.book
        for name in ("SPY", "QQQ"):
            book = app.monitor.book(name)
            assert book is not None and book.version == feed.batches  # off screen, all applied
        await pilot.press("tab")
        assert app.ticker == "SPY"
        await settle(pilot, app)
        assert app.snapshot is not None and app.snapshot.ticker == "SPY"
        assert "SPY" in text_of(app.query_one(StatusLine), 200)
        await pilot.press("shift+tab")
        assert app.ticker == "SPX"
        assert app.book is spx_book
        await settle(pilot, app)
        await pilot.press("3")
        await settle(pilot, app)
        assert app.ticker == "QQQ"
        await pilot.press("shift+tab")
        await settle(pilot, app)
        assert app.ticker == "SPY"
        assert sorted(feed.opened) == ["QQQ", "SPX", "SPY"]
        assert not any(s._closed.is_set() for s in feed.sessions)


async def test_add_ticker_with_t() -> None:
    app = make_app(["SPX"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("t")
        assert isinstance(app.screen, TickerPrompt)
        await pilot.press("q", "q", "q", "enter")
        await settle(pilot, app)
        assert app.tickers == ["SPX", "QQQ"]
        assert app.ticker == "QQQ"
        assert "2 QQQ" in text_of(app.query_one(TickerTabs))


async def test_unknown_ticker_notifies_and_stays() -> None:
    app = make_app(["SPX", "SPY"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("t", "z", "z", "z", "enter")
        for _ in range(20):
            await pilot.pause(0.01)
        assert app.ticker == "SPX"
        assert app.tickers == ["SPX", "SPY"]
        messages = [n.message for n in app._notifications]
        assert any("ZZZ" in m for m in messages)
        assert "ZZZ" in text_of(app.query_one(StatusLine), 200)
        assert app.book is not None and app.snapshot is not None


async def test_open_error_keeps_the_previous_ticker_and_the_other_streams() -> None:
    feed = FakeFeed()
    app = make_app(["SPX", "SPY"], feed=feed)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        feed.fail_with = FeedError("tastytrade: bad credentials")
        await pilot.press("t", "q", "q", "q", "enter")  # a known ticker that fails to open
        for _ in range(40):
            await pilot.pause(0.01)
        assert app.tickers == ["SPX", "SPY"]  # typed in, failed: no tab, back to SPX
        assert app.ticker == "SPX"
        assert any("bad credentials" in n.message for n in app._notifications)
        assert "bad credentials" in text_of(app.query_one(StatusLine), 200)
        # the other sessions still stream (never closed)
        assert not any(s._closed.is_set() for s in feed.sessions)


async def test_close_ticker_with_w() -> None:
    app = make_app(["SPX", "SPY"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("w")
        await settle(pilot, app)
        assert app.tickers == ["SPY"]
        assert app.ticker == "SPY"
        await pilot.press("w")  # the last one stays
        await pilot.pause()
        assert app.tickers == ["SPY"]


async def test_expiry_step_and_picker() -> None:
    feed = FakeFeed()
    app = make_app(["SPX"], feed=feed)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert app.expiry == "all"
        await pilot.press("right_square_bracket")
        assert app.expiry == "ex-next"
        await pilot.press("right_square_bracket")
        assert app.expiry == "2026-01-05"
        await settle(pilot, app)
        assert app.snapshot is not None
        assert app.snapshot.expirations == (app.snapshot.expirations[0],)
        assert "exp 2026-01-05" in text_of(app.query_one(StatusLine), 200)
        await pilot.press("left_square_bracket", "left_square_bracket", "left_square_bracket")
        assert app.expiry == "month"
        await pilot.pause(0.05)
        # the subscription covers every view: all expirations, asked once, never narrowed
        assert feed.sessions[-1].expiration_hints == [None]
        await pilot.press("e")
        assert isinstance(app.screen, ExpiryPicker)
        choices = app.expiry_choices()
        assert any("2026-01-16" in label and "$" in label for _, label in choices)
        await pilot.press("up", "enter")  # from "month" up to "week"
        assert app.expiry == "week"
        await pilot.press("e", "escape")
        assert app.expiry == "week"


async def test_view_keys() -> None:
    app = make_app(["SPX"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        chart = app.query_one(StrikeChart)
        await pilot.press("v")
        assert app.split is True
        await settle(pilot, app)
        assert "calls vs puts" in str(chart.border_title)
        assert "calls" in str(chart.border_subtitle)
        await pilot.press("o")
        assert app.basis == "volume"
        await pilot.press("g")
        assert app.metric == "dex"
        await settle(pilot, app)
        assert "DEX" in str(chart.border_title) and "volume" in str(chart.border_title)
        await pilot.press("g", "g", "g")
        assert app.metric == "gex"
        assert app.strikes == 0  # as many as fit, one per row
        before = app._shown_strikes()
        await pilot.press("plus")
        assert app.strikes > before
        await pilot.press("minus", "minus")
        assert app.strikes < before
        mid = app.strikes
        await pilot.press("full_stop")
        assert app.strikes > mid
        await pilot.press("comma")
        assert app.strikes == mid
        await settle(pilot, app)
        assert f"{app.strikes} strikes" in str(chart.border_title)
        await pilot.press("c")
        assert app.snapshot is not None and app._center == app.snapshot.spot
        await pilot.press("f")
        assert app.show_profile is True
        await settle(pilot, app)
        profile = app.query_one(ProfileChart)
        assert profile.display and profile.painted == app.view_state
        assert "spot" in str(profile.border_title)
        await pilot.press("f")
        assert not profile.display


async def test_pause_freezes_the_screen() -> None:
    feed = FakeFeed()
    app = make_app(["SPX"], feed=feed)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("p")
        assert app.paused
        frozen = app.snapshot
        book = app.book
        assert book is not None and frozen is not None
        book.apply(make_batch("SPX", book.instruments, 40, full=False))
        for _ in range(30):  # several redraw periods
            await pilot.pause(0.01)
        assert app.snapshot is frozen
        status = text_of(app.query_one(StatusLine), 200)
        assert "PAUSED" in status
        assert "10:30:02 ET" in status  # the frozen picture's time, not the book's 10:30:40
        assert "PAUSED" in str(app.query_one(StrikeChart).border_title)
        await pilot.press("p")
        await settle(pilot, app)
        assert app.snapshot is not frozen
        assert app.snapshot is not None and app.snapshot.as_of == book.as_of


async def test_quit_key() -> None:
    app = make_app(["SPX"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_help_screen_and_palette() -> None:
    app = make_app(["SPX", "SPY"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        md = app.keys_markdown()
        for binding_id in ("ticker.next", "expiry.pick", "view.metric", "app.pause"):
            assert binding_id in md
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        titles = [t for t, _, _ in app.palette_commands()]
        for t in ("Pause", "Profile", "GEX/DEX/VEX/CEX", "Ticker: SPY", "Expiry: 0DTE"):
            assert t in titles
        assert "Expiry: 2026-01-16" in titles
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press("escape")
        # a palette command runs its action
        dict((t, cb) for t, _, cb in app.palette_commands())["Ticker: SPY"]()
        await settle(pilot, app)
        assert app.ticker == "SPY"


async def test_recorder_size_in_top_line() -> None:
    app = make_app(["SPX"], feed=FakeFeed(recorder=True))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert "● REC 1.2 MB" in text_of(app.query_one(StatusLine), 200)


async def test_keymap_from_settings() -> None:
    settings = Settings(keys={"view.profile": "z"})
    app = make_app(["SPX"], settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("z")
        assert app.show_profile
        assert "`z`" in app.keys_markdown()


class BrokenSession(FakeSession):
    async def events(self) -> AsyncIterator[EventBatch]:
        yield make_batch("SPX", self.chain.instruments, 0, full=True)
        raise RuntimeError("socket exploded")


class BrokenFeed(FakeFeed):
    async def open(self, ticker: str) -> FakeSession:
        self.opened.append(ticker)
        s = BrokenSession(ticker, 1)
        self.sessions.append(s)
        return s


async def test_unexpected_worker_error_is_a_notification() -> None:
    app = make_app(["SPX"], feed=BrokenFeed(batches=1))
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(30):
            await pilot.pause(0.01)
        assert app.is_running
        assert any("socket exploded" in n.message for n in app._notifications)
        assert "socket exploded" in text_of(app.query_one(StatusLine), 200)
        assert app.book is not None and app.book.version == 1


async def test_replay_keys() -> None:
    feed = FakeReplayFeed()
    app = make_app(["SPX"], feed=feed)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, version=1)
        session = app.session
        assert isinstance(session, FakeReplaySession)
        bar = app.query_one(ReplayBar)
        assert bar.display
        assert "▶ playing" in text_of(bar, 120)
        await pilot.press("space")
        assert session.paused
        assert "⏸ paused" in text_of(bar, 120)
        await pilot.press("space")
        assert not session.paused
        first_book = app.book
        await pilot.press("right")
        assert session.position == session.start_time + timedelta(minutes=1)
        await settle(pilot, app, version=1)
        assert app.book is not first_book  # reset batch: a fresh book
        await pilot.press("shift+right")
        assert session.position == session.start_time + timedelta(minutes=11)
        await pilot.press("left", "shift+left")
        assert session.position == session.start_time
        strikes = app.strikes
        await pilot.press("plus")
        assert session.speed == 2.0 and app.strikes == strikes
        await pilot.press("minus", "minus")
        assert session.speed == 0.5
        await pilot.press("full_stop")
        assert app.strikes > strikes
        assert "0.5×" in text_of(bar, 120)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_layout_sizes_fit(size: tuple[int, int]) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        chart = app.query_one(StrikeChart)
        levels = app.query_one(LevelsPanel)
        assert chart.size.width >= 40 and chart.size.height >= 10
        assert levels.region.right <= size[0]
        assert chart.region.right <= levels.region.x
        # the levels panel is fully visible
        assert "Events/s" in text_of(levels)


class Clock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


async def test_stale_mark_and_events_per_second() -> None:
    from .helpers import FROZEN

    clock = Clock(FROZEN)
    app = GexApp(FakeFeed(batches=3), ["SPX"], settings=Settings(stale_seconds=10), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert "STALE" not in text_of(app.query_one(StatusLine), 200)
        clock.now += 15
        app._redraw()
        await pilot.pause()
        assert "STALE 15s" in text_of(app.query_one(StatusLine), 200)


class ProgressSession(FakeSession):
    @property
    def status(self) -> FeedStatus:
        return FeedStatus(FeedState.CONNECTING, "subscribing", at=START, progress=0.4)


class ProgressFeed(FakeFeed):
    async def open(self, ticker: str) -> FakeSession:
        s = ProgressSession(ticker, 1)
        self.sessions.append(s)
        return s


async def test_status_reason_and_progress() -> None:
    app = make_app(["SPX"], feed=ProgressFeed(batches=1))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, version=1)
        status = text_of(app.query_one(StatusLine), 200)
        assert "connecting" in status and "subscribing 40 %" in status


async def test_replay_end_of_recording_waits_for_a_seek() -> None:
    feed = FakeReplayFeed()
    app = make_app(["SPX"], feed=feed)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, version=1)
        session = app.session
        assert isinstance(session, FakeReplaySession)
        session.end_events = True  # the recording is over
        session._wake.set()
        for _ in range(20):
            await pilot.pause(0.01)
        assert "end of recording" in text_of(app.query_one(StatusLine), 200)
        assert app.session is session  # kept open: a seek plays on
        session.end_events = False
        await pilot.press("left")
        await settle(pilot, app, version=1)
        assert "end of recording" not in text_of(app.query_one(StatusLine), 200)


async def test_colorblind_palette_colours_the_bars() -> None:
    from rich.style import Style

    from gextui.settings import Colors

    settings = Settings(colors=Colors.from_theme("colorblind"))
    app = make_app(["SPX"], settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        text = app.query_one(StrikeChart).text
        colours = set()
        for span in text.spans:
            style = span.style if isinstance(span.style, Style) else Style.parse(span.style)
            if style.color is not None and style.color.triplet is not None:
                colours.add(style.color.triplet.hex)
        assert "#56b4e9" in colours and "#e69f00" in colours  # blue / orange
        assert "#2ecc71" not in colours  # no green


async def test_mouse_clicks_on_tabs_and_expiry_bar() -> None:
    app = make_app(["SPX", "SPY"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        tabs = app.query_one(TickerTabs)
        plain = text_of(tabs, 120)
        await pilot.click(TickerTabs, offset=(1 + plain.index("SPY"), 0))
        await settle(pilot, app)
        assert app.ticker == "SPY"
        bar = text_of(app.query_one(ExpiryBar), 120)
        await pilot.click(ExpiryBar, offset=(1 + bar.index("week"), 0))
        assert app.expiry == "week"
        await pilot.click(ExpiryBar, offset=(1 + bar.index("Jan16"), 0))
        assert app.expiry == "2026-01-16"


async def test_percent_strike_range() -> None:
    app = make_app(["SPX"], settings=Settings(strike_pct=2.0))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert "±2%" in str(app.query_one(StrikeChart).border_title)
        bars = app._last_bars
        assert bars is not None and app.snapshot is not None and app.snapshot.spot is not None
        spot = app.snapshot.spot
        assert min(bars.strikes) >= spot * 0.98 - 10 and max(bars.strikes) <= spot * 1.02
        await pilot.press("plus")
        assert app.strike_pct == 2.5
        await pilot.press("minus", "minus")
        assert app.strike_pct == 1.6


def test_book_copy_is_independent_of_later_batches() -> None:
    from .fakes import instruments

    ins = instruments("SPX")
    book = FakeSession("SPX", 1).chain.new_book()
    book.apply(make_batch("SPX", ins, 0, full=True))
    copy = book.copy()  # what the app computes on, in a thread
    before = compute_exposure(copy, "all")
    assert compute_exposure(book, "all").zero_gamma == before.zero_gamma
    book.apply(make_batch("SPX", ins, 30, full=False))
    assert copy.version == 1 and book.version == 2
    assert copy.spot != book.spot
    again = compute_exposure(copy, "all")
    assert again.zero_gamma == before.zero_gamma and again.net_gex == before.net_gex
