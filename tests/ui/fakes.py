"""Deterministic feeds for UI tests and the bench.

:class:`FakeFeed` serves a fixed, realistic chain for SPX, SPY and QQQ (a few hundred contracts
each: three expirations, strikes ±5 % around spot; open interest heavier in puts below spot and
calls above, extra at round strikes; Black–Scholes greeks at a fixed smile). A session emits
``batches`` batches (spot stepping deterministically, one market second apart from a fixed
start time) and then idles until closed. Any other ticker raises ``UnknownTickerError``.

:class:`FakeReplayFeed` has the replay session API (pause / resume / seek / speed / position).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

from gextui.core.chain import make_instruments
from gextui.core.events import EventBatch, Reset
from gextui.core.expiry import NEW_YORK, years_to_settlement
from gextui.core.greeks import delta, gamma
from gextui.core.symbols import streamer_symbol
from gextui.feeds.base import (
    ChainInfo,
    FeedError,
    FeedState,
    FeedStatus,
    Source,
    UnknownTickerError,
)

START = datetime(2026, 1, 5, 10, 30, tzinfo=NEW_YORK)  # a Monday


@dataclass(frozen=True)
class Spec:
    spot: float
    step: float
    n_side: int
    roots: tuple[tuple[str, date], ...]
    prev_close: float


SPECS: dict[str, Spec] = {
    "SPX": Spec(
        6000.0,
        10.0,
        30,
        (
            ("SPXW", date(2026, 1, 5)),
            ("SPXW", date(2026, 1, 9)),
            ("SPX", date(2026, 1, 16)),
            ("SPXW", date(2026, 1, 16)),
        ),
        5985.5,
    ),
    "SPY": Spec(600.0, 1.0, 30, (("SPY", date(2026, 1, 5)), ("SPY", date(2026, 1, 16))), 601.2),
    "QQQ": Spec(520.0, 1.0, 26, (("QQQ", date(2026, 1, 9)), ("QQQ", date(2026, 1, 16))), 518.0),
}


def instruments(ticker: str) -> pl.DataFrame:
    spec = SPECS[ticker]
    rows = []
    for root, exp in spec.roots:
        for i in range(-spec.n_side, spec.n_side + 1):
            k = spec.spot + i * spec.step
            for typ in ("C", "P"):
                rows.append(
                    {
                        "symbol": streamer_symbol(root, exp, typ, k),
                        "root": root,
                        "expiration": exp,
                        "type": typ,
                        "strike": k,
                    }
                )
    return make_instruments(pl.DataFrame(rows))


def open_interest(ticker: str, ins: pl.DataFrame) -> np.ndarray:
    spec = SPECS[ticker]
    k = ins["strike"].to_numpy()
    is_call = (ins["type"] == "C").to_numpy()
    m = (k - spec.spot) / spec.spot
    base = np.exp(-((m / 0.025) ** 2))
    side = np.where(is_call, np.where(m > 0, 1.6, 0.4), np.where(m < 0, 2.0, 0.3))
    rnd = np.where(np.isclose(np.mod(k, spec.step * 5), 0.0), 2.5, 1.0)
    # a deterministic wiggle so that bars differ from row to row
    wiggle = 1.0 + 0.3 * np.sin(np.arange(k.size) * 1.7)
    return np.asarray(np.round(4000.0 * base * side * rnd * wiggle + 10.0), dtype=np.float64)


def spot_path(ticker: str, i: int) -> float:
    spec = SPECS[ticker]
    return round(spec.spot * (1.0 + 0.0008 * math.sin(i * 0.9) + 0.0003 * i), 2)


def make_batch(
    ticker: str, ins: pl.DataFrame, i: int, *, full: bool, reset: bool = False
) -> EventBatch:
    """Batch number ``i`` of ``ticker`` (``full``: with Summary for every contract)."""
    spec = SPECS[ticker]
    when = START + timedelta(seconds=i)
    spot = spot_path(ticker, i)
    k = ins["strike"].to_numpy()
    is_call = (ins["type"] == "C").to_numpy()
    settle = ins["settlement"].cast(pl.Int64).to_numpy()
    t = years_to_settlement(settle, when.astimezone(UTC))
    iv = 0.16 - 0.6 * (k / spot - 1.0) + 2.0 * (k / spot - 1.0) ** 2
    g = gamma(spot, k, iv, t)
    d = delta(spot, k, iv, t, is_call)
    symbols = ins["symbol"]
    greeks = pl.DataFrame(
        {
            "symbol": symbols,
            "gamma": g,
            "delta": d,
            "iv": iv,
            "theta": np.zeros_like(g),
            "vega": np.zeros_like(g),
            "price": np.zeros_like(g),
        }
    )
    und = pl.DataFrame({"symbol": [ticker], "price": [spot], "day_volume": [None]})
    vol = np.round(open_interest(ticker, ins) * 0.05 * (1 + i))
    trades = pl.concat(
        [
            und.with_columns(pl.col("day_volume").cast(pl.Float64)),
            pl.DataFrame(
                {"symbol": symbols, "price": [None] * len(symbols), "day_volume": vol}
            ).with_columns(pl.col("price").cast(pl.Float64)),
        ]
    )
    summary = None
    if full:
        summary = pl.DataFrame(
            {
                "symbol": [*symbols.to_list(), ticker],
                "open_interest": [*open_interest(ticker, ins).tolist(), None],
                "prev_close": [*([None] * len(symbols)), spec.prev_close],
            },
            schema={"symbol": pl.String, "open_interest": pl.Float64, "prev_close": pl.Float64},
        )
    return EventBatch(
        time=when, greeks=greeks, summary=summary, trades=trades, reset=Reset() if reset else None
    )


class FakeRecorder:
    bytes_written = 1_234_567


class FakeSession:
    def __init__(self, ticker: str, batches: int, *, recorder: bool = False) -> None:
        ins = instruments(ticker)
        self._info = ChainInfo(ticker, ticker, Source.SIMULATED, ins)
        self._ticker = ticker
        self._batches = batches
        self._closed = asyncio.Event()
        self._status = FeedStatus(FeedState.CONNECTING, "opening", at=START)
        self.expiration_hints: list[Sequence[date] | None] = []
        self.emitted = 0
        if recorder:
            self.recorder = FakeRecorder()
            self.recorded_bytes = FakeRecorder.bytes_written
            self.recorder_error: str | None = None

    @property
    def chain(self) -> ChainInfo:
        return self._info

    @property
    def status(self) -> FeedStatus:
        return self._status

    async def events(self) -> AsyncIterator[EventBatch]:
        for i in range(self._batches):
            if self._closed.is_set():
                return
            self._status = FeedStatus(FeedState.LIVE, "fake feed", at=START)
            yield make_batch(self._ticker, self._info.instruments, i, full=i == 0)
            self.emitted += 1
            await asyncio.sleep(0)
        await self._closed.wait()

    async def set_expirations(self, expirations: Sequence[date] | None) -> None:
        self.expiration_hints.append(None if expirations is None else list(expirations))

    async def aclose(self) -> None:
        self._closed.set()
        self._status = FeedStatus(FeedState.CLOSED, "closed", at=START)


class FakeFeed:
    """A deterministic Feed for SPX, SPY and QQQ (see the module docstring)."""

    def __init__(
        self, *, batches: int = 3, source: Source = Source.SIMULATED, recorder: bool = False
    ) -> None:
        self._source = source
        self.batches = batches
        self.recorder = recorder
        self.opened: list[str] = []
        self.sessions: list[FakeSession] = []
        self.fail_with: FeedError | None = None

    @property
    def source(self) -> Source:
        return self._source

    async def open(self, ticker: str) -> FakeSession:
        name = ticker.upper()
        if self.fail_with is not None:
            raise self.fail_with
        if name not in SPECS:
            raise UnknownTickerError(f"no option chain for {name!r}")
        self.opened.append(name)
        session = FakeSession(name, self.batches, recorder=self.recorder)
        self.sessions.append(session)
        return session

    async def aclose(self) -> None:
        for s in self.sessions:
            await s.aclose()


class FakeReplaySession(FakeSession):
    """A replay session over ``length`` seconds of the fake market (one batch per second)."""

    def __init__(self, ticker: str, length: int = 3600) -> None:
        super().__init__(ticker, batches=0)
        self._info = ChainInfo(ticker, ticker, Source.REPLAY, self._info.instruments)
        self.start_time = START.astimezone(UTC)
        self.end_time = self.start_time + timedelta(seconds=length)
        self.position = self.start_time
        self.speed = 1.0
        self.paused = False
        self._wake = asyncio.Event()
        self._reset = False
        self._sent_first = False
        self.end_events = False

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        self._wake.set()

    def seek(self, delta: timedelta) -> None:
        self.seek_to(self.position + delta)

    def seek_to(self, moment: datetime) -> None:
        self.position = min(max(moment.astimezone(UTC), self.start_time), self.end_time)
        self._reset = True
        self._wake.set()

    async def events(self) -> AsyncIterator[EventBatch]:
        while not self._closed.is_set():
            if self.end_events and not self._reset:
                return  # end of the recording: a seek makes events() usable again
            if self._reset or not self._sent_first:
                i = int((self.position - self.start_time).total_seconds())
                self._status = FeedStatus(FeedState.LIVE, "replay", at=START)
                yield make_batch(
                    self._ticker, self._info.instruments, i, full=True, reset=self._reset
                )
                self._reset = False
                self._sent_first = True
            self._wake.clear()
            await self._wake.wait()


class FakeReplayFeed(FakeFeed):
    def __init__(self) -> None:
        super().__init__(source=Source.REPLAY)

    async def open(self, ticker: str) -> FakeReplaySession:
        name = ticker.upper()
        if name not in SPECS:
            raise UnknownTickerError(f"no recording for {name!r}")
        self.opened.append(name)
        session = FakeReplaySession(name)
        self.sessions.append(session)
        return session
