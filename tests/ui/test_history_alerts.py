"""Pilot tests of the history panel (``h``), the alerts log (``a``) and the alerts themselves,
driven by a feed the test steps one batch at a time (deterministic: no wall-clock timing)."""

from __future__ import annotations

import asyncio
import json
import shlex
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import polars as pl
from textual.pilot import Pilot

from gextui.core.alerts import AlertKind, AlertRules
from gextui.core.events import EventBatch
from gextui.settings import Settings
from gextui.ui.alerts_panel import AlertsPanel
from gextui.ui.app import GexApp
from gextui.ui.history_panel import HistoryPanel

from .fakes import START, FakeFeed, FakeReplayFeed, FakeSession, make_batch
from .helpers import frozen_clock, settle, text_of

SIZE = (120, 40)
# the fake SPX chain has its zero gamma near 6,005 (put wall 5,990, call wall 6,020): these
# spots go from well below it to well above it, 5 s of market time apart
BELOW, ABOVE = 5960.0, 6050.0


class SteppedSession(FakeSession):
    """A session whose batches the test sends one by one with :meth:`send`."""

    def __init__(self, ticker: str) -> None:
        super().__init__(ticker, batches=0)
        self.queue: asyncio.Queue[EventBatch] = asyncio.Queue()
        self.sent = 0

    def batch(self, spot: float, greeks: float = 1.0) -> EventBatch:
        """Batch number ``sent`` with the underlying at ``spot``, 5 s after the last one,
        with greeks for the first ``greeks`` fraction of the contracts."""
        i = self.sent
        b = make_batch(self._ticker, self._info.instruments, i, full=i == 0)
        if b.greeks is not None and greeks < 1.0:
            b = replace(b, greeks=b.greeks.head(int(b.greeks.height * greeks)))
        trades = b.trades
        assert trades is not None
        trades = trades.with_columns(
            pl.when(pl.col("symbol") == self._ticker)
            .then(pl.lit(spot))
            .otherwise(pl.col("price"))
            .alias("price")
        )
        when = START + timedelta(seconds=5 * i)
        return replace(b, time=when, trades=trades)

    def send(self, spot: float, greeks: float = 1.0) -> EventBatch:
        b = self.batch(spot, greeks)
        self.sent += 1
        self.queue.put_nowait(b)
        return b

    async def events(self) -> AsyncIterator[EventBatch]:
        while not self._closed.is_set():
            batch = await self.queue.get()
            yield batch


class SteppedFeed(FakeFeed):
    async def open(self, ticker: str) -> SteppedSession:  # type: ignore[override]
        name = ticker.upper()
        self.opened.append(name)
        session = SteppedSession(name)
        self.sessions.append(session)
        return session


def make_app(feed: FakeFeed | None = None, **kw: object) -> GexApp:
    settings = kw.pop("settings", None) or Settings()
    return GexApp(
        feed or FakeFeed(),
        ["SPX"],
        settings=settings,  # type: ignore[arg-type]
        clock=frozen_clock,
        **kw,  # type: ignore[arg-type]
    )


async def session_of(pilot: Pilot[None], app: GexApp) -> SteppedSession:
    for _ in range(200):
        session = app.session
        if isinstance(session, SteppedSession):
            return session
        await pilot.pause(0.01)
    raise AssertionError("no session")


async def step(
    pilot: Pilot[None], app: GexApp, session: SteppedSession, spot: float, greeks: float = 1.0
) -> None:
    """Send one batch and wait until the app has computed (and observed) its snapshot."""
    batch = session.send(spot, greeks)
    for _ in range(400):
        await pilot.pause(0.01)
        snap = app.snapshot
        if snap is not None and snap.as_of == batch.time and not app.computing:
            break
    else:
        raise AssertionError(f"the snapshot of {batch.time} never came")
    await pilot.pause()


async def until(pilot: Pilot[None], condition: Callable[[], bool]) -> None:
    """Wait (in app time) until ``condition`` holds; fail after a few seconds."""
    for _ in range(500):
        await pilot.pause(0.01)
        if condition():
            return
    raise AssertionError("the condition never held")


