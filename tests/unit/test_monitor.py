"""The monitor controller without Textual: every ticker streams at once, history and alerts
run for all of them, the clock never goes back, failures are notices, replay controls move
every replayed ticker together."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from ui.fakes import START, FakeFeed, FakeReplayFeed, FakeReplaySession

from gextui.core.alerts import AlertRules
from gextui.core.exposure import compute_exposure
from gextui.feeds.base import FeedError, ReplayControl, Source
from gextui.feeds.simulated import SimulatedFeed
from gextui.monitor import Monitor, TickerPhase

pytestmark = pytest.mark.asyncio


class Clock:
    """A fake monitor clock (epoch seconds) that tests move by hand."""

    def __init__(self) -> None:
        self.now = START.timestamp()

    def __call__(self) -> float:
        return self.now


@contextlib.asynccontextmanager
async def running(monitor: Monitor) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(monitor.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until(cond: Callable[[], bool], tries: int = 500) -> None:
    for _ in range(tries):
        if cond():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition never became true")


async def eventually(fn: Callable[[], Awaitable[bool]], tries: int = 300) -> None:
    for _ in range(tries):
        if await fn():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition never became true")


async def test_every_ticker_streams_from_the_start() -> None:
    feed = FakeFeed(batches=4)
    monitor = Monitor(feed, ["spx", "SPY", "qqq"], clock=Clock())
    assert monitor.tickers == ["SPX", "SPY", "QQQ"]  # the ticker rule
    async with running(monitor):
        await until(lambda: all((b := monitor.book(t)) and b.version == 4 for t in monitor.tickers))
        assert sorted(feed.opened) == ["QQQ", "SPX", "SPY"]  # opened once each, at once
        assert len(feed.sessions) == 3
        for t in monitor.tickers:
            assert monitor.status(t).phase is TickerPhase.STREAMING
    # stopping closes every session
    assert all(s._closed.is_set() for s in feed.sessions)


async def test_view_is_computed_only_when_something_changed() -> None:
    feed = FakeFeed(batches=2)
    monitor = Monitor(feed, ["SPX"], clock=Clock())
    async with running(monitor):
        await until(lambda: (b := monitor.book("SPX")) is not None and b.version == 2)
        first = await monitor.view("SPX", "all")
        assert first is not None and first.version == 2
        book = monitor.book("SPX")
        assert book is not None
        # the numbers are the core's on the same book
        want = compute_exposure(book.copy(), "all")
        assert first.snapshot.net_gex == pytest.approx(want.net_gex, rel=1e-12)
        assert first.snapshot.zero_gamma == want.zero_gamma
        again = await monitor.view("SPX", "all")
        assert again is first and monitor.snapshots_computed == 1  # nothing changed
        other = await monitor.view("SPX", "0dte")
        assert other is not None and other.expiry == "0dte" and monitor.snapshots_computed == 2
        assert monitor.last_view("SPX", "0dte") is other
        assert await monitor.view("NOPE", "all") is None


async def test_history_and_alerts_run_for_every_ticker_off_screen() -> None:
    clock = Clock()
    feed = FakeFeed(batches=3)
    monitor = Monitor(feed, ["SPX", "SPY"], clock=clock, observe_every=1.0)
    async with running(monitor):
        await until(lambda: all((b := monitor.book(t)) and b.version == 3 for t in ("SPX", "SPY")))
        await monitor.view("SPX", "all")  # only SPX is "on screen"
        await monitor.observe()
        # both have a snapshot at the alerts' selection; the fake chains are complete at
        # once (no warm-up), so both sampled into their history
        for t in ("SPX", "SPY"):
            latest = monitor.latest(t)
            assert latest is not None and latest.ticker == t
            assert len(monitor.history(t)) == 1
        n = monitor.observations
        await monitor.observe()  # nothing changed: no new observation
        assert monitor.observations == n


async def test_observation_of_the_others_yields_to_a_switch() -> None:
    """``interrupt`` true (the screen switched tickers): the on-screen ticker is sampled, the
    others are left for the next call, which samples them."""
    feed = FakeFeed(batches=2)
    monitor = Monitor(feed, ["SPX", "SPY", "QQQ"], clock=Clock(), observe_every=1.0)
    async with running(monitor):
        await until(lambda: all((b := monitor.book(t)) and b.version == 2 for t in monitor.tickers))
        asked: list[bool] = []

        def switched() -> bool:
            asked.append(True)
            return True

        await monitor.observe(eager=("SPY",), interrupt=switched)
        assert [t for t in monitor.tickers if monitor.latest(t) is not None] == ["SPY"]
        assert asked == [True]  # asked before the first of the others, then stopped
        await monitor.observe(eager=("SPY",), interrupt=lambda: False)
        assert all(monitor.latest(t) is not None for t in monitor.tickers)


async def test_observation_waits_for_its_interval() -> None:
    clock = Clock()
    feed = FakeFeed(batches=1)
    monitor = Monitor(feed, ["SPX"], clock=clock, observe_every=5.0)
    async with running(monitor):
        await until(lambda: (b := monitor.book("SPX")) is not None and b.version == 1)
        await monitor.observe()
        assert monitor.observations == 1
        book = monitor.book("SPX")
        assert book is not None
        book.version += 1  # as if a batch came
        await monitor.observe()
        assert monitor.observations == 1  # within 5 s of the last one
        clock.now += 5.0
        await monitor.observe()
        assert monitor.observations == 2


async def test_market_clock_never_goes_back_across_tickers() -> None:
    feed = FakeFeed(batches=5)
    monitor = Monitor(feed, ["SPX", "SPY"], clock=Clock())
    seen: list[datetime] = []
    async with running(monitor):
        for _ in range(400):
            clock = monitor.market_clock
            if clock is not None:
                seen.append(clock)
            books = [monitor.book(t) for t in ("SPX", "SPY")]
            if all(b is not None and b.version == 5 for b in books):
                break
            await asyncio.sleep(0.001)
        assert seen == sorted(seen)
        newest = max(b.as_of for b in books if b is not None and b.as_of is not None)
        assert monitor.market_clock == newest


async def test_unknown_ticker_is_a_notice_and_leaves_the_list() -> None:
    feed = FakeFeed(batches=1)
    monitor = Monitor(feed, ["SPX"], clock=Clock())
    async with running(monitor):
        assert monitor.add(" zzz ") == "ZZZ"
        await until(lambda: "ZZZ" not in monitor.tickers)
        notices = monitor.take_notices()
        assert [n.ticker for n in notices] == ["ZZZ"] and notices[0].severity == "error"
        assert "ZZZ" in notices[0].message
        assert monitor.take_notices() == []  # told once
        assert monitor.tickers == ["SPX"]


async def test_feed_failure_keeps_the_tab_with_the_error() -> None:
    feed = FakeFeed(batches=1)
    feed.fail_with = FeedError("tastytrade rejected the credentials (HTTP 401)")
    monitor = Monitor(feed, ["SPX", "SPY"], clock=Clock())
    async with running(monitor):
        await until(lambda: monitor.status("SPY").phase is TickerPhase.FAILED)
        assert monitor.tickers == ["SPX", "SPY"]  # not an unknown ticker: the tab stays
        assert "rejected the credentials" in monitor.status("SPY").error


async def test_remove_stops_the_stream_and_forgets_the_ticker() -> None:
    feed = FakeFeed(batches=2)
    monitor = Monitor(feed, ["SPX", "SPY"], clock=Clock())
    async with running(monitor):
        await until(lambda: all((b := monitor.book(t)) and b.version == 2 for t in ("SPX", "SPY")))
        spy = next(s for s in feed.sessions if s._ticker == "SPY")
        monitor.remove("SPY")
        await until(lambda: spy._closed.is_set())
        assert monitor.tickers == ["SPX"] and monitor.book("SPY") is None
        assert len(monitor.history("SPY")) == 0


async def test_added_ticker_streams_at_once() -> None:
    feed = FakeFeed(batches=2)
    monitor = Monitor(feed, ["SPX"], clock=Clock())
    async with running(monitor):
        await until(lambda: (b := monitor.book("SPX")) is not None and b.version == 2)
        monitor.add("QQQ")
        await until(lambda: (b := monitor.book("QQQ")) is not None and b.version == 2)
        assert monitor.tickers == ["SPX", "QQQ"]


async def test_replay_seek_moves_every_replayed_ticker_and_restarts_levels() -> None:
    feed = FakeReplayFeed()
    monitor = Monitor(feed, ["SPX", "SPY"], clock=Clock())
    async with running(monitor):
        await until(lambda: all((b := monitor.book(t)) and b.version == 1 for t in ("SPX", "SPY")))
        books = {t: monitor.book(t) for t in ("SPX", "SPY")}
        await monitor.view("SPX", "all")
        await monitor.observe()
        assert all(len(monitor.history(t)) == 1 for t in ("SPX", "SPY"))
        assert monitor.seek(600) == []
        sessions = [s for s in feed.sessions if isinstance(s, FakeReplaySession)]
        assert all(s.position == s.start_time + timedelta(seconds=600) for s in sessions)
        # a reset group: fresh books, the history and alert state restart
        await until(lambda: all(monitor.book(t) is not books[t] for t in ("SPX", "SPY")))
        assert all(len(monitor.history(t)) == 0 for t in ("SPX", "SPY"))
        control = monitor.replay("SPX")
        assert isinstance(control, ReplayControl)
        assert monitor.toggle_replay("SPX") is True
        assert all(s.paused for s in sessions)
        assert monitor.toggle_replay("SPX") is False
        assert monitor.set_speed(5.0) == [] and all(s.speed == 5.0 for s in sessions)
        assert monitor.status("SPX").source is Source.REPLAY


async def test_simulated_watchlist_moves_together_on_one_clock() -> None:
    """The simulated market: SPX, SPY and QQQ stream at once from one clock; SPY ≈ SPX/10."""
    start = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # 10:00 New York, a Tuesday
    feed = SimulatedFeed(seed=3, speed=60.0, start=start, paced=False)
    monitor = Monitor(feed, ["SPX", "SPY", "QQQ"], rules=AlertRules(), clock=Clock())
    async with running(monitor):
        await until(
            lambda: all((b := monitor.book(t)) and b.version >= 20 for t in monitor.tickers),
            tries=3000,
        )
        spx, spy = monitor.book("SPX"), monitor.book("SPY")
        assert spx is not None and spy is not None
        assert spy.spot == pytest.approx(spx.spot / 10.0, rel=0.02)
        clocks = [b.as_of for t in monitor.tickers if (b := monitor.book(t)) and b.as_of]
        assert max(clocks) - min(clocks) < timedelta(minutes=5)
    await feed.aclose()


async def test_events_per_second_from_arrival_times() -> None:
    clock = Clock()
    feed = FakeFeed(batches=0)
    monitor = Monitor(feed, ["SPX"], clock=clock)
    async with running(monitor):
        await until(lambda: monitor.session("SPX") is not None)
        session = feed.sessions[0]
        book = monitor.book("SPX")
        assert book is not None
        from ui.fakes import make_batch

        sent = 0
        for i in range(3):
            batch = make_batch("SPX", session.chain.instruments, i, full=i == 0)
            await monitor._apply(monitor._watched["SPX"], session, batch)
            sent += batch.n_events
            clock.now += 0.5
        first = make_batch("SPX", session.chain.instruments, 0, full=True).n_events
        # the first batch opens the window: the rate is what came after it, per second
        assert monitor.events_per_second("SPX") == pytest.approx((sent - first) / 1.0)
        clock.now += 30.0
        assert monitor.status("SPX").stale_for == pytest.approx(30.5)


async def test_a_ticker_off_screen_has_a_whole_current_view_for_a_tab_switch() -> None:
    """The observation of a ticker off screen is a whole view at the alerts' selection (the
    expiry bar's dates too): a tab switch shows it at once, and :meth:`view` takes it without
    computing again while the book did not move."""
    feed = FakeFeed(batches=3)
    monitor = Monitor(feed, ["SPX", "SPY"], clock=Clock())
    async with running(monitor):
        await until(lambda: all((b := monitor.book(t)) and b.version == 3 for t in ("SPX", "SPY")))
        await monitor.view("SPX", "all")  # SPX on screen
        assert monitor.last_view("SPY", "all") is None  # SPY never shown nor observed yet
        await monitor.observe(eager=("SPX",))
        seen = monitor.last_view("SPY", "all")
        assert seen is not None and seen.version == 3 and seen.ticker == "SPY"
        book = monitor.book("SPY")
        assert book is not None
        want = compute_exposure(book.copy(), "all")
        assert seen.snapshot.net_gex == pytest.approx(want.net_gex, rel=1e-12)
        assert seen.expirations  # the expiry bar's dates come with it
        assert monitor.last_view("SPY", "0dte") is None  # only the alerts' selection
        n = monitor.snapshots_computed
        shown = await monitor.view("SPY", "all")  # the tab switch's step
        assert shown is seen and monitor.snapshots_computed == n


async def test_a_ticker_off_screen_is_kept_at_the_screen_selection_too() -> None:
    """With another selection on screen than the alerts' (``]`` to the next expiration), a
    ticker off screen is observed at both, from one computation: a tab switch shows the
    screen's selection at once instead of computing it first."""
    feed = FakeFeed(batches=3)
    monitor = Monitor(feed, ["SPX", "SPY"], clock=Clock())
    async with running(monitor):
        await until(lambda: all((b := monitor.book(t)) and b.version == 3 for t in ("SPX", "SPY")))
        await monitor.view("SPX", "next")  # SPX on screen at the next expiration
        computed = monitor.snapshots_computed
        await monitor.observe(eager=("SPX",), screen="next")
        book = monitor.book("SPY")
        assert book is not None
        at_screen = monitor.last_view("SPY", "next")
        at_alerts = monitor.last_view("SPY", "all")
        assert at_screen is not None and at_alerts is not None
        assert (at_screen.version, at_alerts.version) == (3, 3)
        for got, selection in ((at_screen, "next"), (at_alerts, "all")):
            want = compute_exposure(book.copy(), selection)
            assert got.expiry == selection and got.ticker == "SPY"
            assert got.snapshot.net_gex == pytest.approx(want.net_gex, rel=1e-12)
            assert got.snapshot.zero_gamma == pytest.approx(want.zero_gamma)
        assert at_screen.snapshot.net_gex != pytest.approx(at_alerts.snapshot.net_gex)
        assert at_screen.expirations == at_alerts.expirations
        assert monitor.snapshots_computed == computed  # observations are not screen steps
        shown = await monitor.view("SPY", "next")  # the tab switch's step
        assert shown is at_screen and monitor.snapshots_computed == computed
        # the ticker on screen is not computed twice: its own step has the screen's view
        assert monitor.last_view("SPX", "next") is not None


