"""The built-in SIMULATED market: the default feed when no tastytrade credentials are set.

Nothing this feed produces is market data. It is a stochastic model whose events have the
shape, rate and units of the live tastytrade / dxFeed DXLink feed, so that the whole product
(ChainBook, exposure, levels, UI, recorder) runs end to end through the same
EventBatch → ChainBook path without an account. Its source is ``simulated`` everywhere: on the
screen, in snapshots and in recordings.

What is simulated (details in :mod:`gextui.feeds.sim_chain` and :mod:`gextui.feeds.sim_market`):

* chains shaped like the real ones: SPX (SPXW dailies incl. 0DTE, AM ``SPX`` third-Friday
  monthlies, quarterlies, LEAPS, ~20k contracts), NDX (NDXP + NDX), SPY, QQQ, IWM, and any other
  alphanumeric ticker as a generic stock whose spot is derived from its name;
* a random-walk underlying with intraday volatility and occasional jumps, on a New York market
  clock that runs ``speed`` times faster than real time (0DTE contracts decay toward 16:00 and
  expire);
* a skewed, sticky-moneyness smile with a vol-spot beta; Black–Scholes greeks (r = q = 0) from
  :mod:`gextui.core.greeks` at the current spot and time to settlement;
* open interest concentrated near the money and at round strikes, heavier in puts below spot,
  so that walls and a zero-gamma level exist and move; day volume accumulating through the day.

Event rate, as on DXLink: one batch every ``batch_period`` seconds; every contract gets a Greeks
event about every ``greeks_interval`` seconds (round-robin, ~1/10 of the chain per batch by
default); Summary (open interest; ``prev_close`` for the underlying) for all contracts in the
first batch of a session and again when it changes (each new trading day); several underlying
Trades per batch; option Trades as they happen; no Quote events. ``EventBatch.time`` is the
simulated market time; ``EventBatch.meta`` carries ``source`` (``simulated``), ``market``
(``open`` / ``closed``) and ``batch`` (the batch number).

Determinism: the same ``seed``, ticker, ``start`` and parameters give exactly the same batches.
Content depends only on the batch number; ``paced`` only decides whether to sleep between them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, time

from gextui.core.events import EventBatch
from gextui.core.expiry import NEW_YORK
from gextui.feeds.base import ChainInfo, FeedError, FeedState, FeedStatus, Source
from gextui.feeds.sim_chain import previous_trading_day, profile_for
from gextui.feeds.sim_market import MarketConfig, SimulatedMarket, is_market_open

__all__ = ["SimulatedFeed", "SimulatedSession", "default_start"]

LIVE_REASON = "simulated market"
DEFAULT_START_TIME = time(10, 0)


def default_start(now: datetime | None = None) -> tuple[datetime, str]:
    """Where the market clock starts when none is given, and why.

    During New York regular hours on a trading day: ``now`` (reason ""). Otherwise 10:00
    America/New_York on the most recent trading day, today included (so before the open or
    after the close of a weekday, today's session; on a weekend or holiday, the last one),
    with a reason the status line can show.
    """
    moment = (now or datetime.now(UTC)).astimezone(NEW_YORK)
    if is_market_open(moment):
        return moment, ""
    day = previous_trading_day(moment.date())
    start = datetime.combine(day, DEFAULT_START_TIME, tzinfo=NEW_YORK)
    why = f"market closed now: simulating {day:%a %b %d} from 10:00 ET"
    return start, why


class SimulatedSession:
    """One open ticker of a :class:`SimulatedFeed` (satisfies ``FeedSession``).

    ``events()`` yields batches until :meth:`aclose`; :meth:`step` produces the next batch
    synchronously (no pacing), for headless snapshots, tests and benchmarks.
    """

    def __init__(
        self, market: SimulatedMarket, info: ChainInfo, reason: str, *, paced: bool
    ) -> None:
        self._market = market
        self._info = info
        self._live_reason = f"{LIVE_REASON} — {reason}" if reason else LIVE_REASON
        self._paced = paced
        self._closed = asyncio.Event()
        self._status = FeedStatus(FeedState.CONNECTING, "starting the simulated market")

    @property
    def chain(self) -> ChainInfo:
        return self._info

    @property
    def status(self) -> FeedStatus:
        return self._status

    @property
    def market(self) -> SimulatedMarket:
        """The underlying model state (spot, clock, open interest…), read-only by convention."""
        return self._market

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    @property
    def warmup_batches(self) -> int:
        """Unpaced batches after which every live contract has had Greeks and open interest
        (Summary arrives in the first batch; Greeks take one round-robin cycle)."""
        return self._market.config.batches_per_greeks_cycle

    def step(self) -> EventBatch:
        """The next batch, produced now (no sleeping)."""
        if self.closed:
            raise FeedError("simulated session is closed")
        batch = self._market.next_batch()
        if self._status.state is FeedState.CONNECTING:
            self._status = FeedStatus(FeedState.LIVE, self._live_reason)
        return batch

    async def events(self) -> AsyncIterator[EventBatch]:
        """Batches every ``batch_period`` seconds (paced) or back to back (unpaced)."""
        period = self._market.config.batch_period
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        while not self.closed:
            yield self.step()
            if not self._paced:
                await asyncio.sleep(0)  # stay cooperative
                continue
            deadline += period
            delay = deadline - loop.time()
            if delay < -1.0:  # consumer far behind: re-anchor, never skip or bunch up
                deadline = loop.time()
                delay = 0.0
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closed.wait(), delay)
            else:
                await asyncio.sleep(0)

    async def set_expirations(self, expirations: Sequence[date] | None) -> None:
        """Greeks and option Trades only for these expirations (None: all), like a live feed
        subscribing only what the user looks at. The simulated market itself is unaffected."""
        self._market.set_subscription(expirations)

    async def aclose(self) -> None:
        self._closed.set()
        self._status = FeedStatus(FeedState.CLOSED, "closed")


class SimulatedFeed:
    """The simulated market feed (satisfies ``Feed``); see the module docstring.

    Parameters (keyword-only):

    * ``seed`` – random seed; with the same ticker, start and parameters, identical events.
    * ``speed`` – the market clock runs this many times faster than real time.
    * ``greeks_interval`` – real seconds between two Greeks events of one contract.
    * ``batch_period`` – real seconds between batches.
    * ``start`` – market clock start (naive = New York time); default :func:`default_start`.
    * ``paced`` – False: no sleeping, batches as fast as they can be made.

    Each ticker's market (chain, price path, volumes, clock) is kept when its session closes,
    so switching back continues where it was (its clock paused meanwhile); a new session first
    receives a snapshot (Summary for all contracts and the latest Trade of every traded
    contract). Opening a ticker whose previous session is still open closes that session.

    Headless use (snapshots, tests): ``paced=False`` and ``session.warmup_batches`` batches
    (``greeks_interval / batch_period``, 10 by default) give every live contract Greeks and
    open interest; ``session.step()`` makes one batch synchronously.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        speed: float = 1.0,
        greeks_interval: float = 1.0,
        batch_period: float = 0.1,
        start: datetime | None = None,
        paced: bool = True,
    ) -> None:
        if not speed > 0 or not greeks_interval > 0 or not batch_period > 0:
            raise ValueError("speed, greeks_interval and batch_period must be positive")
        if speed * batch_period > 6 * 3600:
            raise ValueError("speed × batch_period must stay under 6 hours of market time")
        self.config = MarketConfig(
            seed=seed, speed=speed, greeks_interval=greeks_interval, batch_period=batch_period
        )
        if start is None:
            self.start, self.start_reason = default_start()
        else:
            aware = start if start.tzinfo is not None else start.replace(tzinfo=NEW_YORK)
            self.start, self.start_reason = aware, ""
        self.paced = paced
        self._markets: dict[str, SimulatedMarket] = {}
        self._sessions: dict[str, SimulatedSession] = {}

    @property
    def source(self) -> Source:
        return Source.SIMULATED

    async def open(self, ticker: str) -> SimulatedSession:
        """Open ``ticker`` (raises ``UnknownTickerError`` for a malformed name). The first
        open of a ticker builds its chain off the event loop (~0.1 s for SPX)."""
        profile = profile_for(ticker)
        name = profile.ticker
        previous = self._sessions.pop(name, None)
        if previous is not None:
            await previous.aclose()
        market = self._markets.get(name)
        if market is None:
            market = await asyncio.to_thread(SimulatedMarket, profile, self.start, self.config)
            self._markets[name] = market
        else:
            market.request_snapshot()
            market.set_subscription(None)
        info = ChainInfo(
            ticker=name,
            underlying_symbol=profile.underlying_symbol,
            source=Source.SIMULATED,
            instruments=market.chain.instruments,
        )
        session = SimulatedSession(market, info, self.start_reason, paced=self.paced)
        self._sessions[name] = session
        return session

    async def aclose(self) -> None:
        for session in list(self._sessions.values()):
            await session.aclose()
        self._sessions.clear()
        self._markets.clear()
