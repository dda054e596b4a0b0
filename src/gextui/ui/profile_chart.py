"""The GEX profile chart (key ``f``): net GEX against a hypothetical spot, drawn in braille.

Pure functions, safe to run in a thread. The curve is rasterised with numpy onto a dot grid
(2 × 4 dots a cell), so a full-width profile costs about a millisecond: it was drawn with
plotext before, 15–25 ms of pure Python that held the GIL against the event loop on every
tab switch.

What the picture holds, and where each mark comes from (so it can be checked against the
Levels panel): the curve is ``snap.profile`` in :func:`profile_window`; the horizontal rule is
zero GEX; the vertical rules are the spot (spot colour) and every zero-gamma crossing of the
curve (``snap.zero_gamma_crossings``, zero-gamma colour). The last line names them with
their prices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from rich.style import Style
from rich.text import Text

from gextui.core.exposure import ExposureSnapshot
from gextui.formats import price, scale_for
from gextui.settings import Colors
from gextui.ui.chart import axis_tick

Array = npt.NDArray[np.float64]

PROFILE_SPAN: Final = 0.08  # the profile chart shows spot ± 8 % (wider to include every flip)
GEX_UNIT: Final = "per 1% move"
_BRAILLE: Final = 0x2800
# the braille dot bits, by (dot row 0–3, dot column 0–1) inside a cell
_DOT_BITS: Final = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]])


def profile_window(snap: ExposureSnapshot) -> tuple[Array, Array]:
    """The part of ``snap.profile`` the chart shows: spot ± PROFILE_SPAN, widened to include
    every zero-gamma crossing."""
    xs = snap.profile["spot"].to_numpy().astype(np.float64)
    ys = snap.profile["net_gex"].to_numpy().astype(np.float64)
    if snap.spot is None or xs.size < 3:
        return xs, ys
    lo, hi = snap.spot * (1 - PROFILE_SPAN), snap.spot * (1 + PROFILE_SPAN)
    for z in snap.zero_gamma_crossings:
        lo, hi = min(lo, z * 0.99), max(hi, z * 1.01)
    keep = (xs >= lo) & (xs <= hi)
    if keep.sum() < 3:
        return xs, ys
    return xs[keep], ys[keep]


@dataclass(frozen=True, slots=True)
class _Frame:
    """Where everything goes: the plot area is ``cols`` × ``rows`` cells right of a label
    column ``label_w`` wide and a border; values map to dots (2 a cell across, 4 down)."""

    lo: float
    hi: float
    y_min: float
    y_max: float
    cols: int
    rows: int
    label_w: int

    def dot_x(self, x: Array) -> Array:
        span = self.hi - self.lo
        if span <= 0:
            return np.zeros_like(x)
        return (x - self.lo) / span * (2 * self.cols - 1)

    def dot_y(self, y: Array) -> Array:
        """Dot row from the top."""
        return (self.y_max - y) / (self.y_max - self.y_min) * (4 * self.rows - 1)

    def col(self, x: float) -> int | None:
        """The cell column of price ``x``, None outside the plot."""
        c = int(np.rint(self.dot_x(np.array([x]))[0])) // 2
        return c if 0 <= c < self.cols else None

    def row(self, y: float) -> int:
        return int(np.clip(np.rint(self.dot_y(np.array([y]))[0]), 0, 4 * self.rows - 1)) // 4


def _frame(xs: Array, y_min: float, y_max: float, width: int, height: int, labels_w: int) -> _Frame:
    rows = max(height - 4, 2)  # top border, bottom border, x labels, the key line
    cols = max(width - labels_w - 2, 4)
    return _Frame(float(xs[0]), float(xs[-1]), y_min, y_max, cols, rows, labels_w)


def _curve_cells(fr: _Frame, xs: Array, ys: Array) -> npt.NDArray[np.int64]:
    """The braille code (0: empty) of every plot cell, the curve drawn as straight segments
    between the profile's points."""
    px, py = fr.dot_x(xs), fr.dot_y(ys)
    if px.size >= 2:
        steps = np.maximum(np.ceil(np.maximum(np.abs(np.diff(px)), np.abs(np.diff(py)))), 1)
        n = steps.astype(np.int64)
        seg = np.repeat(np.arange(n.size), n)
        t = (np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)) / np.repeat(steps, n)
        px = np.concatenate([px[seg] + t * (px[seg + 1] - px[seg]), px[-1:]])
        py = np.concatenate([py[seg] + t * (py[seg + 1] - py[seg]), py[-1:]])
    dx = np.clip(np.rint(px).astype(np.int64), 0, 2 * fr.cols - 1)
    dy = np.clip(np.rint(py).astype(np.int64), 0, 4 * fr.rows - 1)
    dots = np.zeros((4 * fr.rows, 2 * fr.cols), dtype=np.int64)
    dots[dy, dx] = 1
    cells = dots.reshape(fr.rows, 4, fr.cols, 2) * _DOT_BITS[None, :, None, :]
    return np.asarray(cells.sum(axis=(1, 3)), dtype=np.int64)


