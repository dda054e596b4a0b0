"""The strike chart tells the truth: one strike per row by default, a linear price axis, tags
on the row that holds the exact level, spot / zero-gamma lines with their values, levels
outside the view named as such, and every +/- step changes the picture."""

from __future__ import annotations

import re
from itertools import pairwise

import polars as pl
import pytest

from gextui.core.chain import ChainBook
from gextui.core.exposure import ExposureSnapshot, compute_exposure
from gextui.settings import Colors
from gextui.ui.app import GexApp
from gextui.ui.chart import bar_data, bar_rows, render_bars
from gextui.ui.widgets import StrikeChart

from .fakes import instruments as fake_instruments
from .fakes import make_batch
from .helpers import settle, text_of
from .test_app import make_app

SIZES = [(160, 48), (120, 40), (80, 24), (60, 20)]


def spx_snapshot() -> ExposureSnapshot:
    """The fake SPX chain of the UI tests: 10-point strikes 5,700–6,300, spot near 6,000."""
    ins = fake_instruments("SPX")
    book = ChainBook("SPX", ins, underlying_symbol="SPX", source="simulated")
    book.apply(make_batch("SPX", ins, 0, full=True))
    return compute_exposure(book)


@pytest.fixture(scope="module")
def snap() -> ExposureSnapshot:
    return spx_snapshot()


def chart_lines(snap: ExposureSnapshot, width: int, height: int, **kw: object) -> list[str]:
    data = bar_data(snap, rows=bar_rows(height), **kw)  # type: ignore[arg-type]
    text = render_bars(data, width, height, Colors())
    lines = text.plain.split("\n")
    assert len(lines) <= height
    assert all(len(line) <= width for line in lines)
    return lines


def row_strike(line: str) -> str:
    return line.split()[0]


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_tags_sit_on_the_exact_strike(snap: ExposureSnapshot, width: int, height: int) -> None:
    lines = chart_lines(snap, width, height)
    data = bar_data(snap, rows=bar_rows(height))
    for letter, wall in (("C", snap.call_wall), ("P", snap.put_wall)):
        assert wall is not None
        tagged = [ln for ln in lines if re.match(rf"^\s*[\d.–]+ [CP]*{letter}", ln)]
        if data.row_of(wall) < 0:
            assert not tagged  # never on an edge row
            assert any(f"{letter} " in o and f"{wall:,.0f}" in o for o in data.outside)
            continue
        (line,) = tagged
        label = row_strike(line)
        if "–" in label:  # a bucket: the wall's strike lies in the range it names
            lo, hi = (float(x) for x in label.split("–"))
            assert lo <= wall <= hi
        else:
            assert float(label) == wall


LEVEL_RE = re.compile(r"^\s*(-?[\d.]+) ([SZ]) [─┄]+$")
ROW_RE = re.compile(r"^\s*([\d.]+)(?:–([\d.]+))? ?([CP]*)\s+[ █▐▌]*│")


def parse(lines: list[str]) -> list[tuple[str, float, float, str]]:
    """('row', low strike, high strike, tags) or ('level', value, value, letter) per line."""
    out = []
    for line in lines:
        if m := LEVEL_RE.match(line):
            out.append(("level", float(m[1]), float(m[1]), m[2]))
        elif m := ROW_RE.match(line):
            lo = float(m[1])
            out.append(("row", lo, float(m[2]) if m[2] else lo, m[3]))
    return out


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_spot_and_zero_gamma_lines_carry_their_values(
    snap: ExposureSnapshot, width: int, height: int
) -> None:
    items = parse(chart_lines(snap, width, height))
    rows = [it for it in items if it[0] == "row"]
    assert [r[1] for r in rows] == sorted((r[1] for r in rows), reverse=True)  # top = highest
    assert snap.spot is not None and snap.zero_gamma is not None
    for letter, value in (("S", snap.spot), ("Z", snap.zero_gamma)):
        (i,) = [i for i, it in enumerate(items) if it[0] == "level" and it[3] == letter]
        assert items[i][1] == pytest.approx(value, abs=0.005)
        above = next((it for it in items[i - 1 :: -1] if it[0] == "row"), None) if i else None
        below = next((it for it in items[i + 1 :] if it[0] == "row"), None)
        # between the strikes below and above the level (a bucket row may hold it)
        if above is not None:
            assert above[2] >= value or above[1] <= value <= above[2] + 10
        if below is not None:
            assert below[1] <= value


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_default_is_one_strike_per_row_and_linear(
    snap: ExposureSnapshot, width: int, height: int
) -> None:
    """By default (strikes = 0) the chart shows as many strikes as fit, one per row."""
    data = bar_data(snap, rows=bar_rows(height))
    assert data.per_row == 1 and "1 strike per row" in data.span
    assert len(chart_lines(snap, width, height)) >= height - 3  # the chart is filled
    n = len(data.strikes)
    assert data.span.startswith(f"{n} strikes")


