"""The screen repaints what changed, and only that: a chart set to the same title, a
panel given the same data or an events/s figure that wobbles by a few events repaint
nothing (each repaint of the chart or the Levels panel costs the event loop several ms)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from rich.text import Text
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


def _strips(lines: list[str], width: int = 12) -> list[Any]:
    from rich.text import Text

    from gextui.ui.widgets import text_to_strips

    return text_to_strips(Text("\n".join(lines), end=""), width)


def test_changed_rows_finds_the_rows_that_differ_in_runs() -> None:
    from gextui.ui.widgets import changed_rows

    old = _strips(["a", "b", "c", "d", "e"])
    assert changed_rows(old, _strips(["a", "b", "c", "d", "e"])) == []
    assert changed_rows(old, _strips(["a", "B", "c", "d", "e"])) == [(1, 1)]
    assert changed_rows(old, _strips(["a", "B", "C", "d", "E"])) == [(1, 2), (4, 1)]
    # another height or width: nothing lines up, everything repaints
    assert changed_rows(old, _strips(["a", "b", "c", "d"])) is None
    assert changed_rows(old, _strips(["a", "b", "c", "d", "e"], width=13)) is None


async def test_a_new_picture_repaints_only_its_changed_rows() -> None:
    from textual.geometry import Region

    from gextui.ui.widgets import StripChart, StripPanel

    class Two(App[None]):
        def compose(self) -> ComposeResult:
            yield StripChart(id="chart")
            yield StripPanel(id="panel")

    app = Two()
    async with app.run_test(size=(40, 20)) as pilot:
        chart, panel = app.query_one(StripChart), app.query_one(StripPanel)
        lines = ["one", "two", "three", "four"]
        chart.show(Text("x"), _strips(lines))
        panel.show(Text("x"), _strips(lines))
        await pilot.pause()
        regions: dict[str, list[tuple[Region, ...]]] = {"chart": [], "panel": []}
        for name, w in (("chart", chart), ("panel", panel)):
            real = w.refresh

            def refresh(*r: Region, _real: Any = real, _name: str = name, **k: Any) -> Any:
                regions[_name].append(r)
                return _real(*r, **k)

            w.refresh = refresh  # type: ignore[method-assign]
        changed = ["one", "TWO", "three", "FOUR"]
        chart.show(Text("y"), _strips(changed))
        panel.show(Text("y"), _strips(changed))
        await pilot.pause()
        # two single rows repainted, not the whole widget
        assert [r[0].y for r in regions["chart"]] == [1, 3]
        assert all(len(r) == 1 and r[0].height == 1 for r in regions["chart"])
        assert [r[0].y for r in regions["panel"]] == [1, 3]
        assert chart.render_line(1).text.rstrip() == "TWO"
        assert panel.render_line(3).text.rstrip() == "FOUR"
        # the same picture again: nothing repaints
        regions["chart"].clear()
        chart.show(Text("y"), _strips(changed))
        assert regions["chart"] == []
        # a taller picture: the whole widget
        chart.show(Text("z"), _strips([*changed, "five"]))
        assert regions["chart"] == [()]


async def test_levels_panel_is_drawn_off_the_event_loop_and_fits_its_scrollbar() -> None:
    import threading

    from gextui.ui import widgets

    threads: list[bool] = []
    real = widgets.render_levels

    def spy(*a: Any, **k: Any) -> Any:
        threads.append(threading.current_thread() is threading.main_thread())
        return real(*a, **k)

    widgets.render_levels = spy  # type: ignore[assignment]
    try:
        app = GexApp(FakeFeed(batches=3), ["SPX"], settings=Settings(), clock=frozen_clock)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot, app)
            panel = app.query_one(LevelsPanel)
            snap = app.snapshot
            assert snap is not None and panel.renders >= 1
            assert threads and not any(threads)  # every picture drawn in the render thread
            assert f"{snap.call_wall:,.0f}" in text_of(panel, 60)
            # 80×24: more lines than rows, so the panel scrolls and its one-cell scrollbar
            # takes a cell of the text's width: no row is cut by it
            width, rows = panel.scrollable_content_region.width, panel.content_size.height
            assert len(panel._strips) > rows
            assert width == panel.content_size.width - 1
            assert {s.cell_length for s in panel._strips} == {width}
            assert panel.virtual_size.width == width
    finally:
        widgets.render_levels = real  # type: ignore[assignment]
