"""A replay keeps its origin's label: a recorded simulated session still says SIMULATED."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from gextui.feeds.replay import ReplayFeed
from gextui.feeds.simulated import SimulatedFeed
from gextui.settings import Settings
from gextui.store.recorder import Recorder
from gextui.ui.app import GexApp
from gextui.ui.widgets import StatusLine

from .helpers import frozen_clock, text_of


async def record_simulated(root: Path, batches: int = 30) -> None:
    start = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("America/New_York"))
    feed = SimulatedFeed(seed=9, paced=False, start=start, speed=10.0)
    session = await feed.open("SPY")
    rec = Recorder(root, "SPY", session.chain, "simulated", background=False)
    n = 0
    async for batch in session.events():
        rec.write(batch)
        n += 1
        if n >= batches:
            break
    rec.close()
    await session.aclose()
    await feed.aclose()


async def test_replay_of_simulated_data_is_labelled_simulated(tmp_path: Path) -> None:
    await record_simulated(tmp_path)
    app = GexApp(
        ReplayFeed(tmp_path, paced=False), ["SPY"], settings=Settings(), clock=frozen_clock
    )
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if app.snapshot is not None:
                break
        assert app.snapshot is not None
        top = text_of(app.query_one(StatusLine), 200)
        assert "SIMULATED DATA" in top and "replay" in top
