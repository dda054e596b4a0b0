"""The Change view: which strikes moved most over a window (a pure renderer from plain arrays
to Rich ``Text``, no Textual): :func:`render_top_changes`, :data:`CHANGE_WINDOWS`,
:func:`next_window`, :func:`window_seconds`.

The strike chart shows the same change per row when it is given the earlier values
(``bar_data(snap, previous={strike: earlier value})`` in ``ui/chart.py``: a ghost ``┊`` where the
earlier bar ended and a Δ column). This list names the strikes with the largest ``|Δ|``,
biggest first (ties: lower strike first), one line each::

    Largest Δ 5m · net GEX
     6,050  ▲  +$1.20bn  ██████████████
     5,990  ▼  −$850.0M  ██████████

The bars share one scale (the largest ``|Δ|`` shown). NaN changes (a strike without an
earlier value) are left out and counted; an exact 0 is not a change and is not listed.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt
from rich.style import Style
from rich.text import Text

from gextui.core.exposure import ExposureSnapshot
from gextui.formats import money
from gextui.formats import strike as _strike
from gextui.settings import Colors
from gextui.ui.heatmap import crop_to

# (label, seconds back; None: since the session's first sample, "the open")
CHANGE_WINDOWS: Final[tuple[tuple[str, int | None], ...]] = (
    ("1m", 60),
    ("5m", 300),
    ("15m", 900),
    ("30m", 1800),
    ("open", None),
)
WINDOW_LABELS: Final = tuple(label for label, _ in CHANGE_WINDOWS)


def next_window(label: str) -> str:
    """The window after ``label`` in :data:`CHANGE_WINDOWS`, wrapping round (an unknown
    label gives the first window)."""
    try:
        i = WINDOW_LABELS.index(label)
    except ValueError:
        return WINDOW_LABELS[0]
    return WINDOW_LABELS[(i + 1) % len(WINDOW_LABELS)]


def window_seconds(label: str) -> int | None:
    """Seconds back of ``label`` (None for ``open`` or an unknown label)."""
    return dict(CHANGE_WINDOWS).get(label)


def per_strike(snap: ExposureSnapshot | None, column: str = "net_gex") -> dict[float, float]:
    """strike → ``column`` of ``snap`` (e.g. the ``previous`` of ``bar_data``); empty
    without a snapshot or that column. Column names as ``chart.column_name(metric, basis,
    "net")``."""
    if snap is None or column not in snap.strikes.columns:
        return {}
    frame = snap.strikes
    return dict(
        zip(
            frame["strike"].cast(float).to_list(),
            frame[column].cast(float).to_list(),
            strict=True,
        )
    )


def change_between(
    now: ExposureSnapshot | None, then: ExposureSnapshot | None, column: str = "net_gex"
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(strikes of ``now``, ``now − then`` per strike; NaN where ``then`` lacks the strike):
    the input of :func:`render_top_changes`."""
    cur = per_strike(now, column)
    old = per_strike(then, column)
    ks = np.array(sorted(cur), dtype=np.float64)
    ds = np.array([cur[k] - old.get(k, math.nan) for k in ks.tolist()], dtype=np.float64)
    return ks, ds


def top_changes(
    strikes: npt.ArrayLike, change: npt.ArrayLike, n: int = 10
) -> list[tuple[float, float]]:
    """(strike, Δ) of the ``n`` largest ``|Δ|``, biggest first (ties: lower strike first);
    NaN and zero changes left out. Mismatched lengths: the common prefix."""
    ks = np.asarray(strikes, dtype=np.float64).ravel()
    ds = np.asarray(change, dtype=np.float64).ravel()
    m = min(ks.size, ds.size)
    ks, ds = ks[:m], ds[:m]
    ok = np.isfinite(ks) & np.isfinite(ds) & (ds != 0)
    ks, ds = ks[ok], ds[ok]
    order = np.lexsort((ks, -np.abs(ds)))[: max(n, 0)]
    return [(float(ks[i]), float(ds[i])) for i in order]


def render_top_changes(
    strikes: npt.ArrayLike,
    change: npt.ArrayLike,
    width: int,
    height: int,
    colors: Colors,
    *,
    window_label: str,
    n: int = 10,
    metric: str = "net GEX",
) -> Text:
    """The ``n`` strikes with the largest ``|change|`` (``change[i]``: the value at
    ``strikes[i]`` now minus ``window_label`` ago, dollars), at most ``width`` × ``height``
    cells: a title line, then one line per strike (strike, ▲/▼, Δ in $, a bar)."""
    width, height = max(int(width), 1), max(int(height), 1)
    title = f"Largest Δ {window_label} · {metric}"  # fits the 32-cell levels panel
    try:
        ks = np.asarray(strikes, dtype=np.float64).ravel()
        ds = np.asarray(change, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        return Text(f"{title}: unreadable input", style="dim", end="")
    if ks.size == 0 or ds.size == 0:
        return Text(f"Largest Δ {window_label}: no data yet"[:width], style="dim", end="")
    if ks.size != ds.size:
        note = f"{ks.size} strikes but {ds.size} changes"
        return Text(f"Largest Δ {window_label}: {note}"[:width], style="dim", end="")
    missing = int(np.count_nonzero(~np.isfinite(ds)))
    rows = top_changes(ks, ds, min(n, max(height - 1, 0)))
    out = Text(no_wrap=True, end="")
    out.append(title[:width], Style(bold=True))
    if not rows:
        why = (
            f"no earlier value for the {window_label} window yet"
            if missing == ds.size
            else "nothing changed"
        )
        if height >= 2:
            out.append("\n")
            out.append(why[:width], Style(dim=True, italic=True))
        return crop_to(out, width, height)
    labels = [_strike(k) for k, _ in rows]
    values = [money(d, digits=2) for _, d in rows]
    label_w = max(len(x) for x in labels)
    value_w = max(len(x) for x in values)
    head_w = 1 + label_w + 2 + 1 + 2 + value_w + 2
    bar_w = max(width - head_w, 0)
    top = max(abs(d) for _, d in rows)
    pos, neg = Style(color=colors.positive), Style(color=colors.negative)
    for (_, d), label, value in zip(rows, labels, values, strict=True):
        style = pos if d > 0 else neg
        line = Text(no_wrap=True, end="")
        line.append(f" {label:>{label_w}}  ", Style(bold=True))
        line.append("▲" if d > 0 else "▼", style)
        line.append(f"  {value:>{value_w}}  ", style)
        if bar_w > 0 and top > 0:
            cells = max(round(abs(d) / top * bar_w), 1) if math.isfinite(d) else 0
            line.append("█" * min(cells, bar_w), style)
        line.truncate(width)
        out.append("\n")
        out.append_text(line)
    if missing and height > len(rows) + 1 and n > len(rows):
        out.append("\n")
        out.append(f"{missing} strikes without an earlier value"[:width], Style(dim=True))
    return crop_to(out, width, height)
