"""The pure renderers of the views (strike × time map, GEX by expiration, watchlist overview,
Change view and the strike chart's ``previous`` option): every mark agrees with the numbers
given, nothing raises on empty / NaN input, and nothing is wider or taller than asked."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from rich.style import Style
from rich.text import Text

from gextui.core.chain import ChainBook
from gextui.core.exposure import ExposureSnapshot, compute_exposure
from gextui.formats import money
from gextui.settings import Colors
from gextui.ui.change_view import (
    CHANGE_WINDOWS,
    change_between,
    next_window,
    per_strike,
    render_top_changes,
    top_changes,
    window_seconds,
)
from gextui.ui.chart import GHOST, bar_data, bar_rows, render_bars
from gextui.ui.expiry_view import (
    ExpiryRow,
    expiry_rows,
    expiry_tag,
    next_weekday,
    render_expirations,
    third_friday,
)
from gextui.ui.heatmap import (
    LEVELS,
    NEUTRAL,
    SPOT_GLYPH,
    ZERO_GLYPH,
    heat_colour,
    heat_grid,
    heat_input,
    level_colour,
    level_of,
    render_heatmap,
)
from gextui.ui.overview import (
    DROP_ORDER,
    OverviewRow,
    overview_row,
    render_overview,
    visible_columns,
)

from .fakes import instruments as fake_instruments
from .fakes import make_batch

COLORS = Colors()
SIZES = [(160, 48), (120, 40), (80, 24), (60, 20), (40, 10)]


def lines_of(text: Text) -> list[str]:
    return text.plain.split("\n")


def check_box(text: Text, width: int, height: int) -> list[str]:
    lines = lines_of(text)
    assert len(lines) <= height, text.plain
    assert all(len(line) <= width for line in lines), text.plain
    return lines


def style_at(text: Text, line: int, col: int) -> Style:
    """The combined style of the cell at (line, col)."""
    lines = lines_of(text)
    offset = sum(len(x) + 1 for x in lines[:line]) + col
    style = Style()
    for span in text.spans:
        if span.start <= offset < span.end and isinstance(span.style, Style):
            style += span.style
    return style


# ---------------------------------------------------------------- strike × time map

T0 = datetime(2026, 12, 1, 14, 30, tzinfo=UTC)  # 09:30 New York (EST)
KS = np.arange(100.0, 141.0, 5.0)  # 100 … 140, 9 strikes


def small_map(**kw: object) -> tuple[Text, np.ndarray]:
    times = [T0 + timedelta(minutes=i) for i in range(5)]
    values = np.zeros((KS.size, 5))
    values[KS == 120, 2] = 2e9  # the maximum
    values[KS == 105, 4] = -1e9
    values[KS == 140, :] = np.nan  # no data at all
    spot = np.full(5, 112.0)
    zero = np.full(5, 131.0)
    text = render_heatmap(times, KS, values, spot, zero, 60, 20, COLORS, **kw)  # type: ignore[arg-type]
    return text, values


def map_rows(text: Text) -> dict[str, int]:
    """strike label → line index of the map rows."""
    out = {}
    for i, line in enumerate(lines_of(text)[2:-1], start=2):
        out[line.split()[0]] = i
    return out


def test_heatmap_rows_are_strikes_highest_on_top() -> None:
    text, _ = small_map()
    lines = check_box(text, 60, 20)
    labels = [line.split()[0] for line in lines[2:-1]]
    assert labels == ["140", "135", "130", "125", "120", "115", "110", "105", "100"]
    assert "1 strike per row" in lines[0]


def test_heatmap_cell_colours_agree_with_the_values() -> None:
    text, _ = small_map()
    rows = map_rows(text)
    label_w = lines_of(text)[rows["120"]].index("120") + 3  # labels are right-aligned
    cell_w = (60 - label_w - 1) // 5
    x0 = label_w + 1
    # the maximum: exactly the positive colour
    hot = style_at(text, rows["120"], x0 + 2 * cell_w)
    assert hot.bgcolor is not None and hot.bgcolor.name == COLORS.positive
    # the same strike at another time holds 0: the neutral colour, not positive
    cold = style_at(text, rows["120"], x0 + 0 * cell_w)
    assert cold.bgcolor is not None and cold.bgcolor.name == NEUTRAL
    # −1e9 of a 2e9 scale: half the steps, on the negative side
    neg = style_at(text, rows["105"], x0 + 4 * cell_w)
    assert neg.bgcolor is not None
    assert neg.bgcolor.name == level_colour(-LEVELS // 2, COLORS) == heat_colour(-1e9, 2e9, COLORS)
    # no data: blank, no background
    blank = style_at(text, rows["140"], x0 + cell_w)
    assert blank.bgcolor is None
    assert lines_of(text)[rows["140"]][x0:].strip() == ""


def test_heatmap_spot_and_zero_gamma_lines_sit_on_their_strikes() -> None:
    text, _ = small_map()
    rows = map_rows(text)
    lines = lines_of(text)
    # spot 112 lies in the 110 row ([110, 115)), zero gamma 131 in the 130 row
    x0 = len(lines[rows["110"]].split(" 110 ", 1)[0]) + 5
    assert set(lines[rows["110"]][x0:]) == {SPOT_GLYPH}  # every column
    assert SPOT_GLYPH in lines[rows["110"]] and ZERO_GLYPH in lines[rows["130"]]
    for label, i in rows.items():
        if label != "110":
            assert SPOT_GLYPH not in lines[i]
        if label != "130":
            assert ZERO_GLYPH not in lines[i]
    x = lines[rows["110"]].index(SPOT_GLYPH)
    assert style_at(text, rows["110"], x).color is not None
    assert style_at(text, rows["110"], x).color.name == COLORS.spot  # type: ignore[union-attr]
    assert "spot 112.00" in lines[1] and "zero γ 131.00" in lines[1]


def test_heatmap_half_rows_pair_two_strikes_per_line() -> None:
    text, _ = small_map(half_rows=True)
    lines = check_box(text, 60, 20)
    # 9 strikes → 5 lines (a blank bucket above 140), each labelled with its lower strike
    labels = [line.split()[0] for line in lines[2:-1]]
    assert labels == ["140", "130", "120", "110", "100"]
    assert "half row" in lines[0]
    rows = map_rows(text)
    x0 = lines[rows["120"]].index("120") + 4
    cell_w = (60 - x0) // 5
    # line "120" holds 120 (lower half: background) and 125 (upper half: the glyph's colour)
    hot = style_at(text, rows["120"], x0 + 2 * cell_w)
    assert lines[rows["120"]][x0 + 2 * cell_w] == "▀"
    assert hot.bgcolor is not None and hot.bgcolor.name == COLORS.positive
    assert hot.color is not None and hot.color.name == NEUTRAL
    # 140 has no data, the bucket above it neither: blank
    assert lines[rows["140"]][x0:].strip() == ""
    # spot 112 is in the 110 bucket, zero gamma 131 in the 130 one
    assert set(lines[rows["110"]][x0:]) == {SPOT_GLYPH}
    assert set(lines[rows["130"]][x0:]) == {ZERO_GLYPH}


def test_heatmap_legend_and_time_axis() -> None:
    text, _ = small_map()
    lines = lines_of(text)
    assert "+2.00 $ bn" in lines[1] and "−2.00" in lines[1]
    assert lines[-1].split()[0] == "ET"
    assert "09:30" in lines[-1]  # New York time of the first sample
    millions = render_heatmap(
        [T0], KS, np.full((KS.size, 1), 5e6), np.array([112.0]), np.array([np.nan]), 60, 20,
        COLORS, title_unit="$ M",
    )  # fmt: skip
    assert "+5.00 $ M" in lines_of(millions)[1]


def test_heatmap_buckets_sum_strikes_and_average_times() -> None:
    strikes = np.arange(100.0, 200.0, 5.0)  # 20 strikes
    times = [T0 + timedelta(minutes=i) for i in range(4)]
    values = np.arange(80, dtype=np.float64).reshape(20, 4)
    grid = heat_grid(times, strikes, values, np.full(4, 150.0), np.full(4, np.nan), 10, 2)
    assert not isinstance(grid, str)
    assert grid.per_row == 2 and grid.row_step == 10.0
    assert grid.cells.shape == (10, 2)
    # row 0 holds strikes 100 and 105; column 0 the samples 0 and 1 (mean)
    expected = (values[0, 0] + values[0, 1]) / 2 + (values[1, 0] + values[1, 1]) / 2
    assert grid.cells[0, 0] == pytest.approx(expected)
    assert grid.row_of(150.0) == 5 and grid.row_of(99.0) == -1


def test_heatmap_levels_outside_are_named_not_drawn() -> None:
    times = [T0 + timedelta(minutes=i) for i in range(3)]
    text = render_heatmap(
        times, KS, np.ones((KS.size, 3)) * 1e9, np.full(3, 200.0), np.full(3, 50.0), 80, 20,
        COLORS,
    )  # fmt: skip
    lines = lines_of(text)
    assert SPOT_GLYPH not in "".join(lines[2:-1]) and ZERO_GLYPH not in "".join(lines[2:-1])
    assert "above the map" in lines[1]


def test_level_scale_is_symmetric() -> None:
    assert level_of(2e9, 2e9) == LEVELS and level_of(-2e9, 2e9) == -LEVELS
    assert level_of(1.0, 2e9) == 0 and level_of(0.0, 1.0) == 0
    assert level_of(2e9 / LEVELS, 2e9) == 1 and level_of(-1e9, 2e9) == -LEVELS // 2
    assert level_colour(LEVELS, COLORS) == COLORS.positive
    assert level_colour(-LEVELS, COLORS) == COLORS.negative
    assert heat_colour(math.nan, 1.0, COLORS) is None


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_heatmap_never_raises_and_fits(width: int, height: int) -> None:
    times = [T0 + timedelta(minutes=i) for i in range(390)]
    strikes = np.arange(5500.0, 6500.0, 5.0)
    spot = 6000.0 + np.linspace(-30, 30, 390)
    values = np.exp(-(((strikes[:, None] - spot[None, :]) / 60.0) ** 2)) * 2e9
    cases = [
        (times, strikes, values, spot, spot - 40),  # a whole session
        (times[:1], strikes, values[:, :1], spot[:1], spot[:1]),  # one column
        (times, strikes, np.full_like(values, np.nan), spot, np.full(390, np.nan)),  # all NaN
        ([], np.array([]), np.zeros((0, 0)), np.array([]), np.array([])),  # nothing
        (times, strikes, values[:, :5], spot, spot),  # wrong shape
    ]
    for t, k, v, s, z in cases:
        text = render_heatmap(t, k, v, s, z, width, height, COLORS)
        check_box(text, width, height)
    for half in (False, True):
        check_box(
            render_heatmap(
                times, strikes, values, spot, spot, width, height, COLORS, half_rows=half
            ),
            width,
            height,
        )
    whole = render_heatmap(times, strikes, values, spot, spot - 40, width, height, COLORS)
    assert len(lines_of(whole)) >= min(height, 4)  # title, legend, rows, axis
    assert any(SPOT_GLYPH in line for line in lines_of(whole)[2:-1])  # on the map rows
    nan_map = render_heatmap(
        times, strikes, np.full_like(values, np.nan), spot, spot, 80, 24, COLORS
    )
    assert "no GEX values yet" in nan_map.plain
    assert "no samples yet" in render_heatmap([], [], [], [], [], 80, 24, COLORS).plain  # type: ignore[arg-type]


# ---------------------------------------------------------------- GEX by expiration

TODAY = date(2026, 12, 2)  # a Wednesday


def test_expiry_tags() -> None:
    assert third_friday(2026, 12) == date(2026, 12, 18)
    assert third_friday(2027, 1) == date(2027, 1, 15)
    assert expiry_tag(date(2026, 12, 2), TODAY) == "0DTE"
    assert expiry_tag(date(2026, 12, 3), TODAY) == "1DTE"
    assert expiry_tag(date(2026, 12, 4), TODAY) == "weekly"
    assert expiry_tag(date(2026, 12, 7), TODAY) == "daily"
    assert expiry_tag(date(2026, 12, 18), TODAY) == "monthly"
    assert expiry_tag(date(2026, 12, 18), date(2026, 12, 18)) == "0DTE"  # 0DTE comes first
    friday = date(2026, 12, 4)
    assert next_weekday(friday) == date(2026, 12, 7)
    assert expiry_tag(date(2026, 12, 7), friday) == "1DTE"  # over the weekend
    assert expiry_tag(date(2026, 12, 7), date(2026, 12, 5)) == "1DTE"  # from a Saturday
    assert expiry_tag(date(2026, 12, 18), None) == "monthly"
    assert expiry_tag(date(2026, 12, 2), None) == "daily"


def make_expiry_rows(n: int) -> list[ExpiryRow]:
    out, d = [], TODAY
    for i in range(n):
        net = (1e9 if i % 2 == 0 else -5e8) / (i + 1)
        out.append(ExpiryRow(d, net, max(net, 0) + 1e8, min(net, 0) - 1e8, abs(net) + 2e8, 10 + i))
        d = next_weekday(d)
    return out


def test_expirations_bars_agree_with_the_values() -> None:
    rows = make_expiry_rows(4)
    text = render_expirations(rows[::-1], 80, 10, COLORS, selected=rows[1].expiration, today=TODAY)
    lines = check_box(text, 80, 10)
    body = lines[1:]
    assert [ln[2:11] for ln in body] == [r.expiration.strftime("%a %b%d") for r in rows]
    assert "0DTE" in body[0] and "1DTE" in body[1]
    for line, row in zip(body, rows, strict=True):
        assert line.rstrip().endswith(money(row.net_gex, digits=1))
        left, right = line.split("│")
        if row.net_gex > 0:
            assert "█" in right and "█" not in left
        else:
            assert "█" in left and "█" not in right
    assert body[1].startswith("▶ ") and not body[0].startswith("▶")
    # the biggest magnitude has the longest bar
    assert body[0].count("█") == max(ln.count("█") for ln in body)
    x = body[1].index("█")
    assert style_at(text, 2, x).color.name == COLORS.negative  # type: ignore[union-attr]


def test_expirations_split_and_window() -> None:
    rows = make_expiry_rows(30)
    sel = rows[20].expiration
    text = render_expirations(rows, 80, 12, COLORS, metric_split=True, selected=sel, today=TODAY)
    lines = check_box(text, 80, 12)
    assert lines[1].startswith("↑ +") and lines[-1].startswith("↓ +")
    shown = [ln for ln in lines[2:-1]]
    above = int(lines[1].split("+")[1].split()[0])
    below = int(lines[-1].split("+")[1].split()[0])
    assert above + len(shown) + below == 30
    assert any(ln.startswith("▶ ") and sel.strftime("%b%d") in ln for ln in shown)
    r = rows[20]
    (sel_line,) = [ln for ln in shown if ln.startswith("▶")]
    assert money(r.call_gex, digits=1) in sel_line and money(r.put_gex, digits=1) in sel_line
    for w, h in SIZES:
        check_box(render_expirations(rows, w, h, COLORS, selected=sel, today=TODAY), w, h)
        check_box(render_expirations(rows, w, 1, COLORS, selected=sel), w, 1)
    nan_row = [ExpiryRow(TODAY, math.nan, math.nan, math.nan, math.nan, 0)]
    assert "—" in render_expirations(nan_row, 80, 5, COLORS).plain
    assert "no expirations" in render_expirations([], 80, 5, COLORS).plain


# ---------------------------------------------------------------- overview

OV_ROWS = [
    OverviewRow("SPX", 6012.34, 0.45, 2.34e9, 5980.5, -0.53, 6100, 5900, "positive", 0.98, "live"),
    OverviewRow("SPY", 601.2, -0.41, -1.2e8, None, None, 605, 590, "negative", 0.5, "stale 12s"),
    OverviewRow("QQQ", None, None, None, None, None, None, None, "n/a", None, "connecting…"),
    OverviewRow("NDX", 21012.5, 1.2, 5.5e8, 20890.0, -0.58, 21500, 20500, "positive", 1.0, "live"),
]


def test_overview_all_columns_when_wide() -> None:
    text = render_overview(OV_ROWS, 160, COLORS, selected=1)
    lines = check_box(text, 160, 10)
    for header in ("ticker", "spot", "chg %", "net GEX", "zero γ", "dist %", "call wall"):
        assert header in lines[0]
    for header in ("put wall", "regime", "cov %", "status"):
        assert header in lines[0]
    assert lines[2].startswith("▶ SPY") and not lines[1].startswith("▶")
    assert "+$2.34bn" in lines[1] and "−$120.00M" in lines[2] and "98%" in lines[1]
    assert "−γ" in lines[2] and "+γ" in lines[1]
    x = lines[2].index("−$120.00M")
    assert style_at(text, 2, x).color.name == COLORS.negative  # type: ignore[union-attr]
    assert style_at(text, 2, x).bgcolor is not None  # the selected row is highlighted


def test_overview_drops_columns_at_80() -> None:
    cols, _gap = visible_columns(OV_ROWS, 80)
    keys = [k for k, _ in cols]
    dropped = [k for k in DROP_ORDER if k not in keys]
    assert dropped == list(DROP_ORDER[: len(dropped)])  # in the documented order
    assert dropped and "ticker" in keys and "status" in keys and "net" in keys
    for width in (160, 100, 80, 60, 30, 12):
        check_box(render_overview(OV_ROWS, width, COLORS), width, 10)
    assert "no tickers" in render_overview([], 80, COLORS).plain
    many = [OverviewRow(f"T{i}", 1.0, None, 1e9, None, None, None, None, "n/a", 1.0, "live")
            for i in range(30)]  # fmt: skip
    text = render_overview(many, 80, COLORS, selected=20, height=10)
    lines = check_box(text, 80, 10)
    assert len(lines) == 10 and "+22 more" in lines[-1]
    assert any(line.startswith("▶ T20 ") for line in lines)


def spx_snapshot() -> ExposureSnapshot:
    ins = fake_instruments("SPX")
    book = ChainBook("SPX", ins, underlying_symbol="SPX", source="simulated")
    book.apply(make_batch("SPX", ins, 0, full=True))
    return compute_exposure(book)


@pytest.fixture(scope="module")
def snap() -> ExposureSnapshot:
    return spx_snapshot()


def test_overview_row_from_a_snapshot(snap: ExposureSnapshot) -> None:
    row = overview_row("SPX", snap, "live")
    assert row.spot == snap.spot and row.net_gex == snap.net_gex
    assert row.zero_gamma == snap.zero_gamma and row.call_wall == snap.call_wall
    assert row.put_wall == snap.put_wall and row.regime == snap.gamma_regime
    assert row.zero_distance_pct == snap.zero_gamma_distance_pct
    assert row.coverage == snap.coverage.fraction
    if snap.spot is not None and snap.prev_close:
        assert row.change_pct == pytest.approx((snap.spot / snap.prev_close - 1) * 100)
    empty = overview_row("QQQ", None, "connecting")
    assert empty.spot is None and empty.regime == "n/a" and empty.status == "connecting"
    text = render_overview([row, empty], 80, COLORS)
    assert text.plain.split("\n")[2].count("—") >= 4


# ---------------------------------------------------------------- Change view


def test_top_changes_sorted_by_magnitude() -> None:
    ks = np.array([100.0, 105.0, 110.0, 115.0, 120.0, 125.0])
    ds = np.array([3e8, -9e8, np.nan, 0.0, 9e8, -1e8])
    assert top_changes(ks, ds, 3) == [(105.0, -9e8), (120.0, 9e8), (100.0, 3e8)]
    text = render_top_changes(ks, ds, 60, 10, COLORS, window_label="5m")
    lines = check_box(text, 60, 10)
    assert "5m" in lines[0]
    body = [ln for ln in lines[1:] if "▲" in ln or "▼" in ln]
    assert [ln.split()[0] for ln in body] == ["105", "120", "100", "125"]
    assert "▼" in body[0] and money(-9e8) in body[0]
    assert "▲" in body[1] and money(9e8) in body[1]
    assert body[0].count("█") == body[1].count("█") > body[2].count("█")
    assert "1 strikes without an earlier value" in text.plain
    assert len(lines_of(render_top_changes(ks, ds, 60, 3, COLORS, window_label="5m"))) == 3
    assert (
        "no earlier value"
        in render_top_changes(ks, np.full(6, np.nan), 60, 10, COLORS, window_label="15m").plain
    )
    assert "no data" in render_top_changes([], [], 60, 10, COLORS, window_label="1m").plain


def test_change_windows_cycle() -> None:
    labels = [label for label, _ in CHANGE_WINDOWS]
    assert labels == ["1m", "5m", "15m", "30m", "open"]
    assert [next_window(x) for x in labels] == ["5m", "15m", "30m", "open", "1m"]
    assert next_window("bogus") == "1m"
    assert window_seconds("15m") == 900 and window_seconds("open") is None


def net_by_strike(snap: ExposureSnapshot) -> dict[float, float]:
    frame = snap.strikes
    return dict(zip(frame["strike"].to_list(), frame["net_gex"].to_list(), strict=True))


@pytest.mark.parametrize(("width", "height"), SIZES[:4])
def test_chart_without_previous_is_unchanged(
    snap: ExposureSnapshot, width: int, height: int
) -> None:
    for kw in ({}, {"split": True}):
        plain = bar_data(snap, rows=bar_rows(height), **kw)  # type: ignore[arg-type]
        none = bar_data(snap, rows=bar_rows(height), previous=None, **kw)  # type: ignore[arg-type]
        assert none == plain and none.previous is None
        assert none.visual_key(width) == plain.visual_key(width)
        a, b = render_bars(plain, width, height, COLORS), render_bars(none, width, height, COLORS)
        assert a.plain == b.plain and a.spans == b.spans
        assert GHOST not in a.plain and "Δ" not in a.plain and "earlier" not in plain.legend


def bar_run(line: str, positive: bool) -> str:
    """The bar glyphs (and a ghost touching them) from the axis outward."""
    axis = line.index("│")
    side = line[axis + 1 :] if positive else line[:axis][::-1]
    m = re.match(r"[█▌▐┊]*", side)
    return m.group(0) if m else ""


def bar_lines(snap: ExposureSnapshot, prev: dict[float, float], width: int, height: int):  # type: ignore[no-untyped-def]
    data = bar_data(snap, rows=bar_rows(height), previous=prev)
    text = render_bars(data, width, height, COLORS)
    lines = check_box(text, width, height)
    rows = {}
    for line in lines:
        head = line.split()
        if head and "│" in line and head[0].replace(".", "").isdigit():
            rows[float(head[0])] = line
    return data, text, rows


@pytest.mark.parametrize(("width", "height"), SIZES[:4])
def test_chart_ghost_marks_the_earlier_bar_end(
    snap: ExposureSnapshot, width: int, height: int
) -> None:
    now = net_by_strike(snap)
    doubled = {k: 2 * v for k, v in now.items()}
    data, _text, rows = bar_lines(snap, doubled, width, height)
    assert data.previous is not None and "earlier bar" in data.legend
    checked = 0
    for strike, line in rows.items():
        axis = line.index("│")
        v = now.get(strike, 0.0)
        bar = line[axis + 1 :] if v > 0 else line[:axis][::-1]
        length = len(bar) - len(bar.lstrip("█▌▐┊"))
        if length < 4 or GHOST not in line:
            continue
        ghost = bar.index(GHOST) + 1  # cells from the axis
        assert abs(ghost - 2 * length) <= 1, (strike, line)
        checked += 1
    assert checked >= 3


def test_chart_delta_column_and_same_values(snap: ExposureSnapshot) -> None:
    now = net_by_strike(snap)
    earlier = {k: v - 1e8 for k, v in now.items()}
    data, text, rows = bar_lines(snap, earlier, 100, 40)
    assert data.per_row == 1
    for line in rows.values():
        assert line.rstrip().endswith(money(1e8, digits=1)), line
        x = line.rstrip().rindex("+")
        i = lines_of(text).index(line)
        assert style_at(text, i, x).color.name == COLORS.positive  # type: ignore[union-attr]
    assert lines_of(text)[-1].rstrip().endswith("Δ")
    # no change: the ghost sits on the last cell of each bar
    _, _, same = bar_lines(snap, now, 100, 40)
    checked = 0
    for strike, line in same.items():
        body = bar_run(line, now.get(strike, 0.0) > 0)
        if len(body) >= 2:
            assert body[-1] == GHOST, line
            checked += 1
    assert checked >= 5
    # strikes without an earlier value: no ghost, Δ "—"
    _, _, missing = bar_lines(snap, {}, 100, 40)
    assert all(GHOST not in ln and ln.rstrip().endswith("—") for ln in missing.values())


# ---------------------------------------------------------------- wiring helpers


def later_snapshot() -> ExposureSnapshot:
    ins = fake_instruments("SPX")
    book = ChainBook("SPX", ins, underlying_symbol="SPX", source="simulated")
    book.apply(make_batch("SPX", ins, 0, full=True))
    book.apply(make_batch("SPX", ins, 30, full=True))
    return compute_exposure(book)


def test_heat_input_lines_up_snapshots(snap: ExposureSnapshot) -> None:
    later = later_snapshot()
    data = heat_input([snap, later])
    assert data.times == (snap.as_of, later.as_of)
    assert list(data.strikes) == sorted(set(snap.strikes["strike"].to_list()))
    first = net_by_strike(snap)
    for i, k in enumerate(data.strikes.tolist()):
        assert data.values[i, 0] == pytest.approx(first[k])
    assert data.spot[0] == snap.spot and data.spot[1] == later.spot
    text = render_heatmap(
        data.times, data.strikes, data.values, data.spot, data.zero_gamma, 80, 24, COLORS
    )
    check_box(text, 80, 24)
    assert SPOT_GLYPH in text.plain
    empty = heat_input([])
    assert empty.values.shape == (0, 0)
    assert (
        "no samples"
        in render_heatmap(
            empty.times, empty.strikes, empty.values, empty.spot, empty.zero_gamma, 80, 24, COLORS
        ).plain
    )


def test_expiry_rows_and_changes_from_snapshots(snap: ExposureSnapshot) -> None:
    rows = expiry_rows(snap)
    assert [r.expiration for r in rows] == [e.expiration for e in snap.by_expiration]
    assert sum(r.net_gex for r in rows) == pytest.approx(snap.net_gex, rel=1e-9)
    assert expiry_rows(None) == ()
    assert per_strike(snap) == net_by_strike(snap) and per_strike(None) == {}
    later = later_snapshot()
    ks, ds = change_between(later, snap)
    now, then = net_by_strike(later), net_by_strike(snap)
    for k, d in zip(ks.tolist(), ds.tolist(), strict=True):
        assert d == pytest.approx(now[k] - then[k])
    ks0, ds0 = change_between(later, None)
    assert ks0.size == ks.size and np.isnan(ds0).all()
    text = render_top_changes(ks, ds, 80, 12, COLORS, window_label="1m")
    check_box(text, 80, 12)
