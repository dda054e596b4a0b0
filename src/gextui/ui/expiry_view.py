"""GEX by expiration: one horizontal bar per expiration, nearest first (a pure renderer from
plain rows to Rich ``Text``, no Textual): :func:`render_expirations`, :func:`expiry_tag`.

Each row: a marker (``▶`` on the selected one), the date (``Fri Dec04``; with the year when it
is not ``today``'s), the tag, the bar, the value. Net mode: one bar per row, positive to the
right in ``colors.positive``, negative to the left in ``colors.negative``. Split mode
(``metric_split=True``): the call GEX bar to the right, the put GEX bar to the left, both
values printed (``+$1.20bn −$800.00M``). Every bar shares one scale (the largest magnitude over
all rows, shown or not), so bars compare across the list and a scroll does not rescale them.

Tags (:func:`expiry_tag`), first match wins; ``today`` is the New York trading date:

- ``0DTE``: the expiration is ``today``;
- ``1DTE``: the next weekday after ``today`` (Friday, Saturday or Sunday → the Monday after);
  no holiday calendar, so the day after a holiday eve is still called 1DTE only if it is the
  next weekday;
- ``monthly``: the third Friday of its month (the standard monthly expiration; a holiday-moved
  monthly, e.g. to the Thursday before Good Friday, is not recognised);
- ``weekly``: any other Friday;
- ``daily``: any other weekday (SPX / SPY / QQQ Monday–Thursday expirations);
- ``""``: a weekend date (never listed by a real chain).

Without ``today`` only ``monthly`` / ``weekly`` / ``daily`` are given.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from rich.style import Style
from rich.text import Text

from gextui.core.exposure import ExposureSnapshot
from gextui.formats import money
from gextui.settings import Colors
from gextui.ui.heatmap import crop_to

TAGS: Final = ("0DTE", "1DTE", "monthly", "weekly", "daily")
_TAG_W: Final = 7


@dataclass(frozen=True, slots=True)
class ExpiryRow:
    """One expiration's totals over the selected chain (dollars per 1 % move)."""

    expiration: date
    net_gex: float
    call_gex: float
    put_gex: float  # negative (dealers short puts)
    abs_gex: float
    contracts: int


def expiry_rows(snap: ExposureSnapshot | None) -> tuple[ExpiryRow, ...]:
    """The rows of ``snap.by_expiration`` (the selected expirations; empty without a
    snapshot). ``today`` for the tags: ``gextui.core.expiry.ny_date(snap.as_of)``."""
    if snap is None:
        return ()
    return tuple(
        ExpiryRow(e.expiration, e.net_gex, e.call_gex, e.put_gex, e.abs_gex, e.contracts)
        for e in getattr(snap, "by_expiration", ())
    )


def third_friday(year: int, month: int) -> date:
    """The third Friday of ``month``."""
    first = date(year, month, 1)
    return first + timedelta(days=(4 - first.weekday()) % 7 + 14)


def next_weekday(day: date) -> date:
    """The weekday after ``day`` (Friday, Saturday, Sunday → Monday)."""
    nxt = day + timedelta(days=1)
    while nxt.weekday() >= 5:
        nxt += timedelta(days=1)
    return nxt


def expiry_tag(expiration: date, today: date | None = None) -> str:
    """``0DTE`` / ``1DTE`` / ``monthly`` / ``weekly`` / ``daily`` / ``""`` (see the module
    docstring for the rules)."""
    if today is not None:
        if expiration == today:
            return "0DTE"
        if expiration == next_weekday(today):
            return "1DTE"
    if expiration.weekday() >= 5:
        return ""
    if expiration == third_friday(expiration.year, expiration.month):
        return "monthly"
    return "weekly" if expiration.weekday() == 4 else "daily"


def _date_label(d: date, today: date | None) -> str:
    if today is not None and d.year != today.year:
        return d.strftime("%a %b%d'%y")
    return d.strftime("%a %b%d")


def _finite(v: float) -> float:
    return v if isinstance(v, int | float) and math.isfinite(v) else 0.0


