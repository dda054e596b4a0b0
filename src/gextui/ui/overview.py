"""The watchlist overview: one line per ticker (a pure renderer from plain rows to Rich
``Text``, no Textual): :class:`OverviewRow`, :func:`overview_row`, :func:`render_overview`.

Columns, in screen order: ticker, spot, chg %, net GEX, zero γ, dist %, call wall, put wall,
regime, coverage %, status. When they do not fit ``width``, the gaps shrink to one cell and
the headers to their short forms (:data:`SHORT_HEADERS`); then columns are dropped in the order
of :data:`DROP_ORDER` (least important first: coverage, regime (it repeats the sign of net
GEX), chg %, dist %, put wall, call wall, zero γ, net GEX, spot; the ticker and the status
always stay, the status cut to :data:`STATUS_W` cells with ``…``), so a line never wraps. At
80 columns a four-ticker SPX/SPY/QQQ/NDX watchlist loses coverage (and regime, chg % when
the figures are wide).

Signs read without colour (``+`` / ``−``, ``+γ`` / ``−γ``) and are coloured too: positive in
``colors.positive``, negative in ``colors.negative``. The selected row carries ``▶`` and is
drawn bold on a highlighted background. A missing figure prints as ``—``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from rich.style import Style
from rich.text import Text

from gextui.core.exposure import ExposureSnapshot
from gextui.formats import money, pct
from gextui.formats import price as _price
from gextui.formats import strike as _strike
from gextui.settings import Colors
from gextui.ui.heatmap import crop_to


@dataclass(frozen=True, slots=True)
class OverviewRow:
    """What the overview shows for one ticker (None: unknown)."""

    ticker: str
    spot: float | None
    change_pct: float | None  # spot vs the previous close, %
    net_gex: float | None  # dollars per 1 % move
    zero_gamma: float | None
    zero_distance_pct: float | None  # (zero gamma − spot) / spot, %
    call_wall: float | None
    put_wall: float | None
    regime: str  # "positive" | "negative" | "n/a"
    coverage: float | None  # 0 … 1
    status: str  # e.g. "live", "stale 12s", "connecting"


def _ok(v: float | None) -> float | None:
    return v if v is not None and isinstance(v, int | float) and math.isfinite(v) else None


def overview_row(ticker: str, snap: ExposureSnapshot | None, status: str) -> OverviewRow:
    """The overview line of ``ticker`` from its latest snapshot (None: not computed yet)."""
    if snap is None:
        return OverviewRow(ticker, None, None, None, None, None, None, None, "n/a", None, status)
    spot, prev = _ok(snap.spot), _ok(snap.prev_close)
    change = (spot - prev) / prev * 100.0 if spot is not None and prev else None
    return OverviewRow(
        ticker=ticker,
        spot=spot,
        change_pct=change,
        net_gex=_ok(snap.net_gex),
        zero_gamma=_ok(snap.zero_gamma),
        zero_distance_pct=_ok(snap.zero_gamma_distance_pct),
        call_wall=_ok(snap.call_wall),
        put_wall=_ok(snap.put_wall),
        regime=snap.gamma_regime,
        coverage=_ok(snap.coverage.fraction),
        status=status,
    )


def _cov(v: float | None) -> str:
    v = _ok(v)
    return "—" if v is None else f"{v * 100:.0f}%"


def _regime(r: str) -> str:
    return {"positive": "+γ", "negative": "−γ"}.get(r, "n/a")


def _sign(v: float | None) -> int:
    v = _ok(v)
    return 0 if v is None or v == 0 else 1 if v > 0 else -1


@dataclass(frozen=True, slots=True)
class _Column:
    key: str
    header: str
    text: Callable[[OverviewRow], str]
    sign: Callable[[OverviewRow], int]  # which colour (0: none)
    left: bool = False  # left-aligned (else right)


COLUMNS: Final = (
    _Column("ticker", "ticker", lambda r: r.ticker, lambda r: 0, left=True),
    _Column("spot", "spot", lambda r: _price(r.spot), lambda r: 0),
    _Column("chg", "chg %", lambda r: pct(r.change_pct), lambda r: _sign(r.change_pct)),
    _Column(
        "net", "net GEX", lambda r: money(_ok(r.net_gex), digits=2), lambda r: _sign(r.net_gex)
    ),
    _Column("zero", "zero γ", lambda r: _price(r.zero_gamma), lambda r: 0),
    _Column(
        "dist", "dist %", lambda r: pct(r.zero_distance_pct), lambda r: _sign(r.zero_distance_pct)
    ),
    _Column("call", "call wall", lambda r: _strike(r.call_wall), lambda r: 1),
    _Column("put", "put wall", lambda r: _strike(r.put_wall), lambda r: -1),
    _Column(
        "regime",
        "regime",
        lambda r: _regime(r.regime),
        lambda r: {"positive": 1, "negative": -1}.get(r.regime, 0),
    ),
    _Column("cov", "cov %", lambda r: _cov(r.coverage), lambda r: 0),
    _Column("status", "status", lambda r: r.status, lambda r: 0, left=True),
)
COLUMN_KEYS: Final = tuple(c.key for c in COLUMNS)
# least important first; the ticker and the status are never dropped (the status is cut to
# STATUS_W cells with "…", and further only when nothing else is left)
DROP_ORDER: Final = ("cov", "regime", "chg", "dist", "put", "call", "zero", "net", "spot")
_GAP: Final = 2
STATUS_W: Final = 14
_MARK_W: Final = 2  # "▶ "


SHORT_HEADERS: Final = {
    "chg": "chg%",
    "dist": "dist%",
    "call": "C wall",
    "put": "P wall",
    "regime": "γ",
    "cov": "cov%",
}


def header_of(key: str, compact: bool) -> str:
    """The column's header; ``compact``: the short form (``C wall``, ``chg%``, …)."""
    if compact and key in SHORT_HEADERS:
        return SHORT_HEADERS[key]
    return next(c.header for c in COLUMNS if c.key == key)


