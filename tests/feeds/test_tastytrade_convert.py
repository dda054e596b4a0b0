"""SDK event objects → EventBatch frames; backoff; reasons. No network."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal

import polars as pl
import pytest
from httpx2.websockets import WebSocketDisconnect
from tastytrade.dxfeed import Greeks, Quote, Summary, Trade
from tastytrade.utils import TastytradeError

from gextui.core.events import SCHEMAS
from gextui.feeds.tastytrade import normalise_ticker
from gextui.feeds.tt_convert import events_frame, to_batch
from gextui.feeds.tt_stream import StreamConfig, describe


def greeks(sym: str, gamma: str = "0.00123456789012345", **kw: str) -> Greeks:
    values = {
        "index": 1,
        "time": 0,
        "sequence": 0,
        "price": "12.35",
        "volatility": "0.1823456789012345",
        "delta": "0.5234",
        "gamma": gamma,
        "theta": "-1.23",
        "rho": "0.01",
        "vega": "1.2345",
    }
    values.update(kw)
    return Greeks(event_symbol=sym, event_time=0, event_flags=0, **values)  # type: ignore[arg-type]


def test_greeks_frame_values_and_schema() -> None:
    evs = [greeks(".SPXW310110C6000"), greeks(".SPXW310110P6000", gamma="0.002")]
    frame = events_frame("greeks", evs)
    assert frame.schema == pl.Schema(dict(SCHEMAS["greeks"]))
    row = frame.row(0, named=True)
    assert row["symbol"] == ".SPXW310110C6000"
    assert row["gamma"] == float(Decimal("0.00123456789012345"))
    assert row["iv"] == 0.1823456789012345
    assert (row["delta"], row["theta"], row["vega"], row["price"]) == (0.5234, -1.23, 1.2345, 12.35)
    assert frame["gamma"][1] == 0.002


def test_optional_nan_becomes_null() -> None:
    raw = [
        "SPX", 0, 20400, "REGULAR", 20399, "FINAL", 12345, "NaN", "NaN", "NaN", "NaN", "NaN", "NaN",
    ]  # fmt: skip
    (summary,) = Summary.from_stream(raw)
    assert summary.prev_day_close_price is None
    frame = events_frame("summary", [summary])
    assert frame["open_interest"].to_list() == [12345.0]
    assert frame["prev_close"].to_list() == [None]
    # a required field NaN: the SDK drops the whole event (so OI is missing, not zero)
    raw[6] = "NaN"
    assert Summary.from_stream(raw) == []


def test_trades_and_quotes() -> None:
    trade = Trade.from_stream(
        ["SPX", 0, 0, 0, 0, "Q", 20400, "UP", False, "6012.25", "12.5", 1, "NaN", "NaN"]
    )
    quote = Quote.from_stream(["SPX", 0, 0, 0, 0, "Q", 0, "Q", "6012.0", "6012.5", 1, 2])
    batch = to_batch({"trades": trade, "quotes": quote, "greeks": []})
    assert batch is not None
    assert batch.greeks is None
    assert batch.trades is not None and batch.quotes is not None
    assert batch.trades.row(0) == ("SPX", 6012.25, None)
    assert batch.quotes.row(0) == ("SPX", 6012.0, 6012.5)
    assert batch.time.tzinfo is UTC or batch.time.utcoffset() is not None
    assert batch.n_events == 2


def test_empty_batch_is_none() -> None:
    assert to_batch({}) is None
    assert to_batch({"greeks": []}) is None
    at = datetime(2031, 1, 2, tzinfo=UTC)
    b = to_batch({"greeks": [greeks(".X")]}, time=at, meta={"source": "tastytrade"})
    assert b is not None and b.time == at and b.meta == {"source": "tastytrade"}


def test_backoff_grows_caps_and_jitters() -> None:
    cfg = StreamConfig(backoff_initial=0.5, backoff_max=30.0, jitter=0.25)
    rng = random.Random(3)
    for attempt in range(12):
        base = min(30.0, 0.5 * 2**attempt)
        for _ in range(50):
            d = cfg.backoff(attempt, rng)
            assert 0.75 * base <= d <= 1.25 * base
    assert StreamConfig(jitter=0.0).backoff(20, rng) == 30.0
    with pytest.raises(ValueError):
        StreamConfig(chunk_size=0)


def test_describe_reasons() -> None:
    err = TastytradeError("Fatal streamer error: Too many\nsubscriptions")
    assert describe(BaseExceptionGroup("x", [err])) == "server error: Too many subscriptions"
    assert describe(ExceptionGroup("x", [WebSocketDisconnect(1011, "bye")])) == (
        "connection closed by the server (code 1011: bye)"
    )
    assert describe(TimeoutError()) == "timed out"
    assert "\n" not in describe(RuntimeError("a\nb"))


def test_normalise_ticker() -> None:
    assert normalise_ticker(" spx ") == "SPX"
    assert normalise_ticker("^NDX") == "NDX"
    assert normalise_ticker("$rut") == "RUT"
