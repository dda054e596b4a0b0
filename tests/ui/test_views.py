"""The "what changed" views with Pilot: GEX by expiration (x), the change view (d, D), the
strike × time map (m), the key levels in the panel and copying them (y)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from gextui.core.exposure import compute_exposure
from gextui.core.strike_history import NET_COLUMNS, StrikeSample
from gextui.report import levels_rows
from gextui.settings import Settings
from gextui.ui.app import GexApp
from gextui.ui.widgets import LevelsPanel, StrikeChart

from .fakes import FakeFeed
from .helpers import frozen_clock, settle, text_of

SIZE = (160, 48)


def make_app(**kw: object) -> GexApp:
    return GexApp(FakeFeed(), ["SPX", "SPY"], settings=Settings(), clock=frozen_clock, **kw)  # type: ignore[arg-type]


async def test_gex_by_expiration_view_and_selecting_a_bar() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("x")
        await settle(pilot, app)
        chart = text_of(app.query_one(StrikeChart), 160)
        book = app.book
        assert book is not None
        want = compute_exposure(book.copy(), "all")
        exps = [e.expiration for e in want.by_expiration]
        assert len(exps) == 3
        # one row per expiration, nearest first, tagged (Jan05 is the fake market's 0DTE)
        assert "GEX by expiration" in chart and "0DTE" in chart
        lines = [ln for ln in chart.splitlines() if "Jan" in ln]
        assert [ln.index("Jan") for ln in lines] and len(lines) == 3
        assert lines[0].lstrip().startswith("▶")  # the cursor on the nearest
        # by_expiration sums to the totals (independently of the view code)
        assert sum(e.net_gex for e in want.by_expiration) == __import__("pytest").approx(
            want.net_gex, rel=1e-9
        )
        await pilot.press("down")
        await settle(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        assert app.view_mode == "strikes"
        assert app.expiry == exps[1].isoformat()
        assert app.snapshot is not None and app.snapshot.expirations == (exps[1],)


async def test_key_levels_in_the_panel_and_copy() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        snap = app.snapshot
        assert snap is not None
        panel = text_of(app.query_one(LevelsPanel), 60)
        assert "Abs γ strike" in panel and f"{snap.abs_gamma_strike:,.0f}" in panel
        if len(snap.call_walls) > 1:
            assert f"{snap.call_walls[1].strike:,.0f}" in panel
        assert "0DTE zero γ" in panel  # the fake market's Jan05 is today
        copied: list[str] = []
        app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
        await pilot.press("y")
        assert copied and copied[0].splitlines() == [
            f"{price:.2f},{label}" for price, label in levels_rows(snap)
        ]


def backfill_five_minutes_back(
    app: GexApp, gex_change: float, changes: dict[str, float] | None = None
) -> StrikeSample:
    """Put into SPX's strike history a sample 5 minutes before the shown snapshot, each
    strike's value the current one minus ``gex_change`` (net GEX) or ``changes[column]``
    (the other net columns; unchanged when not named). Returns the current sample."""
    snap = app.snapshot
    assert snap is not None and snap.as_of is not None
    history = app.monitor.strike_history("SPX", "all")
    assert history is not None
    now = StrikeSample.from_snapshot(snap)
    then = snap.as_of - timedelta(minutes=5)
    others = {
        name: values - np.float32((changes or {}).get(name, 0.0))
        for name, values in now.others.items()
    }
    earlier = StrikeSample(
        then.replace(second=0, microsecond=0),
        then,
        now.strikes,
        now.net_gex - np.float32(gex_change),
        now.spot,
        now.zero_gamma,
        others,
    )
    history.backfill([earlier])
    return now


async def test_change_view_ghosts_and_lists_the_largest_changes() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        # an earlier sample 5 minutes back: every strike 1 bn lower than now
        backfill_five_minutes_back(app, gex_change=1e9)
        await pilot.press("d")
        await settle(pilot, app)
        chart = text_of(app.query_one(StrikeChart), 160)
        assert "┊" in chart  # the ghost of the earlier bars
        assert "+$1.0bn" in chart or "+$1.00bn" in chart  # the Δ column
        panel = text_of(app.query_one(LevelsPanel), 60)
        assert "5m" in panel
        await pilot.press("D")  # 15m: no sample that far back
        await settle(pilot, app)
        assert app.change_window == "15m"
        assert "no sample 15m back" in text_of(app.query_one(LevelsPanel), 60)


async def test_change_view_compares_the_shown_metric() -> None:
    """With DEX shown (``g``) the ghosts, the Δ column and the list are DEX's change, not
    GEX's; the same on the volume basis (``o``)."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        # 5 minutes back: GEX 1 bn lower, DEX (OI) 0.5 bn higher, DEX (volume) 250 M lower
        now = backfill_five_minutes_back(
            app, gex_change=1e9, changes={"net_dex": -5e8, "net_dex_vol": 2.5e8}
        )
        assert set(now.others) == set(NET_COLUMNS)
        await pilot.press("d", "g")
        await settle(pilot, app)
        assert app.metric == "dex"
        chart = text_of(app.query_one(StrikeChart), 160)
        assert "┊" in chart and ("−$500.0M" in chart or "−$500M" in chart), chart
        assert "+$1.0bn" not in chart and "+$1.00bn" not in chart  # not GEX's change
        panel = text_of(app.query_one(LevelsPanel), 60)
        assert "Largest Δ 5m · net DEX" in panel and "−$500" in panel, panel
        await pilot.press("o")  # the volume basis
        await settle(pilot, app)
        assert app.basis == "volume"
        chart = text_of(app.query_one(StrikeChart), 160)
        assert "+$250.0M" in chart or "+$250M" in chart, chart
        assert "Largest Δ 5m · net DEX (vol)" in text_of(app.query_one(LevelsPanel), 60)


async def test_strike_time_map_from_the_live_history() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("m")
        await settle(pilot, app)
        chart = app.query_one(StrikeChart)
        text = text_of(chart, 80)
        assert app.view_mode == "map"
        assert "strike × time" in (chart.border_title or "")
        hist = app.monitor.strike_history("SPX", "all")
        assert hist is not None and len(hist) == 1
        assert text.strip()  # drawn, readable at 80×24 (no traceback, no blank)
        await pilot.press("m")
        await settle(pilot, app)
        assert app.view_mode == "strikes"
