"""The strike chart's text (pure Python, pure functions: safe to run in a thread).

Two steps, so the cheap part runs on the event loop and the rest off it:

1. :func:`bar_data` picks the strike window and the column of an
   :class:`~gextui.core.exposure.ExposureSnapshot` (a few hundred µs);
2. :func:`render_bars` draws it into a Rich ``Text`` (a few ms; the app runs it in its
   render thread). The profile chart beside it is :mod:`gextui.ui.profile_chart`.

Bars are horizontal, one strike (or a bucket of adjacent strikes when the window holds more
strikes than there are rows) per row, highest strike at the top. Positive values go right,
negative left. The strike labels carry tags that read without colour:
``S`` spot, ``Z`` zero gamma, ``C`` call wall, ``P`` put wall.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from rich.style import Style
from rich.text import Text

from gextui.core.exposure import ExposureSnapshot
from gextui.core.symbols import format_strike
from gextui.formats import money, scale_for
from gextui.settings import Colors

METRIC_NAMES: Final = {"gex": "GEX", "dex": "DEX", "vex": "VEX", "cex": "CEX"}
METRIC_UNITS: Final = {
    "gex": "per 1% move",
    "dex": "dollar delta",
    "vex": "per 1 vol point",
    "cex": "per day",
}
Array = npt.NDArray[np.float64]


ROW_MULTIPLES: Final = (1, 2, 4, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000)


@dataclass(frozen=True, slots=True)
class LevelLine:
    """Spot or zero gamma: a line across the chart, drawn just above row ``row`` (−1: below
    the first row)."""

    letter: str  # "S" or "Z"
    name: str
    value: float
    row: int


@dataclass(frozen=True, slots=True)
class BarData:
    """What one strike chart shows. The strike axis is linear in price: row ``i`` covers the
    price bucket ``[lows[i], lows[i] + row_step)`` (ascending, drawn highest at the top) and
    holds the sum over the strikes inside it; ``labels`` name exactly those strikes (one
    strike, or the range ``a–b`` when a row holds several). C/P sit on the row holding the
    wall's strike; spot and zero gamma are lines between rows with their exact values. Levels
    outside the view are listed in ``outside`` ("↑ C 6,400"), never drawn on an edge row."""

    strikes: tuple[float, ...]  # the lower price edge of each row
    labels: tuple[str, ...]  # strike label + tags (C, P)
    first: tuple[float, ...]  # value drawn first (bigger magnitude)
    first_is_pos: tuple[bool, ...]  # colour of the first value: positive/calls colour
    second: tuple[float, ...]  # value drawn over it (smaller magnitude, split mode)
    second_is_pos: tuple[bool, ...]
    per_row: int  # base strike steps per row (1: one strike per row)
    title: str
    legend: str
    max_abs: float
    tags: dict[str, int]  # tag letter → row index (C, P, and the row holding S / Z)
    row_step: float = 0.0  # price span of one row
    base_step: float = 0.0  # the chain's strike spacing near spot
    lines: tuple[LevelLine, ...] = ()
    outside: tuple[str, ...] = ()  # levels above / below the view
    span: str = ""  # what is shown, e.g. "40 strikes 6,020–6,215, 1 per row"
    split: bool = False
    held: tuple[tuple[float, ...], ...] = ()  # the chain's strikes in each row
    # the Change view: each row's earlier value (sum over the earlier values of its strikes,
    # NaN when none of them had one), None when no ``previous`` was given to bar_data
    previous: tuple[float, ...] | None = None

    def change(self, row: int) -> float:
        """The row's value now minus its earlier value (NaN without an earlier value)."""
        if self.previous is None:
            return math.nan
        return self.first[row] + self.second[row] - self.previous[row]

    @property
    def empty(self) -> bool:
        return not self.strikes

    def row_of(self, price: float) -> int:
        """The row whose bucket holds ``price`` (−1 outside the view)."""
        if not self.strikes or self.row_step <= 0:
            return -1
        k = math.floor((price - self.strikes[0]) / self.row_step + 1e-9)
        return k if 0 <= k < len(self.strikes) else -1

    def visual_key(self, width: int) -> tuple[object, ...]:
        """Identifies the picture at cell resolution (bar lengths rounded to a half cell): two
        BarData with the same key draw the same chart, so the app skips the re-render."""
        scale = max(width, 1) / self.max_abs if self.max_abs > 0 else 0.0
        key = (
            self.labels,
            self.title,
            self.legend,
            self.lines,
            self.outside,
            _scale_label(self.max_abs),
            tuple(round(2 * v * scale) for v in self.first),
            tuple(round(2 * v * scale) for v in self.second),
            self.first_is_pos,
            self.second_is_pos,
        )
        if self.previous is None:
            return key
        return (
            *key,
            tuple(round(2 * v * scale) if math.isfinite(v) else None for v in self.previous),
            tuple(money(self.change(i), digits=1) for i in range(len(self.strikes))),
        )


