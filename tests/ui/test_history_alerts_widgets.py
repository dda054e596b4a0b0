"""The history panel and the alerts log: pure rendering functions and the widgets alone."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from rich.text import Text
from textual.app import App, ComposeResult

from gextui.core.alerts import (
    Alert,
    AlertKind,
    AlertRules,
    near_wall_alert,
    net_gex_alert,
    wall_moved_alert,
    zero_gamma_alert,
)
from gextui.core.history import HISTORY_SCHEMA, LevelHistory, LevelSample, samples_frame
from gextui.settings import Colors
from gextui.ui.alerts_panel import (
    AlertsPanel,
    alert_rows,
    alerts_text,
    kind_label,
    rules_summary,
)
from gextui.ui.history_panel import (
    HistoryPanel,
    collecting_message,
    decimate,
    history_text,
    nice_ticks,
    render_history,
    runs,
    sign_runs,
    steps,
    time_ticks,
)
from gextui.ui.render_loop import RenderLoop

from .helpers import text_of

T0 = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)  # 09:30 New York (EST)


def samples(n: int = 720, every: int = 5) -> list[LevelSample]:
    """An hour of a market: spot oscillating around 6,000, zero gamma drifting up, the call
    wall moving from 6,050 to 6,025 halfway, net GEX changing sign."""
    out = []
    for i in range(n):
        out.append(
            LevelSample(
                T0 + timedelta(seconds=every * i),
                spot=6000.0 + 15.0 * math.sin(i / 100.0) + i * 0.01,
                net_gex=1.5e9 * math.sin(i / 150.0) + 0.2e9,
                net_gex_volume=0.4e9,
                zero_gamma=5995.0 + i // 100,
                call_wall=6050.0 if i < n // 2 else 6025.0,
                put_wall=5950.0,
                abs_gex=3e9,
            )
        )
    return out


def frame(n: int = 720) -> pl.DataFrame:
    return samples_frame(samples(n))


def check_size(text: str, width: int, height: int) -> list[str]:
    lines = text.split("\n")
    assert len(lines) <= height
    for line in lines:
        assert Text(line).cell_len <= width, line
    return lines


# =========================================================================== history: pure
def test_empty_history_is_one_collecting_line() -> None:
    empty = pl.DataFrame(schema=dict(HISTORY_SCHEMA))
    assert render_history(empty, 80, 20) == "collecting samples every 5 s…"
    assert render_history(empty, 80, 20, sample_every=2) == collecting_message(2)
    text = history_text(empty, 80, 20)
    assert text.plain == "collecting samples every 5 s…" and "\n" not in text.plain


@pytest.mark.parametrize(("width", "height"), [(78, 17), (158, 44)])
def test_full_picture_has_labels_values_and_new_york_times(width: int, height: int) -> None:
    f = frame()
    last = samples()[-1]
    out = render_history(f, width, height, ticker="SPX", color=False)
    lines = check_size(out, width, height)
    assert "\x1b[" not in out
    head = lines[0]
    for label in ("spot", "zero γ", "call wall", "put wall"):
        assert f"━ {label}" in head
    assert f"{last.spot:,.2f}" in head
    assert "6,002.00" in head  # zero gamma at the end
    assert "call wall 6,025" in head and "put wall 5,950" in head
    gex_head = next(line for line in lines if "net GEX" in line)
    assert "vol GEX +$0.40bn" in gex_head and "$bn per 1% move" in gex_head
    net = last.net_gex or 0.0
    assert f"net GEX {'+' if net > 0 else '−'}${abs(net) / 1e9:,.2f}bn" in gex_head
    # x axis: New York wall-clock times of the samples (14:30 UTC = 09:30 EST)
    assert "09:30" in out and "10:00" in out and "14:30" not in out
    # y axis: price ticks, and net GEX with its zero line
    assert "6,050" in out and "6,000" in out
    assert any(line.strip().startswith("0┼") or " 0┼" in line for line in lines)
    # two plots: two frames
    assert sum(1 for line in lines if "┌" in line) == 2
    # the two y axes are aligned: same column of "┤"/"┼" in both plots
    cols = {line.index("└") for line in lines if "└" in line}
    assert len(cols) == 1


def test_ticker_shown_when_room() -> None:
    out = render_history(frame(), 158, 40, ticker="SPX", color=False)
    assert out.startswith("SPX levels")
    narrow = render_history(frame(), 78, 17, ticker="SPX", color=False)
    assert not narrow.startswith("SPX")  # no room: the values win


def test_colour_output_has_ansi_and_same_text() -> None:
    colors = Colors.from_theme("colorblind")
    ansi = render_history(frame(), 100, 30, colors, color=True)
    assert "\x1b[38;2;" in ansi
    plain = Text.from_ansi(ansi).plain
    assert "━ spot" in plain and "net GEX" in plain and "09:30" in plain
    # the spot line and key use the theme's spot colour
    r, g, b = (int(colors.spot[i : i + 2], 16) for i in (1, 3, 5))
    assert f"38;2;{r};{g};{b}" in ansi


def test_short_panel_keeps_price_plot_and_net_gex_line() -> None:
    out = render_history(frame(), 78, 9, color=False)
    lines = check_size(out, 78, 9)
    assert sum(1 for line in lines if "┌" in line) == 1
    assert lines[0].startswith("━ spot") and lines[-1].startswith("━ net GEX")
    tiny = render_history(frame(), 78, 4, color=False).split("\n")
    assert len(tiny) == 2 and "spot" in tiny[0] and "net GEX" in tiny[1]
    one = render_history(frame(), 78, 1, color=False)
    assert "\n" not in one and "spot" in one


def test_narrow_header_falls_back_to_short_labels() -> None:
    out = render_history(frame(), 60, 20, color=False)
    lines = check_size(out, 60, 20)
    assert "━ call " in lines[0] and "━ put " in lines[0]
    tight = render_history(frame(), 46, 20, color=False).split("\n")[0]
    assert tight == "━ S 6,019.00 ━ Z 6,002.00 ━ C 6,025 ━ P 5,950"  # the chart's tags


def test_missing_values_show_a_dash_and_break_lines() -> None:
    rows = [
        LevelSample(T0 + timedelta(seconds=5 * i), 6000.0 + i, 1e9, zero_gamma=None)
        for i in range(30)
    ]
    out = render_history(samples_frame(rows), 80, 20, color=False)
    assert "zero γ —" in out and "call wall —" in out and "vol GEX —" in out
    # nothing at all but the time: still two header lines, no crash
    blank = [LevelSample(T0 + timedelta(seconds=5 * i), None, None) for i in range(3)]
    out = render_history(samples_frame(blank), 80, 20, color=False)
    assert "spot —" in out and "net GEX —" in out


def test_single_sample_and_negative_gex() -> None:
    one = [LevelSample(T0, 6000.0, -2.5e8, zero_gamma=6010.0, call_wall=6050.0, put_wall=5900.0)]
    out = render_history(samples_frame(one), 80, 20, color=False)
    check_size(out, 80, 20)
    assert "net GEX −$250.00M" in out and "$M per 1% move" in out
    assert "09:30:00" in out  # one point: its exact time


def test_large_history_is_decimated_but_keeps_extremes() -> None:
    f = frame(17_280)
    small = decimate(f, 100)
    assert small.height <= 300
    assert small["spot"].max() == f["spot"].max()
    assert small["spot"].min() == f["spot"].min()
    assert small["time"][-1] == f["time"][-1]
    assert decimate(f.head(50), 100).height == 50
    out = render_history(f, 158, 44, color=False)
    check_size(out, 158, 44)


def test_time_ticks_fall_on_round_new_york_times() -> None:
    pos, labels, lo, hi = time_ticks(T0 + timedelta(seconds=7), 3600.0, 70)
    assert (lo, hi) == (0.0, 3600.0)
    assert labels[0] == "09:40" and all(label.endswith("0") for label in labels)
    assert pos[0] == pytest.approx(600 - 7)
    pos, labels, _, _ = time_ticks(T0, 90.0, 70)
    assert all(len(label) == 8 for label in labels)  # HH:MM:SS for short spans
    assert time_ticks(T0, 0.0, 70)[1] == ["09:30:00"]


def test_small_helpers() -> None:
    assert nice_ticks(5943.0, 6057.0, 3) == [5950.0, 6000.0, 6050.0]
    assert nice_ticks(-1.2, 0.7, 4) == [-1.0, -0.5, 0.0, 0.5]
    assert steps([0.0, 1.0, 2.0], [5.0, 5.0, 6.0]) == ([0.0, 1.0, 2.0, 2.0], [5.0, 5.0, 5.0, 6.0])
    xs = np.arange(6, dtype=float)
    ys = np.array([1.0, np.nan, 2.0, 3.0, np.nan, np.nan])
    assert list(runs(xs, ys)) == [([0.0], [1.0]), ([2.0, 3.0], [2.0, 3.0])]
    parts = list(sign_runs([0.0, 1.0, 2.0, 3.0], [1.0, 2.0, -1.0, -2.0]))
    assert parts == [([0.0, 1.0, 2.0], [1.0, 2.0, -1.0], True), ([2.0, 3.0], [-1.0, -2.0], False)]


# =========================================================================== alerts: pure
def make_alerts() -> list[Alert]:
    t = T0 + timedelta(minutes=5)
    return [
        zero_gamma_alert("SPX", t, 6001.0, 5999.5, +1),
        near_wall_alert("SPX", t + timedelta(seconds=5), 6040.0, 6050.0, "call"),
        net_gex_alert("SPY", t + timedelta(seconds=10), 600.0, -1.2e9, 4e9),
        wall_moved_alert("SPX", t + timedelta(minutes=1), 6010.0, "put", 5950.0, 5975.0),
    ]


def test_alert_rows_newest_first_new_york_time_and_labels() -> None:
    rows = alert_rows(make_alerts())
    assert rows[0] == ("09:36:00", "SPX", "wall moved", "put wall moved 5,950.00 → 5,975.00")
    assert rows[1][:3] == ("09:35:10", "SPY", "net GEX sign")
    assert rows[1][3].startswith("net GEX turned negative (-$1.20 bn")
    assert rows[2][2] == "near call wall" and "within 0.17 % of the call wall" in rows[2][3]
    assert rows[3] == (
        "09:35:00",
        "SPX",
        "zero γ cross",
        "spot 6,001.00 crossed above zero gamma 5,999.50",
    )
    assert [r[0] for r in alert_rows(make_alerts(), limit=2)] == ["09:36:00", "09:35:10"]


def test_alert_rows_carry_the_date_across_days() -> None:
    a = make_alerts()
    later = zero_gamma_alert("SPX", T0 + timedelta(days=1), 6001.0, 6005.0, -1)
    rows = alert_rows([*a, later])
    assert rows[0][0] == "01-06 09:30:00" and rows[-1][0] == "01-05 09:35:00"


def test_kind_labels_cover_every_kind() -> None:
    assert {kind_label(k) for k in AlertKind} == {
        "zero γ cross",
        "near call wall",
        "near put wall",
        "net GEX sign",
        "wall moved",
    }


def test_alerts_text_rows_and_empty_state() -> None:
    text = alerts_text(make_alerts()).plain.split("\n")
    assert len(text) == 4
    assert text[0].startswith("09:36:00 SPX wall moved")
    assert text[-1].split()[:4] == ["09:35:00", "SPX", "zero", "γ"]
    empty = alerts_text([], rules=AlertRules().with_enabled("wall_moved", False)).plain
    assert empty.startswith("No alerts yet.")
    assert "zero γ cross on" in empty and "wall moved off" in empty
    assert "0.25 %" in empty and "ctrl+p" in empty
    assert alerts_text([]).plain == "No alerts yet."
    assert "near put wall on" in rules_summary(AlertRules())
    limited = alerts_text(make_alerts(), limit=2).plain
    assert limited.endswith("… 2 older alerts not shown")


# =========================================================================== widgets
class PanelsApp(App[None]):
    CSS = "HistoryPanel { height: 20; } AlertsPanel { height: 10; }"

    def compose(self) -> ComposeResult:
        self.render_loop = RenderLoop(self)
        yield HistoryPanel(self.render_loop, id="history")
        yield AlertsPanel(id="alerts")


async def test_history_panel_renders_off_loop_and_only_when_changed() -> None:
    app = PanelsApp()
    async with app.run_test(size=(100, 30)) as pilot:
        panel = app.query_one(HistoryPanel)
        panel.show_history(None)
        await pilot.pause()
        assert text_of(panel).strip() == "collecting samples every 5 s…"
        hist = LevelHistory(ticker="SPX")
        panel.show_history(hist)
        await pilot.pause()
        assert "collecting samples" in text_of(panel)
        for s in samples(200):
            hist.append(s)
        panel.show_history(hist, Colors())
        for _ in range(100):
            await pilot.pause(0.01)
            if panel.renders:
                break
        assert panel.renders == 1
        shown = panel.text.plain
        assert "━ spot" in shown and "━ net GEX" in shown and "09:30" in shown
        assert panel.border_subtitle == "200 samples · every 5 s"
        panel.show_history(hist)  # nothing changed: no new render
        await pilot.pause(0.05)
        assert panel.renders == 1
        hist.append(samples(201)[-1])
        panel.show_history(hist)
        for _ in range(100):
            await pilot.pause(0.01)
            if panel.renders == 2:
                break
        assert panel.renders == 2
        # the loop times every render (wall and the render thread's CPU: the bench reports them)
        timings = list(app.render_loop.timings)
        assert len(timings) == 2
        assert all(wall > 0 and 0 <= cpu <= wall * 1.5 + 0.01 for wall, cpu in timings)
        panel.display = False
        hist.append(samples(202)[-1])
        panel.show_history(hist)  # hidden: nothing rendered
        await pilot.pause(0.05)
        assert panel.renders == 2


async def test_alerts_panel_lists_newest_first() -> None:
    app = PanelsApp()
    async with app.run_test(size=(120, 30)) as pilot:
        panel = app.query_one(AlertsPanel)
        panel.show_alerts([], rules=AlertRules())
        await pilot.pause()
        assert "No alerts yet." in text_of(panel, 120)
        alerts = make_alerts()
        panel.show_alerts(alerts)
        await pilot.pause()
        lines = [ln for ln in text_of(panel, 120).splitlines() if ln.strip()]
        assert lines[0].startswith("09:36:00 SPX wall moved")
        assert "crossed above zero gamma" in lines[-1]
        assert panel.border_title == "Alerts (4)"
