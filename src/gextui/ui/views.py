"""The "what changed" views of the monitor, as render jobs for the shared render loop.

* **GEX by expiration** (``x``): :func:`expirations_job` — one bar per expiration of the chain
  (the snapshot at ``all``), 0DTE / 1DTE / weekly / monthly tagged, a cursor that ``enter``
  turns into the expiry selection.
* **Strike × time map** (``m``): :func:`map_job` — net GEX per strike (rows) a minute over the
  session (columns), spot and zero gamma drawn over it, from the monitor's per-strike history
  (live, or rebuilt from a recording after a replay seek).
* **Change** (``d``, window ``D``): :func:`change_inputs` — the shown metric's per-strike net
  value (GEX, DEX, VEX or CEX; OI or volume basis) of the sample ``window`` ago (or at the
  session's first minute), for the ghost marks and Δ column of the strike chart, and the
  strikes with the largest change.

Every job is a plain function of immutable inputs that returns ``(Text, strips)``: it runs in a
thread.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

import numpy as np
from rich.text import Text
from textual.strip import Strip

from gextui.core.expiry import ny_date
from gextui.core.exposure import ExposureSnapshot
from gextui.core.strike_history import StrikeHistory, StrikeSample
from gextui.settings import Colors
from gextui.ui.change_view import render_top_changes, window_seconds
from gextui.ui.chart import METRIC_NAMES, column_name
from gextui.ui.expiry_view import ExpiryRow, render_expirations
from gextui.ui.heatmap import render_heatmap
from gextui.ui.widgets import text_to_strips

Rendered = tuple[Text, list[Strip]]


def expiry_rows(snap: ExposureSnapshot) -> list[ExpiryRow]:
    return [
        ExpiryRow(e.expiration, e.net_gex, e.call_gex, e.put_gex, e.abs_gex, e.contracts)
        for e in snap.by_expiration
    ]


def expirations_job(
    snap: ExposureSnapshot,
    width: int,
    height: int,
    colors: Colors,
    *,
    split: bool,
    selected: date | None,
) -> Callable[[], Rendered]:
    rows = expiry_rows(snap)
    today = ny_date(snap.as_of) if snap.as_of is not None else None

    def job() -> Rendered:
        text = render_expirations(
            rows, width, height, colors, metric_split=split, selected=selected, today=today
        )
        return text, text_to_strips(text, width)

    return job


def map_job(
    samples: list[StrikeSample],
    lo: float,
    hi: float,
    width: int,
    height: int,
    colors: Colors,
    *,
    title: str,
) -> Callable[[], Rendered]:
    """``samples``: a copy of the history's samples, taken on the event loop."""

    def job() -> Rendered:
        hist = StrikeHistory(capacity=max(len(samples), 1))
        hist.backfill(samples)
        m = hist.matrix(lo, hi)
        text = render_heatmap(
            m.times,
            m.strikes,
            m.values,
            m.spot,
            m.zero_gamma,
            width,
            height,
            colors,
            title=title,
            strike_range=(lo, hi),
        )
        return text, text_to_strips(text, width)

    return job


def earlier_sample(
    history: StrikeHistory | None, now: datetime | None, window: str
) -> StrikeSample | None:
    """The sample ``window`` before ``now`` ("open": the first of ``now``'s New York day)."""
    if history is None or now is None or not len(history):
        return None
    seconds = window_seconds(window)
    if seconds is None:
        today = ny_date(now)
        for sample in history.samples:
            if ny_date(sample.as_of) == today:
                return sample
        return None
    return history.at(now - timedelta(seconds=seconds))


def change_inputs(
    snap: ExposureSnapshot,
    sample: StrikeSample | None,
    colors: Colors,
    width: int,
    window: str,
    metric: str = "gex",
    basis: str = "oi",
) -> tuple[dict[float, float] | None, Text]:
    """(strike → the shown metric's earlier net value for the chart's ghost marks, the
    largest changes of it listed); ``metric`` and ``basis`` as the strike chart's."""
    if sample is None:
        note = Text(f"Δ {window}: no sample {window} back yet", style="dim")
        return None, note
    column = column_name(metric, basis, "net")
    earlier = sample.column(column)
    if earlier is None or column not in snap.strikes.columns:
        return None, Text(f"Δ {window}: no earlier {METRIC_NAMES[metric]} kept", style="dim")
    previous = {float(k): float(v) for k, v in zip(sample.strikes, earlier, strict=True)}
    strikes = snap.strikes["strike"].to_numpy()
    now = snap.strikes[column].to_numpy()
    then = np.array([previous.get(float(k), np.nan) for k in strikes], dtype=np.float64)
    change = now - then
    # units as the chart's title says them; "(vol)": on the volume basis
    label = f"net {METRIC_NAMES[metric]}" + (" (vol)" if basis == "volume" else "")
    text = render_top_changes(
        strikes, change, width, 8, colors, window_label=window, n=6, metric=label
    )
    return previous, text
