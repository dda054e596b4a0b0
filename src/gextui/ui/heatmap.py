"""The strike × time map (SpotGamma TRACE-like): net GEX per strike (rows) over the session
(columns), with spot and zero gamma drawn over it. A pure function from plain arrays to Rich
``Text`` (no Textual), cheap enough for a worker thread: :func:`render_heatmap`.

Axes, as the strike chart (``ui/chart.py``) has them, linear and truthful:

- **Rows** are strike buckets, highest strike at the top. Row ``i`` covers the price span
  ``[low_i, low_i + row_step)``; ``row_step`` is the chain's strike spacing (the most common gap,
  see :func:`gextui.ui.chart.base_step`) times the smallest round multiple
  (:data:`~gextui.ui.chart.ROW_MULTIPLES`) that fits the height. A cell holds the **sum** over
  the strikes in its bucket. Each row is labelled with its lowest price (the strike itself when
  a row holds one strike); the header says the bucket size.
- **Columns** are time buckets of equal duration from the first to the last sample. With fewer
  samples than columns, each sample gets one column (widened to several cells to fill the
  width); with more, a column covers ``span / columns`` seconds and holds, per strike, the
  **mean** of the finite samples in it. A column without samples stays blank (a gap in the data
  is shown, never bridged). The x axis is labelled with New York times (HH:MM) at round times.
- **Colour** is a diverging scale, symmetric around 0: positive values in ``colors.positive``,
  negative in ``colors.negative``, in :data:`LEVELS` steps of intensity by ``|value| / max``
  (the strongest step is exactly the theme colour; less than half a step, e.g. an exact 0,
  is the neutral :data:`NEUTRAL`: data, but next to no exposure).
  The legend line shows the scale and its maximum. No data (NaN): a blank cell.
- **Spot** (``━`` in ``colors.spot``) and **zero gamma** (``┄`` in ``colors.zero_gamma``) are drawn
  in each column on the row holding the column's mean value; where both fall in one cell, spot
  wins. A level outside the strike range is named in the legend line, never drawn on an edge row.
- ``half_rows=True``: two strike buckets per line (``▀``: the upper bucket's colour on the lower
  one's), twice the vertical resolution at the same height.

Wiring: :func:`heat_input` lines a series of snapshots up into the arguments; run the render
off the event loop (≈ 5–10 ms for a whole session at 160×48, see :func:`bench`,
``python -m gextui.ui.heatmap``).

Values are dollars (per 1 % move, as everywhere in gextui); ``title_unit`` picks the legend's
scale: ``"$ bn"`` (÷1e9), ``"$ M"``, ``"$ K"``, ``"$"`` or ``"auto"`` (the scale of the maximum);
any other string is taken as the unit the values are already in (no scaling).

Never raises on empty, mismatched or NaN input: it says what is missing instead.
"""

from __future__ import annotations

import json
import math
import time as _time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
from rich.style import Style
from rich.text import Span, Text

from gextui.core.exposure import ExposureSnapshot
from gextui.core.symbols import format_strike
from gextui.formats import scale_for
from gextui.settings import Colors
from gextui.ui.chart import ROW_MULTIPLES, base_step

NEW_YORK: Final = ZoneInfo("America/New_York")
LEVELS: Final = 8  # intensity steps per side of the scale
NEUTRAL: Final = "#303030"  # an exact zero (data, but no exposure)
SPOT_GLYPH: Final = "━"
ZERO_GLYPH: Final = "┄"
UNIT_DIVISORS: Final = {"$ bn": 1e9, "$ M": 1e6, "$ K": 1e3, "$": 1.0}
TICK_MINUTES: Final = (1, 2, 5, 10, 15, 30, 60, 120, 180, 240, 360, 720, 1440)
_MIN_TINT: Final = 0.22  # the weakest step's share of the theme colour
Array = npt.NDArray[np.float64]

_CODE_NONE: Final = -1  # no data
_SPOT: Final = 1000  # + level code: spot glyph on that cell
_ZERO: Final = 2000


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _mix(a: str, b: str, t: float) -> str:
    ra, ga, ba = _rgb(a)
    rb, gb, bb = _rgb(b)
    r, g, b_ = (round(x + (y - x) * t) for x, y in ((ra, rb), (ga, gb), (ba, bb)))
    return f"#{r:02x}{g:02x}{b_:02x}"


