"""Fixtures for the tastytrade feed tests: a fake tastytrade on 127.0.0.1 per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any

import pytest
from fake_tastytrade import FakeTastytrade, make_chain

from gextui.credentials import Credentials
from gextui.feeds.tastytrade import TastytradeFeed

TT_SECRET = "sEcReT-provider-9f8e7d"
TT_REFRESH = "rEfReSh-token-1a2b3c"
EXP_WEEKLY = date(2031, 1, 10)
EXP_MONTHLY = date(2031, 1, 17)
SPX_STRIKES = [5900.0, 5950.0, 6000.0, 6050.0, 6100.0]


def spx_items() -> list[dict[str, Any]]:
    """SPX: SPXW on two dates plus the AM-settled SPX monthly (both roots on one date)."""
    return make_chain(
        "SPX",
        [("SPXW", EXP_WEEKLY), ("SPXW", EXP_MONTHLY), ("SPX", EXP_MONTHLY)],
        SPX_STRIKES,
    )


@pytest.fixture
async def fake_tt() -> AsyncIterator[FakeTastytrade]:
    fake = FakeTastytrade()
    fake.add_chain("SPX", spx_items())
    fake.market.trade["SPX"] = {"price": 6012.25, "day_volume": 1_234_567.0, "change": 12.5}
    fake.market.quote["SPX"] = {
        "bid_price": 6012.0,
        "ask_price": 6012.5,
        "bid_size": 1,
        "ask_size": 1,
    }
    fake.market.summary["SPX"] = {"open_interest": 0, "prev_day_close_price": 5999.75}
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
def tt_credentials(fake_tt: FakeTastytrade) -> Credentials:
    return Credentials(secret=TT_SECRET, refresh_token=TT_REFRESH, api_url=fake_tt.rest_url)


@pytest.fixture
async def tt_feed_factory(
    tt_credentials: Credentials,
) -> AsyncIterator[Callable[..., TastytradeFeed]]:
    """Feeds with test timings (fast backoff, short silence timeout); closed after the test."""
    feeds: list[TastytradeFeed] = []

    def make(credentials: Credentials | None = None, **kw: Any) -> TastytradeFeed:
        opts: dict[str, Any] = {
            # generous: a loaded CI machine can stall the loop; silence tests set their own
            "silence_timeout": 5.0,
            "subscribe_pause": 0.01,
            "batch_interval": 0.02,
            "backoff_initial": 0.02,
            "backoff_max": 0.1,
            "stale_after": 5.0,
            "http_timeout": 5.0,
            "seed": 1,
        }
        opts.update(kw)
        feed = TastytradeFeed(credentials or tt_credentials, **opts)
        feeds.append(feed)
        return feed

    yield make
    for feed in feeds:
        await feed.aclose()