def test_forty_strikes_are_forty_rows_and_linear(snap: ExposureSnapshot) -> None:
    data = bar_data(snap, rows=bar_rows(46), count=40)
    assert data.per_row == 1
    lows = data.strikes
    steps = {round(b - a, 6) for a, b in pairwise(lows)}
    assert steps == {data.row_step}  # linear in price
    assert data.span.startswith("40 strikes") and "1 strike per row" in data.span
    # centred on spot
    assert snap.spot is not None
    assert abs((lows[0] + lows[-1] + data.row_step) / 2 - snap.spot) <= data.row_step


def test_buckets_say_what_they_hold(snap: ExposureSnapshot) -> None:
    data = bar_data(snap, rows=bar_rows(20), count=60)
    assert data.per_row > 1
    assert f"{data.row_step:g}-pt rows" in data.span
    for label, held in zip(data.labels, data.held, strict=True):
        text = label.split()[0]
        if len(held) > 1:
            assert text == f"{held[0]:g}–{held[-1]:g}"
    # the buckets' sums are the strikes' sums
    net = snap.strikes.filter(
        (pl.col("strike") >= data.strikes[0])
        & (pl.col("strike") < data.strikes[-1] + data.row_step)
    )["net_gex"].sum()
    assert sum(data.first) == pytest.approx(net, rel=1e-9)


def test_levels_outside_the_view_are_named_not_drawn(snap: ExposureSnapshot) -> None:
    assert snap.call_wall is not None
    far = snap.call_wall - 300.0  # centre far below the call wall
    data = bar_data(snap, rows=bar_rows(40), count=12, center=far)
    assert data.row_of(snap.call_wall) == -1
    assert "C" not in data.tags
    assert any(o.startswith("↑ C call wall") for o in data.outside)
    lines = render_bars(data, 100, 40, Colors()).plain.split("\n")
    assert "(above the view)" in lines[0]
    assert not any(re.match(r"^\s*[\d.–]+ [P]*C", ln) for ln in lines)


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_every_range_step_changes_the_picture(
    snap: ExposureSnapshot, width: int, height: int
) -> None:
    pictures = []
    count = 40
    for _ in range(6):
        count = max(round(count / 1.25), 6)  # the narrow key's step
        data = bar_data(snap, rows=bar_rows(height), count=count)
        pictures.append((data.span, data.visual_key(width)))
    count = 40
    for _ in range(6):
        count = min(max(count + 2, round(count * 1.25)), 2000)  # the widen key's step
        data = bar_data(snap, rows=bar_rows(height), count=count)
        pictures.append((data.span, data.visual_key(width)))
    # every step draws another picture (the range text too), except at the clamp (6 strikes)
    distinct = [p for i, p in enumerate(pictures) if i == 0 or p != pictures[i - 1]]
    assert len(distinct) >= len(pictures) - 2


@pytest.mark.parametrize("size", SIZES)
async def test_screen_title_and_chart_agree_with_the_snapshot(size: tuple[int, int]) -> None:
    app: GexApp = make_app(["SPX"])
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        snap = app.snapshot
        bars = app._last_bars
        assert snap is not None and bars is not None
        chart = app.query_one(StrikeChart)
        title = str(chart.border_title)
        assert bars.span in title
        assert bars.per_row == 1  # the default: one strike per row, as many as fit
        assert "C call wall (max call GEX)" in str(chart.border_subtitle)
        shown = text_of(chart, size[0])
        if snap.call_wall is not None and bars.row_of(snap.call_wall) >= 0:
            (row,) = [it for it in parse(shown.split("\n")) if "C" in it[3]]
            assert row[1] <= snap.call_wall <= row[2]
        assert snap.spot is not None
        assert f"{snap.spot:.2f} S" in shown


async def test_volume_basis_says_walls_are_oi_based() -> None:
    app = make_app(["SPX"])
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, app)
        await pilot.press("o")
        await settle(pilot, app)
        assert "walls and levels stay OI-based" in str(app.query_one(StrikeChart).border_subtitle)