async def test_a_screen_selection_missing_from_a_ticker_keeps_its_alerts_sample() -> None:
    """A date one ticker lists and another does not: the other's screen view says so (as
    its own step would), and its history and alerts sample at the alerts' selection."""
    feed = FakeFeed(batches=2)
    monitor = Monitor(feed, ["SPX", "SPY"], clock=Clock())
    async with running(monitor):
        await until(lambda: all((b := monitor.book(t)) and b.version == 2 for t in ("SPX", "SPY")))
        before = monitor.observations
        await monitor.observe(eager=("SPX",), screen="2031-01-17")  # no such expiration
        missing = monitor.last_view("SPY", "2031-01-17")
        assert missing is not None and missing.snapshot.net_gex == 0.0
        assert missing.snapshot.zero_gamma is None and missing.snapshot.profile.height == 0
        seen = monitor.last_view("SPY", "all")
        assert seen is not None and seen.version == 2
        assert monitor.observations > before


async def test_a_new_screen_selection_is_computed_at_once_then_at_the_interval() -> None:
    """``]`` on screen: the tickers off screen, sampled already, are computed at the new
    selection in the next observation; after that, at the sampling interval only."""
    clock = Clock()
    feed = FakeFeed(batches=1)
    monitor = Monitor(feed, ["SPX", "SPY"], clock=clock, observe_every=5.0)
    async with running(monitor):
        await until(lambda: all((b := monitor.book(t)) and b.version == 1 for t in ("SPX", "SPY")))
        await monitor.observe(eager=("SPX",), screen="all")
        assert monitor.last_view("SPY", "next") is None
        observed = monitor.observations
        await monitor.observe(eager=("SPX",), screen="next")  # the screen moved
        first = monitor.last_view("SPY", "next")
        assert first is not None and first.version == 1
        assert monitor.observations == observed  # the book did not move: no new sample
        book = monitor.book("SPY")
        assert book is not None
        book.version += 1  # as if a batch came
        await monitor.observe(eager=("SPX",), screen="next")
        assert monitor.last_view("SPY", "next") is first  # within 5 s of the last sample
        clock.now += 5.0
        await monitor.observe(eager=("SPX",), screen="next")
        later = monitor.last_view("SPY", "next")
        assert later is not None and later.version == 2
        assert monitor.observations == observed + 1  # SPY sampled again with it


async def test_interrupted_observations_starve_no_ticker() -> None:
    """Each observation is cut short after one ticker off screen (a tab switch every step):
    the longest unsampled goes first, so every ticker is sampled in turn, none twice before
    another once."""
    clock = Clock()
    feed = FakeFeed(batches=1)
    names = ["SPX", "SPY", "QQQ"]
    monitor = Monitor(feed, names, clock=clock, observe_every=1.0)
    async with running(monitor):
        await until(lambda: all((b := monitor.book(t)) and b.version >= 1 for t in names))
        order: list[str] = []
        for _ in range(6):
            clock.now += 1.0
            for t in names[1:]:
                book = monitor.book(t)
                assert book is not None
                book.version += 1  # as if a batch came for each
            seen = {t: monitor.latest(t) for t in names[1:]}
            asked = []

            def one_then_stop(asked: list[bool] = asked) -> bool:
                asked.append(True)
                return len(asked) > 1

            await monitor.observe(eager=("SPX",), interrupt=one_then_stop)
            order += [t for t in names[1:] if monitor.latest(t) is not seen[t]]
        assert order == ["SPY", "QQQ"] * 3
