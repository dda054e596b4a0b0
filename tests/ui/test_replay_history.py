"""After a replay seek the history is rebuilt from the recording (one sample per recorded
minute, from its checkpoints, on the alerts' fixed selection), not left empty."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from gextui.core.exposure import compute_exposure
from gextui.core.history import LevelSample
from gextui.feeds.replay import ReplayFeed
from gextui.feeds.simulated import SimulatedFeed
from gextui.settings import Settings
from gextui.store.reader import open_recording
from gextui.store.recorder import Recorder
from gextui.ui.app import GexApp

from .helpers import frozen_clock


async def record_minutes(root: Path, minutes: int) -> None:
    start = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("America/New_York"))
    await record_day(root, start, minutes, seed=4)


async def test_seek_rebuilds_the_history_from_the_recording(tmp_path: Path) -> None:
    await record_minutes(tmp_path, 5)
    recording = open_recording(tmp_path, "SPY")
    assert len(recording.segments) >= 5
    app = GexApp(
        ReplayFeed(tmp_path, paced=False), ["SPY"], settings=Settings(), clock=frozen_clock
    )
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(500):
            await pilot.pause(0.02)
            if app.monitor.status("SPY").ended:
                break
        assert app.monitor.status("SPY").ended  # played to the end
        await pilot.press("left")  # seek back one minute
        target = recording.end_time - timedelta(minutes=1)  # type: ignore[operator]
        want = [t for t, _ in recording.checkpoint_states(target) if t < target]
        assert len(want) >= 3
        hist = app.monitor.history("SPY")
        for _ in range(500):
            await pilot.pause(0.02)
            if [s.time for s in hist.samples][: len(want)] == want:
                break
        times = [s.time for s in hist.samples]
        assert times[: len(want)] == want  # one sample per recorded minute before the seek
        assert all(t >= target for t in times[len(want) :])  # then the replay's own
        # each rebuilt sample is what the book at that minute gives
        probe = want[len(want) // 2]
        expect = LevelSample.from_snapshot(compute_exposure(recording.book_at(probe), "all"))
        got = next(s for s in hist.samples if s.time == probe)
        assert got == expect


async def record_day(root: Path, day: datetime, minutes: int, seed: int = 5) -> None:
    """Record ``minutes`` of the simulated SPY from ``day`` (2 s of market time a batch)."""
    feed = SimulatedFeed(seed=seed, paced=False, start=day, speed=20.0)
    session = await feed.open("SPY")
    rec = Recorder(root, "SPY", session.chain, "simulated", background=False)
    async for batch in session.events():
        rec.write(batch)
        if batch.time - day >= timedelta(minutes=minutes):
            break
    rec.close()
    await feed.aclose()


async def test_previous_sessions_closing_levels_beside_todays(tmp_path: Path) -> None:
    """A replay of Nov 25 shows the closing levels of the recorded Nov 24 session."""
    ny = ZoneInfo("America/New_York")
    await record_day(tmp_path, datetime(2026, 11, 24, 15, 50, tzinfo=ny), 3)
    await record_day(tmp_path, datetime(2026, 11, 25, 10, 0, tzinfo=ny), 2)
    day1 = open_recording(tmp_path, "SPY", "2026-11-24")
    assert day1.end_time is not None
    want = compute_exposure(day1.book_at(day1.end_time), "all")
    assert want.zero_gamma is not None and want.call_wall is not None
    part = tmp_path / "ticker=SPY" / "date=2026-11-25"
    from gextui.cli import _recordings_root

    assert _recordings_root(part) == tmp_path
    app = GexApp(
        ReplayFeed(part, paced=False),
        ["SPY"],
        settings=Settings(),
        clock=frozen_clock,
        recordings=_recordings_root(part),
    )
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(500):
            await pilot.pause(0.02)
            if app.monitor.previous("SPY") is not None and app.snapshot is not None:
                break
        prev = app.monitor.previous("SPY")
        assert prev is not None
        day, snap = prev
        assert day.isoformat() == "2026-11-24"
        assert snap.zero_gamma == want.zero_gamma and snap.call_wall == want.call_wall
        app._paint()
        await pilot.pause()
        from gextui.ui.widgets import LevelsPanel

        from .helpers import text_of

        panel = text_of(app.query_one(LevelsPanel), 60)
        assert "Prev close Nov24" in panel
        assert f"{want.zero_gamma:,.2f}" in panel
