"""The profile chart (``f``): every mark sits where its number says.

The picture is read back from its text: the plot area starts right of the ``┌`` of the top
border; a cell column ``c`` of ``cols`` covers prices around
``lo + (2c + 0.5) / (2 cols − 1) · (hi − lo)``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
import pytest
from rich.style import Style
from rich.text import Text

from gextui.core.exposure import ExposureSnapshot
from gextui.formats import price
from gextui.settings import Colors
from gextui.ui.profile_chart import profile_key, profile_window, render_profile

from .test_chart_truth import spx_snapshot

COLORS = Colors()
FLIPS = (5_900.0, 6_150.0)


def two_flip_snapshot(spot: float = 6_000.0) -> ExposureSnapshot:
    """A profile negative between 5,900 and 6,150 and positive outside, in dollars."""
    xs = np.linspace(5_500.0, 6_500.0, 201)
    ys = 4e6 * (xs - FLIPS[0]) * (xs - FLIPS[1])
    return dataclasses.replace(
        spx_snapshot(),
        spot=spot,
        zero_gamma=FLIPS[0],
        zero_gamma_crossings=FLIPS,
        profile=pl.DataFrame({"spot": xs, "net_gex": ys}),
    )


class Picture:
    def __init__(self, snap: ExposureSnapshot, width: int, height: int) -> None:
        self.text: Text = render_profile(snap, width, height, COLORS)
        self.lines = self.text.plain.split("\n")
        self.label_w = self.lines[0].index("┌")
        self.cols = len(self.lines[0]) - self.label_w - 2
        self.rows = next(i for i, ln in enumerate(self.lines) if "└" in ln) - 1
        xs, ys = profile_window(snap)
        self.lo, self.hi = float(xs[0]), float(xs[-1])
        self.xs, self.ys = xs, ys
        self.cell = (self.hi - self.lo) / self.cols
        self.zero_row = next(r for r in range(self.rows) if self.plot_line(r)[0] == "┼")

    def plot_line(self, r: int) -> str:
        """Plot row ``r`` with its left border (index 0) and right border."""
        return self.lines[1 + r][self.label_w :]

    def char(self, r: int, c: int) -> str:
        return self.plot_line(r)[1 + c]

    def style(self, r: int, c: int) -> Style | None:
        offset = sum(len(ln) + 1 for ln in self.lines[: 1 + r]) + self.label_w + 1 + c
        found = None
        for span in self.text.spans:
            if span.start <= offset < span.end and isinstance(span.style, Style):
                found = span.style
        return found

    def price_of(self, c: int) -> float:
        return self.lo + (2 * c + 0.5) / (2 * self.cols - 1) * (self.hi - self.lo)

    def rule_columns(self, colour: str) -> set[int]:
        return {
            c
            for r in range(self.rows)
            for c in range(self.cols)
            if self.char(r, c) in "│┼"
            and (st := self.style(r, c)) is not None
            and st.color is not None
            and st.color.name == colour
        }

    @staticmethod
    def is_braille(ch: str) -> bool:
        return 0x2801 <= ord(ch) <= 0x28FF


@pytest.fixture(scope="module")
def pic() -> Picture:
    return Picture(two_flip_snapshot(), 100, 22)


def test_the_picture_fits_its_size() -> None:
    snap = two_flip_snapshot()
    for width, height in ((160, 30), (100, 20), (60, 12), (40, 8)):
        lines = render_profile(snap, width, height, COLORS).plain.split("\n")
        assert len(lines) == height, (width, height)
        assert all(len(ln) <= width for ln in lines), (width, height)
        assert f"spot {price(6_000.0)}" in lines[-1], width  # the key line keeps the spot


def test_the_spot_rule_and_each_flip_rule_sit_at_their_prices(pic: Picture) -> None:
    spot_cols = pic.rule_columns(COLORS.spot)
    flip_cols = pic.rule_columns(COLORS.zero_gamma)
    assert len(spot_cols) == 1
    assert abs(pic.price_of(spot_cols.pop()) - 6_000.0) <= pic.cell
    assert len(flip_cols) == 2
    for c, z in zip(sorted(flip_cols), FLIPS, strict=True):
        assert abs(pic.price_of(c) - z) <= pic.cell, (c, z)


def test_the_curve_crosses_the_zero_rule_at_the_flips(pic: Picture) -> None:
    zero_line = pic.plot_line(pic.zero_row)
    assert zero_line.endswith("┤") and "─" in zero_line
    crossings = [c for c in range(pic.cols) if pic.is_braille(pic.char(pic.zero_row, c))]
    for z in FLIPS:
        assert any(abs(pic.price_of(c) - z) <= 2 * pic.cell for c in crossings), z


def test_the_curve_is_above_zero_where_gex_is_positive_and_coloured_by_sign(pic: Picture) -> None:
    checked = 0
    for r in range(pic.rows):
        if r == pic.zero_row:
            continue
        for c in range(pic.cols):
            if not pic.is_braille(pic.char(r, c)):
                continue
            x = pic.price_of(c)
            if min(abs(x - z) for z in FLIPS) <= 2 * pic.cell:
                continue  # the curve passes through zero here
            gex = float(np.interp(x, pic.xs, pic.ys))
            assert (r < pic.zero_row) == (gex > 0), (r, c, x, gex)
            st = pic.style(r, c)
            assert st is not None and st.color is not None
            assert st.color.name == (COLORS.positive if r < pic.zero_row else COLORS.negative)
            checked += 1
    assert checked > 50


def test_the_value_axis_labels_the_extremes_on_their_rows(pic: Picture) -> None:
    top = min(r for r in range(pic.rows) for c in range(pic.cols) if pic.is_braille(pic.char(r, c)))
    bottom = max(
        r for r in range(pic.rows) for c in range(pic.cols) if pic.is_braille(pic.char(r, c))
    )
    hi, lo = float(pic.ys.max()) / 1e9, float(pic.ys.min()) / 1e9
    assert pic.lines[1 + top][: pic.label_w].strip() == f"+{hi:.0f}bn"
    assert pic.lines[1 + bottom][: pic.label_w].strip() == f"{lo:+.0f}bn"
    assert pic.lines[1 + pic.zero_row][: pic.label_w].strip() == "0"


def test_the_price_axis_spans_the_window_and_the_key_names_the_marks(pic: Picture) -> None:
    axis = pic.lines[pic.rows + 2].split()
    assert axis[0] == f"{pic.lo:,.0f}" and axis[-1] == f"{pic.hi:,.0f}"
    assert len(axis) == 5
    key = pic.lines[-1]
    assert key.startswith("$bn per 1% move")
    assert f"spot {price(6_000.0)}" in key
    assert f"zero γ {price(FLIPS[0])}, {price(FLIPS[1])}" in key


def test_an_empty_profile_says_why() -> None:
    snap = dataclasses.replace(
        spx_snapshot(),
        profile=pl.DataFrame(schema={"spot": pl.Float64, "net_gex": pl.Float64}),
        zero_gamma_note="no open interest",
    )
    assert render_profile(snap, 80, 20, COLORS).plain == "GEX profile: no open interest"


def test_snapshots_with_one_key_draw_one_picture() -> None:
    """The chart thread skips a render when the key is the one on screen: the key must
    change whenever the picture would."""
    base = two_flip_snapshot()
    pictures: dict[tuple[object, ...], str] = {}
    bump = pl.col("net_gex") + ((pl.col("spot") - 6_300.0) / 30.0).pow(2).neg().exp()
    for spot in (6_000.0, 6_000.004, 6_001.0, 6_004.0, 6_020.0):
        for scale, dent in ((1.0, 0.0), (1.0000001, 0.0), (1.02, 0.0), (1.0, 2e10), (1.0, 2e7)):
            # a dent in the middle of the curve keeps the axis labels and the marks
            snap = dataclasses.replace(
                base,
                spot=spot,
                profile=base.profile.with_columns(
                    (pl.col("net_gex") * scale - dent * (bump - pl.col("net_gex"))).alias("net_gex")
                ),
            )
            key = profile_key(snap, 100, 22)
            text = render_profile(snap, 100, 22, COLORS).plain
            assert pictures.setdefault(key, text) == text, (spot, scale, dent)
    assert len(pictures) > 3
