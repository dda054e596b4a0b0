"""Smaller truths of the screen: a replay or a file never says "live", dates of another year
say so, a bad ticker's error goes with the next good update, the start notice is short, and a
screenshot lands in gextui's data folder, saying where."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from gextui.feeds.base import FeedState, FeedStatus, Source
from gextui.ui.widgets import StatusInfo, StatusLine, expiry_text, status_text

from .fakes import FakeFeed
from .helpers import text_of
from .test_history_alerts import BELOW, SteppedFeed, make_app, session_of, step

AT = datetime(2026, 11, 24, 15, 30, 5, tzinfo=UTC)


def info(source: Source, reason: str) -> StatusInfo:
    return StatusInfo(
        ticker="SPX",
        spot=6800.0,
        prev_close=6790.0,
        source=source,
        expiry="all",
        n_expirations=12,
        as_of=AT,
        status=FeedStatus(FeedState.LIVE, reason, at=AT),
        last_update=AT,
        stale_for=None,
        paused=False,
        pending="",
        recording=None,
        error="",
    )


def test_replay_and_file_never_say_live() -> None:
    playing = status_text(info(Source.REPLAY, "replay SPX 2026-11-24 ×2")).plain
    assert "▶ replay" in playing and "×2" in playing and "live" not in playing
    paused = status_text(info(Source.REPLAY, "replay SPX 2026-11-24 paused")).plain
    assert "⏸ replay" in paused and "live" not in paused
    file = status_text(info(Source.FILE, "file spx.csv, as of 2026-11-24 10:30 EST")).plain
    assert "■ file" in file and "live" not in file
    live = status_text(info(Source.SIMULATED, "")).plain
    assert "● live" in live


def test_expiry_dates_of_another_year_carry_it() -> None:
    exps = [date(2026, 12, 18), date(2027, 12, 17), date(2028, 12, 15)]
    text = expiry_text("all", exps, 200, today=date(2026, 11, 24)).plain
    assert "Dec18 " in text and "Dec17'27" in text and "Dec15'28" in text
    assert "Dec18'26" not in text


async def test_bad_ticker_error_goes_with_the_next_update() -> None:
    app = make_app(SteppedFeed())
    async with app.run_test(size=(160, 48)) as pilot:
        session = await session_of(pilot, app)
        await step(pilot, app, session, BELOW)
        app.switch_ticker("NOPE")
        for _ in range(200):
            await pilot.pause(0.01)
            # the new tab shows at once ("opening NOPE…"); when the open fails, the screen
            # goes back to SPX with the error in the top line
            if app.ticker == "SPX" and "NOPE" in text_of(app.query_one(StatusLine), 300):
                break
        assert "NOPE" in text_of(app.query_one(StatusLine), 300)
        assert app.ticker == "SPX"
        await step(pilot, app, session, BELOW + 2)  # the next good update
        app._paint()
        await pilot.pause()
        assert "NOPE" not in text_of(app.query_one(StatusLine), 300)


async def test_start_notice_is_short() -> None:
    app = make_app(FakeFeed(batches=1), notice="no credentials: SIMULATED market")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        (note,) = [n for n in app._notifications if "SIMULATED" in n.message]
        assert note.timeout <= 6


async def test_screenshot_goes_to_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    app = make_app(FakeFeed(batches=1))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        saved = app.deliver_screenshot()
        await pilot.pause()
        assert saved is not None
        shots = list((tmp_path / "gextui" / "screenshots").glob("*.svg"))
        assert len(shots) == 1 and "<svg" in shots[0].read_text()[:2000]
        assert any(str(shots[0]) in n.message for n in app._notifications)


def test_tenth_tab_is_reachable_at_80_columns() -> None:
    from gextui.ui.widgets import tabs_text

    names = ["SPX", "SPY", "QQQ", "NDX", "IWM", "RUT", "AAPL", "MSFT", "NVDA", "TSLA", "AMZN"]
    wide = tabs_text(names, "SPX", width=200).plain
    assert "10" not in wide.split("TSLA")[0][-4:] and "TSLA" in wide  # no key past 9
    at_ten = tabs_text(names, "TSLA", width=78).plain
    assert len(at_ten) <= 78
    assert "TSLA" in at_ten and at_ten.startswith("…")  # the window follows the current tab
    first = tabs_text(names, "SPX", width=78).plain
    assert "SPX" in first and first.rstrip().endswith("…") and len(first) <= 78


async def test_footer_shows_the_most_used_view_keys() -> None:
    from textual.widgets import Footer

    app = make_app(FakeFeed(batches=1))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        shown = " ".join(
            str(getattr(w, "description", ""))
            for w in app.query_one(Footer).query("FooterKey")
            if w.region.width > 0 and w.region.right <= 160  # on screen, not scrolled off
        )
        for name in ("Profile", "History", "Alerts log", "Pause", "Help", "Quit"):
            assert name in shown


def test_profile_and_history_have_no_background_stripes() -> None:
    from rich.style import Style

    from gextui.settings import Colors
    from gextui.ui.profile_chart import render_profile

    from .test_chart_truth import spx_snapshot

    text = render_profile(spx_snapshot(), 100, 20, Colors())
    assert text.plain.strip()
    styles = [s.style for s in text.spans if isinstance(s.style, Style)]
    assert styles and all(st.bgcolor is None for st in styles)
    assert any(st.color is not None for st in styles)  # the line keeps its colour


async def test_a_selection_without_expirations_says_so() -> None:
    from gextui.ui.widgets import StrikeChart

    from .helpers import settle

    app = make_app(FakeFeed())
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        app.expiry = "2026-01-06"  # a date with no options in the fake chain
        for _ in range(300):
            await pilot.pause(0.01)
            shown = text_of(app.query_one(StrikeChart), 120)
            if "matches no live expiration" in shown:
                break
        assert "expiry 2026-01-06 matches no live expiration" in shown
        assert "Nearest: 2026-01-05" in shown or "Nearest: 2026-01-09" in shown
        assert "waiting for data" not in shown


async def test_alert_toasts_are_short() -> None:
    """An alert's toast goes after 6 s (it sits over the chart's axis); the log keeps it."""
    from .test_history_alerts import ABOVE

    app = make_app(SteppedFeed())
    async with app.run_test(size=(120, 40)) as pilot:
        session = await session_of(pilot, app)
        for spot in (BELOW, BELOW + 1, ABOVE):  # spot crosses zero gamma
            await step(pilot, app, session, spot)
        toasts = [n for n in app._notifications if n.title.startswith("Alert:")]
        assert toasts and all(n.timeout <= 6 for n in toasts)
        assert app.monitor.log
