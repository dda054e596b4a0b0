"""While the chain fills in, the levels panel says "warming up" with the coverage and dims
every figure, and no history sample or alert is taken; once complete, it reads normally."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import polars as pl

from gextui.core.events import EventBatch
from gextui.settings import Colors, Settings
from gextui.ui.app import GexApp
from gextui.ui.widgets import LevelsPanel, levels_text

from .fakes import FakeFeed, FakeSession, make_batch
from .helpers import frozen_clock, text_of


class HalfThenFull(FakeSession):
    """First batch: open interest for half the contracts; then, on ``release``, the rest."""

    def __init__(self, ticker: str) -> None:
        super().__init__(ticker, 2)
        self.release = asyncio.Event()

    async def events(self) -> AsyncIterator[EventBatch]:
        ins = self._info.instruments
        full = make_batch(self._ticker, ins, 0, full=True)
        assert full.summary is not None
        half = full.summary.filter(pl.int_range(pl.len()) % 2 == 0)
        yield EventBatch(time=full.time, greeks=full.greeks, trades=full.trades, summary=half)
        await self.release.wait()
        yield make_batch(self._ticker, ins, 1, full=True)
        await self._closed.wait()


class HalfFeed(FakeFeed):
    async def open(self, ticker: str) -> HalfThenFull:  # type: ignore[override]
        session = HalfThenFull(ticker.upper())
        self.sessions.append(session)
        return session


async def test_levels_warm_up_then_read_normally() -> None:
    feed = HalfFeed()
    app = GexApp(feed, ["SPX"], settings=Settings(), clock=frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.query_one(LevelsPanel)
        for _ in range(300):
            await pilot.pause(0.01)
            if app.snapshot is not None and "warming up" in text_of(panel):
                break
        snap = app.snapshot
        assert snap is not None and 0.4 < snap.coverage.fraction < 0.6
        shown = text_of(panel)
        assert f"warming up: {snap.coverage.fraction:.0%} covered" in shown
        assert "warming up" in str(panel.border_title)
        assert len(app.monitor.history("SPX")) == 0 and not app.monitor.log
        feed.sessions[0].release.set()
        for _ in range(300):
            await pilot.pause(0.01)
            snap = app.snapshot
            done = snap is not None and snap.coverage.fraction > 0.99
            if done and "warming up" not in text_of(panel):
                break
        assert "warming up" not in text_of(panel) and str(panel.border_title) == "Levels"
        assert len(app.monitor.history("SPX")) == 1


def test_warming_dims_every_figure_under_the_header() -> None:
    from .test_chart_truth import spx_snapshot

    snap = spx_snapshot()
    text = levels_text(snap, None, Colors(), 32, warming=True)
    first = text.plain.index("\n") + 1
    assert text.plain.startswith("warming up: 100% covered")
    # one dim span over every figure below the header (over their own colours)
    assert any(
        str(s.style) == "dim" and s.start == first and s.end == len(text.plain) for s in text.spans
    )
    normal = levels_text(snap, None, Colors(), 32)
    assert not normal.plain.startswith("warming up")