def level_of(value: float, max_abs: float) -> int:
    """The signed step of ``value`` on the scale: ``round(|value| / max_abs · LEVELS)``, so 0
    (the neutral colour) for ``|value| < max_abs / (2 · LEVELS)`` — data, but next to nothing
    — and ±LEVELS for the maximum."""
    if not math.isfinite(value) or value == 0 or max_abs <= 0:
        return 0
    step = min(math.floor(abs(value) / max_abs * LEVELS + 0.5), LEVELS)
    return step if value > 0 else -step


def level_colour(level: int, colors: Colors) -> str:
    """``#rrggbb`` of a signed step: NEUTRAL at 0, the theme colour at ±LEVELS."""
    if level == 0:
        return NEUTRAL
    target = colors.positive if level > 0 else colors.negative
    t = _MIN_TINT + (1.0 - _MIN_TINT) * (abs(level) - 1) / (LEVELS - 1)
    return _mix(NEUTRAL, target, t)


def heat_colour(value: float, max_abs: float, colors: Colors) -> str | None:
    """The background colour of a cell holding ``value`` (None: no data, a blank cell)."""
    if not math.isfinite(value):
        return None
    return level_colour(level_of(value, max_abs), colors)


@dataclass(frozen=True, slots=True)
class HeatGrid:
    """The bucketed map behind the picture (rows ascending in price, columns in time)."""

    lows: Array  # lower price edge of each row
    row_step: float
    per_row: int  # chain strike steps per row
    cells: Array  # (rows, columns): bucket sums, NaN = no data
    col_start: Array  # epoch seconds at each column's start
    col_seconds: float  # duration of a column
    spot: Array  # per column (mean), NaN = none
    zero_gamma: Array

    def row_of(self, price: float) -> int:
        """The row whose bucket holds ``price`` (−1 outside the map or NaN)."""
        if not math.isfinite(price) or self.lows.size == 0 or self.row_step <= 0:
            return -1
        k = math.floor((price - float(self.lows[0])) / self.row_step + 1e-9)
        return k if 0 <= k < self.lows.size else -1


def _epoch(moments: Sequence[datetime]) -> Array:
    out = np.empty(len(moments), dtype=np.float64)
    for i, m in enumerate(moments):
        try:
            out[i] = (m if m.tzinfo is not None else m.replace(tzinfo=UTC)).timestamp()
        except (AttributeError, OverflowError, ValueError, OSError):
            out[i] = np.nan
    return out


def _column_mean(values: Array, col: npt.NDArray[np.int64], n_cols: int) -> Array:
    """Mean over the finite samples of each column, per row of ``values`` (rows × samples);
    NaN where a column has none."""
    n_rows = values.shape[0]
    finite = np.isfinite(values)
    idx = (np.arange(n_rows, dtype=np.int64)[:, None] * n_cols + col[None, :]).ravel()
    sums = np.bincount(
        idx, weights=np.where(finite, values, 0.0).ravel(), minlength=n_rows * n_cols
    )
    counts = np.bincount(idx, weights=finite.ravel().astype(np.float64), minlength=n_rows * n_cols)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sums / counts
    mean[counts == 0] = np.nan
    return mean.reshape(n_rows, n_cols)