def _x_labels(fr: _Frame, width: int) -> tuple[str, list[int]]:
    """The price axis labels (evenly spaced over the window) and their tick columns."""
    n_ticks = 5 if width >= 60 else 3
    line = [" "] * width
    ticks: list[int] = []
    for i in range(n_ticks):
        x = fr.lo + (fr.hi - fr.lo) * i / (n_ticks - 1)
        c = round(i * (fr.cols - 1) / (n_ticks - 1))
        label = f"{x:,.0f}"
        start = fr.label_w + 1 + c - len(label) // 2
        start = max(0, min(start, width - len(label)))
        if any(ch != " " for ch in line[max(start - 1, 0) : start + len(label) + 1]):
            continue  # no room: leave this label (and its tick) out
        line[start : start + len(label)] = label
        ticks.append(c)
    return "".join(line), ticks


@dataclass(frozen=True, slots=True)
class _Layout:
    """Everything the picture shows, at cell resolution (no colours)."""

    frame: _Frame
    cells: npt.NDArray[np.int64]  # braille code of each plot cell, 0: empty
    zero_row: int
    label_rows: dict[int, str]  # plot row → value-axis label
    spot_col: int | None
    flip_cols: tuple[int, ...]
    x_line: str
    x_ticks: tuple[int, ...]
    unit: str
    spot_text: str | None
    flips_text: tuple[str, ...]

    def key(self) -> tuple[object, ...]:
        fr = self.frame
        return (
            self.cells.tobytes(),
            fr.cols,
            fr.rows,
            fr.label_w,
            self.zero_row,
            tuple(self.label_rows.items()),
            self.spot_col,
            self.flip_cols,
            self.x_line,
            self.x_ticks,
            self.unit,
            self.spot_text,
            self.flips_text,
        )


def _layout(snap: ExposureSnapshot, width: int, height: int) -> _Layout:
    xs, ys_raw = profile_window(snap)
    div, suffix = scale_for(float(np.max(np.abs(ys_raw), initial=0.0)))
    ys = ys_raw / div
    y_lo, y_hi = min(float(ys.min()), 0.0), max(float(ys.max()), 0.0)
    pad = (y_hi - y_lo) * 0.05 or 1.0
    y_ticks = [t for t in (y_hi, 0.0, y_lo) if t == 0.0 or abs(t) > pad]
    tick_labels = [axis_tick(t, suffix) for t in y_ticks]
    fr = _frame(xs, y_lo - pad, y_hi + pad, width, height, max(len(s) for s in tick_labels))
    flip_cols = tuple(c for z in snap.zero_gamma_crossings if (c := fr.col(z)) is not None)
    x_line, x_ticks = _x_labels(fr, width)
    return _Layout(
        frame=fr,
        cells=_curve_cells(fr, xs, ys),
        zero_row=fr.row(0.0),
        label_rows={fr.row(t): s for t, s in zip(y_ticks, tick_labels, strict=True)},
        spot_col=None if snap.spot is None else fr.col(snap.spot),
        flip_cols=flip_cols,
        x_line=x_line,
        x_ticks=tuple(x_ticks),
        unit=f"${suffix} {GEX_UNIT}",
        spot_text=None if snap.spot is None else price(snap.spot),
        flips_text=tuple(price(z) for z in snap.zero_gamma_crossings),
    )


