"""Helpers for the Pilot tests: wait until the app has settled, read widgets as text."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from textual.pilot import Pilot
from textual.widget import Widget

from gextui.ui.app import GexApp
from gextui.ui.widgets import StrikeChart

from .fakes import START

FROZEN = START.timestamp() + 2.0  # the app's clock in tests: never moves


def frozen_clock() -> float:
    return FROZEN


def text_of(widget: Widget, width: int | None = None) -> str:
    """The plain text a Static-like widget shows."""
    content: Any = getattr(widget, "text", None)
    if content is None:
        content = getattr(widget, "content", None)
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    buf = io.StringIO()
    console = Console(
        file=buf, width=width or max(widget.size.width, 40), color_system=None, record=False
    )
    console.print(content)
    return buf.getvalue()


async def settle(pilot: Pilot[None], app: GexApp, *, version: int | None = None) -> None:
    """Wait (in app time, no wall-clock assertion) until the ticker on screen has applied
    ``version`` batches (default: all its batches), the snapshot is current and the chart
    shows the current view."""
    chart = app.query_one(StrikeChart)
    want = version if version is not None else getattr(app.feed, "batches", 1)
    for _ in range(400):
        await pilot.pause(0.01)
        book = app.book
        if book is None or book.version < want or app.snapshot is None:
            continue
        if app.snapshot.ticker != app.ticker or app.snapshot.as_of != book.as_of:
            continue
        if app.is_running and not app.paused:
            app._redraw()
        if chart.painted == app.view_state and app.chart_idle:
            break
    await pilot.pause()