def heat_grid(
    times: Sequence[datetime],
    strikes: Array,
    values: Array,
    spot: Array,
    zero_gamma: Array,
    rows: int,
    columns: int,
    *,
    strike_range: tuple[float, float] | None = None,
) -> HeatGrid | str:
    """Bucket the inputs into at most ``rows`` × ``columns`` cells (vectorised: two
    ``bincount`` passes). Returns what is missing as a sentence when nothing can be drawn."""
    if len(times) == 0:
        return "no samples yet"
    ks = np.asarray(strikes, dtype=np.float64).ravel()
    if ks.size == 0:
        return "no strikes yet"
    vals = np.asarray(values, dtype=np.float64)
    if vals.ndim != 2 or vals.shape != (ks.size, len(times)):
        return f"values have shape {vals.shape}, expected ({ks.size}, {len(times)})"
    sp = np.asarray(spot, dtype=np.float64).ravel()
    zg = np.asarray(zero_gamma, dtype=np.float64).ravel()
    if sp.size != len(times):
        sp = np.full(len(times), np.nan)
    if zg.size != len(times):
        zg = np.full(len(times), np.nan)
    ts = _epoch(times)
    ok_t = np.isfinite(ts)
    if not ok_t.any():
        return "no valid sample times"
    order = np.argsort(np.where(ok_t, ts, np.inf), kind="stable")[: int(ok_t.sum())]
    ts, vals, sp, zg = ts[order], vals[:, order], sp[order], zg[order]
    ok_k = np.isfinite(ks)
    if strike_range is not None:
        lo_r, hi_r = sorted(strike_range)
        ok_k &= (ks >= lo_r) & (ks <= hi_r)
    if not ok_k.any():
        return "no strikes in the range"
    korder = np.argsort(ks[ok_k], kind="stable")
    ks = ks[ok_k][korder]
    vals = vals[ok_k][korder]

    # time columns
    columns = max(columns, 1)
    span = float(ts[-1] - ts[0])
    gaps = np.diff(ts)
    gaps = gaps[gaps > 0]
    typical = float(np.median(gaps)) if gaps.size else 0.0
    if span <= 0:
        n_cols, d = 1, max(typical, 60.0)
    else:
        # each sample stands for [t, t + typical): the session's span + one sample into columns
        d = max(typical, (span + typical) / columns)
        n_cols = min(math.floor(span / d + 1e-9) + 1, columns)
    col = np.clip(np.floor((ts - ts[0]) / d + 1e-9).astype(np.int64), 0, n_cols - 1)
    by_strike = _column_mean(vals, col, n_cols)  # (strikes, columns)
    levels = _column_mean(np.vstack([sp, zg]), col, n_cols)

    # strike rows
    rows = max(rows, 1)
    finite_spot = sp[np.isfinite(sp)]
    center = float(np.median(finite_spot)) if finite_spot.size else float(np.median(ks))
    step = base_step(ks, center) if ks.size > 1 else 1.0
    step = step if step > 0 and math.isfinite(step) else 1.0
    lo, hi = float(ks[0]), float(ks[-1])

    def layout(rstep: float) -> tuple[float, int]:
        low = math.floor(lo / rstep + 1e-9) * rstep
        return low, math.floor((hi - low) / rstep + 1e-9) + 1

    per_row = next((m for m in ROW_MULTIPLES if layout(step * m)[1] <= rows), 0)
    if per_row == 0:
        per_row = ROW_MULTIPLES[-1]
        while layout(step * per_row)[1] > rows:
            per_row *= 2
    rstep = step * per_row
    low, n_rows = layout(rstep)
    row_ix = np.clip(np.floor((ks - low) / rstep + 1e-9).astype(np.int64), 0, n_rows - 1)
    finite = np.isfinite(by_strike)
    idx = (row_ix[:, None] * n_cols + np.arange(n_cols, dtype=np.int64)[None, :]).ravel()
    sums = np.bincount(
        idx, weights=np.where(finite, by_strike, 0.0).ravel(), minlength=n_rows * n_cols
    )
    counts = np.bincount(idx, weights=finite.ravel().astype(np.float64), minlength=n_rows * n_cols)
    sums[counts == 0] = np.nan
    return HeatGrid(
        lows=low + rstep * np.arange(n_rows, dtype=np.float64),
        row_step=rstep,
        per_row=per_row,
        cells=np.asarray(sums, dtype=np.float64).reshape(n_rows, n_cols),
        col_start=ts[0] + d * np.arange(n_cols, dtype=np.float64),
        col_seconds=d,
        spot=levels[0],
        zero_gamma=levels[1],
    )


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        m = seconds / 60
        return f"{m:.0f} min" if abs(m - round(m)) < 0.05 else f"{m:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _ticks(start: float, seconds: float, n_cols: int, cell_w: int) -> list[tuple[int, str]]:
    """(cell offset, "HH:MM") at round New York times, at least 7 cells apart."""
    end = start + seconds * n_cols
    per_min = cell_w / seconds * 60.0  # cells per minute
    minutes = next((m for m in TICK_MINUTES if m * per_min >= 7), None)
    out: list[tuple[int, str]] = []
    if minutes is not None:
        local = datetime.fromtimestamp(start, NEW_YORK)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        since = (local - midnight).total_seconds() / 60.0
        k = math.ceil(since / minutes - 1e-9)
        while True:
            tick = midnight + timedelta(minutes=k * minutes)
            ts = tick.timestamp()
            if ts >= end or len(out) > 500:
                break
            x = math.floor((ts - start) / seconds + 1e-9) * cell_w
            out.append((x, tick.strftime("%H:%M")))
            k += 1
    if not out:
        out.append((0, datetime.fromtimestamp(start, NEW_YORK).strftime("%H:%M")))
    return out


