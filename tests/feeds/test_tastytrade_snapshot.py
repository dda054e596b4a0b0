"""The headless ``collect`` loop (used by ``gextui snapshot``) on the tastytrade feed."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import pytest
from conftest import EXP_WEEKLY
from fake_tastytrade import FakeTastytrade

from gextui.feeds.tastytrade import TastytradeFeed
from gextui.headless import collect

FeedFactory = Callable[..., TastytradeFeed]


async def test_collect_all(fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory) -> None:
    feed = tt_feed_factory()
    result = await collect(feed, "SPX", expiry="all", wait=10.0)
    assert not result.timed_out
    assert result.coverage == 1.0
    book = result.book
    assert book.spot == 6012.25
    frame = book.frame()
    served = {s: g["gamma"] for s, g in fake_tt.market.greeks.items()}
    assert dict(zip(frame["symbol"], frame["gamma"], strict=True)) == served


async def test_collect_one_expiry_subscribes_only_it(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory
) -> None:
    feed = tt_feed_factory()
    result = await collect(feed, "SPX", expiry=EXP_WEEKLY.isoformat(), wait=10.0)
    assert result.coverage == 1.0
    weekly = {
        i["streamer-symbol"] for i in fake_tt.chains["SPX"] if i["expiration-date"] == "2031-01-10"
    }
    assert fake_tt.subscribe_counts["Greeks"] == len(weekly)
    assert fake_tt.subscribe_counts["Summary"] == len(weekly) + 1  # + the underlying
    got = result.book.frame().filter(pl.col("gamma").is_not_null())["symbol"].to_list()
    assert set(got) == weekly


async def test_collect_missing_oi_is_missing_coverage(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory
) -> None:
    """A contract whose Summary never arrives (NaN OI) lowers coverage; it is not zero OI."""
    sym = ".SPXW310110C6000"
    fake_tt.market.summary[sym]["open_interest"] = float("nan")
    feed = tt_feed_factory()
    result = await collect(feed, "SPX", expiry=EXP_WEEKLY.isoformat(), wait=1.0)
    assert result.timed_out
    assert result.coverage == pytest.approx(9 / 10)
    row = result.book.frame().filter(pl.col("symbol") == sym)
    assert row["open_interest"].is_null().all() and row["gamma"].is_not_null().all()
