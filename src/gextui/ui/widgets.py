"""Widgets of the monitor: status line, ticker tabs, expiry bar, charts, levels panel, replay bar.

The text widgets render themselves: each has a ``data`` reactive (a small frozen dataclass of
what it shows) and turns it into Rich ``Text`` with the pure ``*_text`` functions below (easy to
test, cheap to call). The app only sets ``widget.data``; an unchanged value repaints nothing
(reactives compare), so a redraw that changed nothing re-lays nothing out.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Final

from rich.console import Console
from rich.style import Style
from rich.text import Text
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from gextui.core.expiry import NEW_YORK, SELECTIONS
from gextui.core.exposure import ExposureSnapshot
from gextui.feeds.base import FeedState, FeedStatus, Source
from gextui.formats import count, money, size
from gextui.formats import price as fmt_price
from gextui.formats import strike as fmt_strike
from gextui.settings import Colors
from gextui.ui.render_loop import RenderLoop

SELECTION_LABELS: Final = {
    "0dte": "0DTE",
    "next": "next",
    "week": "week",
    "month": "month",
    "all": "all",
    "ex-next": "ex-next",
}
STATE_MARKS: Final = {
    FeedState.CONNECTING: ("◌", "yellow"),
    FeedState.LIVE: ("●", "green"),
    FeedState.STALE: ("◍", "yellow"),
    FeedState.RECONNECTING: ("◌", "yellow"),
    FeedState.CLOSED: ("○", "red"),
    FeedState.MARKET_CLOSED: ("◑", "cyan"),
}


def ny_time(moment: datetime | None, with_date: bool = False) -> str:
    if moment is None:
        return "--:--:--"
    local = moment.astimezone(NEW_YORK)
    return local.strftime("%a %Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")


@dataclass(frozen=True, slots=True)
class StatusInfo:
    """What the top line shows (gathered by the app)."""

    ticker: str
    spot: float | None
    prev_close: float | None
    source: Source
    expiry: str
    n_expirations: int
    as_of: datetime | None
    status: FeedStatus | None
    last_update: datetime | None  # last batch: arrival (live) or event time (sim/replay)
    stale_for: float | None  # seconds without a batch, when over the limit
    paused: bool
    pending: str  # "opening SPY…" while a ticker opens
    recording: int | None  # bytes written by a recorder
    error: str
    origin: str = ""  # for a replay: the recorded source ("simulated", "tastytrade", …)


def status_text(info: StatusInfo, colors: Colors | None = None) -> Text:
    """The top line (see the issue: ticker, spot ▲▼, source, expiry, clock, status…)."""
    t = Text(no_wrap=False, overflow="ellipsis")
    t.append(f" {info.ticker} ", style="bold reverse")
    t.append(" ")
    t.append(fmt_price(info.spot), style="bold")
    if info.spot is not None and info.prev_close:
        change = info.spot - info.prev_close
        pct = change / info.prev_close * 100.0
        up, down = (colors.positive, colors.negative) if colors else ("green", "red")
        arrow, style = ("▲", up) if change > 0 else ("▼", down) if change < 0 else ("=", "")
        t.append(f" {arrow} {change:+,.2f} ({pct:+.2f}%)", style=style)
    t.append("  ")
    if info.source is Source.SIMULATED:
        t.append(" ⚠ SIMULATED DATA ", style="bold black on yellow")
    elif info.source is Source.REPLAY and info.origin == Source.SIMULATED.value:
        t.append(" ⚠ SIMULATED DATA · replay ", style="bold black on yellow")
    elif info.source is Source.TASTYTRADE_SANDBOX:
        t.append(f" {info.source.label} ", style="bold black on dark_orange")
    elif info.source is Source.TASTYTRADE:
        t.append(f" {info.source.label} ", style="bold")
    else:
        t.append(f" {info.source.label} ", style="bold reverse")
    t.append("  exp ", style="dim")
    t.append(SELECTION_LABELS.get(info.expiry, info.expiry), style="bold")
    t.append(f" ({info.n_expirations})", style="dim")
    t.append("  ")
    t.append(f"{ny_time(info.as_of, with_date=True)} ET", style="bold")
    if info.status is not None:
        mark, colour = STATE_MARKS.get(info.status.state, ("?", ""))
        t.append("  ")
        state = info.status.state.value
        if info.status.state is FeedState.LIVE and info.source is Source.REPLAY:
            # a replay is never "live": it says replay, the recorded time and the speed
            paused = "paused" in info.status.reason
            mark, state, colour = ("⏸" if paused else "▶"), "replay", "bold"
        elif info.status.state is FeedState.LIVE and info.source is Source.FILE:
            mark, state, colour = "■", "file", "bold"  # a snapshot on disk, not a stream
        t.append(f"{mark} {state}", style=colour)
        if info.last_update is not None:
            t.append(f" ↻ {ny_time(info.last_update)}", style="dim")
        reason = info.status.reason
        if info.status.progress is not None:
            reason = f"{reason} {info.status.progress * 100:.0f} %".strip()
        if reason:
            t.append(f"  {reason}", style="dim")
    if info.stale_for is not None:
        t.append("  ")
        t.append(f" STALE {info.stale_for:.0f}s ", style="bold white on red")
    if info.recording is not None:
        t.append("  ")
        t.append(f"● REC {size(info.recording)}", style="bold red")
    if info.paused:
        t.append("  ")
        t.append(" PAUSED ", style="bold black on cyan")
    if info.pending:
        t.append(f"  {info.pending}", style="italic")
    if info.error:
        t.append("  ")
        t.append(info.error, style="bold red")
    return t


def tabs_text(
    tickers: Sequence[str], current: str, pending: str = "", width: int | None = None
) -> Text:
    """The ticker tabs; when they do not fit ``width``, a window around the current tab with
    ``…`` and the count of tabs left out on either side (tab / shift+tab reach every one)."""
    labels = []
    for i, name in enumerate(tickers):
        key = f"{i + 1}" if i < 9 else " "
        labels.append(f" {key} {name}{'…' if name == pending and name != current else ''} ")
    hint = "  tab ⇥ · t add · w close"
    lo, hi = 0, len(tickers)
    if width is not None and sum(len(x) + 1 for x in labels) + len(hint) > width:
        hint = ""
        room = max(width - 10, 8)
        at = tickers.index(current) if current in tickers else 0
        lo = hi = at
        used = len(labels[at]) + 1 if labels else 0
        hi = at + 1
        while True:  # grow the window around the current tab, alternating sides
            grew = False
            if hi < len(labels) and used + len(labels[hi]) + 1 <= room:
                used += len(labels[hi]) + 1
                hi += 1
                grew = True
            if lo > 0 and used + len(labels[lo - 1]) + 1 <= room:
                lo -= 1
                used += len(labels[lo]) + 1
                grew = True
            if not grew:
                break
    t = Text(no_wrap=True, overflow="ellipsis")
    if lo > 0:
        t.append(f"…{lo} ", style="dim")
    for i in range(lo, hi):
        name = tickers[i]
        click = Style(meta={"@click": f"app.switch_to({name!r})"})
        if name == current:
            t.append(labels[i], style=Style(bold=True, reverse=True) + click)
        elif name == pending:
            t.append(labels[i], style=Style(italic=True) + click)
        else:
            t.append(labels[i], style=click)
        t.append("│", style="dim")
    if hi < len(tickers):
        t.append(f" {len(tickers) - hi}…", style="dim")
    t.append(hint, style="dim")
    return t


def expiry_label(d: date, today: date | None) -> str:
    """``Dec17``; with the year (``Dec17'27``) when it is not ``today``'s year."""
    if today is not None and d.year != today.year:
        return d.strftime("%b%d'%y")
    return d.strftime("%b%d")


def expiry_text(
    selection: str, expirations: Sequence[date], width: int, today: date | None = None
) -> Text:
    """The selection bar: the named selections, then listed expirations (windowed to fit);
    dates in another year than ``today`` carry it."""
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append("Exp ", style="dim")
    current = Style(bold=True, reverse=True)
    for sel in SELECTIONS:
        label = SELECTION_LABELS[sel]
        click = Style(meta={"@click": f"app.set_expiry({sel!r})"})
        t.append(f" {label} ", style=(current if sel == selection else Style()) + click)
    t.append("│", style="dim")
    dates = sorted(expirations)
    left = max(width - t.cell_len - 4, 0)
    per = 7 if not dates or today is None or dates[-1].year == today.year else 10
    fit = max(left // per, 1)
    start = 0
    if selection not in SELECTIONS:
        try:
            idx = [d.isoformat() for d in dates].index(selection)
        except ValueError:
            idx = 0
        start = max(0, min(idx - fit // 2, len(dates) - fit))
    if start > 0:
        t.append("…", style="dim")
    for d in dates[start : start + fit]:
        label = expiry_label(d, today)
        click = Style(meta={"@click": f"app.set_expiry({d.isoformat()!r})"})
        chosen = current if d.isoformat() == selection else Style()
        t.append(f" {label} ", style=chosen + click)
    if start + fit < len(dates):
        t.append(f"… +{len(dates) - start - fit}", style="dim")
    return t


def levels_text(
    snap: ExposureSnapshot | None,
    events_per_second: float | None,
    colors: Colors,
    width: int = 32,
    warming: bool = False,
    zero_dte: ExposureSnapshot | None = None,
    changes: Text | None = None,
    previous: tuple[date, ExposureSnapshot] | None = None,
) -> Text:
    """The levels & stats panel: one "label … value" line per figure, ``width`` cells wide
    (plain Text: cheap to render several times a second). ``warming``: the chain is still
    filling in (coverage climbing): every level and total is shown dimmed under a "warming
    up" line with the coverage, since walls and zero gamma still move for no market reason."""
    if snap is None:
        return Text("waiting for the first data…", style="dim")
    out = Text(end="")
    width = max(width, 20)
    if warming:
        out.append(f"warming up: {snap.coverage.fraction:.0%} covered"[:width], style="bold italic")

    def row(label: str, value: str | Text) -> None:
        val = value if isinstance(value, Text) else Text(value)
        gap = width - len(label) - val.cell_len
        if gap < 1:
            label = label[: max(width - val.cell_len - 2, 1)] + "…"
            gap = max(width - len(label) - val.cell_len, 1)
        if out.plain:
            out.append("\n")
        out.append(label, style="dim")
        out.append(" " * gap)
        out.append_text(val)

    spot = snap.spot
    row("Spot", Text(fmt_price(spot), style=f"bold {colors.spot}"))
    if snap.zero_gamma is not None:
        dist = snap.zero_gamma_distance_pct
        zg = Text(fmt_price(snap.zero_gamma), style=f"bold {colors.zero_gamma}")
        if dist is not None:
            zg.append(f" {dist:+.2f}%", style="dim")
        row("Zero γ", zg)
        if len(snap.zero_gamma_crossings) > 1:
            others = [fmt_strike(round(x)) for x in snap.zero_gamma_crossings]
            row("  flips", Text(" ".join(others), style="dim"))
    else:
        row("Zero γ", Text("none", style="bold"))
        if snap.zero_gamma_note:
            out.append("\n")
            out.append(snap.zero_gamma_note[: width * 3], style="italic dim")
    row("Call wall", Text(fmt_strike(snap.call_wall), style=f"bold {colors.positive}"))
    row("Put wall", Text(fmt_strike(snap.put_wall), style=f"bold {colors.negative}"))
    if previous is not None:
        day, prev = previous
        row(f"Prev close {day.strftime('%b%d')}", Text(fmt_price(prev.spot), style="dim"))
        z = "—" if prev.zero_gamma is None else fmt_price(prev.zero_gamma)
        row("  zero γ", Text(z, style=colors.zero_gamma))
        row("  C/P wall", f"{fmt_strike(prev.call_wall)} / {fmt_strike(prev.put_wall)}")
    mp = fmt_strike(snap.max_pain)
    if snap.max_pain_expiration is not None:
        mp = f"{mp} ({snap.max_pain_expiration.strftime('%b%d')})"
    row("Max pain", mp)

    def gex_style(v: float) -> str:
        return colors.positive if v > 0 else colors.negative if v < 0 else ""

    row("Net GEX/1%", Text(money(snap.net_gex), style=f"bold {gex_style(snap.net_gex)}"))
    row("  calls", Text(money(snap.call_gex), style=gex_style(snap.call_gex)))
    row("  puts", Text(money(snap.put_gex), style=gex_style(snap.put_gex)))
    row("  abs", money(snap.abs_gex, signed=False))
    more_calls = " ".join(fmt_strike(w.strike) for w in snap.call_walls[1:])
    more_puts = " ".join(fmt_strike(w.strike) for w in snap.put_walls[1:])
    if more_calls:
        row("  next calls", Text(more_calls, style=colors.positive))
    if more_puts:
        row("  next puts", Text(more_puts, style=colors.negative))
    row("Abs γ strike", fmt_strike(snap.abs_gamma_strike))
    if snap.expected_move is not None and snap.spot is not None:
        em = f"±{snap.expected_move:,.2f}"
        if snap.expected_move_expiration is not None:
            em = f"{em} ({snap.expected_move_expiration.strftime('%b%d')})"
        row("Exp. move", em)
    else:
        row("Exp. move", Text("—", style="dim"))
    if zero_dte is not None and zero_dte is not snap:
        z = "—" if zero_dte.zero_gamma is None else fmt_price(zero_dte.zero_gamma)
        row("0DTE zero γ", Text(z, style=colors.zero_gamma))
        walls = f"{fmt_strike(zero_dte.call_wall)} / {fmt_strike(zero_dte.put_wall)}"
        row("0DTE C/P wall", walls)
        row("0DTE net GEX", money(zero_dte.net_gex))
    row("Vol GEX", Text(money(snap.net_gex_volume), style=gex_style(snap.net_gex_volume)))
    row("DEX", money(snap.net_dex))
    row("VEX/vol pt", money(snap.net_vex))
    row("CEX/day", money(snap.net_cex))
    pcr = snap.put_call_oi_ratio
    row("P/C OI", "—" if pcr is None else f"{pcr:.2f}")
    regime = snap.gamma_regime
    regime_text = {
        "positive": Text("positive γ", style=f"bold {colors.positive}"),
        "negative": Text("negative γ", style=f"bold {colors.negative}"),
    }.get(regime, Text("n/a", style="dim"))
    row("Regime", regime_text)
    cov = snap.coverage
    pct = cov.fraction * 100.0
    row("Covered", f"{pct:.0f}% {count(cov.with_both)}/{count(cov.contracts)}")
    row("  chain", Text(f"{count(cov.chain_total)} contracts", style="dim"))
    if cov.rejected:
        word = "value" if cov.rejected == 1 else "values"
        row("  rejected", Text(f"{count(cov.rejected)} {word}", style="bold yellow"))
    row("Events/s", "—" if events_per_second is None else f"{events_per_second:,.0f}")
    if warming:
        first_row = out.plain.index("\n") + 1
        out.stylize("dim", first_row, len(out.plain))
    if changes is not None and changes.plain:
        out.append("\n\n")
        out.append_text(changes)
    return out


def replay_text(
    position: datetime | None,
    start: datetime | None,
    end: datetime | None,
    speed: float,
    paused: bool,
    width: int,
) -> Text:
    """``▶ 2.0×  10:30:00 ━━━━●──── 16:00:00  10:45:12``."""
    t = Text(no_wrap=True)
    t.append("⏸ paused" if paused else "▶ playing", style="bold")
    t.append(f"  {speed:g}×  ", style="bold")
    if position is None or start is None or end is None or end <= start:
        t.append("replay", style="dim")
        return t
    t.append(ny_time(start), style="dim")
    t.append(" ")
    bar_w = max(width - t.cell_len - 22, 5)
    frac = (position - start) / (end - start)
    frac = min(max(frac, 0.0), 1.0)
    done = round(frac * (bar_w - 1))
    t.append("━" * done, style="cyan")
    t.append("●", style="bold cyan")
    t.append("─" * (bar_w - 1 - done), style="dim")
    t.append(" ")
    t.append(ny_time(end), style="dim")
    t.append(f"  {ny_time(position)}", style="bold")
    return t


@dataclass(frozen=True, slots=True)
class StatusData:
    info: StatusInfo
    colors: Colors
    width: int


@dataclass(frozen=True, slots=True)
class TabsData:
    tickers: tuple[str, ...]
    current: str
    pending: str
    width: int


@dataclass(frozen=True, slots=True)
class ExpiryData:
    selection: str
    expirations: tuple[date, ...]
    width: int
    today: date | None


@dataclass(frozen=True, slots=True)
class LevelsData:
    """``snapshot`` is compared by identity (``snapshot_id``): a new snapshot is new data."""

    snapshot_id: int
    events_per_second: float | None  # rounded by the app (a steady rate repaints nothing)
    colors: Colors
    width: int
    warming: bool
    snapshot: ExposureSnapshot | None = field(default=None, compare=False)
    zero_dte_id: int = 0
    zero_dte: ExposureSnapshot | None = field(default=None, compare=False)
    changes: Text | None = None  # the change view's largest per-strike changes
    previous_id: int = 0
    previous: tuple[date, ExposureSnapshot] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ReplayData:
    position: datetime | None
    start: datetime | None
    end: datetime | None
    speed: float
    paused: bool
    width: int
    available: bool = True  # False: no replay session (yet)


class TextPanel(Static):
    """A panel painted from a ``data`` reactive as text. The reactive does not repaint by
    itself: its watcher calls :meth:`show_text`, which repaints only when the text changed —
    data can change where the text does not (a clock to the microsecond shown to the second,
    figures that round the same), and every repaint of a panel costs the event loop."""

    _shown: Text | None = None

    def show_text(self, text: Text, *, layout: bool = False) -> None:
        if not layout and self._shown is not None and text == self._shown:
            return
        self._shown = text
        self.update(text, layout=layout)


class StatusLine(TextPanel):
    """Top line: ticker, spot, source, expiry, clock, connection."""

    data: reactive[StatusData | None] = reactive(None, layout=False, repaint=False, init=False)
    _lines = 1

    def watch_data(self, data: StatusData | None) -> None:
        if data is None:
            return
        text = status_text(data.info, data.colors)
        lines = 1 if text.cell_len <= max(data.width - 2, 1) else 2
        relayout = lines != self._lines  # height: auto — only when the wrap changes
        self._lines = lines
        self.show_text(text, layout=relayout)


class TickerTabs(TextPanel):
    """The ticker tabs (1–9, tab / shift+tab)."""

    data: reactive[TabsData | None] = reactive(None, layout=False, repaint=False, init=False)

    def watch_data(self, data: TabsData | None) -> None:
        if data is not None:
            self.show_text(tabs_text(data.tickers, data.current, data.pending, data.width))


class ExpiryBar(TextPanel):
    """The expiry selection bar ([ / ])."""

    data: reactive[ExpiryData | None] = reactive(None, layout=False, repaint=False, init=False)

    def watch_data(self, data: ExpiryData | None) -> None:
        if data is not None:
            self.show_text(expiry_text(data.selection, data.expirations, data.width, data.today))


def retitle(widget: Widget, title: str | None = None, subtitle: str | None = None) -> None:
    """Set ``widget``'s border title and / or subtitle (None: leave it), only when it
    changes: Textual repaints the whole widget on every assignment, equal or not — a chart
    set to its own title at every screen tick was redrawn fifteen times a second."""
    shown: dict[str, str] = vars(widget).setdefault("_gextui_titles", {})
    if title is not None and shown.get("title") != title:
        shown["title"] = widget.border_title = title
    if subtitle is not None and shown.get("subtitle") != subtitle:
        shown["subtitle"] = widget.border_subtitle = subtitle


def text_to_strips(text: Text, width: int) -> list[Strip]:
    """Render ``text`` into Textual strips ``width`` cells wide (thread-safe: its own
    Console), so a chart costs the event loop nothing but a copy."""
    console = Console(
        width=max(width, 1),
        file=io.StringIO(),
        color_system="truecolor",
        force_terminal=True,
        legacy_windows=False,
    )
    options = console.options.update(width=max(width, 1), no_wrap=True, overflow="crop")
    lines = console.render_lines(text, options, pad=True, new_lines=False)
    return [Strip(line, max(width, 1)) for line in lines]


def changed_rows(old: Sequence[Strip], new: Sequence[Strip]) -> list[tuple[int, int]] | None:
    """The rows of ``new`` that differ from ``old``, as (first row, count) runs; None when
    the pictures do not line up (another height or width: repaint everything). A new
    snapshot moves a few figures of the levels panel and a few bars of the chart: repainting
    only those rows saves the event loop most of a repaint (Textual re-styles every line of
    a refreshed widget, ≈ 0.1 ms a line, and the levels panel's were 20 ms in all)."""
    if len(old) != len(new) or any(
        a.cell_length != b.cell_length for a, b in zip(old, new, strict=True)
    ):
        return None
    runs: list[tuple[int, int]] = []
    for y, (a, b) in enumerate(zip(old, new, strict=True)):
        if a is b or a == b:
            continue
        if runs and runs[-1][0] + runs[-1][1] == y:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((y, 1))
    return runs


class StripChart(Widget):
    """A chart drawn from pre-rendered strips (Textual's line API): the text is rendered to
    strips off the event loop, and painting only crops them; a new picture repaints only the
    rows that changed."""

    painted: tuple[object, ...] = ()  # the app's view state the picture shows
    painted_as_of: datetime | None = None  # the event time of the data it was drawn from

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.text = Text()
        self._strips: list[Strip] = []

    def show(self, text: Text, strips: list[Strip] | None = None) -> None:
        """Show ``text`` (pre-rendered ``strips`` when given, else rendered now)."""
        self.text = text
        old = self._strips
        self._strips = (
            strips if strips is not None else text_to_strips(text, self.content_size.width)
        )
        rows = changed_rows(old, self._strips)
        if rows is None:
            self.refresh()
            return
        width = self.content_size.width
        for y, n in rows:
            self.refresh(Region(0, y, width, n))

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        if 0 <= y < len(self._strips):
            return self._strips[y].crop_extend(0, width, None)
        return Strip.blank(width)


class StripPanel(ScrollView):
    """A scrollable panel of pre-rendered strips (the line API, as Textual's ``Log``): the
    text is rendered off the event loop; a new picture repaints only the rows that changed."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.text = Text()
        self._strips: list[Strip] = []

    def show(
        self, text: Text, strips: list[Strip], rows: list[tuple[int, int]] | None = None
    ) -> None:
        """Show ``text`` as ``strips``; ``rows``: the rows that differ from the strips on
        screen (from :func:`changed_rows`, computed off the loop), None: compare now."""
        self.text = text
        old, self._strips = self._strips, strips
        if rows is None:
            rows = changed_rows(old, strips)
        size = Size(max((s.cell_length for s in strips), default=0), len(strips))
        if rows is None or size != self.virtual_size:
            self.virtual_size = size
            self.refresh()
            return
        for y, n in rows:
            self.refresh_lines(y, n)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        row = y + scroll_y
        if 0 <= row < len(self._strips):
            return self._strips[row].crop_extend(scroll_x, scroll_x + width, None)
        return Strip.blank(width)


class StrikeChart(StripChart):
    """GEX (or DEX/VEX/CEX) by strike as horizontal bars."""


class ProfileChart(StripChart):
    """Net GEX against hypothetical spot."""


#: the levels panel's picture: its text, strips and the rows that changed (None: all)
LevelsPicture = tuple[Text, list[Strip], list[tuple[int, int]] | None]


def render_levels(
    data: LevelsData, shown: list[Strip], height: int = 0, scrollbar: int = 0
) -> LevelsPicture:
    """The levels panel's text and strips for ``data``, and the rows that differ from the
    ``shown`` strips (in the render thread). Text taller than ``height`` rows is drawn
    ``scrollbar`` cells narrower: the panel scrolls, and its scrollbar takes those cells."""

    def text_at(width: int) -> Text:
        return levels_text(
            data.snapshot,
            data.events_per_second,
            data.colors,
            width,
            warming=data.warming,
            zero_dte=data.zero_dte,
            changes=data.changes,
            previous=data.previous,
        )

    width = max(data.width, 1)
    text = text_at(width)
    if height > 0 and scrollbar > 0 and text.plain.count("\n") + 1 > height:
        width = max(width - scrollbar, 1)
        text = text_at(width)
    strips = text_to_strips(text, width)
    return text, strips, changed_rows(shown, strips)


class LevelsPanel(StripPanel):
    """Levels and totals, rendered by the app's shared render loop (off the event loop: the
    panel's forty-odd styled lines cost the loop 20–25 ms to render with ``Static``)."""

    data: reactive[LevelsData | None] = reactive(None, layout=False, repaint=False, init=False)

    def __init__(self, loop: RenderLoop, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._loop = loop
        self.renders = 0  # for tests
        self._rendering: LevelsData | None = None

    @property
    def rendering(self) -> bool:
        """A picture of the panel's data is being drawn (tests and the bench wait for it)."""
        return self._rendering is not None

    def on_resize(self) -> None:
        # a new height may add or remove the scrollbar (and its cells): draw again
        if self.data is not None:
            self.watch_data(self.data)

    def watch_data(self, data: LevelsData | None) -> None:
        if data is None:
            return
        retitle(self, "Levels · warming up" if data.warming else "Levels")
        shown = self._strips
        self._rendering = data
        height = self.content_size.height
        bar = self.styles.scrollbar_size_vertical if self.styles.overflow_y != "hidden" else 0

        def done(result: LevelsPicture) -> None:
            if self.data is not data:
                return  # newer data is on its way
            self._rendering = None
            text, strips, rows = result
            self.show(text, strips, rows if self._strips is shown else None)
            self.renders += 1

        def failed(exc: BaseException) -> None:
            self.log.error(f"levels render failed: {exc!r}")
            if self.data is data:
                self._rendering = None
            text = Text(f"levels error: {exc!r}", style="red")
            self.show(text, text_to_strips(text, max(data.width, 1)))

        self._loop.submit(
            "levels", partial(render_levels, data, shown, height, bar), done, failed=failed
        )


class OverviewTable(TextPanel):
    """The watchlist overview (``0``): one row per ticker, rendered by the app from
    :func:`gextui.ui.overview.render_overview`."""

    data: reactive[Text | None] = reactive(None, layout=False, repaint=False, init=False)

    def watch_data(self, data: Text | None) -> None:
        if data is not None:
            self.show_text(data)


class ReplayBar(TextPanel):
    """Replay position bar (replay feeds only)."""

    data: reactive[ReplayData | None] = reactive(None, layout=False, repaint=False, init=False)

    def watch_data(self, data: ReplayData | None) -> None:
        if data is None:
            return
        if not data.available:
            self.show_text(Text("replay: no session", style="dim"))
            return
        args = (data.position, data.start, data.end, data.speed, data.paused, data.width)
        self.show_text(replay_text(*args))