def _unit(title_unit: str, max_abs: float) -> tuple[float, str]:
    if title_unit == "auto":
        div, suffix = scale_for(max_abs)
        return div, f"$ {suffix}".strip()
    return UNIT_DIVISORS.get(title_unit, 1.0), title_unit


def _num(value: float) -> str:
    a = abs(value)
    return f"{value:.0f}" if a >= 100 else f"{value:.1f}" if a >= 10 else f"{value:.2f}"


def render_heatmap(
    times: Sequence[datetime],
    strikes: Array,
    values: Array,
    spot: Array,
    zero_gamma: Array,
    width: int,
    height: int,
    colors: Colors,
    *,
    title_unit: str = "$ bn",
    title: str = "Net GEX · strike × time",
    strike_range: tuple[float, float] | None = None,
    half_rows: bool = False,
) -> Text:
    """The strike × time map as Rich text, at most ``width`` × ``height`` cells (see the
    module docstring for the axes and colours).

    ``times``: the sample times (tz-aware; naive means UTC), one per column of ``values``;
    ``strikes``: ascending (sorted here if not); ``values``: ``(len(strikes), len(times))``
    dollars, NaN = no data; ``spot`` / ``zero_gamma``: one value per sample (NaN = none);
    ``strike_range``: show only strikes within ``(low, high)``; ``half_rows``: two strike
    buckets per line (``▀`` in the upper bucket's colour on the lower one's), twice the
    resolution; a line is labelled with its lower bucket, and a spot / zero-gamma mark takes
    the whole cell (on its own bucket's colour).

    Lines: title, legend (scale, spot / zero-gamma keys and latest values), one line per strike
    bucket (highest on top), the time axis. Short heights drop the title first, then the
    legend."""
    width, height = max(int(width), 1), max(int(height), 1)
    plot_rows = max(height - 3, 1) * (2 if half_rows else 1)
    label_w = 4
    for _ in range(3):  # the labels' width depends on the rows, the columns on the labels
        try:
            grid = heat_grid(
                times,
                strikes,
                values,
                spot,
                zero_gamma,
                plot_rows,
                max(width - label_w - 1, 1),
                strike_range=strike_range,
            )
        except (TypeError, ValueError) as exc:  # e.g. strikes that are not numbers
            return _note(title, f"unreadable input ({type(exc).__name__})", width)
        if isinstance(grid, str):
            return _note(title, grid, width)
        drawn = grid
        need = max(len(x) for x in _labels(grid))
        if need <= label_w:
            break
        label_w = need
    text = _draw(drawn, width, height, colors, title_unit, title, half_rows)
    return crop_to(text, width, height)


def crop_to(text: Text, width: int, height: int | None = None) -> Text:
    """``text`` with every line cut to ``width`` cells and at most ``height`` lines (the
    views' last guard for very small boxes; a no-op, and cheap, when it already fits)."""
    lines = text.plain.split("\n")
    if max(len(x) for x in lines) <= width and (height is None or len(lines) <= height):
        return text
    parts = list(text.split("\n", allow_blank=True))
    if height is not None:
        parts = parts[: max(height, 1)]
    for part in parts:
        part.truncate(max(width, 0))
    out = Text("\n", no_wrap=True, end="").join(parts)
    out.end = ""
    return out


def _note(title: str, what: str, width: int) -> Text:
    """``title: what`` in one line of ``width`` (just ``what`` when both do not fit)."""
    full = f"{title}: {what}"
    return Text((full if len(full) <= width else what)[:width], style="dim", end="")


