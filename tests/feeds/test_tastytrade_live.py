"""A live feed you can leave running all day (issue 10): the real SDK against a fake
tastytrade on 127.0.0.1 that misbehaves the way real servers and networks do.

Each test checks the figures against what the fake served, the number of connections, and
that no secret (TT_SECRET, TT_REFRESH, the access token, a quote token) shows anywhere.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import math
import re
from collections.abc import Callable, Iterable

import numpy as np
import pytest
from conftest import EXP_WEEKLY, TT_REFRESH, TT_SECRET
from fake_tastytrade import FakeTastytrade, Pump, big_chain, wait_for

from gextui.core.exposure import compute_exposure
from gextui.feeds.base import FeedError, FeedState
from gextui.feeds.tastytrade import TastytradeFeed
from gextui.feeds.tt_stream import MAX_MESSAGE_BYTES, SDK_VERSION, describe, failure_kind
from gextui.headless import collect

FeedFactory = Callable[..., TastytradeFeed]


def secrets(fake: FakeTastytrade) -> list[str]:
    return [TT_SECRET, TT_REFRESH, fake.access_token, *fake.quote_tokens]


def assert_no_secret(fake: FakeTastytrade, texts: Iterable[str]) -> None:
    blob = "\n".join(texts)
    for secret in secrets(fake):
        assert secret not in blob


def outputs(pump: Pump, caplog: pytest.LogCaptureFixture) -> list[str]:
    return [*pump.reasons(), *pump.session.stream.stats.reasons, caplog.text, str(pump.error)]


def full(pump: Pump) -> bool:
    g, oi, n = pump.book.coverage()
    return g == n and oi == n and not math.isnan(pump.book.spot)


def served_equal(fake: FakeTastytrade, pump: Pump) -> None:
    """Every contract's greeks and OI in the book are the served ones."""
    book = pump.book
    m = fake.market
    syms = book.symbols
    np.testing.assert_array_equal(book.column("gamma"), [m.greeks[s]["gamma"] for s in syms])
    np.testing.assert_array_equal(book.column("delta"), [m.greeks[s]["delta"] for s in syms])
    np.testing.assert_array_equal(book.column("iv"), [m.greeks[s]["volatility"] for s in syms])
    np.testing.assert_array_equal(
        book.column("open_interest"), [m.summary[s]["open_interest"] for s in syms]
    )
    assert book.spot == m.trade["SPX"]["price"]


async def live_pump(feed: TastytradeFeed) -> Pump:
    return Pump(await feed.open("SPX")).start()


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.WARNING, logger="websockets")  # the fake server's own log
    return caplog


# ---------------------------------------------------------------------- 1 snapshot completeness
async def test_snapshot_waits_for_every_chunk_of_a_big_chain(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory
) -> None:
    fake_tt.add_chain("SPX", big_chain("SPX", 3_208))
    feed = tt_feed_factory(batch_interval=0.05)
    result = await collect(feed, "SPX", expiry="all", wait=60.0)
    assert not result.timed_out and result.warnings == [] and result.missing == []
    assert result.coverage == 1.0
    book = result.book
    m = fake_tt.market
    np.testing.assert_array_equal(
        book.column("gamma"), [m.greeks[s]["gamma"] for s in book.symbols]
    )
    np.testing.assert_array_equal(
        book.column("open_interest"), [m.summary[s]["open_interest"] for s in book.symbols]
    )
    assert fake_tt.subscribe_counts["Greeks"] == 3_208
    assert fake_tt.connections == 1


async def test_snapshot_at_wait_names_what_is_missing(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory, logs: pytest.LogCaptureFixture
) -> None:
    held = {".SPXW310110P5900", ".SPXW310110P5950"}
    fake_tt.held = set(held)
    feed = tt_feed_factory()
    result = await collect(feed, "SPX", expiry=EXP_WEEKLY.isoformat(), wait=1.0)
    assert result.timed_out
    assert sorted(result.missing) == sorted(held)
    assert len(result.warnings) == 1
    warning = result.warnings[0]
    assert warning.startswith("timed out after 1 s with 80.0% of the selected contracts")
    assert "2 contracts still missing data" in warning
    for sym in held:
        assert sym in warning
    assert fake_tt.connections == 1
    assert_no_secret(fake_tt, [warning, logs.text])


