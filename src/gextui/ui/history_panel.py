"""The intraday history panel (``h``): the key levels of one ticker over time, with plotext.

Top plot: spot (line) with the zero-gamma, call-wall and put-wall levels over time; bottom
plot: net GEX (open interest, coloured by sign) and volume GEX (grey) in dollars per 1 % move,
with a zero line. The x axis is New York time (``HH:MM``, ``HH:MM:SS`` for short spans).
A header line above each plot names the lines and gives their latest values, so the panel
reads without colour too.

:func:`render_history` is a pure function of a :meth:`~gextui.core.history.LevelHistory.frame`
(any frame with :data:`~gextui.core.history.HISTORY_SCHEMA` columns) and returns the picture
as a string with ANSI colours (``color=False``: plain text). plotext keeps one global
figure, so it takes :data:`PLOT_LOCK` (the only plotext user in the app).
:class:`HistoryPanel` builds the frame and renders it off the event loop, only when the
history changed (``LevelHistory.version``), the size changed or the panel became visible.

Rows needed: the full picture from 12 rows (80 × 24 leaves about 17), the price plot and a
net-GEX line from 7, a text summary below that.
"""

from __future__ import annotations

import io
import itertools
import math
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Final

import numpy as np
import numpy.typing as npt
import plotext as plt
import polars as pl
from rich.console import Console
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from gextui.core.expiry import NEW_YORK
from gextui.core.history import HISTORY_SCHEMA, LevelHistory, LevelSample, samples_frame
from gextui.formats import price as fmt_level
from gextui.formats import scale_for
from gextui.formats import strike as fmt_wall
from gextui.settings import Colors
from gextui.ui.render_loop import RenderLoop
from gextui.ui.widgets import StripChart, text_to_strips

Array = npt.NDArray[np.float64]
RGB = tuple[int, int, int]

VOLUME_RGB: Final[RGB] = (140, 140, 140)
FULL_MIN_ROWS: Final = 12  # both plots
PRICE_MIN_ROWS: Final = 7  # the price plot and a one-line net GEX summary
MIN_WIDTH: Final = 30
_FRAME_ROWS: Final = 3  # plotext frame: top border, bottom border, x tick labels
PLOT_LOCK: Final = threading.Lock()  # plotext draws on one global figure
# nice tick spacings on the time axis, seconds
_TIME_STEPS: Final = (
    5,
    10,
    15,
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    14400,
    21600,
    43200,
    86400,
)


def collecting_message(sample_every: float = 5.0) -> str:
    """The one line an empty history shows."""
    return f"collecting samples every {sample_every:g} s…"


# =========================================================================== helpers
def plot_text(ansi: str) -> Text:
    """plotext's ANSI output as Rich text with every background colour dropped: plotext
    paints some cells on a white canvas colour, which shows as bright stripes on a dark
    terminal; the widget's own background shows through instead."""
    text = Text.from_ansi(ansi, no_wrap=True, end="")
    spans = []
    for span in text.spans:
        st = span.style
        if isinstance(st, Style) and st.bgcolor is not None:
            st = Style(
                color=st.color, bold=st.bold, dim=st.dim, italic=st.italic, underline=st.underline
            )
        spans.append(type(span)(span.start, span.end, st))
    text.spans = spans
    return text


def _rgb(hex_colour: str) -> RGB:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _sgr(text: str, rgb: RGB | None, *, bold: bool = False, dim: bool = False) -> str:
    """``text`` in truecolour ANSI (plain when ``rgb`` is None and no attribute is set)."""
    codes = []
    if bold:
        codes.append("1")
    if dim:
        codes.append("2")
    if rgb is not None:
        codes.append(f"38;2;{rgb[0]};{rgb[1]};{rgb[2]}")
    if not codes:
        return text
    return f"\x1b[{';'.join(codes)}m{text}\x1b[0m"


def fmt_gex(value: float | None, div: float, suffix: str) -> str:
    """Dollars in the plot's unit: ``+1.23bn``; ``—`` when missing."""
    if value is None or not math.isfinite(value):
        return "—"
    v = value / div
    sign = "+" if v > 0 else "−" if v < 0 else ""
    return f"{sign}${abs(v):,.2f}{suffix}"


