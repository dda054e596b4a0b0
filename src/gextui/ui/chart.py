"""Chart text for the monitor, built with plotext (pure functions, safe to run in a thread).

Two steps, so the cheap part runs on the event loop and the slow part off it:

1. :func:`bar_data` picks the strike window and the column of an
   :class:`~gextui.core.exposure.ExposureSnapshot` (a few hundred µs);
2. :func:`render_bars` / :func:`render_profile` draw it with plotext into a Rich ``Text``
   (5–20 ms; run them with ``asyncio.to_thread``). plotext keeps one global figure, so the
   renderers take a lock.

Bars are horizontal, one strike (or a bucket of adjacent strikes when the window holds more
strikes than there are rows) per row, highest strike at the top. Positive values go right,
negative left. The strike labels carry tags that read without colour:
``S`` spot, ``Z`` zero gamma, ``C`` call wall, ``P`` put wall.
"""

from __future__ import annotations

import gc
import math
import threading
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import plotext as plt
from rich.style import Style
from rich.text import Text

from gextui.core.exposure import ExposureSnapshot
from gextui.core.symbols import format_strike
from gextui.settings import Colors

METRIC_NAMES: Final = {"gex": "GEX", "dex": "DEX", "vex": "VEX", "cex": "CEX"}
METRIC_UNITS: Final = {
    "gex": "per 1% move",
    "dex": "dollar delta",
    "vex": "per 1 vol point",
    "cex": "per day",
}
_LOCK: Final = threading.Lock()
_RENDERS = 0
_FRAME_ROWS: Final = 3  # plotext frame without a title: top border, bottom border, x labels
Array = npt.NDArray[np.float64]


def scale_for(value: float) -> tuple[float, str]:
    """(divisor, suffix) so that ``value / divisor`` reads well: bn, M, K or units."""
    v = abs(value)
    if v >= 1e9:
        return 1e9, "bn"
    if v >= 1e6:
        return 1e6, "M"
    if v >= 1e3:
        return 1e3, "K"
    return 1.0, ""


def money(value: float | None, *, signed: bool = True, digits: int = 2) -> str:
    """``+$1.23bn``, ``−$456.7M``; ``—`` for None/NaN."""
    if value is None or not math.isfinite(value):
        return "—"
    div, suffix = scale_for(value)
    sign = ("+" if value > 0 else "−" if value < 0 else "") if signed else ""
    if not signed and value < 0:
        sign = "−"
    return f"{sign}${abs(value) / div:,.{digits}f}{suffix}"


