"""The built-in SIMULATED market: the default feed when no tastytrade credentials are set.

Nothing this feed produces is market data. It is a stochastic model whose events have the
shape, rate and units of the live tastytrade / dxFeed DXLink feed, so that the whole product
(ChainBook, exposure, levels, UI, recorder) runs end to end through the same
EventBatch → ChainBook path without an account. Its source is ``simulated`` everywhere: on the
screen, in snapshots and in recordings.

What is simulated (details in :mod:`gextui.feeds.sim_chain` and :mod:`gextui.feeds.sim_market`):

* one coherent market of well-known underlyings (``KNOWN_TICKERS``: SPX, SPY, NDX, QQQ, RUT,
  IWM, DIA and large caps such as AAPL, MSFT, NVDA, …) at plausible levels, with chains shaped
  like the real ones (SPX: SPXW dailies incl. 0DTE, AM ``SPX`` third-Friday monthlies,
  quarterlies, LEAPS, ~20k contracts). Any other ticker is refused with
  ``UnknownTickerError("no simulated chain for FOOBAR; known: …")``;
* every ticker opened from one feed shares one market clock (running ``speed`` times faster
  than real time) and one factor model: SPY ≈ SPX / 10 with a small basis, QQQ ≈ NDX / 41,
  IWM ≈ RUT / 10, large caps correlated with the index plus their own noise;
* market hours: the regular session 09:30–16:00 America/New_York on NYSE trading days. Outside
  it the market is closed: no events after a new subscriber's snapshot (the last close state),
  status :attr:`FeedState.MARKET_CLOSED` with the next open; 0DTE contracts expire at 16:00.
  A clock running across 16:00 closes the market and reopens it the next trading day at 09:30
  (a new session: prev close, open interest rolled from the day's volume, volume from zero);
* a skewed, sticky-moneyness smile with a vol-spot beta; Black–Scholes greeks (r = q = 0) from
  :mod:`gextui.core.greeks` at the current spot and time to settlement;
* open interest concentrated near the money and at round strikes, heavier in puts below spot,
  so that walls and a zero-gamma level exist and move; day volume accumulating through the day.

Event rate, as on DXLink, while the market is open: one batch every ``batch_period`` seconds;
every contract gets a Greeks event about every ``greeks_interval`` seconds (round-robin, ~1/10
of the chain per batch by default); Summary (open interest; ``prev_close`` for the underlying)
for all contracts in the first batch of a session and again when it changes (each new trading
day); several underlying Trades per batch; option Trades as they happen; no Quote events. While
closed, batches keep coming (the clock moves) but are empty after the snapshot.
``EventBatch.time`` is the simulated market time; ``EventBatch.meta`` carries ``source``
(``simulated``), ``market`` (``open`` / ``closed``) and ``batch`` (the shared batch number).

Determinism: the same ``seed``, ``start``, parameters and sequence of opens and steps give
exactly the same batches (``start`` defaults to the wall clock: pin it to reproduce a run).
Content depends only on batch numbers; ``paced`` only decides whether to sleep between them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime

from gextui.core.events import EventBatch
from gextui.core.expiry import NEW_YORK
from gextui.feeds.base import ChainInfo, FeedError, FeedState, FeedStatus, Source, wait_event
from gextui.feeds.sim_chain import KNOWN_TICKERS, profile_for
from gextui.feeds.sim_market import MarketConfig, MarketPath, SimulatedMarket, next_open

__all__ = ["KNOWN_TICKERS", "SimulatedFeed", "SimulatedSession", "default_start"]

LIVE_REASON = "simulated market"


def default_start(now: datetime | None = None) -> datetime:
    """Where the market clock starts when none is given: ``now`` (the wall clock), in New York
    time. At night or on a weekend the market is then closed and shows the last session's
    close state until the next 09:30."""
    return (now or datetime.now(UTC)).astimezone(NEW_YORK)


def closed_reason(moment: datetime) -> str:
    """``opens Wed Dec 02 09:30 ET``: the status reason while closed (short: the top line
    already says SIMULATED and "market closed")."""
    return f"opens {next_open(moment):%a %b %d %H:%M} ET"


class SimulatedSession:
    """One open ticker of a :class:`SimulatedFeed` (satisfies ``FeedSession``).

    ``events()`` yields batches until :meth:`aclose`; :meth:`step` produces the next batch
    synchronously (no pacing), for headless snapshots, tests and benchmarks.
    """

    def __init__(
        self,
        market: SimulatedMarket,
        info: ChainInfo,
        *,
        paced: bool,
        lock: threading.Lock | None = None,
    ) -> None:
        self._market = market
        self._info = info
        self._paced = paced
        # the feed's markets share one MarketPath: one batch is made at a time
        self._lock = lock or threading.Lock()
        self._closed = asyncio.Event()
        self._status = FeedStatus(FeedState.CONNECTING, "starting the simulated market")

    @property
    def chain(self) -> ChainInfo:
        return self._info

    @property
    def status(self) -> FeedStatus:
        """CONNECTING before the first batch; then LIVE ("simulated market") in the regular
        session and MARKET_CLOSED ("opens Wed Dec 02 09:30 ET") outside
        it, by the market's clock; CLOSED after :meth:`aclose`."""
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
        with self._lock:
            batch = self._market.next_batch()
        open_now = batch.meta["market"] == "open"
        state = FeedState.LIVE if open_now else FeedState.MARKET_CLOSED
        if self._status.state is not state or (not open_now and self._reopens_passed(batch)):
            reason = LIVE_REASON if open_now else closed_reason(batch.time)
            self._status = FeedStatus(state, reason, at=batch.time)
        return batch

    def _reopens_passed(self, batch: EventBatch) -> bool:
        """While closed, whether the reason's "opens …" needs updating (a holiday passed)."""
        return self._status.reason != closed_reason(batch.time)

    async def events(self) -> AsyncIterator[EventBatch]:
        """Batches every ``batch_period`` seconds (paced) or back to back (unpaced)."""
        period = self._market.config.batch_period
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        while not self.closed:
            # paced (the monitor): made in a thread, a whole SPX batch is 10–30 ms of numpy
            # that would otherwise block the event loop; unpaced (headless): at once
            yield (await asyncio.to_thread(self.step)) if self._paced else self.step()
            if not self._paced:
                await asyncio.sleep(0)  # stay cooperative
                continue
            deadline += period
            delay = deadline - loop.time()
            if delay < -1.0:  # consumer far behind: re-anchor, never skip or bunch up
                deadline = loop.time()
                delay = 0.0
            if delay > 0:
                await wait_event(self._closed, delay)
            else:
                await asyncio.sleep(0)

    async def set_expirations(self, expirations: Sequence[date] | None) -> None:
        """Greeks and option Trades only for these expirations (None: all), like a live feed
        subscribing only what the user looks at. The simulated market itself is unaffected."""

        def apply() -> None:
            with self._lock:  # a batch may be in the making in a thread
                self._market.set_subscription(expirations)

        await asyncio.to_thread(apply)

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
    * ``start`` – market clock start, an aware datetime (naive = New York time), e.g. what
      ``--start "2026-11-24 10:00"`` gives; default :func:`default_start` (now). With the same
      seed, start and parameters, identical batches.
    * ``paced`` – False: no sleeping, batches as fast as they can be made.

    All tickers share one :class:`~gextui.feeds.sim_market.MarketPath`: one clock and one
    coherent set of prices. A ticker opened later joins at the shared clock (the most advanced
    batch any ticker produced), never before it. Each ticker's market (chain, volumes) is kept
    when its session closes; reopening it catches up with the shared clock (sessions that
    opened meanwhile roll over) and first sends a snapshot (Summary for all contracts, the
    latest Trade of every traded contract, one Greeks cycle). Opening a ticker whose previous
    session is still open closes that session.

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
            self.start = default_start()
        else:
            self.start = start if start.tzinfo is not None else start.replace(tzinfo=NEW_YORK)
        self.paced = paced
        self._path: MarketPath | None = None
        self._markets: dict[str, SimulatedMarket] = {}
        self._sessions: dict[str, SimulatedSession] = {}
        self._lock = threading.Lock()

    @property
    def source(self) -> Source:
        return Source.SIMULATED

    @property
    def path(self) -> MarketPath:
        """The shared market (clock and prices), made on first use."""
        if self._path is None:
            self._path = MarketPath(self.start, self.config)
        return self._path

    async def open(self, ticker: str) -> SimulatedSession:
        """Open ``ticker`` (``UnknownTickerError`` for a name not in ``KNOWN_TICKERS``). The
        first open of a ticker builds its chain off the event loop (~0.1 s for SPX)."""
        profile = profile_for(ticker)
        name = profile.ticker
        previous = self._sessions.pop(name, None)
        if previous is not None:
            await previous.aclose()
        market = self._markets.get(name)
        if market is None:
            path = self.path

            def build() -> SimulatedMarket:
                with self._lock:  # other tickers' batches move the shared path meanwhile
                    return SimulatedMarket(profile, path, path.head)

            market = await asyncio.to_thread(build)
            self._markets[name] = market
        else:
            with self._lock:
                market.catch_up()
                market.request_snapshot()
                market.set_subscription(None)
        info = ChainInfo(
            ticker=name,
            underlying_symbol=profile.underlying_symbol,
            source=Source.SIMULATED,
            instruments=market.chain.instruments,
        )
        session = SimulatedSession(market, info, paced=self.paced, lock=self._lock)
        self._sessions[name] = session
        return session

    async def aclose(self) -> None:
        for session in list(self._sessions.values()):
            await session.aclose()
        self._sessions.clear()
        self._markets.clear()
        self._path = None