def render_profile(snap: ExposureSnapshot, width: int, height: int, colors: Colors) -> Text:
    """Net GEX against hypothetical spot (``snap.profile``), zero line, spot and flips."""
    prof = snap.profile
    if prof.height == 0:
        note = snap.zero_gamma_note or "no profile yet"
        return Text(f"GEX profile: {note}", style="dim")
    lay = _layout(snap, width, height)
    fr, cells, zero_row = lay.frame, lay.cells, lay.zero_row

    pos = Style(color=colors.positive)
    neg = Style(color=colors.negative)
    spot_style = Style(color=colors.spot)
    flip_style = Style(color=colors.zero_gamma)
    verticals: dict[int, Style] = dict.fromkeys(lay.flip_cols, flip_style)
    if lay.spot_col is not None:
        verticals[lay.spot_col] = spot_style  # the spot wins a shared column

    out = Text(no_wrap=True, end="")
    pad_w = " " * fr.label_w

    def border(left: str, right: str, marks: dict[int, str]) -> None:
        out.append(pad_w + left)
        out.append("".join(marks.get(c, "─") for c in range(fr.cols)))
        out.append(right + "\n")

    border("┌", "┐", dict.fromkeys(verticals, "┬"))
    for r in range(fr.rows):
        label = lay.label_rows.get(r)
        out.append((label or "").rjust(fr.label_w))
        out.append("┼" if r == zero_row else "┤" if label else "│")
        style = neg if r > zero_row else pos
        rule = "─" if r == zero_row else " "
        cross = "┼" if r == zero_row else "│"
        run: list[str] = []
        run_style: Style | None = None
        for c, code in enumerate(cells[r].tolist()):
            if code:
                ch, st = chr(_BRAILLE + code), style
            elif (vst := verticals.get(c)) is not None:
                ch, st = cross, vst
            else:
                ch, st = rule, None
            if st is not run_style and run:
                out.append("".join(run), run_style)
                run = []
            run.append(ch)
            run_style = st
        if run:
            out.append("".join(run), run_style)
        out.append(("┤" if r == zero_row else "│") + "\n")
    bottom = dict.fromkeys(lay.x_ticks, "┬")
    for c in verticals:
        bottom[c] = "┼" if c in bottom else "┴"
    border("└", "┘", bottom)
    out.append(lay.x_line + "\n")
    _key_line(out, lay, width, spot_style, flip_style)
    return out


def _key_line(out: Text, lay: _Layout, width: int, spot: Style, flip: Style) -> None:
    """The unit and the marks' names and prices, in the widest form that fits ``width``."""
    marks: list[tuple[str, Style]] = []
    if lay.spot_text is not None:
        marks.append((f"spot {lay.spot_text}", spot))
    if lay.flips_text:
        marks.append(("zero γ " + ", ".join(lay.flips_text), flip))
    unit_short = lay.unit.replace(f" {GEX_UNIT}", "/1%")
    for unit, gap in ((lay.unit, "   "), (unit_short, " "), ("", " ")):
        length = len(unit) + sum(len(gap) + 2 + len(text) for text, _ in marks)
        if length <= width or not unit:
            break
    line = Text(no_wrap=True, end="")
    if unit:
        line.append(unit, style="dim")
    for i, (text, style) in enumerate(marks):
        line.append(("" if i == 0 and not unit else gap) + "│ ", style)
        line.append(text)
    line.truncate(max(width, 1), overflow="ellipsis")  # the narrowest: cut, and say so
    out.append_text(line)


def profile_key(snap: ExposureSnapshot, width: int, height: int) -> tuple[object, ...]:
    """The profile picture at cell resolution: two snapshots with one key draw one picture,
    so the chart thread skips the render when the key is the one on screen (≈ 0.4 ms)."""
    if snap.profile.height == 0:
        return ("empty", snap.zero_gamma_note)
    return _layout(snap, width, height).key()