def column_name(metric: str, basis: str, side: str) -> str:
    return f"{side}_{metric}{'_vol' if basis == 'volume' else ''}"


def strike_window(strikes: Array, center: float | None, count: int, pct: float) -> tuple[int, int]:
    """Index range [lo, hi) of ``strikes`` (ascending) around ``center``: ``count`` strikes,
    or every strike within ± ``pct`` % of ``center`` when ``pct`` > 0."""
    n = strikes.size
    if n == 0:
        return 0, 0
    c = float(center) if center is not None and math.isfinite(center) else float(np.median(strikes))
    if pct > 0:
        lo = int(np.searchsorted(strikes, c * (1 - pct / 100.0), side="left"))
        hi = int(np.searchsorted(strikes, c * (1 + pct / 100.0), side="right"))
        if lo >= n:
            return n - 1, n
        return lo, max(hi, lo + 1)
    mid = int(np.searchsorted(strikes, c))
    lo = max(0, mid - count // 2)
    hi = min(n, lo + count)
    lo = max(0, hi - count)
    return lo, hi


def base_step(strikes: Array, center: float) -> float:
    """The chain's strike spacing near ``center``: the most common gap between the listed
    strikes within ± 5 % of it (5 for SPX, 1 for SPY, 0.5 for cheap stocks)."""
    if strikes.size < 2:
        return 1.0
    near = strikes[(strikes >= center * 0.95) & (strikes <= center * 1.05)]
    if near.size < 2:
        near = strikes
    gaps = np.round(np.diff(near), 6)
    gaps = gaps[gaps > 0]
    if gaps.size == 0:
        return 1.0
    values, counts = np.unique(gaps, return_counts=True)
    return float(values[np.argmax(counts)])


def _fmt(price: float) -> str:
    return format_strike(round(price, 4))


def _bucket_label(held: Array, low: float, step: float, per_row: int) -> str:
    """What a row holds: its strike, or the range of its strikes (``6100–6115``)."""
    if held.size == 1:
        return _fmt(float(held[0]))
    if held.size > 1:
        return f"{_fmt(float(held[0]))}–{_fmt(float(held[-1]))}"
    if per_row == 1:
        return _fmt(low)
    return f"{_fmt(low)}–{_fmt(low + step)}"  # an empty bucket: its price span


def bar_data(
    snap: ExposureSnapshot,
    *,
    metric: str = "gex",
    basis: str = "oi",
    split: bool = False,
    count: int = 0,
    pct: float = 0.0,
    center: float | None = None,
    rows: int = 40,
    previous: Mapping[float, float] | None = None,
) -> BarData:
    """The rows of the strike chart for ``snap`` (see :class:`BarData`). ``count`` strike
    steps (0: as many as fit ``rows`` at one strike per row; or ± ``pct`` % of ``center``)
    around ``center``; when they need more than ``rows`` rows, each row holds a round
    multiple of the strike step.

    ``previous`` (the Change view): strike → the shown metric's earlier **net** value (same
    metric and basis, e.g. the value 5 minutes ago). Bucketed like the bars; render_bars then
    draws a ghost mark ``┊`` where each row's earlier net bar ended and a Δ column (now − then)
    on the right. In split mode the comparison is with the row's net (calls + puts). None (the
    default): no ghost, no Δ column, the chart exactly as without the option."""
    frame = snap.strikes
    name = METRIC_NAMES[metric]
    what = "calls vs puts" if split else "net"
    base = "volume" if basis == "volume" else "open interest"
    title = f"{name} by strike · {what} · {base} · {snap.expiry}"
    if frame.height == 0:
        return BarData((), (), (), (), (), (), 1, title, "", 0.0, {})
    strikes = frame["strike"].to_numpy().astype(np.float64)
    mid = center if center is not None else snap.spot
    c = float(mid) if mid is not None and math.isfinite(mid) else float(np.median(strikes))
    step = base_step(strikes, c)
    levels = [v for v in (snap.spot, snap.zero_gamma, snap.call_wall, snap.put_wall)]

    def layout(per_row: int, want: float) -> tuple[float, int, int]:
        """(lowest price, strike rows, rows in all with the level lines and notes)."""
        rstep = step * per_row
        n = max(math.ceil(want / per_row), 1)
        lo = math.floor((c - n * rstep / 2.0) / rstep + 0.5) * rstep
        hi = lo + rstep * n
        inside = [v is not None and lo - 1e-9 <= v < hi - 1e-9 for v in levels]
        lines = sum(1 for v, ok in zip(levels[:2], inside[:2], strict=True) if ok)
        ups = any(v is not None and v >= hi - 1e-9 for v in levels)
        downs = any(v is not None and v < lo - 1e-9 for v in levels)
        return lo, n, n + lines + int(ups) + int(downs)

    if pct > 0:
        want = max(2 * c * pct / 100.0 / step, 1.0)
    elif count > 0:
        want = float(count)
    else:  # as many strikes as fit, one per row
        want = float(max(rows, 1))
        while want > 1 and layout(1, want)[2] > rows:
            want -= 1
    per_row = next((m for m in ROW_MULTIPLES if layout(m, want)[2] <= rows), ROW_MULTIPLES[-1])
    rstep = step * per_row
    lo_price, n_rows, _ = layout(per_row, want)
    lows = lo_price + rstep * np.arange(n_rows)
    hi_price = lo_price + rstep * n_rows

    inside = (strikes >= lo_price - 1e-9) & (strikes < hi_price - 1e-9)
    idx = np.flatnonzero(inside)
    row_ix = np.floor((strikes[idx] - lo_price) / rstep + 1e-9).astype(np.int64)
    row_ix = np.clip(row_ix, 0, n_rows - 1)
    if split:
        a_all = frame[column_name(metric, basis, "call")].to_numpy()
        b_all = frame[column_name(metric, basis, "put")].to_numpy()
    else:
        a_all = frame[column_name(metric, basis, "net")].to_numpy()
        b_all = np.zeros_like(a_all)
    a = np.bincount(row_ix, weights=np.nan_to_num(a_all[idx]), minlength=n_rows)
    b = np.bincount(row_ix, weights=np.nan_to_num(b_all[idx]), minlength=n_rows)
    held = [strikes[idx][row_ix == k] for k in range(n_rows)]

    def row_of(price: float | None) -> int:
        if price is None or not math.isfinite(price):
            return -2
        k = math.floor((price - lo_price) / rstep + 1e-9)
        return k if 0 <= k < n_rows else -1

    tags: dict[str, int] = {}
    outside: list[str] = []
    names = {"S": "spot", "Z": "zero γ", "C": "call wall", "P": "put wall"}
    lines: list[LevelLine] = []
    for letter, value in (
        ("S", snap.spot),
        ("Z", snap.zero_gamma),
        ("C", snap.call_wall),
        ("P", snap.put_wall),
    ):
        row = row_of(value)
        if row == -2 or value is None:
            continue
        if row == -1:
            arrow = "↑" if value >= hi_price else "↓"
            outside.append(f"{arrow} {letter} {names[letter]} {value:,.{_places(value)}f}")
            continue
        tags[letter] = row
        if letter in ("S", "Z"):
            # the line goes between the strikes below and above the level
            below = held[row][held[row] <= value] if held[row].size else held[row]
            above_row = row if below.size else row - 1
            lines.append(LevelLine(letter, names[letter], float(value), above_row))
    texts = [_bucket_label(held[k], float(lows[k]), rstep, per_row) for k in range(n_rows)]
    width = max(len(t) for t in texts)
    labels = []
    for i, t in enumerate(texts):
        tag = "".join(letter for letter in ("C", "P") if tags.get(letter) == i)
        labels.append(f"{t:>{width}} {tag:<2}")

    if split:
        a_big = np.abs(a) >= np.abs(b)
        first = np.where(a_big, a, b)
        second = np.where(a_big, b, a)
        first_pos = a_big  # calls colour when the call value is the big one
        second_pos = ~a_big
    else:
        first = a
        second = b
        first_pos = a >= 0
        second_pos = np.ones_like(first_pos)
    max_abs = float(max(np.max(np.abs(a), initial=0.0), np.max(np.abs(b), initial=0.0)))
    prev_rows = None if previous is None else _bucket_previous(previous, lo_price, rstep, n_rows)
    n_strikes = int(idx.size)
    rows_text = "1 strike per row" if per_row == 1 else f"{_fmt(rstep)}-pt rows"
    span = f"{n_strikes} strikes {_fmt(lo_price)}–{_fmt(hi_price - step)}, {rows_text}"
    legend_bits = ["█ calls  █ puts" if split else "→ positive  ← negative"]
    legend_bits.append("─ S spot  ┄ Z zero γ")
    wall_basis = "OI" if basis != "volume" else "OI (walls and levels stay OI-based)"
    legend_bits.append(f"C call wall (max call GEX)  P put wall (max put GEX), by {wall_basis}")
    if prev_rows is not None:
        legend_bits.append("┊ earlier bar  Δ change")
    return BarData(
        strikes=tuple(float(k) for k in lows),
        labels=tuple(labels),
        first=tuple(float(v) for v in first),
        first_is_pos=tuple(bool(v) for v in first_pos),
        second=tuple(float(v) for v in second),
        second_is_pos=tuple(bool(v) for v in second_pos),
        per_row=per_row,
        title=title,
        legend=" · ".join(legend_bits),
        max_abs=max_abs,
        tags=tags,
        row_step=rstep,
        base_step=step,
        lines=tuple(sorted(lines, key=lambda ln: (ln.row, ln.value))),
        outside=tuple(outside),
        span=span,
        split=split,
        held=tuple(tuple(float(x) for x in h) for h in held),
        previous=prev_rows,
    )


def _bucket_previous(
    previous: Mapping[float, float], lo_price: float, rstep: float, n_rows: int
) -> tuple[float, ...]:
    """Each row's sum of the earlier values of the strikes in its bucket (NaN: none)."""
    pairs = []
    for k, v in previous.items():
        try:
            pairs.append((float(k), float(v)))
        except (TypeError, ValueError):
            continue
    arr = np.array(pairs, dtype=np.float64).reshape(-1, 2)
    ks, vs = arr[:, 0], arr[:, 1]
    hi_price = lo_price + rstep * n_rows
    ok = np.isfinite(ks) & np.isfinite(vs) & (ks >= lo_price - 1e-9) & (ks < hi_price - 1e-9)
    rix = np.clip(np.floor((ks[ok] - lo_price) / rstep + 1e-9).astype(np.int64), 0, n_rows - 1)
    sums = np.bincount(rix, weights=vs[ok], minlength=n_rows).astype(np.float64)
    counts = np.bincount(rix, minlength=n_rows)
    sums[counts == 0] = np.nan
    return tuple(float(x) for x in sums)


def _places(value: float) -> int:
    return 0 if float(value).is_integer() else 2


def _scale_label(max_abs: float) -> str:
    """The x-axis tick labels depend on the maximum only through this rounded text."""
    div, suffix = scale_for(max_abs)
    return f"{max_abs * 1.08 / div:.2g}{suffix}"


def axis_tick(value: float, suffix: str) -> str:
    """A value-axis label: ``0``, ``+4.2bn``, ``-38bn``."""
    if abs(value) < 1e-12:
        return "0"
    return f"{value:+.{0 if abs(value) >= 10 else 1}f}{suffix}"


def bar_rows(height: int) -> int:
    """How many rows (strike rows, level lines, notes) fit above the value axis."""
    return max(height - 1, 1)


def render_bars(data: BarData, width: int, height: int, colors: Colors) -> Text:
    """The strike chart as Rich text, at most ``width`` × ``height`` cells: one line per row
    (highest strike on top), the spot and zero-gamma lines between rows, the levels outside the
    view above / below, and the value axis at the bottom. Pure Python (no plotext): cheap
    enough for the event loop, still safe in a thread."""
    if data.empty:
        return Text("waiting for data…", style="dim")
    pos_style = Style(color=colors.positive)
    neg_style = Style(color=colors.negative)
    line_styles = {
        "S": Style(color=colors.spot, bold=True),
        "Z": Style(color=colors.zero_gamma, bold=True),
    }
    tag_styles = {
        "C": Style(color=colors.positive, bold=True, reverse=True),
        "P": Style(color=colors.negative, bold=True, reverse=True),
    }
    line_labels = {ln: f"{ln.value:.2f} {ln.letter}" for ln in data.lines}
    label_w = max([len(x) for x in data.labels] + [len(x) + 1 for x in line_labels.values()])
    area = max(width - label_w - 1, 7)
    deltas: list[str] = []
    delta_w = 0
    top = data.max_abs
    if data.previous is not None:  # the Change view: a Δ column on the right
        deltas = [money(data.change(i), digits=1) for i in range(len(data.strikes))]
        delta_w = max([len(x) for x in deltas] + [1])
        area = max(width - label_w - 1 - delta_w - 1, 7)
        top = max([top] + [abs(v) for v in data.previous if math.isfinite(v)])
    half = (area - 1) // 2
    m = top * 1.05 if top > 0 else 1.0

    def cells(v: float) -> tuple[int, bool]:
        n2 = round(2.0 * abs(v) / m * half)
        return n2 // 2, bool(n2 % 2)

    axis_style = Style(dim=True)

    def side(value: float) -> str:
        full, part = cells(value)
        if value > 0:
            return ("█" * full + ("▌" if part else ""))[:half]
        return (("▐" if part else "") + "█" * full)[-half:] if half else ""

    def bar_line(first: float, fpos: bool, second: float, spos: bool) -> Text:
        """Left half (negative values, growing left from the axis), axis, right half."""
        left: list[tuple[str, Style]] = []  # (glyphs, style), innermost last
        right: list[tuple[str, Style]] = []
        for value, is_pos in ((first, fpos), (second, spos)):
            if value == 0:
                continue
            style = pos_style if is_pos else neg_style
            (right if value > 0 else left).append((side(value), style))
        out = Text(no_wrap=True, end="")
        if len(left) == 2:  # both on the left: the smaller one is drawn over the bigger
            big, small = left
            out.append(" " * (half - len(big[0])))
            out.append(big[0][: len(big[0]) - len(small[0])], big[1])
            out.append(small[0], small[1])
        elif left:
            out.append(" " * (half - len(left[0][0])))
            out.append(left[0][0], left[0][1])
        else:
            out.append(" " * half)
        out.append("│", axis_style)
        if len(right) == 2:
            big, small = right
            out.append(small[0], small[1])
            out.append(big[0][len(small[0]) :], big[1])
            out.append(" " * (half - len(big[0])))
        elif right:
            out.append(right[0][0], right[0][1])
            out.append(" " * (half - len(right[0][0])))
        else:
            out.append(" " * half)
        return out

    lines_by_row: dict[int, list[LevelLine]] = {}
    for ln in data.lines:
        lines_by_row.setdefault(ln.row, []).append(ln)
    out = Text(no_wrap=True, end="")

    def newline() -> None:
        if out.plain:
            out.append("\n")

    def note(items: list[str], where: str) -> str:
        """``↑ C call wall 4,800 (above the view)``, shortened to fit (``↑ C 4,800 Z 4,734``)."""
        room = width - 1
        full = "  ".join(items) + f" ({where} the view)"
        if len(full) <= room:
            return full
        short = (
            items[0][0] + " " + "  ".join(f"{x.split()[1]} {x.split()[-1]}" for x in items)
        )  # arrow, then letter + value of each
        return (short + f" {where}" if len(short) + len(where) + 1 <= room else short)[:room]

    ups = [o for o in data.outside if o.startswith("↑")]
    downs = [o for o in data.outside if o.startswith("↓")]
    if ups:
        out.append(note(ups, "above"), Style(dim=True))

    def level_line(ln: LevelLine) -> None:
        newline()
        st = line_styles[ln.letter]
        out.append(f"{line_labels[ln]:>{label_w}} ", st)
        out.append(("─" if ln.letter == "S" else "┄") * area, st)

    n = len(data.strikes)
    for row in range(n - 1, -1, -1):
        for ln in sorted(lines_by_row.get(row, []), key=lambda x: -x.value):
            level_line(ln)
        newline()
        label = data.labels[row]  # "<strike> <tags>": the last two cells are the tags
        core, tags_text = label[:-3], label[-2:].strip()
        out.append(f"{core:>{label_w - 3}} ", Style(bold=True) if tags_text else None)
        for letter in tags_text:
            out.append(letter, tag_styles.get(letter, Style()))
        out.append(" " * (3 - len(tags_text)))
        bar = bar_line(
            data.first[row], data.first_is_pos[row], data.second[row], data.second_is_pos[row]
        )
        if data.previous is None:
            out.append_text(bar)
            continue
        out.append_text(_ghost(bar, data.previous[row], cells, half, pos_style, neg_style))
        d = data.change(row)
        out.append(" ")
        d_style = pos_style if d > 0 else neg_style if d < 0 else Style(dim=True)
        out.append(f"{deltas[row]:>{delta_w}}", d_style)
    for ln in sorted(lines_by_row.get(-1, []), key=lambda x: -x.value):
        level_line(ln)
    if downs:
        newline()
        out.append(note(downs, "below"), Style(dim=True))
    # the value axis
    div, suffix = scale_for(data.max_abs)
    lo_t, hi_t = axis_tick(-m / div, suffix), axis_tick(m / div, suffix)
    axis = [" "] * area
    for i, ch in enumerate(lo_t[: half - 1]):
        axis[i] = ch
    axis[half] = "0"
    for i, ch in enumerate(hi_t):
        j = area - len(hi_t) + i
        if j > half + 1:
            axis[j] = ch
    newline()
    out.append(" " * (label_w + 1) + "".join(axis), Style(dim=True))
    if data.previous is not None:
        out.append(" " + f"{'Δ':>{delta_w}}", Style(dim=True, bold=True))
    lines = out.split("\n")
    if len(lines) > height:  # never more rows than the widget has: keep the top and axis
        out = Text("\n", no_wrap=True, end="").join([*lines[: height - 1], lines[-1]])
    return out


GHOST: Final = "┊"


def ghost_column(earlier: float, cells: Callable[[float], tuple[int, bool]], half: int) -> int:
    """Offset in a bar line (``half`` cells, axis, ``half`` cells) of the last cell the
    earlier bar filled; −1 for no ghost (NaN, 0, or less than half a cell)."""
    if not math.isfinite(earlier) or earlier == 0 or half <= 0:
        return -1
    full, part = cells(earlier)
    n = full + int(part)
    if n == 0:
        return -1
    n = min(n, half)
    return half + n if earlier > 0 else half - n


def _ghost(
    bar: Text,
    earlier: float,
    cells: Callable[[float], tuple[int, bool]],
    half: int,
    pos_style: Style,
    neg_style: Style,
) -> Text:
    """``bar`` with the ghost mark of the earlier bar's end: in the earlier bar's colour on an
    empty cell, dark on the colour of a bar cell it falls on."""
    j = ghost_column(earlier, cells, half)
    if j < 0 or j >= len(bar.plain):
        return bar
    own = pos_style if earlier > 0 else neg_style
    style = own
    if bar.plain[j] != " ":
        under = next(
            (
                sp.style
                for sp in reversed(bar.spans)
                if sp.start <= j < sp.end and isinstance(sp.style, Style)
            ),
            None,
        )
        if under is not None and under.color is not None:
            style = Style(color="#000000", bgcolor=under.color, bold=True)
    out = bar[:j]
    out.append(GHOST, style)
    out.append_text(bar[j + 1 :])
    return out