def visible_columns(
    rows: Sequence[OverviewRow], width: int
) -> tuple[tuple[tuple[str, int], ...], int]:
    """((column key, cell width) of the columns shown at ``width``, in screen order; the gap
    between columns): two-cell gaps when everything fits, else one-cell gaps before any
    column is dropped."""
    cells = {c.key: max((len(c.text(r)) for r in rows), default=0) for c in COLUMNS}
    widths = {c.key: max(len(c.header), cells[c.key]) for c in COLUMNS}
    shown = list(COLUMN_KEYS)

    gap = _GAP

    def total() -> int:
        return _MARK_W + sum(widths[k] for k in shown) + gap * (len(shown) - 1)

    widths["status"] = min(widths["status"], STATUS_W)
    if total() > width:  # compact: one-cell gaps and short headers
        gap = 1
        widths = {c.key: max(len(header_of(c.key, True)), cells[c.key]) for c in COLUMNS}
    drops = list(DROP_ORDER)
    while total() > width and drops:
        shown.remove(drops.pop(0))
    over = total() - width
    if over > 0:  # only ticker and status left: cut the status, then drop it
        if widths["status"] - over >= 4:
            widths["status"] -= over
        else:
            shown.remove("status")
            widths["ticker"] = min(widths["ticker"], max(width - _MARK_W, 1))
    return tuple((k, widths[k]) for k in shown), gap


def _fit(s: str, w: int, left: bool) -> str:
    if len(s) > w:
        return s[: max(w - 1, 0)] + "…" if w > 1 else s[:w]
    return f"{s:<{w}}" if left else f"{s:>{w}}"


def render_overview(
    rows: Sequence[OverviewRow],
    width: int,
    colors: Colors,
    *,
    selected: int = 0,
    height: int | None = None,
) -> Text:
    """The overview table at most ``width`` cells wide: a header line, then one line per row
    (in the order given); ``selected`` (an index into ``rows``) is highlighted. ``height``
    (optional): at most that many lines, a window of rows around the selected one and a last
    line ``+N more`` when they do not all fit."""
    width = max(int(width), 1)
    if not rows:
        return Text("watchlist: no tickers"[:width], style="dim", end="")
    cols = {c.key: c for c in COLUMNS}
    shown, gap = visible_columns(rows, width)
    pos, neg = Style(color=colors.positive), Style(color=colors.negative)
    out = Text(no_wrap=True, end="")
    out.append(" " * _MARK_W, None)
    for i, (key, w) in enumerate(shown):
        if i:
            out.append(" " * gap)
        c = cols[key]
        out.append(_fit(header_of(key, gap < _GAP), w, c.left), Style(bold=True, dim=True))
    sel_bg = Style(bold=True, bgcolor="grey27")
    lo, hi = 0, len(rows)
    if height is not None and len(rows) + 1 > max(height, 1):
        fit = max(height - 2, 1)  # the header and the "+N more" line
        lo = max(0, min(selected - fit // 2, len(rows) - fit))
        hi = lo + fit
    for r_i in range(lo, hi):
        row = rows[r_i]
        out.append("\n")
        start = len(out.plain)
        is_sel = r_i == selected
        out.append("▶ " if is_sel else "  ", Style(bold=True) if is_sel else None)
        for i, (key, w) in enumerate(shown):
            if i:
                out.append(" " * gap)
            c = cols[key]
            sign = c.sign(row)
            style = pos if sign > 0 else neg if sign < 0 else None
            if key == "ticker":
                style = Style(bold=True)
            elif key == "status":
                low = row.status.lower()
                bad = any(x in low for x in ("stale", "closed", "error", "reconnect"))
                style = Style(color="red", bold=True) if bad else Style(dim=True)
            out.append(_fit(c.text(row), w, c.left), style)
        if is_sel:
            out.stylize(sel_bg, start, len(out.plain))
    if hi - lo < len(rows):
        out.append("\n")
        out.append(f"+{len(rows) - (hi - lo)} more (↑ {lo}, ↓ {len(rows) - hi})", Style(dim=True))
    return crop_to(out, width, height)
