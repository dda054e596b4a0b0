"""The live watchlist in the app: every tab current, the clock never goes back on a switch,
the overview (0) lists every ticker and opens one with enter."""

from __future__ import annotations

import pytest

from gextui.settings import Settings
from gextui.ui.app import GexApp
from gextui.ui.widgets import OverviewTable, ProfileChart, StatusLine, StrikeChart

from .fakes import FakeFeed
from .helpers import frozen_clock, settle, text_of

SIZE = (160, 48)


def make_app() -> GexApp:
    return GexApp(
        FakeFeed(batches=4), ["SPX", "SPY", "QQQ"], settings=Settings(), clock=frozen_clock
    )


async def test_tab_switch_shows_the_current_book_and_the_clock_never_goes_back() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        clocks = []
        for _ in range(4):
            await pilot.press("tab")
            await settle(pilot, app)
            book = app.book
            assert book is not None and book.version == 4  # streamed while not shown
            assert app.snapshot is not None and app.snapshot.as_of == book.as_of
            info = app._status_info()
            assert info.as_of == app.monitor.market_clock
            clocks.append(info.as_of)
        assert clocks == sorted(clocks)


@pytest.mark.parametrize("keys", [(), ("right_square_bracket",)], ids=["all", "next-expiry"])
async def test_tab_switch_paints_the_observed_view_at_once_without_computing(
    keys: tuple[str, ...],
) -> None:
    """A ticker off screen is observed as a whole view, at the alerts' selection and at the
    screen's (``]``: another expiration): the tab switch paints it (current: its book's own
    event time) with no exposure computed for the switch."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        for key in keys:
            await pilot.press(key)
            await settle(pilot, app)
        selection = app.view_expiry
        assert (selection == "all") == (not keys)
        chart = app.query_one(StrikeChart)
        for _ in range(100):  # the others observed too (their books are complete)
            if all(app.monitor.last_view(t, selection) is not None for t in app.tickers):
                break
            await pilot.pause(0.02)
        assert app.monitor.last_view("SPY", selection) is not None
        computed = app.monitor.snapshots_computed
        await pilot.press("tab")
        await settle(pilot, app)
        book = app.book
        assert app.ticker == "SPY" and book is not None
        assert chart.painted == app.view_state
        assert chart.painted_as_of == book.as_of
        assert app.monitor.snapshots_computed == computed  # shown from the observation


async def test_tab_switch_draws_the_observed_picture_before_computing_again() -> None:
    """The new ticker's last picture is drawn first; its fresh computation (which would
    share the CPUs with that drawing and make both late) starts after it."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        chart = app.query_one(StrikeChart)
        for _ in range(40):
            if app.monitor.last_view("SPY", "all") is not None:
                break
            await pilot.pause(0.02)
        assert app.monitor.last_view("SPY", "all") is not None
        calls: list[tuple[str, object]] = []
        real = app.monitor.view

        async def view(name: str, expiry: str, **kw: object) -> object:
            calls.append((name, chart.painted[0] if chart.painted else None))
            return await real(name, expiry, **kw)  # type: ignore[arg-type]

        app.monitor.view = view  # type: ignore[method-assign,assignment]
        await pilot.press("tab")
        await settle(pilot, app)
        spy = [painted for name, painted in calls if name == "SPY"]
        assert spy and spy[0] == "SPY"  # the chart showed SPY before SPY was computed
        assert chart.painted == app.view_state and not app._step_held


async def test_bars_come_first_and_no_other_tickers_profile_stands_beside_them() -> None:
    """The profile is drawn after the bars; until it is, the
    previous ticker's profile is blanked, never shown beside the new ticker's bars."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        if not app.show_profile:
            await pilot.press("f")
        await settle(pilot, app)
        chart, prof = app.query_one(StrikeChart), app.query_one(ProfileChart)
        assert prof.display and prof.painted[:1] == ("SPX",) and prof.text.plain.strip()
        seen: list[tuple[str, object, object, bool]] = []
        real = app._chart_done

        def spy(job: object, result: object, *, part: str = "all") -> None:
            real(job, result, part=part)  # type: ignore[arg-type]
            seen.append((part, chart.painted[:1], prof.painted[:1], bool(prof.text.plain)))

        app._chart_done = spy  # type: ignore[method-assign,assignment]
        await pilot.press("tab")
        await settle(pilot, app)
        assert app.ticker == "SPY"
        parts = [p for p, *_ in seen]
        assert "bars" in parts and "profile" in parts
        assert parts.index("bars") < parts.index("profile")
        for _part, bars_of, prof_of, drawn in seen:
            # beside SPY's bars: SPY's profile, or none at all
            assert bars_of != ("SPY",) or prof_of == ("SPY",) or not drawn
        assert chart.painted == app.view_state and prof.painted == app.view_state
        assert prof.text.plain.strip()


async def test_overview_lists_every_ticker_and_opens_one() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        for _ in range(200):  # every ticker observed (the overview's numbers)
            if all(app.monitor.latest(t) is not None for t in app.tickers):
                break
            await pilot.pause(0.02)
        await pilot.press("0")
        await pilot.pause(0.3)
        assert app.show_overview
        table = text_of(app.query_one(OverviewTable), 160)
        rows = app.overview_rows()
        assert [r.ticker for r in rows] == ["SPX", "SPY", "QQQ"]
        for r in rows:
            assert r.ticker in table
            snap = app.monitor.latest(r.ticker)
            assert snap is not None and r.net_gex == snap.net_gex and r.call_wall == snap.call_wall
        await pilot.press("down", "down", "enter")
        await settle(pilot, app)
        assert not app.show_overview and app.ticker == "QQQ"
        assert "QQQ" in text_of(app.query_one(StatusLine), 200)
        # at 80 columns the table still fits on one line per ticker
        await pilot.press("0")
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.3)
        table = text_of(app.query_one(OverviewTable), 80)
        assert all(len(line) <= 80 for line in table.splitlines())