# ---------------------------------------------------------------------- 2 big frames
def test_sdk_version_pinned() -> None:
    """WatchedStreamer replaces the SDK's private connect and reader of this version."""
    assert importlib.metadata.version("tastytrade") == SDK_VERSION
    assert MAX_MESSAGE_BYTES == 16 * 1024 * 1024


async def test_200k_frames_while_streaming_keep_the_connection(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory, logs: pytest.LogCaptureFixture
) -> None:
    fake_tt.add_chain("SPX", big_chain("SPX", 1_400))
    feed = tt_feed_factory(batch_interval=0.05)
    pump = await live_pump(feed)
    await wait_for(lambda: full(pump), within=30)
    for round_ in range(3):  # > 200 KiB frames of 1,400 Greeks, as a busy server aggregates
        changes = {
            s: {"gamma": 1e-4 * (1 + round_) + i * 1e-9, "delta": 0.25}
            for i, s in enumerate(pump.book.symbols)
        }
        fake_tt.update_many("Greeks", changes)
        last = pump.book.symbols[-1]
        await wait_for(lambda c=changes, s=last: pump.book.column("gamma")[-1] == c[s]["gamma"])
    assert fake_tt.max_frame_sent > 200 * 1024, fake_tt.max_frame_sent
    assert fake_tt.connections == 1
    served_equal(fake_tt, pump)
    assert pump.session.stream.malformed_frames == 0
    assert_no_secret(fake_tt, outputs(pump, logs))
    await pump.stop()


# ---------------------------------------------------------------------- 3 backoff
async def test_same_failure_after_data_grows_the_backoff(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory, logs: pytest.LogCaptureFixture
) -> None:
    fake_tt.drop_after_data = 4  # each connection streams a frame, then is cut
    feed = tt_feed_factory(backoff_initial=0.02, backoff_max=0.1, jitter=0.0)
    pump = await live_pump(feed)
    await wait_for(lambda: fake_tt.connections == 5 and full(pump), within=20)
    await wait_for(lambda: pump.session.status.state is FeedState.LIVE)
    stats = pump.session.stream.stats
    assert stats.delays == pytest.approx([0.02, 0.04, 0.08, 0.1])
    # one failure kind; which side notices the cut first ("network error" or "while
    # sending") is timing, and must not reset the backoff
    assert {failure_kind(r) for r in stats.reasons} == {"connection lost"}
    retry = [r for r in pump.reasons() if "failed, next at" in r]
    assert any(
        re.search(r"; 3 tries failed, next at \d\d:\d\d:\d\d ET \(in 0\.1 s\)", r) for r in retry
    )
    assert fake_tt.connections == 5
    served_equal(fake_tt, pump)
    assert_no_secret(fake_tt, outputs(pump, logs))
    await pump.stop()


# ---------------------------------------------------------------------- 4 REST retries
class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


async def test_one_off_401_on_quote_token_refreshes_and_retries(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory, logs: pytest.LogCaptureFixture
) -> None:
    fake_tt.rest_failures.append(("/api-quote-tokens", 401, None))
    feed = tt_feed_factory()
    pump = await live_pump(feed)
    await wait_for(lambda: full(pump))
    assert pump.error is None
    assert fake_tt.oauth_requests == 2  # login + the forced refresh
    assert fake_tt.quote_token_requests == 2
    assert fake_tt.connections == 1
    assert feed.rest_retries == [("quote token", "access token rejected; refreshing it", 0.0)]
    served_equal(fake_tt, pump)
    assert_no_secret(fake_tt, outputs(pump, logs))
    await pump.stop()


async def test_5xx_and_429_on_open_are_retried_honouring_retry_after(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory, logs: pytest.LogCaptureFixture
) -> None:
    fake_tt.rest_failures += [
        ("/oauth/token", 500, None),
        ("/option-chains/", 429, "2"),
        ("/option-chains/", 503, None),
    ]
    sleeps = Sleeps()
    feed = tt_feed_factory(sleep=sleeps, jitter=0.0)
    pump = await live_pump(feed)  # the monitor's open: the same call
    await wait_for(lambda: full(pump))
    assert sleeps.delays == [0.02, 2.0, 0.04]  # backoff, Retry-After, backoff
    assert [(w, r.split(" (HTTP")[0]) for w, r, _ in feed.rest_retries] == [
        ("login", "tastytrade login failed"),
        ("option chain for SPX", "tastytrade option chain for SPX failed"),
        ("option chain for SPX", "tastytrade option chain for SPX failed"),
    ]
    assert fake_tt.oauth_requests == 2 and fake_tt.chain_requests == 1
    assert fake_tt.connections == 1
    served_equal(fake_tt, pump)
    assert_no_secret(fake_tt, outputs(pump, logs))
    await pump.stop()