def messages(app: GexApp) -> list[str]:
    return [n.message for n in app._notifications]


# =========================================================================== panels
async def test_h_toggles_history_panel() -> None:
    app = make_app(FakeFeed(batches=3))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        panel = app.query_one(HistoryPanel)
        assert not panel.display
        await pilot.press("h")
        assert panel.display and app.show_history
        for _ in range(200):
            await pilot.pause(0.01)
            if panel.renders:
                break
        # three batches one second apart: one sample (every 5 s of market time)
        assert len(app.monitor.history("SPX")) == 1
        shown = panel.text.plain
        assert "━ spot" in shown and "net GEX" in shown
        assert "SPX" in str(panel.border_title)
        await pilot.press("h")
        assert not panel.display and not app.show_history


async def test_a_toggles_alerts_log() -> None:
    app = make_app(FakeFeed(batches=1))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        log = app.query_one(AlertsPanel)
        assert not log.display
        await pilot.press("a")
        await pilot.pause()
        assert log.display
        text = text_of(log, 110)
        # the first sample is already near the put wall (5,990 vs spot 6,000)
        assert "near put wall" in text or "No alerts yet." in text
        await pilot.press("a")
        assert not log.display


async def test_empty_history_says_collecting() -> None:
    app = make_app(SteppedFeed())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("h")
        await pilot.pause(0.05)
        assert "collecting samples every 5 s…" in app.query_one(HistoryPanel).text.plain


# =========================================================================== alerts
async def test_spot_crossing_zero_gamma_alerts_once(tmp_path: Path) -> None:
    feed = SteppedFeed()
    out = tmp_path / "alert.json"
    script = f"import sys; open({str(out)!r}, 'a').write(sys.stdin.read())"
    cmd = f"{shlex.quote(sys.executable)} -c {shlex.quote(script)}"
    app = make_app(feed, alert_cmd=cmd)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        session = await session_of(pilot, app)
        for spot in (BELOW, BELOW - 2):
            await step(pilot, app, session, spot)
        assert not [a for a in app.monitor.log if a.kind is AlertKind.ZERO_GAMMA_CROSS]
        await step(pilot, app, session, ABOVE)
        crosses = [a for a in app.monitor.log if a.kind is AlertKind.ZERO_GAMMA_CROSS]
        assert len(crosses) == 1
        alert = crosses[0]
        assert alert.details["direction"] == "above" and alert.spot == ABOVE
        assert alert.message in messages(app)
        rows = text_of(app.query_one(AlertsPanel), 118)
        assert "zero γ cross" in rows and "crossed above zero gamma" in rows
        first_row = next(line for line in rows.splitlines() if line.strip())
        assert "zero γ cross" in first_row  # newest first
        assert len([ln for ln in rows.splitlines() if ln.strip()]) == len(app.monitor.log)
        # the condition holds: no repeat
        for spot in (ABOVE + 1, ABOVE + 2):
            await step(pilot, app, session, spot)
        crosses = [a for a in app.monitor.log if a.kind is AlertKind.ZERO_GAMMA_CROSS]
        assert len(crosses) == 1
        # the alert command got the alert as JSON on stdin
        for _ in range(300):
            await pilot.pause(0.02)
            if out.exists() and "zero_gamma_cross" in out.read_text():
                break
        lines = [json.loads(line) for line in out.read_text().splitlines()]
        kinds = [d["kind"] for d in lines]
        assert "zero_gamma_cross" in kinds
        got = next(d for d in lines if d["kind"] == "zero_gamma_cross")
        assert got["ticker"] == "SPX" and got["spot"] == ABOVE
        # the history holds one sample per batch (5 s apart)
        assert len(app.monitor.history("SPX")) == 5


