"""The screen repaints what changed, and only that: a chart set to the same title, a
panel given the same data or an events/s figure that wobbles by a few events repaint
nothing (each repaint of the chart or the Levels panel costs the event loop several ms)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from textual.app import App, ComposeResult
from textual.widgets import Static

from gextui.settings import Settings
from gextui.ui.app import RATE_STEP, GexApp
from gextui.ui.widgets import (
    LevelsPanel,
    ProfileChart,
    StatusLine,
    StrikeChart,
    ny_time,
    retitle,
)

from .fakes import FakeFeed
from .helpers import frozen_clock, settle, text_of

SIZE = (160, 48)


def count_refreshes(widget: Any) -> list[int]:
    calls = [0]
    real = widget.refresh

    def refresh(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return real(*args, **kwargs)

    widget.refresh = refresh
    return calls


async def test_retitle_repaints_only_on_a_change() -> None:
    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield Static("x", id="w")

    app = One()
    async with app.run_test():
        w = app.query_one(Static)
        calls = count_refreshes(w)
        retitle(w, "Levels", "a")
        assert calls[0] == 2 and w.border_title == "Levels" and w.border_subtitle == "a"
        retitle(w, "Levels", "a")
        retitle(w, "Levels")
        retitle(w, subtitle="a")
        assert calls[0] == 2  # the same: nothing repainted
        retitle(w, "Levels · warming up")
        assert calls[0] == 3 and w.border_title == "Levels · warming up"
        assert w.border_subtitle == "a"  # None leaves it


async def test_steady_paints_repaint_neither_chart_nor_panel() -> None:
    app = GexApp(FakeFeed(batches=3), ["SPX", "SPY"], settings=Settings(), clock=frozen_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        chart, prof = app.query_one(StrikeChart), app.query_one(ProfileChart)
        panel = app.query_one(LevelsPanel)
        title = chart.border_title
        counts = [count_refreshes(w) for w in (chart, prof, panel)]
        for _ in range(5):
            app._paint()  # the redraw timer's paint, no new data
            await pilot.pause()
        assert [c[0] for c in counts] == [0, 0, 0]
        assert chart.border_title == title  # the title with the span, not without it


async def test_events_per_second_moves_in_steps() -> None:
    app = GexApp(FakeFeed(batches=3), ["SPX"], settings=Settings(), clock=frozen_clock)
    rates = iter([40_004.0, 40_900.0, 39_100.0, 42_500.0, 42_600.0, None, 100.0])
    app.monitor.events_per_second = lambda name: next(rates)  # type: ignore[method-assign]
    shown = [app._shown_rate("SPX") for _ in range(7)]
    # within RATE_STEP (5 %) of the figure on screen: the figure stays
    assert RATE_STEP == 0.05
    assert shown == [40_000.0, 40_000.0, 40_000.0, 42_500.0, 42_500.0, None, 100.0]


async def test_status_line_repaints_only_when_its_text_changes() -> None:
    app = GexApp(FakeFeed(batches=3), ["SPX"], settings=Settings(), clock=frozen_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        app._paint = lambda: None  # type: ignore[method-assign]  # only this test paints now
        line = app.query_one(StatusLine)
        data = line.data
        assert data is not None and data.info.as_of is not None
        calls = count_refreshes(line)
        # the clock moves by a millisecond: the line (to the second) reads the same
        later = replace(data.info, as_of=data.info.as_of + timedelta(milliseconds=1))
        line.data = replace(data, info=later)
        await pilot.pause()
        assert calls[0] == 0
        # a second later it does not
        later = replace(data.info, as_of=data.info.as_of + timedelta(seconds=1))
        line.data = replace(data, info=later)
        await pilot.pause()
        assert calls[0] >= 1  # (older Textual repaints twice per update)
        assert ny_time(later.as_of) in text_of(line, 160)