async def test_snapshot_survives_a_5xx_login(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory
) -> None:
    fake_tt.rest_failures.append(("/oauth/token", 503, None))
    feed = tt_feed_factory(sleep=Sleeps())
    result = await collect(feed, "SPX", expiry="all", wait=10.0)
    assert not result.timed_out and result.coverage == 1.0
    assert fake_tt.oauth_requests == 2


async def test_refresh_rejected_again_is_fatal(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory, logs: pytest.LogCaptureFixture
) -> None:
    fake_tt.reject_token = True
    feed = tt_feed_factory(sleep=Sleeps())
    with pytest.raises(FeedError) as info:
        await feed.open("SPX")
    assert str(info.value) == (
        "tastytrade rejected the credentials (HTTP 401) — check TT_SECRET / TT_REFRESH"
    )
    assert fake_tt.oauth_requests == 2  # one more try, then fatal
    assert fake_tt.connections == 0
    assert_no_secret(fake_tt, [str(info.value), logs.text])


async def test_quote_token_401_then_refresh_rejected_is_fatal(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory, logs: pytest.LogCaptureFixture
) -> None:
    feed = tt_feed_factory(sleep=Sleeps())
    pump = await live_pump(feed)
    await wait_for(lambda: full(pump))
    fake_tt.rest_failures.append(("/api-quote-tokens", 401, None))
    fake_tt.rest_failures += [("/oauth/token", 401, None), ("/oauth/token", 403, None)]
    fake_tt.drop_connections()
    await wait_for(lambda: pump.error is not None)
    assert str(pump.error).startswith("tastytrade rejected the credentials (HTTP 403)")
    assert pump.session.status.state is FeedState.CLOSED
    assert fake_tt.connections == 1
    served_equal(fake_tt, pump)
    assert_no_secret(fake_tt, outputs(pump, logs))
    await pump.stop()


# ---------------------------------------------------------------------- 5 bad values
async def test_bad_values_never_poison_the_book(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory, logs: pytest.LogCaptureFixture
) -> None:
    feed = tt_feed_factory()
    pump = await live_pump(feed)
    await wait_for(lambda: full(pump))
    good = compute_exposure(pump.book.copy(), "all")
    a, b = ".SPXW310110C6000", ".SPXW310110P5950"
    ga = fake_tt.market.greeks[a]["gamma"]
    gb = dict(fake_tt.market.greeks[b])
    oib = fake_tt.market.summary[b]["open_interest"]
    fake_tt.update("Greeks", a, gamma="1e309")  # parses to inf
    fake_tt.update("Summary", b, open_interest=-5)
    fake_tt.update("Greeks", b, volatility=12.0, delta=-1.5, gamma=0.0031)
    fake_tt.update("Trade", "SPX", day_volume=2_000_000.0)  # a good one after them
    await wait_for(lambda: pump.book.underlying.day_volume == 2_000_000.0)
    await wait_for(lambda: pump.book.rejected_values == 4)
    assert pump.book.rejected_by_column == {"gamma": 1, "open_interest": 1, "iv": 1, "delta": 1}
    book = pump.book
    ia, ib = book.symbols.index(a), book.symbols.index(b)
    assert book.column("gamma")[ia] == ga
    assert book.column("open_interest")[ib] == oib
    assert (book.column("iv")[ib], book.column("delta")[ib]) == (gb["volatility"], gb["delta"])
    assert book.column("gamma")[ib] == 0.0031  # the sane field of that event did land
    snap = compute_exposure(book.copy(), "all")
    assert math.isfinite(snap.net_gex)
    # net GEX moved by exactly b's gamma change: −(0.0031 − γ) · OI · 100 · S² · 0.01
    spot = fake_tt.market.trade["SPX"]["price"]
    delta_gex = -(0.0031 - gb["gamma"]) * oib * 100 * spot**2 * 0.01
    assert snap.net_gex == pytest.approx(good.net_gex + delta_gex, rel=1e-9)
    assert fake_tt.connections == 1
    assert_no_secret(fake_tt, outputs(pump, logs))
    await pump.stop()