async def test_no_samples_while_the_chain_fills_in() -> None:
    app = make_app(SteppedFeed())
    async with app.run_test(size=SIZE) as pilot:
        session = await session_of(pilot, app)
        await step(pilot, app, session, BELOW, greeks=0.3)
        await step(pilot, app, session, ABOVE, greeks=0.6)  # coverage still climbing
        assert app.snapshot is not None and app.snapshot.coverage.fraction < 0.9
        assert len(app.monitor.history("SPX")) == 0 and not app.monitor.log
        await step(pilot, app, session, ABOVE + 1)  # all greeks in: sampling starts
        assert len(app.monitor.history("SPX")) == 1
        assert not [a for a in app.monitor.log if a.kind is AlertKind.ZERO_GAMMA_CROSS]
        await step(pilot, app, session, BELOW)
        assert [a.kind for a in app.monitor.log].count(AlertKind.ZERO_GAMMA_CROSS) == 1


async def test_palette_toggle_disables_a_rule() -> None:
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=SIZE) as pilot:
        session = await session_of(pilot, app)
        commands = {t: cb for t, _, cb in app.palette_commands()}
        title = "Alert rule: Spot crosses zero gamma (on)"
        assert title in commands
        commands[title]()
        await pilot.pause()
        assert not app.monitor.rules.zero_gamma_cross
        titles = [t for t, _, _ in app.palette_commands()]
        assert "Alert rule: Spot crosses zero gamma (off)" in titles
        for spot in (BELOW, BELOW - 2, ABOVE):
            await step(pilot, app, session, spot)
        assert not [a for a in app.monitor.log if a.kind is AlertKind.ZERO_GAMMA_CROSS]
        assert not any("crossed" in m for m in messages(app))


async def test_rules_from_settings_and_bell(monkeypatch: object) -> None:
    rules = AlertRules(near_put_wall=False, near_call_wall=False, bell=False)
    app = make_app(SteppedFeed(), settings=Settings(alerts=rules))
    rang: list[int] = []
    app.bell = lambda: rang.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        session = await session_of(pilot, app)
        for spot in (BELOW, BELOW - 2, ABOVE):
            await step(pilot, app, session, spot)
        kinds = {a.kind for a in app.monitor.log}
        assert AlertKind.ZERO_GAMMA_CROSS in kinds
        assert AlertKind.NEAR_PUT_WALL not in kinds and AlertKind.NEAR_CALL_WALL not in kinds
        assert rang == []  # bell = false
    app = make_app(SteppedFeed())
    rang.clear()
    app.bell = lambda: rang.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        session = await session_of(pilot, app)
        for spot in (BELOW, BELOW - 2, ABOVE):
            await step(pilot, app, session, spot)
        assert rang  # bell = true by default


async def test_failing_alert_command_is_a_notification() -> None:
    app = make_app(SteppedFeed(), alert_cmd="/nonexistent/alert-hook")
    async with app.run_test(size=SIZE) as pilot:
        session = await session_of(pilot, app)
        await step(pilot, app, session, 5991.0)  # at the put wall at once
        for _ in range(200):
            await pilot.pause(0.02)
            if any("alert command not found" in m for m in messages(app)):
                break
        assert any("alert command not found: /nonexistent/alert-hook" in m for m in messages(app))


async def test_history_and_alerts_follow_the_fixed_selection_not_the_view() -> None:
    """Stepping ]/[ changes the chart only: the history keeps growing on the [alerts] expiry
    selection (all), its samples are that selection's figures, and alerts say so."""
    app = make_app(SteppedFeed())
    async with app.run_test(size=SIZE) as pilot:
        session = await session_of(pilot, app)
        for spot in (BELOW, BELOW + 1):
            await step(pilot, app, session, spot)
        assert len(app.monitor.history("SPX")) == 2
        all_net = app.snapshot.net_gex if app.snapshot is not None else None
        await pilot.press("right_square_bracket")  # another expiry selection on screen
        assert app.expiry != "all"
        await step(pilot, app, session, ABOVE)  # spot crosses zero gamma
        hist = app.monitor.history("SPX").samples
        assert len(hist) == 3  # nothing was reset
        assert app.snapshot is not None and app.snapshot.expiry == app.expiry
        assert hist[-1].net_gex != app.snapshot.net_gex  # the sample is not the view's ...
        assert hist[1].net_gex == all_net  # ... but the fixed selection's
        assert app.monitor.log and {a.selection for a in app.monitor.log} == {"all"}
        log = text_of(app.query_one(AlertsPanel), 160)
        assert "SPX all" in log or not app.show_alerts