def render_expirations(
    rows: Sequence[ExpiryRow],
    width: int,
    height: int,
    colors: Colors,
    *,
    metric_split: bool = False,
    selected: date | None = None,
    today: date | None = None,
) -> Text:
    """The GEX-by-expiration chart, at most ``width`` × ``height`` cells: a title line, one
    line per expiration (nearest first), and, when the rows do not fit, a window around
    ``selected`` (else the nearest) with ``↑ +N more`` / ``↓ +N more`` lines. Values that are
    NaN count as 0 for the bar and print as ``—``."""
    width, height = max(int(width), 1), max(int(height), 1)
    what = "calls vs puts" if metric_split else "net"
    title = f"GEX by expiration · {what} · per 1% move"
    if not rows:
        return Text(f"{title}: no expirations yet"[:width], style="dim", end="")
    ordered = sorted(rows, key=lambda r: r.expiration)
    n = len(ordered)
    title = f"{title} · {n} expiration{'s' if n != 1 else ''}"
    at = next((i for i, r in enumerate(ordered) if r.expiration == selected), -1)

    # the window of rows that fits under the title, with the "+N more" lines it needs
    room = height - 1
    if room <= 0:  # one line: the title and the selected expiration
        chosen = ordered[at] if at >= 0 else ordered[0]
        note = f"{title} · {_date_label(chosen.expiration, today)}"
        return Text(note[:width], Style(bold=True), no_wrap=True, end="")
    lo, hi, notes = 0, n, True
    if n > room:
        center = max(at, 0)
        fit = room
        while True:
            lo = max(0, min(center - fit // 2, n - fit))
            hi = lo + fit
            if fit + int(lo > 0) + int(hi < n) <= room:
                break
            if fit == 1:  # one line: the row itself, no "more" notes
                notes = False
                break
            fit -= 1

    labels = [_date_label(r.expiration, today) for r in ordered]
    tags = [expiry_tag(r.expiration, today) for r in ordered]
    label_w = max(len(x) for x in labels)
    if metric_split:
        texts = [f"{money(r.call_gex, digits=1)} {money(r.put_gex, digits=1)}" for r in ordered]
        scale = max(
            (max(abs(_finite(r.call_gex)), abs(_finite(r.put_gex))) for r in ordered),
            default=0.0,
        )
    else:
        texts = [money(r.net_gex, digits=1) for r in ordered]
        scale = max((abs(_finite(r.net_gex)) for r in ordered), default=0.0)
    value_w = max(len(x) for x in texts)
    counts = [f"{r.contracts:,} ct" if isinstance(r.contracts, int) else "" for r in ordered]
    count_w = max(len(x) for x in counts) + 1 if width >= 110 else 0
    value_w += count_w
    show_tag = width >= 2 + label_w + 1 + _TAG_W + 1 + 9 + 1 + value_w
    head_w = 2 + label_w + 1 + (_TAG_W + 1 if show_tag else 0)
    area = max(width - head_w - value_w - 1, 3)
    half = (area - 1) // 2
    if head_w + area + 1 + value_w > width:  # very narrow: drop the value labels
        value_w = 0
        area = max(width - head_w, 3)
        half = (area - 1) // 2

    pos_style = Style(color=colors.positive)
    neg_style = Style(color=colors.negative)
    sel_style = Style(bold=True, reverse=True)
    tag_styles = {
        "0DTE": Style(bold=True, color=colors.spot),
        "1DTE": Style(color=colors.spot),
        "monthly": Style(bold=True),
        "weekly": Style(dim=True),
        "daily": Style(dim=True),
    }

    def cells(v: float) -> int:
        if scale <= 0 or half <= 0:
            return 0
        return min(round(abs(_finite(v)) / scale * half), half)

    out = Text(no_wrap=True, end="")
    out.append(title[:width], Style(bold=True))

    def line(s: str, style: Style | None = None) -> None:
        out.append("\n")
        out.append(s[:width], style)

    if lo > 0 and notes:
        line(f"↑ +{lo} more", Style(dim=True))
    for i in range(lo, hi):
        r = ordered[i]
        is_sel = i == at
        out.append("\n")
        out.append("▶ " if is_sel else "  ", Style(bold=True) if is_sel else None)
        out.append(f"{labels[i]:<{label_w}}", sel_style if is_sel else Style(bold=True))
        out.append(" ")
        if show_tag:
            out.append(f"{tags[i]:<{_TAG_W}}", tag_styles.get(tags[i]))
            out.append(" ")
        if metric_split:
            right = (cells(r.call_gex), pos_style) if _finite(r.call_gex) > 0 else (0, pos_style)
            left = (cells(r.put_gex), neg_style) if _finite(r.put_gex) < 0 else (0, neg_style)
        else:
            v = _finite(r.net_gex)
            right = (cells(v), pos_style) if v > 0 else (0, pos_style)
            left = (cells(v), neg_style) if v < 0 else (0, neg_style)
        out.append(" " * (half - left[0]))
        out.append("█" * left[0], left[1])
        out.append("│", Style(dim=True))
        out.append("█" * right[0], right[1])
        out.append(" " * (area - half - 1 - right[0]))
        if value_w:
            out.append(" ")
            if metric_split:
                c, p = money(r.call_gex, digits=1), money(r.put_gex, digits=1)
                pad = value_w - len(c) - 1 - len(p)
                out.append(" " * (pad - count_w))
                out.append(c, pos_style)
                out.append(" ")
                out.append(p, neg_style)
            else:
                v = _finite(r.net_gex)
                style = pos_style if v > 0 else neg_style if v < 0 else None
                out.append(f"{texts[i]:>{value_w - count_w}}", style)
            if count_w:
                out.append(f"{counts[i]:>{count_w}}", Style(dim=True))
    if hi < n and notes:
        line(f"↓ +{n - hi} more", Style(dim=True))
    return crop_to(out, width, height)