# ---------------------------------------------------------------------- 6 malformed frames
async def test_malformed_frames_are_dropped_not_fatal(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory, logs: pytest.LogCaptureFixture
) -> None:
    feed = tt_feed_factory()
    pump = await live_pump(feed)
    await wait_for(lambda: full(pump))
    ch = fake_tt.channel_of("Greeks")
    bad = [
        "{not json",
        json.dumps({"type": "FEED_DATA", "channel": ch, "data": ["Greeks", [".X", 1, 2]]}),
        json.dumps({"type": "FEED_DATA", "channel": 99, "data": ["Greeks", []]}),
        json.dumps({"type": "FEED_DATA", "channel": ch, "data": ["Bogus", [1, 2]]}),
        json.dumps(["not", "an", "object"]),
    ]
    for text in bad:
        fake_tt.send_raw(text)
    sym = pump.book.symbols[3]
    fake_tt.update("Greeks", sym, gamma=0.00123)
    await wait_for(lambda: pump.book.column("gamma")[3] == 0.00123)
    await wait_for(lambda: pump.session.stream.malformed_frames == len(bad))
    assert fake_tt.connections == 1
    assert pump.session.stream.stats.reasons == []
    served_equal(fake_tt, pump)
    assert_no_secret(fake_tt, outputs(pump, logs))
    await pump.stop()


# ---------------------------------------------------------------------- 7 no secrets
async def test_close_while_sending_auth_never_shows_the_token(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory, logs: pytest.LogCaptureFixture
) -> None:
    fake_tt.close_on_auth = 2
    feed = tt_feed_factory(sdk_debug_logs=True)
    pump = await live_pump(feed)
    await wait_for(lambda: full(pump), within=20)
    reasons = pump.session.stream.stats.reasons
    assert len(reasons) == 2
    assert all(r.startswith("connection") for r in reasons), reasons
    assert "connection lost (while sending)" in reasons
    assert fake_tt.connections == 3
    served_equal(fake_tt, pump)
    assert_no_secret(fake_tt, outputs(pump, logs))
    await pump.stop()


def test_unknown_errors_show_no_text() -> None:
    assert describe(RuntimeError("token=quote-token-1")) == "unexpected error (RuntimeError)"
    group = ExceptionGroup("g", [KeyError("rEfReSh-token-1a2b3c")])
    assert describe(group) == "unexpected error (KeyError)"


# ---------------------------------------------------------------------- 8 live means complete
async def test_live_only_when_the_whole_wanted_set_streams(
    fake_tt: FakeTastytrade, tt_feed_factory: FeedFactory, logs: pytest.LogCaptureFixture
) -> None:
    fake_tt.add_chain("SPX", big_chain("SPX", 400))
    held = {".SPXW310103C5000", ".SPXW310103P5995"}
    fake_tt.held = set(held)
    feed = tt_feed_factory(chunk_size=100)
    pump = await live_pump(feed)
    await wait_for(lambda: any(r == "waiting for data" for r in pump.reasons()))
    await wait_for(lambda: pump.book.coverage()[0] == 398)
    assert "live" not in pump.states()
    subscribing = [s for s in pump.statuses if s.reason.startswith("subscribing")]
    assert subscribing[0].reason == "subscribing 100/400 contracts"
    assert all(re.fullmatch(r"subscribing [1-4]00/400 contracts", s.reason) for s in subscribing)
    assert {s.state for s in subscribing} == {FeedState.CONNECTING}
    # 398 options and the underlying have answered, of 400 + 1
    await wait_for(lambda: pump.session.status.progress == pytest.approx(399 / 401))
    assert pump.session.status.reason == "waiting for data"
    assert pump.session.status.state is FeedState.CONNECTING
    fake_tt.release()
    await wait_for(lambda: pump.session.status.state is FeedState.LIVE)
    await wait_for(lambda: full(pump))
    assert fake_tt.connections == 1
    served_equal(fake_tt, pump)
    assert_no_secret(fake_tt, outputs(pump, logs))
    await pump.stop()


def test_failure_kind_ignores_details() -> None:
    assert failure_kind("connection lost (while sending)") == failure_kind("connection lost")
    assert failure_kind("HTTP 503 from /api-quote-tokens") == failure_kind(
        "HTTP 502 from /api-quote-tokens"
    )
    assert failure_kind("connection lost") != failure_kind("silent server for 5 s")
    assert failure_kind(None) == "" == failure_kind("")