async def test_replay_seek_resets_the_history() -> None:
    app = GexApp(FakeReplayFeed(), ["SPX"], settings=Settings(), clock=frozen_clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app, version=1)
        assert len(app.monitor.history("SPX")) == 1
        first = app.monitor.history("SPX").samples[0].time
        await pilot.press("right")  # seek +1 min: a reset batch
        later = first + timedelta(minutes=1)
        await until(pilot, lambda: [s.time for s in app.monitor.history("SPX")] == [later])
        await pilot.press("left")  # back to the start, before the history's only sample
        await until(pilot, lambda: [s.time for s in app.monitor.history("SPX")] == [first])
        # the history is the monitor's; the screen's snapshot follows in its own message
        await until(pilot, lambda: app.snapshot is not None and app.snapshot.as_of == first)
        assert [s.time for s in app.monitor.history("SPX")] == [first]  # rebuilt from there


async def test_notice_is_shown_on_mount() -> None:
    notice = "no tastytrade credentials: showing the SIMULATED market"
    app = make_app(FakeFeed(batches=1), notice=notice)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert notice in messages(app)


async def test_help_lists_the_new_keys() -> None:
    app = make_app(FakeFeed(batches=1))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        md = app.keys_markdown()
        assert "| `h` | view.history |" in md and "| `a` | view.alerts |" in md
        titles = [t for t, _, _ in app.palette_commands()]
        assert "History" in titles and "Alerts log" in titles
        for kind in AlertKind:
            assert any(t.startswith(f"Alert rule: {kind.label} (") for t in titles)


# =========================================================================== settings
def test_alerts_table_in_settings(tmp_path: Path) -> None:
    from gextui.settings import SettingsError

    path = tmp_path / "config.toml"
    path.write_text(
        "[alerts]\n"
        "zero_gamma_cross = false\n"
        "wall_distance_pct = 0.5\n"
        "bell = false\n"
        'command = "notify-send gextui"\n'
    )
    settings = Settings.load(path)
    assert settings.alerts == AlertRules(
        zero_gamma_cross=False, wall_distance_pct=0.5, bell=False, command="notify-send gextui"
    )
    app = GexApp(FakeFeed(), ["SPX"], settings=settings)
    assert app.alert_cmd == "notify-send gextui" and not app.monitor.rules.zero_gamma_cross
    app = GexApp(FakeFeed(), ["SPX"], settings=settings, alert_cmd="my-hook --json")
    assert app.alert_cmd == "my-hook --json"  # --alert-cmd wins
    assert Settings().alerts == AlertRules()

    path.write_text("[alerts]\nzero_gamma = true\nwall_distance_pct = -1\n")
    try:
        Settings.load(path)
    except SettingsError as exc:
        message = str(exc)
    else:  # pragma: no cover
        raise AssertionError("bad [alerts] accepted")
    assert "\n" not in message and str(path) in message
    assert "unknown key 'zero_gamma'" in message and "wall_distance_pct" in message
    path.write_text('alerts = "on"\n')
    try:
        Settings.load(path)
    except SettingsError as exc:
        assert "alerts: expected a table" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("alerts = 'on' accepted")


async def test_alerts_keep_firing_while_the_screen_is_paused() -> None:
    """`p` freezes the picture, not the market: history and alerts go on behind it."""
    feed = SteppedFeed()
    app = make_app(feed)
    async with app.run_test(size=SIZE) as pilot:
        session = await session_of(pilot, app)
        for spot in (BELOW, BELOW - 2):
            await step(pilot, app, session, spot)
        frozen = app.snapshot
        assert frozen is not None
        await pilot.press("p")
        assert app.paused
        samples = len(app.monitor.history("SPX"))
        session.send(ABOVE)
        await until(
            pilot,
            lambda: any(a.kind is AlertKind.ZERO_GAMMA_CROSS for a in app.monitor.log),
        )
        assert app.snapshot is frozen  # the screen did not move
        assert len(app.monitor.history("SPX")) == samples + 1
        await pilot.press("p")
        await until(pilot, lambda: app.snapshot is not None and app.snapshot.spot == ABOVE)
