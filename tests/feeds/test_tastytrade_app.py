"""The monitor on the live path: the real SDK against the fake tastytrade servers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from conftest import EXP_WEEKLY
from fake_tastytrade import FakeTastytrade, make_chain, wait_for

from gextui.core.exposure import live_expirations
from gextui.feeds.base import FeedState
from gextui.settings import Settings
from gextui.ui.app import GexApp

ETF_STRIKES = [590.0, 595.0, 600.0, 605.0, 610.0]
QQQ_STRIKES = [500.0, 505.0, 510.0]


def add_etfs(fake: FakeTastytrade) -> None:
    """SPY and QQQ chains beside the fixture's SPX (American, daily and weekly)."""
    fake.add_chain(
        "SPY", make_chain("SPY", [("SPY", EXP_WEEKLY), ("SPY", date(2031, 1, 17))], ETF_STRIKES)
    )
    fake.add_chain("QQQ", make_chain("QQQ", [("QQQ", EXP_WEEKLY)], QQQ_STRIKES))
    for sym, price in (("SPY", 601.2), ("QQQ", 507.5)):
        fake.market.trade[sym] = {"price": price, "day_volume": 1000.0, "change": 1.0}
        fake.market.quote[sym] = {
            "bid_price": price - 0.01,
            "ask_price": price + 0.01,
            "bid_size": 1,
            "ask_size": 1,
        }
        fake.market.summary[sym] = {"open_interest": 0, "prev_day_close_price": price - 1.0}


def served(fake: FakeTastytrade, symbols: list[str], field: str) -> list[float]:
    return [float(fake.market.greeks[s][field]) for s in symbols]


async def test_watchlist_streams_on_one_connection(
    fake_tt: FakeTastytrade, tt_feed_factory: Any
) -> None:
    """`gextui SPX SPY QQQ` on tastytrade: one DXLink connection for the three chains, each
    book equal to what was served, each ticker live; `w` unsubscribes the closed one."""
    add_etfs(fake_tt)
    feed = tt_feed_factory()
    app = GexApp(feed, ["SPX", "SPY", "QQQ"], settings=Settings())
    async with app.run_test(size=(160, 48)) as pilot:
        monitor = app.monitor

        def complete() -> bool:
            for t in ("SPX", "SPY", "QQQ"):
                book = monitor.book(t)
                # greeks and open interest applied (LIVE is said when the stream has them,
                # a batch interval before the monitor's book has)
                if book is None or min(book.coverage()[:2]) < len(book) or book.spot != book.spot:
                    return False
                st = monitor.status(t).feed
                if st is None or st.state is not FeedState.LIVE:
                    return False
            return True

        await wait_for(complete, within=20.0)
        assert fake_tt.connections == 1 and fake_tt.live_connections == 1
        assert feed.connection is not None and feed.connection.stats.connections == 1
        for t in ("SPX", "SPY", "QQQ"):
            book = monitor.book(t)
            assert book is not None
            syms = book.instruments["symbol"].to_list()
            frame = book.frame()
            assert frame["gamma"].to_list() == served(fake_tt, syms, "gamma")
            assert frame["open_interest"].to_list() == [
                float(fake_tt.market.summary[s]["open_interest"]) for s in syms
            ]
            assert book.spot == fake_tt.market.trade[t]["price"]
            assert book.unknown_symbols == 0  # every row was routed to its own chain
        # the three underlyings and all options are subscribed once, on that connection
        assert {"SPX", "SPY", "QQQ"} <= fake_tt.subscribed("Trade")
        spy = set(monitor.book("SPY").symbols)  # type: ignore[union-attr]
        assert spy <= fake_tt.subscribed("Greeks")
        # the overview lists all three, live
        await pilot.press("0")
        await pilot.pause(0.2)
        rows = app.overview_rows()
        assert [r.ticker for r in rows] == ["SPX", "SPY", "QQQ"]
        assert all(r.spot is not None and r.status.startswith("live") for r in rows)
        await pilot.press("0")
        # closing SPY unsubscribes its contracts and its underlying; the others stream on
        app.switch_ticker("SPY")
        await pilot.press("w")
        await wait_for(lambda: not (spy & fake_tt.subscribed("Greeks")))
        await wait_for(lambda: "SPY" not in fake_tt.subscribed("Trade"))
        assert app.tickers == ["SPX", "QQQ"]
        assert fake_tt.connections == 1
        assert "SPX" in fake_tt.subscribed("Trade") and "QQQ" in fake_tt.subscribed("Trade")


async def test_subscribe_days_limits_the_live_subscription(
    fake_tt: FakeTastytrade, tt_feed_factory: Any
) -> None:
    """Every expiration streams by default (whatever the view); ``subscribe_days`` limits
    the live subscription to expirations within that many days of the feed's clock."""
    feed = tt_feed_factory()
    app = GexApp(feed, ["SPX"], settings=Settings(), expiry="next")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: app.book is not None and bool(fake_tt.subscribed("Greeks")))
        book = app.book
        assert book is not None
        await wait_for(lambda: fake_tt.subscribed("Greeks") == set(book.symbols))
        await wait_for(lambda: app.snapshot is not None and app.snapshot.expiry == "next")
        assert app.snapshot is not None and app.snapshot.source == "tastytrade"
        await pilot.pause()

    # 2031-01-10 is the nearest expiration; the monitor's clock and the feed's (which stamps
    # the batches: the monitor re-subscribes by it once data came) say 2031-01-03
    moment = datetime(2031, 1, 3, 15, 0, tzinfo=UTC)
    clock = moment.timestamp()
    feed2 = tt_feed_factory(clock=lambda: moment)
    app2 = GexApp(feed2, ["SPX"], settings=Settings(subscribe_days=7), clock=lambda: clock)
    async with app2.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: app2.book is not None and app2.book.as_of == moment)
        book = app2.book
        assert book is not None
        within = [
            e for e in live_expirations(book, moment) if e <= moment.date() + timedelta(days=7)
        ]
        assert within == [EXP_WEEKLY]
        expected = set(
            book.instruments.filter(pl.col("expiration") == EXP_WEEKLY)["symbol"].to_list()
        )
        await wait_for(lambda: fake_tt.subscribed("Greeks") == expected)
        assert len(expected) < len(book)
        await pilot.pause()


@pytest.mark.parametrize("days", [-1, 4000])
def test_subscribe_days_is_checked(days: int) -> None:
    from gextui.settings import SettingsError

    with pytest.raises(SettingsError, match="subscribe_days"):
        Settings(subscribe_days=days)