def _labels(grid: HeatGrid) -> list[str]:
    return [format_strike(round(float(x), 4)) for x in grid.lows]


_HALF: Final = 100_000  # + (upper + 1) · 32 + (lower + 1): a "▀" cell of two rows


def _pair_rows(codes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Two grid rows per text line (half-block mode): line ``i`` holds rows ``2i`` (lower
    half) and ``2i + 1`` (upper). A cell with a spot / zero-gamma mark in either half keeps
    that mark (spot first) on the colour of its own half."""
    if codes.shape[0] % 2:
        codes = np.vstack([codes, np.full((1, codes.shape[1]), _CODE_NONE, dtype=np.int64)])
    lower, upper = codes[0::2], codes[1::2]
    plain = _HALF + (upper + 1) * 32 + (lower + 1)
    spot_up = (upper >= _SPOT) & (upper < _ZERO)
    spot_lo = (lower >= _SPOT) & (lower < _ZERO)
    out = np.where(lower >= _SPOT, lower, plain)
    out = np.where(upper >= _SPOT, upper, out)
    out = np.where(spot_lo & ~spot_up, lower, out)
    return np.asarray(out, dtype=np.int64)


def _draw(
    grid: HeatGrid,
    width: int,
    height: int,
    colors: Colors,
    unit: str,
    title: str,
    half: bool = False,
) -> Text:
    n_rows, n_cols = grid.cells.shape
    labels = _labels(grid)
    label_w = max(max(len(x) for x in labels), 4)
    plot_cols = max(width - label_w - 1, 1)
    cell_w = max(plot_cols // n_cols, 1)
    finite = np.isfinite(grid.cells)
    max_abs = float(np.max(np.abs(grid.cells[finite]), initial=0.0))

    # level codes (rows × columns): −1 no data, else signed level + LEVELS (0 … 2·LEVELS)
    codes = np.full(grid.cells.shape, _CODE_NONE, dtype=np.int64)
    if max_abs > 0:
        steps = np.floor(np.abs(np.where(finite, grid.cells, 0.0)) / max_abs * LEVELS + 0.5)
        steps = np.clip(steps, 0, LEVELS) * np.sign(np.where(finite, grid.cells, 0.0))
        codes[finite] = steps[finite].astype(np.int64) + LEVELS
    else:
        codes[finite] = LEVELS
    cols = np.arange(n_cols)
    for values, mark in ((grid.zero_gamma, _ZERO), (grid.spot, _SPOT)):  # spot drawn last
        rows_at = np.floor((values - float(grid.lows[0])) / grid.row_step + 1e-9)
        ok = np.isfinite(rows_at) & (rows_at >= 0) & (rows_at < n_rows)
        r = rows_at[ok].astype(np.int64)
        base = codes[r, cols[ok]] % 1000
        codes[r, cols[ok]] = mark + base
    line_labels = labels
    if half:  # two grid rows per line, labelled with the lower one
        codes = _pair_rows(codes)
        line_labels = labels[0::2]

    styles: dict[int, tuple[str, Style]] = {}

    def style_of(code: int) -> tuple[str, Style]:
        got = styles.get(code)
        if got is None and code >= _HALF:
            up, lo = (code - _HALF) // 32 - 1, (code - _HALF) % 32 - 1
            if up < 0 and lo < 0:
                got = (" ", Style.null())
            elif lo < 0:
                got = ("▀", Style(color=level_colour(up - LEVELS, colors)))
            elif up < 0:
                got = ("▄", Style(color=level_colour(lo - LEVELS, colors)))
            else:
                top, bottom = level_colour(up - LEVELS, colors), level_colour(lo - LEVELS, colors)
                got = ("▀", Style(color=top, bgcolor=bottom))
            styles[code] = got
        if got is None:
            base = code % 1000
            bg = None if base == 999 or code == _CODE_NONE else level_colour(base - LEVELS, colors)
            if code == _CODE_NONE:
                got = (" ", Style.null())
            elif code >= _ZERO:
                got = (ZERO_GLYPH, Style(color=colors.zero_gamma, bgcolor=bg, bold=True))
            elif code >= _SPOT:
                got = (SPOT_GLYPH, Style(color=colors.spot, bgcolor=bg, bold=True))
            else:
                got = (" ", Style(bgcolor=bg))
            styles[code] = got
        return got

    # a glyph on a no-data cell: code % 1000 of −1 + mark is mark − 1 → base 999
    parts: list[str] = []
    spans: list[Span] = []
    pos = 0

    def add(s: str, style: Style | None = None) -> None:
        nonlocal pos
        parts.append(s)
        if style is not None and s:
            spans.append(Span(pos, pos + len(s), style))
        pos += len(s)

    lines_used = 0

    def newline() -> None:
        nonlocal lines_used
        if lines_used:
            add("\n")
        lines_used += 1

    div, unit_label = _unit(unit, max_abs)
    what = "half row" if half else "row"
    row_text = (
        f"1 strike per {what}"
        if grid.per_row == 1
        else f"{format_strike(round(grid.row_step, 4))}-pt {what}s (label: lowest strike)"
    )
    if half:
        head, paren, rest = row_text.partition(" (")
        row_text = f"{head}, 2 per line{paren}{rest}"
    col_text = f"{_duration(grid.col_seconds)} per column"
    header = f"{title} · {unit_label} · {row_text} · {col_text}"
    if len(header) > width:  # the short form: "20-pt rows · 5.2 min/col"
        row_short = row_text.split(" (")[0]
        header = f"{title} · {unit_label} · {row_short} · {_duration(grid.col_seconds)}/col"
    legend = _legend(grid, max_abs, div, unit_label, colors, width)
    show_header = height >= 4
    show_legend = height >= 3
    if show_header:
        newline()
        add(header[:width], Style(bold=True))
    if show_legend:
        newline()
        for s, st in legend:
            add(s, st)
    room = height - int(show_header) - int(show_legend) - 1
    dim = Style(dim=True)
    for r in range(len(codes) - 1, -1, -1):
        if room <= 0:
            break
        room -= 1
        newline()
        add(f"{line_labels[r]:>{label_w}} ", dim)
        row = codes[r]
        cuts = np.flatnonzero(np.diff(row)) + 1
        starts = np.concatenate(([0], cuts))
        ends = np.concatenate((cuts, [n_cols]))
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            ch, st = style_of(int(row[a]))
            add(ch * ((b - a) * cell_w), st if st != Style.null() else None)
    # time axis
    axis = [" "] * (n_cols * cell_w)
    last_end = -2
    for x, label in _ticks(float(grid.col_start[0]), grid.col_seconds, n_cols, cell_w):
        if x <= last_end + 1 or x + len(label) > len(axis) + (0 if x else 5):
            continue
        for i, ch in enumerate(label):
            if x + i < len(axis):
                axis[x + i] = ch
        last_end = x + len(label)
    newline()
    add(f"{'ET':>{label_w}} " + "".join(axis), dim)
    return Text("".join(parts), spans=spans, no_wrap=True, end="")


def _legend(
    grid: HeatGrid, max_abs: float, div: float, unit: str, colors: Colors, width: int
) -> list[tuple[str, Style | None]]:
    """``−2.31 ▒▒▒▒▒▒▒▒ 0 ▒▒▒▒▒▒▒▒ +2.31 $ bn  ━ spot 6,012.50  ┄ zero γ 5,990.00``."""
    out: list[tuple[str, Style | None]] = []
    used = 0

    def put(s: str, st: Style | None = None) -> bool:
        nonlocal used
        if used + len(s) > width:
            if out:
                return False
            s = s[:width]  # the first item is cut to fit, never left out
        out.append((s, st))
        used += len(s)
        return True

    if max_abs > 0 and math.isfinite(max_abs):
        m = max_abs / div
        put(f"−{_num(m)} ", Style(color=colors.negative))
        every = 1 if width >= 100 else 2  # narrow: every other step of the scale
        for lv in range(-LEVELS, LEVELS + 1, every):
            put(" ", Style(bgcolor=level_colour(lv, colors)))
        put(f" +{_num(m)} {unit}", Style(color=colors.positive))
    elif np.isfinite(grid.cells).any():
        put(f"all values 0 {unit}", Style(dim=True))
    else:
        put("no GEX values yet (blank cells)", Style(dim=True, italic=True))
    for name, glyph, values, colour in (
        ("spot", SPOT_GLYPH, grid.spot, colors.spot),
        ("zero γ", ZERO_GLYPH, grid.zero_gamma, colors.zero_gamma),
    ):
        fin = values[np.isfinite(values)]
        if fin.size == 0:
            put(f"  {name}: none", Style(dim=True))
            continue
        latest = float(fin[-1])
        where = ""
        if grid.row_of(latest) < 0:
            where = " ↑ above the map" if latest >= float(grid.lows[-1]) else " ↓ below the map"
        if not put(f"  {glyph} {name} {latest:,.2f}{where}", Style(color=colour, bold=True)):
            put(f" {glyph}", Style(color=colour, bold=True))
    return out


@dataclass(frozen=True, slots=True)
class HeatInput:
    """The arguments of :func:`render_heatmap` gathered from a series of snapshots."""

    times: tuple[datetime, ...]
    strikes: Array  # ascending: every strike of any snapshot
    values: Array  # (strikes, times), NaN where a snapshot lacks the strike
    spot: Array
    zero_gamma: Array


def heat_input(snaps: Sequence[ExposureSnapshot], column: str = "net_gex") -> HeatInput:
    """Line up the per-strike ``column`` of ``snaps`` (in time order) into the map's matrix.
    A snapshot without that column counts as no data."""
    frames = []
    for snap in snaps:
        frame = snap.strikes
        if column in frame.columns and "strike" in frame.columns and frame.height:
            frames.append(
                (
                    frame["strike"].to_numpy().astype(np.float64),
                    frame[column].to_numpy().astype(np.float64),
                )
            )
        else:
            frames.append((np.empty(0), np.empty(0)))
    ks = np.unique(np.concatenate([k for k, _ in frames])) if frames else np.empty(0)
    ks = ks[np.isfinite(ks)]
    values = np.full((ks.size, len(snaps)), np.nan)
    for j, (k, v) in enumerate(frames):
        if k.size:
            ok = np.isfinite(k)
            values[np.searchsorted(ks, k[ok]), j] = v[ok]

    def level(x: float | None) -> float:
        return float(x) if x is not None and math.isfinite(x) else np.nan

    return HeatInput(
        times=tuple(s.as_of for s in snaps),
        strikes=ks,
        values=values,
        spot=np.array([level(s.spot) for s in snaps], dtype=np.float64),
        zero_gamma=np.array([level(s.zero_gamma) for s in snaps], dtype=np.float64),
    )


def bench(repeats: int = 20, width: int = 160, height: int = 48) -> dict[str, float]:
    """Build time of a whole session's map (390 one-minute columns × 200 strikes) at
    ``width`` × ``height``: median and worst over ``repeats`` runs, in milliseconds."""
    rng = np.random.default_rng(7)
    start = datetime(2026, 12, 1, 14, 30, tzinfo=UTC)  # 09:30 New York
    times = [start + timedelta(minutes=i) for i in range(390)]
    strikes = np.arange(5500.0, 6500.0, 5.0)
    spot = 6000.0 + np.cumsum(rng.normal(0, 2, 390))
    values = (
        np.exp(-(((strikes[:, None] - spot[None, :]) / 60.0) ** 2)) * 2e9
        - np.exp(-(((strikes[:, None] - spot[None, :] + 120) / 40.0) ** 2)) * 1.5e9
    )
    values[rng.random(values.shape) < 0.02] = np.nan
    zero = spot - 40.0
    colors = Colors()
    out: dict[str, float] = {"columns": 390, "strikes": 200, "width": width, "height": height}
    for half in (False, True):
        laps: list[float] = []
        for _ in range(repeats):
            t0 = _time.perf_counter()
            render_heatmap(
                times, strikes, values, spot, zero, width, height, colors, half_rows=half
            )
            laps.append((_time.perf_counter() - t0) * 1000.0)
        laps.sort()
        key = "half_rows_" if half else ""
        out[f"{key}median_ms"] = round(laps[len(laps) // 2], 3)
        out[f"{key}max_ms"] = round(laps[-1], 3)
    return out


if __name__ == "__main__":  # python -m gextui.ui.heatmap
    print(json.dumps([bench(), bench(width=80, height=24)]))
