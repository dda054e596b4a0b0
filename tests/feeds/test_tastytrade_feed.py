"""TastytradeFeed end to end: the real tastytrade SDK against the fake on 127.0.0.1."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import numpy as np
import polars as pl
import pytest
from conftest import EXP_MONTHLY, EXP_WEEKLY, TT_REFRESH, TT_SECRET
from fake_tastytrade import FakeTastytrade, Pump, big_chain, make_chain, wait_for

from gextui.credentials import Credentials
from gextui.feeds.base import Feed, FeedError, FeedSession, FeedState, Source, UnknownTickerError
from gextui.feeds.tastytrade import TastytradeFeed

FeedFactory = Callable[..., TastytradeFeed]
NAN = float("nan")


def full(pump: Pump) -> bool:
    g, oi, n = pump.book.coverage()
    return g == n and oi == n and not math.isnan(pump.book.spot)


async def open_pump(feed: TastytradeFeed, ticker: str = "SPX") -> Pump:
    session = await feed.open(ticker)
    return Pump(session).start()


# ---------------------------------------------------------------------- happy path
async def test_protocols(tt_feed_factory: FeedFactory) -> None:
    feed = tt_feed_factory()
    assert isinstance(feed, Feed)
    assert feed.source is Source.TASTYTRADE
    session = await feed.open("spx")
    assert isinstance(session, FeedSession)
    await session.aclose()
    assert session.status.state is FeedState.CLOSED


async def test_chain_instruments(fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory) -> None:
    feed = tt_feed_factory()
    session = await feed.open("SPX")
    info = session.chain
    assert info.ticker == "SPX"
    assert info.underlying_symbol == "SPX"
    assert info.source is Source.TASTYTRADE
    inst = info.instruments
    assert inst.height == 30
    assert sorted(inst["root"].unique().to_list()) == ["SPX", "SPXW"]
    assert set(inst["expiration"].unique().to_list()) == {EXP_WEEKLY, EXP_MONTHLY}
    assert set(inst["type"].unique().to_list()) == {"C", "P"}
    assert inst["multiplier"].to_list() == [100.0] * 30
    served = {i["streamer-symbol"] for i in fake_tt.chains["SPX"]}
    assert set(inst["symbol"].to_list()) == served
    row = inst.filter(pl.col("symbol") == ".SPX310117P5950").row(0, named=True)
    assert (row["root"], row["type"], row["strike"]) == ("SPX", "P", 5950.0)
    # AM-settled SPX monthly at 09:30 New York, SPXW at 16:00
    spx = inst.filter(pl.col("root") == "SPX")["settlement"][0]
    spxw = inst.filter((pl.col("root") == "SPXW") & (pl.col("expiration") == EXP_MONTHLY))[
        "settlement"
    ][0]
    assert (spxw - spx).total_seconds() == 6.5 * 3600
    # chains are cached per ticker
    await feed.open("SPX")
    assert fake_tt.chain_requests == 1


async def test_other_chains(fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory) -> None:
    """NDX (NDX AM + NDXP PM roots), an ETF with half-point strikes, and an adjusted
    equity option whose shares-per-contract is not 100."""
    fake_tt.add_chain(
        "NDX", make_chain("NDX", [("NDX", EXP_MONTHLY), ("NDXP", EXP_MONTHLY)], [21000.0])
    )
    fake_tt.add_chain("SPY", make_chain("SPY", [("SPY", EXP_WEEKLY)], [412.5, 413.0]))
    fake_tt.add_chain("XYZ", make_chain("XYZ", [("XYZ1", EXP_WEEKLY)], [10.0], spc=50))
    feed = tt_feed_factory()
    ndx = (await feed.open("NDX")).chain
    assert ndx.underlying_symbol == "NDX"
    assert sorted(ndx.instruments["root"].unique().to_list()) == ["NDX", "NDXP"]
    settle = dict(zip(ndx.instruments["root"], ndx.instruments["settlement"], strict=False))
    assert (settle["NDXP"] - settle["NDX"]).total_seconds() == 6.5 * 3600
    spy = (await feed.open("SPY")).chain
    assert ".SPY310110C412.5" in spy.instruments["symbol"].to_list()
    assert spy.instruments.filter(pl.col("symbol") == ".SPY310110P412.5")["strike"].item() == 412.5
    xyz = (await feed.open("xyz")).chain
    assert xyz.instruments["multiplier"].to_list() == [50.0, 50.0]
    assert xyz.underlying_symbol == "XYZ"


async def test_end_to_end_values_and_gex(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory
) -> None:
    feed = tt_feed_factory()
    pump = await open_pump(feed)
    await wait_for(lambda: full(pump))
    await wait_for(lambda: pump.session.status.state is FeedState.LIVE)
    book = pump.book
    assert book.spot == 6012.25
    assert book.underlying.prev_close == 5999.75
    assert (book.underlying.bid, book.underlying.ask) == (6012.0, 6012.5)
    frame = book.frame()
    m = fake_tt.market
    for row in frame.iter_rows(named=True):
        g = m.greeks[row["symbol"]]
        assert row["gamma"] == pytest.approx(g["gamma"], rel=1e-15)
        assert row["delta"] == pytest.approx(g["delta"], rel=1e-15)
        assert row["iv"] == pytest.approx(g["volatility"], rel=1e-15)
        assert row["theta"] == pytest.approx(g["theta"], rel=1e-15)
        assert row["vega"] == pytest.approx(g["vega"], rel=1e-15)
        assert row["price"] == pytest.approx(g["price"], rel=1e-15)
        assert row["open_interest"] == m.summary[row["symbol"]]["open_interest"]
    # GEX by hand from the served values: sign · Γ · OI · m · S² · 0.01
    spot = m.trade["SPX"]["price"]
    by_hand = 0.0
    for item in fake_tt.chains["SPX"]:
        sym = item["streamer-symbol"]
        sign = 1.0 if item["option-type"] == "C" else -1.0
        by_hand += (
            sign * m.greeks[sym]["gamma"] * m.summary[sym]["open_interest"] * 100 * spot**2 * 0.01
        )
    sign = pl.when(pl.col("type") == "C").then(1.0).otherwise(-1.0)
    from_book = frame.select(
        (sign * pl.col("gamma") * pl.col("open_interest") * pl.col("multiplier")).sum()
    ).item() * (book.spot**2 * 0.01)
    assert from_book == pytest.approx(by_hand, rel=1e-12)
    await pump.stop()


async def test_selection_subscribes_and_unsubscribes(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory
) -> None:
    feed = tt_feed_factory()
    session = await feed.open("SPX")
    await wait_for(lambda: fake_tt.subscribed("Trade") == {"SPX"})
    # nothing for the options until the consumer says what it wants (or starts reading)
    assert fake_tt.subscribed("Greeks") == set()
    weekly = set(
        session.chain.instruments.filter(pl.col("expiration") == EXP_WEEKLY)["symbol"].to_list()
    )
    await session.set_expirations([EXP_WEEKLY])
    await wait_for(
        lambda: (
            fake_tt.subscribed("Greeks") == weekly
            and fake_tt.subscribed("Summary") == weekly | {"SPX"}
        )
    )
    await session.set_expirations(None)
    everything = set(session.chain.instruments["symbol"].to_list())
    await wait_for(lambda: fake_tt.subscribed("Greeks") == everything)
    await session.set_expirations([EXP_MONTHLY])
    await wait_for(lambda: fake_tt.subscribed("Greeks") == everything - weekly)
    assert fake_tt.unsubscribe_counts["Greeks"] == len(weekly)
    assert fake_tt.subscribe_counts["Greeks"] == len(everything)  # nothing twice
    await session.aclose()


# ---------------------------------------------------------------------- resilience
async def test_drop_reconnects_and_resubscribes(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory
) -> None:
    feed = tt_feed_factory()
    pump = await open_pump(feed)
    await pump.session.set_expirations([EXP_WEEKLY])
    wanted = pump.session.stream.wanted
    await wait_for(lambda: pump.session.status.state is FeedState.LIVE)
    await wait_for(lambda: fake_tt.subscribed("Greeks") == wanted)
    await wait_for(lambda: pump.book.coverage()[0] == len(wanted))
    before = pump.book.frame()

    fake_tt.drop_connections()
    await wait_for(lambda: fake_tt.connections == 2 and fake_tt.subscribed("Greeks") == wanted)
    await wait_for(lambda: pump.session.status.state is FeedState.LIVE)
    assert "reconnecting" in pump.states()
    assert any("connection lost" in r for r in pump.reasons())
    # a new quote token for the new connection
    assert fake_tt.quote_tokens == ["quote-token-1", "quote-token-2"]
    assert fake_tt.auth_tokens_seen == ["quote-token-1", "quote-token-2"]
    assert fake_tt.subscribed("Trade") == {"SPX"} | wanted  # options too: day volume
    # the last good state stayed; data after recovery arrives
    assert pump.book.frame()["gamma"].to_list() == before["gamma"].to_list()
    sym = sorted(wanted)[0]
    fake_tt.update("Greeks", sym, gamma=0.0123456)
    fake_tt.update("Trade", "SPX", price=6020.5)
    row = lambda: pump.book.frame().filter(pl.col("symbol") == sym).row(0, named=True)  # noqa: E731
    await wait_for(lambda: row()["gamma"] == 0.0123456 and pump.book.spot == 6020.5)
    assert pump.session.stream.stats.reconnects == 1
    await pump.stop()


async def test_clean_close_by_server(fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory) -> None:
    feed = tt_feed_factory()
    pump = await open_pump(feed)
    await wait_for(lambda: pump.session.status.state is FeedState.LIVE)
    fake_tt.drop_connections(clean=True)
    await wait_for(lambda: fake_tt.connections == 2)
    await wait_for(lambda: pump.session.status.state is FeedState.LIVE)
    assert any("code 1011" in r for r in pump.session.stream.stats.reasons)
    await pump.stop()


async def test_silent_server_detected(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory
) -> None:
    feed = tt_feed_factory(silence_timeout=0.4)
    pump = await open_pump(feed)
    await wait_for(lambda: full(pump))
    fake_tt.silence()  # connection stays open, nothing more arrives (no keepalive either)
    await wait_for(lambda: fake_tt.connections >= 2)
    await wait_for(lambda: pump.session.status.state is FeedState.LIVE)
    stats = pump.session.stream.stats
    assert stats.reasons[0] == "no data or keepalive for 0.4 s"
    assert any(s.state is FeedState.RECONNECTING for s in pump.statuses)
    sym = pump.book.symbols[0]
    fake_tt.update("Summary", sym, open_interest=424242)
    idx = pump.book.symbols.index(sym)
    await wait_for(lambda: pump.book.column("open_interest")[idx] == 424242)
    await pump.stop()


async def test_keepalive_alone_keeps_connection(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory
) -> None:
    """An idle market (keepalives, no data) is not a dead connection: STALE, not reconnect."""
    feed = tt_feed_factory(silence_timeout=0.4, stale_after=0.3)
    pump = await open_pump(feed)
    await wait_for(lambda: full(pump))
    await wait_for(lambda: pump.session.status.state is FeedState.STALE, within=5)
    assert fake_tt.connections == 1
    fake_tt.update("Trade", "SPX", price=6001.0)
    await wait_for(lambda: pump.session.status.state is FeedState.LIVE)
    await pump.stop()


async def test_silent_at_connect(fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory) -> None:
    fake_tt.silent_new_connections = 1  # accepts the websocket, never answers SETUP
    feed = tt_feed_factory(silence_timeout=0.3)
    pump = await open_pump(feed)
    await wait_for(lambda: full(pump))
    assert fake_tt.connections >= 2
    assert pump.session.stream.stats.reasons[0].startswith("no data or keepalive")
    await pump.stop()


async def test_server_error_reconnects(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory
) -> None:
    feed = tt_feed_factory()
    pump = await open_pump(feed)
    await wait_for(lambda: pump.session.status.state is FeedState.LIVE)
    fake_tt.send_error("Too many subscriptions", error="TOO_MANY_SUBSCRIPTIONS")
    await wait_for(lambda: fake_tt.connections == 2)
    await wait_for(lambda: pump.session.status.state is FeedState.LIVE)
    assert pump.session.stream.stats.reasons[0] == "server error: Too many subscriptions"
    assert any("server error" in r for r in pump.reasons())
    await pump.stop()


async def test_quote_token_outage_is_retried(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory
) -> None:
    fake_tt.quote_token_failures = 2  # HTTP 503 twice, then fine
    feed = tt_feed_factory()
    pump = await open_pump(feed)
    await wait_for(lambda: full(pump))
    reasons = pump.session.stream.stats.reasons
    assert len(reasons) == 2
    assert reasons[0].startswith(
        "tastytrade quote token failed (HTTP 503): unavailable: Service unavailable"
    )
    assert pump.session.status.state is FeedState.LIVE
    await pump.stop()


async def test_old_quote_token_is_renewed(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory
) -> None:
    feed = tt_feed_factory(token_max_age=0.3)
    pump = await open_pump(feed)
    await wait_for(lambda: len(fake_tt.auth_tokens_seen) >= 2 and full(pump))
    assert pump.session.stream.stats.reasons[0] == "renewing the quote token"
    assert fake_tt.auth_tokens_seen[:2] == ["quote-token-1", "quote-token-2"]
    await pump.stop()


async def test_repeated_failures_back_off(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory
) -> None:
    """Connections that never deliver data grow the delay; the loop keeps trying."""
    fake_tt.silent_new_connections = 3
    feed = tt_feed_factory(silence_timeout=0.3, backoff_initial=0.01, backoff_max=0.05)
    pump = await open_pump(feed)
    await wait_for(lambda: full(pump))
    assert fake_tt.connections >= 4
    delays = [r for r in pump.reasons() if "failed, next at" in r]
    assert len(delays) >= 3
    assert pump.session.stream.stats.delays[:3] == sorted(pump.session.stream.stats.delays[:3])
    await pump.stop()


async def test_revoked_credentials_during_stream_are_fatal(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    feed = tt_feed_factory(sdk_debug_logs=True)
    pump = await open_pump(feed)
    await wait_for(lambda: pump.session.status.state is FeedState.LIVE)
    fake_tt.reject_token = True  # the quote-token request of the next connection gets 401
    fake_tt.drop_connections()
    await wait_for(lambda: pump.error is not None)
    assert str(pump.error).startswith("tastytrade rejected the credentials (HTTP 401)")
    assert pump.session.status.state is FeedState.CLOSED
    assert TT_SECRET not in caplog.text and TT_REFRESH not in caplog.text
    await pump.stop()


# ---------------------------------------------------------------------- NaN
async def test_nan_fields_do_not_overwrite(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory
) -> None:
    no_oi = ".SPXW310110C6000"
    fake_tt.market.summary[no_oi]["open_interest"] = NAN  # Summary never arrives (SDK drops it)
    feed = tt_feed_factory()
    pump = await open_pump(feed)
    book = pump.book
    await wait_for(lambda: book.coverage()[0] == len(book) and not math.isnan(book.spot))
    await wait_for(lambda: book.coverage()[1] == len(book) - 1)
    idx = book.symbols.index(no_oi)
    assert math.isnan(book.column("open_interest")[idx])  # missing, not zero
    assert book.frame().filter(pl.col("symbol") == no_oi)["open_interest"].is_null().all()

    sym = ".SPXW310110P5950"
    j = book.symbols.index(sym)
    gamma0 = book.column("gamma")[j]
    vol0 = book.underlying.day_volume
    fake_tt.update("Greeks", sym, gamma=NAN)  # required field NaN: the SDK drops the event
    fake_tt.update("Trade", "SPX", price=6030.0, day_volume=NAN)  # optional NaN → null
    fake_tt.update("Summary", "SPX", prev_day_close_price=NAN)
    await wait_for(lambda: book.spot == 6030.0)
    assert book.underlying.day_volume == vol0
    assert book.underlying.prev_close == 5999.75
    assert book.column("gamma")[j] == gamma0
    # and good values still land afterwards
    fake_tt.update("Greeks", sym, gamma=0.0042)
    await wait_for(lambda: book.column("gamma")[j] == 0.0042)
    assert book.nan_values > 0
    await pump.stop()


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize("status", [401, 403])
async def test_rejected_credentials(
    fake_tt: FakeTastytrade,
    tt_feed_factory: FeedFactory,
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_tt.reject_token = True
    fake_tt.reject_token_status = status
    feed = tt_feed_factory(sdk_debug_logs=True)
    with pytest.raises(FeedError) as info:
        await feed.open("SPX")
    msg = str(info.value)
    assert msg == (
        f"tastytrade rejected the credentials (HTTP {status}) — check TT_SECRET / TT_REFRESH"
    )
    assert "\n" not in msg
    assert info.value.__suppress_context__
    for secret in (TT_SECRET, TT_REFRESH):
        assert secret not in msg
        assert secret not in caplog.text
        assert secret not in repr(info.value)
    # the SDK did send them (so the test means something)
    assert fake_tt.oauth_bodies[0]["client_secret"] == TT_SECRET


async def test_logs_never_show_secrets(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    feed = tt_feed_factory(sdk_debug_logs=True)
    pump = await open_pump(feed)
    await wait_for(lambda: full(pump))
    fake_tt.drop_connections()
    await wait_for(lambda: fake_tt.connections == 2 and pump.session.status.state is FeedState.LIVE)
    await pump.stop()
    await feed.aclose()
    assert caplog.records  # the SDK logs a lot at DEBUG
    for secret in (TT_SECRET, TT_REFRESH):
        assert secret not in caplog.text
    assert TT_SECRET not in repr(feed._credentials)


async def test_unknown_ticker(fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory) -> None:
    feed = tt_feed_factory()
    with pytest.raises(UnknownTickerError, match="no option chain for 'NOPE'"):
        await feed.open("nope")
    fake_tt.add_chain("EMPTY", [])
    with pytest.raises(UnknownTickerError, match="'EMPTY'"):
        await feed.open("EMPTY")


async def test_missing_credentials(fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory) -> None:
    feed = tt_feed_factory(Credentials(secret="", refresh_token="x", api_url=fake_tt.rest_url))
    with pytest.raises(FeedError, match="credentials missing: set TT_SECRET"):
        await feed.open("SPX")
    assert fake_tt.oauth_requests == 0


async def test_unreachable_api(tt_feed_factory: FeedFactory) -> None:
    import socket

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    creds = Credentials(TT_SECRET, TT_REFRESH, api_url=f"http://127.0.0.1:{port}")
    feed = tt_feed_factory(creds, http_timeout=2.0)
    with pytest.raises(FeedError) as info:
        await feed.open("SPX")
    assert str(info.value).startswith(f"cannot reach tastytrade at 127.0.0.1:{port} for login")
    assert TT_SECRET not in str(info.value)


async def test_sandbox_source(fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory) -> None:
    creds = Credentials(TT_SECRET, TT_REFRESH, sandbox=True, api_url=fake_tt.rest_url)
    feed = tt_feed_factory(creds)
    assert feed.source is Source.TASTYTRADE_SANDBOX
    session = await feed.open("SPX")
    assert session.chain.source is Source.TASTYTRADE_SANDBOX
    assert session.chain.new_book().source == "tastytrade-sandbox"
    await session.aclose()


# ---------------------------------------------------------------------- big chains
async def test_20k_contracts_no_frame_over_64k(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory
) -> None:
    items = big_chain("SPX", 20_000)
    fake_tt.add_chain("SPX", items)
    feed = tt_feed_factory(batch_interval=0.1)  # default chunk size
    assert feed.config.chunk_size == 100
    pump = await open_pump(feed)
    n = len(pump.book)
    assert n == 20_000
    await wait_for(lambda: full(pump), within=30)
    assert fake_tt.subscribe_counts["Greeks"] == n
    assert fake_tt.subscribe_counts["Summary"] == n + 1
    assert fake_tt.max_frame_sent < 64 * 1024, fake_tt.max_frame_sent
    assert fake_tt.max_frame_received < 64 * 1024, fake_tt.max_frame_received
    assert fake_tt.max_frame_sent > 8 * 1024  # frames were big enough to matter
    assert fake_tt.connections == 1  # no 1009 "message too big" drop
    progress = [s.progress for s in pump.statuses if s.progress is not None]
    assert progress and 0 < min(progress) < 0.1 and max(progress) > 0.9
    assert any("subscribing" in r for r in pump.reasons())
    gamma = pump.book.column("gamma")
    want = np.array([fake_tt.market.greeks[s]["gamma"] for s in pump.book.symbols])
    np.testing.assert_allclose(gamma, want, rtol=1e-15)
    await pump.stop()


async def test_one_big_subscription_fits_the_raised_limit(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory
) -> None:
    """The SDK's 64 KiB limit on incoming messages is raised (16 MiB): one subscription of
    2,000 contracts answered with one frame over 64 KiB keeps the connection."""
    fake_tt.add_chain("SPX", big_chain("SPX", 2_000))
    feed = tt_feed_factory(chunk_size=5_000)
    pump = await open_pump(feed)
    await wait_for(lambda: full(pump), within=20)
    assert fake_tt.max_frame_sent > 64 * 1024
    assert pump.session.stream.stats.reasons == []
    assert fake_tt.connections == 1
    await pump.stop()


async def test_option_trades_fill_day_volume(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory
) -> None:
    """Options' Trade events carry the day's volume: volume GEX works on the live path."""
    feed = tt_feed_factory()
    pump = await open_pump(feed)
    await pump.session.set_expirations([EXP_WEEKLY])
    wanted = pump.session.stream.wanted
    await wait_for(lambda: fake_tt.subscribed("Trade") >= wanted)
    sym = sorted(wanted)[0]
    fake_tt.update("Trade", sym, price=12.5, day_volume=4321.0)
    row = lambda: pump.book.frame().filter(pl.col("symbol") == sym).row(0, named=True)  # noqa: E731
    await wait_for(lambda: row()["day_volume"] == 4321.0)
    assert row()["last"] == 12.5