def nice_step(span: float, n: int) -> float:
    """A 1-2-2.5-5 × 10^k step giving about ``n`` intervals over ``span``."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(n, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * mag >= raw:
            return m * mag
    return 10.0 * mag  # pragma: no cover


def nice_ticks(lo: float, hi: float, n: int) -> list[float]:
    """Round tick values inside [lo, hi] (about ``n`` of them, at least one)."""
    step = nice_step(hi - lo, n)
    first = math.ceil(lo / step - 1e-9) * step
    ticks: list[float] = []
    v = first
    while v <= hi + step * 1e-9 and len(ticks) < 50:
        ticks.append(round(v, 10))
        v += step
    return ticks or [round((lo + hi) / 2.0, 10)]


def time_ticks(
    t0: datetime, span: float, plot_width: int
) -> tuple[list[float], list[str], float, float]:
    """Tick positions (seconds after ``t0``), New York labels and the x limits.

    Ticks fall on round clock times; ``HH:MM:SS`` labels when the spacing is under a minute.
    """
    if span <= 0:
        label = t0.astimezone(NEW_YORK).strftime("%H:%M:%S")
        return [0.0], [label], -30.0, 30.0
    offset = t0.astimezone(NEW_YORK).utcoffset() or timedelta(0)
    local0 = t0.timestamp() + offset.total_seconds()
    step = float(_TIME_STEPS[-1])
    for s in _TIME_STEPS:
        label_w = 9 if s < 60 else 6
        if span / s <= max(plot_width // (label_w + 3), 1):
            step = float(s)
            break
    fmt = "%H:%M:%S" if step < 60 else "%H:%M"
    first = math.ceil(local0 / step) * step - local0
    pos = []
    x = first
    while x <= span + 1e-6:
        pos.append(x)
        x += step
    if not pos:  # the span holds no round time: label both ends
        pos = [0.0, span]
        fmt = "%H:%M:%S"
    labels = [(t0 + timedelta(seconds=p)).astimezone(NEW_YORK).strftime(fmt) for p in pos]
    return pos, labels, 0.0, span


def runs(xs: Array, ys: Array) -> Iterator[tuple[list[float], list[float]]]:
    """The contiguous stretches of finite ``ys`` (missing values break the line)."""
    ok = np.isfinite(ys)
    if not ok.any():
        return
    edges = np.flatnonzero(np.diff(ok.astype(np.int8))) + 1
    bounds = [0, *edges.tolist(), ys.size]
    for a, b in itertools.pairwise(bounds):
        if ok[a]:
            yield xs[a:b].tolist(), ys[a:b].tolist()


def steps(xs: list[float], ys: list[float]) -> tuple[list[float], list[float]]:
    """A step line: a level holds until the next sample, then jumps (walls are strikes)."""
    if len(xs) < 2:
        return xs, ys
    out_x = [xs[0]]
    out_y = [ys[0]]
    for x, y in zip(xs[1:], ys[1:], strict=True):
        if y != out_y[-1]:
            out_x.append(x)
            out_y.append(out_y[-1])
        out_x.append(x)
        out_y.append(y)
    return out_x, out_y


def sign_runs(xs: list[float], ys: list[float]) -> Iterator[tuple[list[float], list[float], bool]]:
    """Split a line where it changes sign: (xs, ys, positive); each piece also holds the
    first point of the next, so the pieces join up."""
    start = 0
    n = len(ys)
    for i in range(1, n + 1):
        if i == n or (ys[i] >= 0) != (ys[start] >= 0):
            end = min(i + 1, n)
            yield xs[start:end], ys[start:end], ys[start] >= 0
            start = i


def decimate(frame: pl.DataFrame, buckets: int) -> pl.DataFrame:
    """At most about 3 rows per time bucket (``buckets`` over the whole span): the rows with
    the lowest and highest spot and the last row of each; the frame as is when small."""
    if frame.height <= buckets * 3 or buckets < 1:
        return frame
    t = pl.col("time").dt.epoch("us")
    span = max(int(frame.select(t.max() - t.min()).item()), 1)
    df = frame.with_row_index("_i").with_columns(
        ((t - t.min()) * buckets // (span + 1)).alias("_b")
    )
    spot = pl.col("spot")
    keep = (
        (pl.col("_i") == pl.col("_i").filter(spot == spot.min()).first().over("_b"))
        | (pl.col("_i") == pl.col("_i").filter(spot == spot.max()).first().over("_b"))
        | (pl.col("_i") == pl.col("_i").last().over("_b"))
    )
    return df.filter(keep).drop("_i", "_b")


# =========================================================================== rendering
@dataclass(frozen=True, slots=True)
class _Series:
    xs: Array
    spot: Array
    zero_gamma: Array
    call_wall: Array
    put_wall: Array
    net_gex: Array
    net_gex_volume: Array


def _column(frame: pl.DataFrame, name: str) -> Array:
    if name not in frame.columns:
        return np.full(frame.height, np.nan)
    return frame[name].cast(pl.Float64).fill_null(float("nan")).to_numpy().astype(np.float64)


def _last(values: Array) -> float | None:
    ok = np.flatnonzero(np.isfinite(values))
    return float(values[ok[-1]]) if ok.size else None


def _plain_figure(width: int, height: int) -> object:
    f = plt.figure
    f.clear()
    plt.terminal.limit(False, False)
    f.plot_size(max(width, 10), max(height, 4))
    f.theme("simple")
    return f


def _draw_line(f: object, xs: list[float], ys: list[float], rgb: RGB) -> None:
    marker = plt.marker("braille", plt.pixel(foreground=rgb))
    sig = f.signal(xs, ys, marker=marker)  # type: ignore[attr-defined]
    if len(xs) > 1:
        sig.lines()
    f.draw(sig)  # type: ignore[attr-defined]


def _y_limits(arrays: Sequence[Array], include_zero: bool = False) -> tuple[float, float]:
    vals = [a[np.isfinite(a)] for a in arrays]
    finite = np.concatenate(vals) if vals else np.array([])
    if finite.size == 0:
        return (-1.0, 1.0)
    lo, hi = float(finite.min()), float(finite.max())
    if include_zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    pad = (hi - lo) * 0.06
    if pad == 0:
        pad = max(abs(hi) * 0.001, 1.0) if not include_zero else max(abs(hi) * 0.1, 1.0)
    return lo - pad, hi + pad


def _price_label(v: float, step: float) -> str:
    return f"{v:,.0f}" if step >= 1 else f"{v:,.2f}"


def _gex_tick(v: float, suffix: str) -> str:
    if abs(v) < 1e-12:
        return "0"
    digits = 0 if abs(v) >= 10 else 1 if abs(v) >= 1 else 2
    return f"{v:+.{digits}f}{suffix}"


@dataclass(frozen=True, slots=True)
class _Axis:
    """The y axis of one plot: limits, tick values and their (padded) labels."""

    lo: float
    hi: float
    ticks: list[float]
    labels: list[str]

    def padded(self, width: int) -> _Axis:
        return _Axis(self.lo, self.hi, self.ticks, [t.rjust(width) for t in self.labels])


def _price_axis(s: _Series, rows: int) -> _Axis:
    lo, hi = _y_limits([s.spot, s.zero_gamma, s.call_wall, s.put_wall])
    ticks = [t for t in nice_ticks(lo, hi, max(min(rows // 2, 5), 2)) if lo <= t <= hi]
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    return _Axis(lo, hi, ticks, [_price_label(v, step) for v in ticks])


def _gex_axis(s: _Series, rows: int, div: float, suffix: str) -> _Axis:
    lo, hi = _y_limits([s.net_gex, s.net_gex_volume], include_zero=True)
    lo, hi = lo / div, hi / div
    ticks = [t for t in nice_ticks(lo, hi, max(min(rows // 2, 4), 3)) if lo <= t <= hi]
    if 0.0 not in ticks and lo <= 0.0 <= hi:
        ticks = sorted([*ticks, 0.0])
    return _Axis(lo, hi, ticks, [_gex_tick(v, suffix) for v in ticks])


def _frame_string(
    s: _Series,
    t0: datetime,
    span: float,
    size: tuple[int, int],
    axis: _Axis,
    colors: Colors,
    *,
    which: str,
    color: bool,
    div: float = 1.0,
    x_labels: bool = True,
) -> str:
    """One plotext figure (``which``: "price" or "gex") as a string; without ``x_labels``
    the time axis has no tick labels (the plot below it shows them)."""
    width, height = size
    label_w = max((len(t) for t in axis.labels), default=1)
    xt, xl, x_lo, x_hi = time_ticks(t0, span, max(width - label_w - 2, 10))
    with PLOT_LOCK:
        f = _plain_figure(width, height)
        if which == "price":
            for values, hexc, stepped in (
                (s.put_wall, colors.negative, True),
                (s.call_wall, colors.positive, True),
                (s.zero_gamma, colors.zero_gamma, False),
                (s.spot, colors.spot, False),
            ):
                for xs, ys in runs(s.xs, values):
                    if stepped:
                        xs, ys = steps(xs, ys)
                    _draw_line(f, xs, ys, _rgb(hexc))
        else:
            for xs, ys in runs(s.xs, s.net_gex_volume / div):
                _draw_line(f, xs, ys, VOLUME_RGB)
            for xs, ys in runs(s.xs, s.net_gex / div):
                for pxs, pys, positive in sign_runs(xs, ys):
                    _draw_line(f, pxs, pys, _rgb(colors.positive if positive else colors.negative))
            f.line(0, orientation="horizontal")  # type: ignore[attr-defined]
        f.ruler("y").lim(axis.lo, axis.hi)  # type: ignore[attr-defined]
        f.ruler("y").ticks(axis.ticks, axis.labels)  # type: ignore[attr-defined]
        f.ruler("x").lim(x_lo, x_hi)  # type: ignore[attr-defined]
        if x_labels:
            f.ruler("x").ticks(xt, xl)  # type: ignore[attr-defined]
        else:
            f.ruler("x").ticks([])  # type: ignore[attr-defined]
        out = str(f.build().string(colorless=not color))  # type: ignore[attr-defined]
        f.clear()  # type: ignore[attr-defined]
    return out.rstrip("\n")


def _key(text: str, hexc: str | RGB, color: bool) -> str:
    if not color:
        return text
    rgb = hexc if isinstance(hexc, tuple) else _rgb(hexc)
    return _sgr(text, rgb, bold=True)


def _cells(line: str) -> int:
    return Text.from_ansi(line, no_wrap=True, end="").cell_len


def _first_fitting(candidates: Sequence[str], width: int) -> str:
    """The first line that fits in ``width`` cells, else the last one cropped."""
    for line in candidates:
        if _cells(line) <= width:
            return line
    text = Text.from_ansi(candidates[-1], no_wrap=True, end="")
    text.truncate(width, overflow="ellipsis")
    return _to_ansi(text, width)


def _price_header(s: _Series, colors: Colors, color: bool, ticker: str, width: int) -> str:
    values = (
        (colors.spot, fmt_level(_last(s.spot))),
        (colors.zero_gamma, fmt_level(_last(s.zero_gamma))),
        (colors.positive, fmt_wall(_last(s.call_wall))),
        (colors.negative, fmt_wall(_last(s.put_wall))),
    )
    candidates = []
    for names, sep, head in (
        (("spot", "zero γ", "call wall", "put wall"), "  ", f"{ticker} levels  " if ticker else ""),
        (("spot", "zero γ", "call wall", "put wall"), "  ", ""),
        (("spot", "zero γ", "call", "put"), " ", ""),
        (("S", "Z", "C", "P"), " ", ""),  # the strike chart's tags
    ):
        parts = [
            _key(f"━ {name}", hexc, color) + f" {value}"
            for name, (hexc, value) in zip(names, values, strict=True)
        ]
        lead = _sgr(head, None, bold=True) if head and color else head
        candidates.append(lead + sep.join(parts))
    return _first_fitting(candidates, width)


def _gex_header(
    s: _Series, colors: Colors, color: bool, div: float, suffix: str, width: int
) -> str:
    net = _last(s.net_gex)
    net_rgb = _rgb(colors.positive if (net or 0.0) >= 0 else colors.negative)
    unit = f"${suffix} per 1% move" if suffix else "$ per 1% move"
    net_part = _key("━ net GEX", net_rgb, color) + f" {fmt_gex(net, div, suffix)}"
    vol_part = (
        _key("━ vol GEX", VOLUME_RGB, color) + f" {fmt_gex(_last(s.net_gex_volume), div, suffix)}"
    )
    unit_part = _sgr(unit, None, dim=True) if color else unit
    return _first_fitting(
        [f"{net_part}  {vol_part}  {unit_part}", f"{net_part}  {vol_part}", net_part], width
    )


def _to_ansi(text: Text, width: int) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=max(width, 1), color_system="truecolor", force_terminal=True)
    console.print(text, end="", no_wrap=True, overflow="crop", soft_wrap=False)
    return buf.getvalue()


def render_history(
    frame: pl.DataFrame,
    width: int,
    height: int,
    colors: Colors | None = None,
    *,
    ticker: str = "",
    sample_every: float = 5.0,
    color: bool = True,
) -> str:
    """The history picture, ``width`` × at most ``height`` cells, as text with ANSI colours
    (plain with ``color=False``). ``frame``: :data:`HISTORY_SCHEMA` columns, oldest first.
    Pure (plotext under its lock): safe to call from a thread."""
    colors = colors or Colors()
    if frame.height == 0:
        return collecting_message(sample_every)
    width = max(width, 1)
    frame = decimate(frame.sort("time"), max(width * 2, 10))
    times = frame["time"].dt.epoch("us").to_numpy().astype(np.float64) / 1e6
    t0 = datetime.fromtimestamp(float(times[0]), UTC)
    xs = times - times[0]
    span = float(xs[-1])
    s = _Series(
        xs=xs,
        spot=_column(frame, "spot"),
        zero_gamma=_column(frame, "zero_gamma"),
        call_wall=_column(frame, "call_wall"),
        put_wall=_column(frame, "put_wall"),
        net_gex=_column(frame, "net_gex"),
        net_gex_volume=_column(frame, "net_gex_volume"),
    )
    g_lo, g_hi = _y_limits([s.net_gex, s.net_gex_volume], include_zero=True)
    div, suffix = scale_for(max(abs(g_lo), abs(g_hi)))
    price_head = _price_header(s, colors, color, ticker, width)
    gex_head = _gex_header(s, colors, color, div, suffix, width)
    has_price = any(np.isfinite(a).any() for a in (s.spot, s.zero_gamma, s.call_wall, s.put_wall))
    has_gex = bool(np.isfinite(s.net_gex).any() or np.isfinite(s.net_gex_volume).any())
    if width < MIN_WIDTH or height < PRICE_MIN_ROWS or not (has_price or has_gex):
        return "\n".join([price_head, gex_head][: max(height, 1)])
    body = height - 2
    if height < FULL_MIN_ROWS or not has_gex or not has_price:
        which = "price" if has_price else "gex"
        axis = (
            _price_axis(s, body - _FRAME_ROWS)
            if which == "price"
            else _gex_axis(s, body - _FRAME_ROWS, div, suffix)
        )
        plot = _frame_string(
            s, t0, span, (width, body), axis, colors, which=which, color=color, div=div
        )
        if which == "price":
            return "\n".join([price_head, plot, gex_head])
        return "\n".join([price_head, gex_head, plot])
    top = max(round(body * (0.6 if body >= 24 else 0.55)), 6)
    bottom = body - top
    p_axis = _price_axis(s, top - _FRAME_ROWS + 1)
    g_axis = _gex_axis(s, bottom - _FRAME_ROWS, div, suffix)
    label_w = max(len(t) for t in (*p_axis.labels, *g_axis.labels, " "))
    price = _frame_string(
        s,
        t0,
        span,
        (width, top),
        p_axis.padded(label_w),
        colors,
        which="price",
        color=color,
        x_labels=False,
    )
    gex = _frame_string(
        s,
        t0,
        span,
        (width, bottom),
        g_axis.padded(label_w),
        colors,
        which="gex",
        color=color,
        div=div,
    )
    return "\n".join([price_head, price, gex_head, gex])


def history_text(
    frame: pl.DataFrame,
    width: int,
    height: int,
    colors: Colors | None = None,
    *,
    ticker: str = "",
    sample_every: float = 5.0,
) -> Text:
    """:func:`render_history` as Rich text (an empty history: one dim line)."""
    if frame.height == 0:
        return Text(collecting_message(sample_every), style="dim", end="")
    ansi = render_history(
        frame, width, height, colors, ticker=ticker, sample_every=sample_every, color=True
    )
    return plot_text(ansi)


# =========================================================================== widget
@dataclass(frozen=True, slots=True)
class HistoryJob:
    """What the render thread needs (immutable; the samples are a snapshot)."""

    key: tuple[object, ...]
    samples: tuple[LevelSample, ...]
    width: int
    height: int
    colors: Colors
    ticker: str
    sample_every: float


def render_job(job: HistoryJob) -> tuple[Text, list[Strip]]:
    """In a thread: samples → frame → plotext → Rich text → strips."""
    frame = samples_frame(job.samples) if job.samples else pl.DataFrame(schema=HISTORY_SCHEMA)
    text = history_text(
        frame, job.width, job.height, job.colors, ticker=job.ticker, sample_every=job.sample_every
    )
    strips = text_to_strips(text, job.width)
    return text, strips


class HistoryPanel(StripChart):
    """The levels of one ticker over time (see the module docstring).

    The app calls :meth:`show_history` whenever it likes (every redraw is fine): nothing is
    rendered while the panel is hidden or when neither the history nor the size changed. The
    picture is drawn by the app's shared :class:`~gextui.ui.render_loop.RenderLoop`.
    """

    def __init__(self, loop: RenderLoop, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._loop = loop
        self._history: LevelHistory | None = None
        self._colors = Colors()
        self._requested: tuple[object, ...] = ()
        self.renders = 0  # for tests

    def show_history(self, history: LevelHistory | None, colors: Colors | None = None) -> None:
        """Show ``history`` (None: nothing to show yet), re-rendering only when needed."""
        self._history = history
        if colors is not None:
            self._colors = colors
        self._request()

    def on_resize(self) -> None:
        self._request()

    def on_show(self) -> None:
        self._request()

    def _request(self) -> None:
        history = self._history
        if not self.display or not self.is_mounted:
            return
        size = self.content_size
        if size.width < 1 or size.height < 1:
            return
        every = history.sample_every.total_seconds() if history is not None else 5.0
        ticker = history.ticker if history is not None else ""
        version = (id(history), history.version) if history is not None else None
        key = (version, size.width, size.height, self._colors, ticker)
        if key == self._requested:
            return
        self._requested = key
        if history is None or len(history) == 0:
            self.show(Text(collecting_message(every), style="dim", end=""))
            self.border_subtitle = ""
            return
        self.border_subtitle = f"{len(history)} samples · every {every:g} s"
        job = HistoryJob(key, history.samples, size.width, size.height, self._colors, ticker, every)

        def done(result: tuple[Text, list[Strip]]) -> None:
            if job.key == self._requested:  # still what should be on screen
                self.show(*result)
                self.renders += 1

        def failed(exc: BaseException) -> None:
            self.log.error(f"history render failed: {exc!r}")
            self.show(Text(f"history error: {exc!r}", style="red"))
            self._requested = ()

        # a fast replay asks for a new picture at every redraw: keep the render thread busy a
        # quarter of the time at most (a long day costs ≈ 0.1 s)
        self._loop.submit(
            "history", partial(render_job, job), done, failed=failed, pause_factor=3.0
        )


__all__ = [
    "HistoryPanel",
    "collecting_message",
    "history_text",
    "render_history",
]