@dataclass(frozen=True, slots=True)
class BarData:
    """What one GEX-by-strike chart shows (rows bottom → top, ascending strike)."""

    strikes: tuple[float, ...]  # the first strike of each row
    labels: tuple[str, ...]  # strike label + tags
    first: tuple[float, ...]  # value drawn first (bigger magnitude)
    first_is_pos: tuple[bool, ...]  # colour of the first value: positive/calls colour
    second: tuple[float, ...]  # value drawn over it (smaller magnitude, split mode)
    second_is_pos: tuple[bool, ...]
    per_row: int  # strikes per row (1 unless bucketed)
    title: str
    legend: str
    max_abs: float
    tags: dict[str, int]  # tag letter → row index

    @property
    def empty(self) -> bool:
        return not self.strikes

    def visual_key(self, width: int) -> tuple[object, ...]:
        """Identifies the picture at cell resolution (bar lengths rounded to a cell): two
        BarData with the same key draw the same chart, so the app skips the re-render."""
        scale = max(width, 1) / self.max_abs if self.max_abs > 0 else 0.0
        return (
            self.labels,
            self.title,
            self.legend,
            _scale_label(self.max_abs),
            tuple(round(v * scale) for v in self.first),
            tuple(round(v * scale) for v in self.second),
            self.first_is_pos,
            self.second_is_pos,
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


def _nearest_row(row_strikes: Array, per_row: int, all_strikes: Array, value: float | None) -> int:
    """Row index holding the strike nearest ``value``, or -1 when outside the window."""
    if value is None or not math.isfinite(value) or row_strikes.size == 0:
        return -1
    top = all_strikes[-1]
    if value < all_strikes[0] - _gap(all_strikes) or value > top + _gap(all_strikes):
        return -1
    nearest = int(np.argmin(np.abs(all_strikes - value)))
    return min(nearest // per_row, row_strikes.size - 1)


def _gap(strikes: Array) -> float:
    return float(np.min(np.diff(strikes))) if strikes.size > 1 else 0.0


def bar_data(
    snap: ExposureSnapshot,
    *,
    metric: str = "gex",
    basis: str = "oi",
    split: bool = False,
    count: int = 40,
    pct: float = 0.0,
    center: float | None = None,
    rows: int = 40,
) -> BarData:
    """The rows of the strike chart for ``snap`` (see the module docstring)."""
    frame = snap.strikes
    name = METRIC_NAMES[metric]
    what = "calls vs puts" if split else "net"
    base = "volume" if basis == "volume" else "open interest"
    title = f"{name} by strike · {what} · {base} · {snap.expiry}"
    if frame.height == 0:
        return BarData((), (), (), (), (), (), 1, title, "", 0.0, {})
    strikes = frame["strike"].to_numpy().astype(np.float64)
    rows = max(rows, 1)
    mid = center if center is not None else snap.spot
    lo, hi = strike_window(strikes, mid, count, pct)
    per_row = max(1, math.ceil((hi - lo) / rows))
    if per_row > 1 and pct <= 0:  # bucketing anyway: fill every row
        lo, hi = strike_window(strikes, mid, per_row * rows, 0.0)
    win = strikes[lo:hi]
    if split:
        a = frame[column_name(metric, basis, "call")].to_numpy()[lo:hi]
        b = frame[column_name(metric, basis, "put")].to_numpy()[lo:hi]
    else:
        a = frame[column_name(metric, basis, "net")].to_numpy()[lo:hi]
        b = np.zeros_like(a)
    per_row = max(1, math.ceil(win.size / rows))
    if per_row > 1:
        groups = np.arange(win.size) // per_row
        a = np.bincount(groups, weights=a)
        b = np.bincount(groups, weights=b)
        row_strikes = win[::per_row]
    else:
        row_strikes = win
    a = np.nan_to_num(a)
    b = np.nan_to_num(b)

    tags: dict[str, int] = {}
    for letter, value in (
        ("S", snap.spot),
        ("Z", snap.zero_gamma),
        ("C", snap.call_wall),
        ("P", snap.put_wall),
    ):
        row = _nearest_row(row_strikes, per_row, win, value)
        if row >= 0:
            tags[letter] = row
    texts = [format_strike(float(k)) for k in row_strikes]
    width = max(len(t) for t in texts)
    labels = []
    for i, t in enumerate(texts):
        tag = "".join(letter for letter, row in tags.items() if row == i)
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
    legend_bits = []
    if split:
        legend_bits.append("█ calls  █ puts")
    else:
        legend_bits.append("→ positive  ← negative")
    legend_bits.append("S spot  Z zero γ  C call wall  P put wall")
    legend_bits.append(f"{win.size} strikes" + (f", {per_row}/row" if per_row > 1 else ""))
    return BarData(
        strikes=tuple(float(k) for k in row_strikes),
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
    )


def _scale_label(max_abs: float) -> str:
    """The x-axis tick labels depend on the maximum only through this rounded text."""
    div, suffix = scale_for(max_abs)
    return f"{max_abs * 1.08 / div:.2g}{suffix}"


PROFILE_SPAN: Final = 0.08  # the profile chart shows spot ± 8 % (wider to include every flip)


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


def profile_key(snap: ExposureSnapshot, width: int, height: int) -> tuple[object, ...]:
    """The profile picture at cell resolution (see :meth:`BarData.visual_key`)."""
    prof = snap.profile
    if prof.height == 0:
        return ("empty", snap.zero_gamma_note)
    xs, ys = profile_window(snap)
    m = float(np.max(np.abs(ys), initial=0.0)) or 1.0
    rows = max(height, 1) * 4 / m  # braille: 4 dots per cell vertically
    lo, hi = float(xs[0]), float(xs[-1])
    cols = max(width, 1) * 2 / (hi - lo) if hi > lo else 0.0
    marks = [snap.spot or 0.0, *snap.zero_gamma_crossings]
    return (
        tuple(np.round(ys * rows).astype(int).tolist()),
        _scale_label(m),
        round(lo),
        round(hi),
        tuple(round((x - lo) * cols) for x in marks),
    )


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _marker(hex_colour: str) -> object:
    return plt.marker("█", plt.pixel(foreground=_rgb(hex_colour)))


def _x_ticks(max_abs: float, width: int) -> tuple[list[float], list[str], float]:
    """Symmetric x ticks around zero and their labels (scaled, e.g. ``-1.5bn``)."""
    m = max_abs * 1.08 if max_abs > 0 else 1.0
    div, suffix = scale_for(max_abs)
    n_side = 2 if width >= 50 else 1
    pos = [m * i / n_side for i in range(-n_side, n_side + 1)]
    labels = []
    for p in pos:
        v = p / div
        txt = "0" if abs(v) < 1e-12 else f"{v:+.{0 if abs(v) >= 10 else 1}f}{suffix}"
        labels.append(txt)
    return pos, labels, m


def _tick(value: float, suffix: str) -> str:
    if abs(value) < 1e-12:
        return "0"
    return f"{value:+.{0 if abs(value) >= 10 else 1}f}{suffix}"


def _plain_figure(width: int, height: int) -> object:
    f = plt.figure
    f.clear()
    plt.terminal.limit(False, False)
    f.plot_size(max(width, 10), max(height, 5))
    f.theme("simple")
    return f


def bar_rows(height: int) -> int:
    """How many strike rows fit in a chart ``height`` rows tall."""
    return max(height - _FRAME_ROWS, 1)


def collect_plotext_garbage() -> None:
    """Free the plotext objects of the last render *in the calling (chart) thread*.

    plotext 6 talks to its C kernel through ctypes, and its objects free their C side in
    ``__del__``; every such call releases the GIL. When the cyclic GC finds them on the event
    loop thread while the chart thread runs, each ``__del__`` waits for the GIL and one GC
    pass stalls the loop for 50–150 ms. Collecting right after a render, in the chart thread,
    finalises them there instead (young generations every time; everything every 4th call,
    for the plotext objects that had aged into the old generation)."""
    global _RENDERS
    _RENDERS += 1
    gc.collect(2 if _RENDERS % 4 == 0 else 1)


def render_bars(data: BarData, width: int, height: int, colors: Colors) -> Text:
    """The bar chart as Rich text, ``width`` × ``height`` cells."""
    if data.empty:
        return Text("waiting for data…", style="dim")
    n = len(data.strikes)
    ys = [float(i + 1) for i in range(n)]
    pos_m = _marker(colors.positive)
    neg_m = _marker(colors.negative)
    first_markers = [pos_m if p else neg_m for p in data.first_is_pos]
    second_markers = [pos_m if p else neg_m for p in data.second_is_pos]
    with _LOCK:
        f = _plain_figure(width, n + _FRAME_ROWS)
        if any(v != 0 for v in data.first):
            f.draw(  # type: ignore[attr-defined]
                f.bar(  # type: ignore[attr-defined]
                    ys, list(data.first), orientation="horizontal", marker=first_markers, width=0.8
                )
            )
        if any(v != 0 for v in data.second):
            f.draw(  # type: ignore[attr-defined]
                f.bar(  # type: ignore[attr-defined]
                    ys,
                    list(data.second),
                    orientation="horizontal",
                    marker=second_markers,
                    width=0.8,
                )
            )
        f.ruler("y").ticks(ys, list(data.labels))  # type: ignore[attr-defined]
        f.ruler("y").lim(1, max(n, 2))  # type: ignore[attr-defined]
        xt, xl, m = _x_ticks(data.max_abs, width)
        f.ruler("x").lim(-m, m)  # type: ignore[attr-defined]
        f.ruler("x").ticks(xt, xl)  # type: ignore[attr-defined]
        ansi = f.build().string()  # type: ignore[attr-defined]
        f.clear()  # type: ignore[attr-defined]
    text = Text.from_ansi(ansi, no_wrap=True, end="")
    _highlight_labels(text, data, colors)
    return text


def _highlight_labels(text: Text, data: BarData, colors: Colors) -> None:
    """Colour the strike labels of tagged rows (spot, zero gamma, walls)."""
    plain = text.plain
    lines = plain.split("\n")
    styles = {
        "S": Style(color=colors.spot, bold=True, reverse=True),
        "Z": Style(color=colors.zero_gamma, bold=True),
        "C": Style(color=colors.positive, bold=True),
        "P": Style(color=colors.negative, bold=True),
    }
    offsets = []
    pos = 0
    for line in lines:
        offsets.append(pos)
        pos += len(line) + 1
    for letter in ("C", "P", "Z", "S"):
        row = data.tags.get(letter)
        if row is None:
            continue
        label = data.labels[row]
        for i, line in enumerate(lines):
            if line.startswith(label):
                text.stylize(styles[letter], offsets[i], offsets[i] + len(label))
                break


def render_profile(snap: ExposureSnapshot, width: int, height: int, colors: Colors) -> Text:
    """Net GEX against hypothetical spot (``snap.profile``), zero line, spot and flip."""
    prof = snap.profile
    if prof.height == 0:
        note = snap.zero_gamma_note or "no profile yet"
        return Text(f"GEX profile: {note}", style="dim")
    xs_all, ys_all = profile_window(snap)
    xs = xs_all.tolist()
    ys_raw = ys_all
    div, suffix = scale_for(float(np.max(np.abs(ys_raw), initial=0.0)))
    ys = (ys_raw / div).tolist()
    with _LOCK:
        f = _plain_figure(width, height)
        line_marker = plt.marker("braille", plt.pixel(foreground=_rgb(colors.positive)))
        sig = f.signal(xs, ys, marker=line_marker)  # type: ignore[attr-defined]
        sig.lines()
        f.draw(sig)  # type: ignore[attr-defined]
        f.line(0, orientation="horizontal")  # type: ignore[attr-defined]
        if snap.spot is not None:
            f.line(  # type: ignore[attr-defined]
                snap.spot, orientation="vertical", pixel=plt.pixel(foreground=_rgb(colors.spot))
            )
        for z in snap.zero_gamma_crossings:
            f.line(  # type: ignore[attr-defined]
                z, orientation="vertical", pixel=plt.pixel(foreground=_rgb(colors.zero_gamma))
            )
        lo, hi = xs[0], xs[-1]
        n_ticks = 5 if width >= 60 else 3
        xt = [lo + (hi - lo) * i / (n_ticks - 1) for i in range(n_ticks)]
        f.ruler("x").ticks(xt, [f"{x:,.0f}" for x in xt])  # type: ignore[attr-defined]
        y_lo, y_hi = min(min(ys), 0.0), max(max(ys), 0.0)
        pad = (y_hi - y_lo) * 0.05 or 1.0
        f.ruler("y").lim(y_lo - pad, y_hi + pad)  # type: ignore[attr-defined]
        y_ticks = [t for t in (y_lo, 0.0, y_hi) if t == 0.0 or abs(t) > pad]
        f.ruler("y").ticks(y_ticks, [_tick(t, suffix) for t in y_ticks])  # type: ignore[attr-defined]
        f.label(f"${suffix} {METRIC_UNITS['gex']}", axis="y")  # type: ignore[attr-defined]
        ansi = f.build().string()  # type: ignore[attr-defined]
        f.clear()  # type: ignore[attr-defined]
    return Text.from_ansi(ansi, no_wrap=True, end="")
