"""Snapshot tests of the main layouts (deterministic: fake feed, frozen clock).

Regenerate with ``pytest tests/ui --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from gextui.core.alerts import AlertRules
from gextui.settings import Settings
from gextui.ui.app import GexApp

from .fakes import FakeFeed
from .helpers import frozen_clock, settle

SIZES = [(120, 40), (80, 24)]


# the layouts, without alert notifications on top (the fake SPX spot starts near its put
# wall); the alerts have their own Pilot tests in test_history_alerts.py
QUIET = AlertRules().with_enabled("near_call_wall", False).with_enabled("near_put_wall", False)


def new_app() -> GexApp:
    return GexApp(
        FakeFeed(), ["SPX", "SPY", "QQQ"], settings=Settings(alerts=QUIET), clock=frozen_clock
    )


def before(*keys: str) -> Callable[[Pilot[None]], Any]:
    async def run(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, GexApp)
        await settle(pilot, app)
        if keys:
            await pilot.press(*keys)
            await settle(pilot, app)

    return run


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_main_view(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(new_app(), terminal_size=size, run_before=before())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_profile_view(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(new_app(), terminal_size=size, run_before=before("f"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(new_app(), terminal_size=size, run_before=before("question_mark"))


def test_calls_vs_puts_view(snap_compare: Any) -> None:
    assert snap_compare(new_app(), terminal_size=(120, 40), run_before=before("v"))
