"""The top line's times agree with the feed's clock on simulated data."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from gextui.feeds.simulated import SimulatedFeed
from gextui.settings import Settings
from gextui.ui.app import GexApp
from gextui.ui.widgets import StatusLine

from .helpers import text_of

NY = ZoneInfo("America/New_York")


async def test_last_update_is_simulated_time() -> None:
    start = datetime(2026, 11, 24, 10, 0, tzinfo=NY)
    feed = SimulatedFeed(seed=1, paced=False, start=start)
    # the app's own clock: 03:00 New York, far from the simulated session
    wall = datetime(2026, 11, 24, 3, 0, tzinfo=NY).timestamp()
    app = GexApp(feed, ["SPY"], settings=Settings(), clock=lambda: wall)
    async with app.run_test(size=(200, 48)) as pilot:
        for _ in range(200):
            await pilot.pause(0.02)
            if app.book is not None and app.book.version > 5 and app.snapshot is not None:
                break
        top = text_of(app.query_one(StatusLine), 200)
        shown = re.search(r"↻ (\d\d):(\d\d)", top)
        assert shown is not None, top
        assert shown.group(1) == "10", top  # simulated 10:0x, not the 03:00 wall clock


async def test_closed_simulated_market_says_so() -> None:
    """At night the simulated market is closed: the top line says "market closed" and when
    it opens, never "● live", and the book is full (the last close) at once."""
    start = datetime(2026, 11, 24, 20, 0, tzinfo=NY)  # Tuesday evening
    feed = SimulatedFeed(seed=1, paced=False, start=start)
    wall = start.timestamp()
    app = GexApp(feed, ["SPY"], settings=Settings(), clock=lambda: wall)
    async with app.run_test(size=(200, 48)) as pilot:
        for _ in range(200):
            await pilot.pause(0.02)
            if app.book is not None and app.book.version > 12 and app.snapshot is not None:
                break
        top = text_of(app.query_one(StatusLine), 200)
        assert "◑ market closed" in top, top
        assert "opens Wed Nov 25 09:30 ET" in top, top
        assert "● live" not in top, top
        assert app.book is not None
        with_greeks, with_oi, total = app.book.coverage()
        assert with_greeks == with_oi == total
