"""The monitor on the live path: the real SDK against the fake tastytrade servers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl
from fake_tastytrade import FakeTastytrade, wait_for

from gextui.core.exposure import live_expirations
from gextui.settings import Settings
from gextui.ui.app import GexApp


async def test_app_subscribes_only_the_selected_expirations(
    fake_tt: FakeTastytrade, tt_feed_factory: Any
) -> None:
    """`gextui SPX --expiry next` on tastytrade streams the nearest expiration, not the
    whole chain; switching to `all` subscribes the rest."""
    feed = tt_feed_factory()
    app = GexApp(feed, ["SPX"], settings=Settings(), expiry="next")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: app.book is not None and bool(fake_tt.subscribed("Greeks")))
        await pilot.pause(0.2)
        book = app.book
        assert book is not None
        nearest = live_expirations(book, datetime.now(UTC))[0]
        expected = set(book.instruments.filter(pl.col("expiration") == nearest)["symbol"].to_list())
        assert fake_tt.subscribed("Greeks") == expected
        assert len(expected) < len(book)

        app.expiry = "all"
        await wait_for(lambda: fake_tt.subscribed("Greeks") == set(book.symbols))
        await wait_for(lambda: app.snapshot is not None and app.snapshot.expiry == "all")
        assert app.snapshot.source == "tastytrade"
