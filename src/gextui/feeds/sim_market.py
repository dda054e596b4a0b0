"""Dynamics of the simulated market: one clock, coherent prices, implied vols, greeks, volume.

Everything here is SIMULATED: a stochastic model whose output has the shape of live dxFeed
data (Greeks, Summary and Trade events), not market observations.

Clock and market hours
----------------------
One :class:`MarketPath` per feed holds the market clock (America/New_York) and the price path
of every simulated underlying. Batch ``n`` is stamped ``start + n · batch_period · speed`` for
every ticker: the clock is shared, and content depends only on batch numbers, never on
wall-clock timing. The regular session is 09:30–16:00 on trading days (NYSE holidays by rule,
no early closes). Outside it the market is closed: prices stand still and a ticker emits no
events at all, except the snapshot a new subscriber gets (Summary, latest Trades, one Greeks
cycle, so a book is full at once, showing the last close); time to expiry keeps shrinking, so
a 0DTE option decays toward its 16:00 settlement and is expired (never emitted again) after
it. At each new session open the previous close becomes ``prev_close``, day volumes restart
from zero and open interest is updated from the previous day's volume. Started outside the
session, a ticker shows the last session's close state (its full day volume, its close).

One coherent market
-------------------
Log prices follow a factor model in session time: a market factor (SPX itself, realised vol ≈
0.85 × SPX's short-dated ATM implied vol, scaled by the vol level and an intraday U-shape —
busier after the open and before the close — with occasional jumps, about three a day, ~0.3 %,
slightly skewed down, compensated so they add no drift), sector factors (tech for NDX and the
tech large caps, small caps for RUT, the Dow for DIA) and each stock's own noise, sized so that
every underlying's realised vol is ≈ 0.85 × its own ATM implied vol. ETFs follow their index:
SPY = SPX × 0.09965, QQQ = NDX / 41, IWM = RUT × 0.0992, each times a tiny basis noise (a few
hundred-thousandths). The path is generated in blocks of :data:`BLOCK_BATCHES` batches from
``(seed, block number)`` alone, for every ticker of the universe at once, so a ticker's prices at
batch ``n`` do not depend on when (or whether) it was opened: one opened later joins at the
shared clock, at the price the market has there.

Implied volatility
------------------
``iv = L · atm(T) · exp(−skew · z + c · z²) · ε`` with ``z = ln(K/S) / √T`` (the exponent
clipped to [−0.5, 2]; ``c`` = the profile's curvature for z > 0, a fifth of it for z < 0):

* ``atm(T)`` rises from the profile's short-dated to its long-dated level (term structure);
* the smile is sticky in moneyness (it moves with spot) and skewed, so low strikes (puts below
  spot) are richer than high strikes the same distance above spot; in strike terms it narrows
  as T shrinks (a 0DTE smile is steep, a LEAPS smile flat);
* ``L = exp(u − β · ln(S/S₀))`` is the vol level: a vol-spot beta β (spot down → vols up) plus
  a mean-reverting random market vol factor ``u`` (shared by all tickers) that also jumps up on
  down-jumps of the market;
* ``ε`` is a small fixed per-contract noise (±0.5 %).

Greeks are Black–Scholes with r = q = 0 at the current spot and time to settlement
(:func:`gextui.core.expiry.years_to_settlement`, floored at one hour), computed with
:mod:`gextui.core.greeks`: gamma, delta (puts negative), theta per calendar day, vega per one
vol point, price = the model mark. As on DXLink, every contract gets a Greeks event about every
``greeks_interval`` seconds, spread round-robin over the batches in a fixed shuffled order.

Volume
------
Option trades arrive as a Poisson stream (rate from the ticker's daily volume, busier near the
money and in short expirations); each Trade event carries the contract's accumulated
``day_volume``. A ticker starting (or reopened) mid-session begins with the volume a session
would have accumulated by then.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from gextui.core.events import EventBatch
from gextui.core.expiry import NEW_YORK, years_to_settlement
from gextui.core.greeks import delta as bs_delta
from gextui.core.greeks import gamma as bs_gamma
from gextui.core.greeks import norm_cdf, norm_pdf
from gextui.feeds.sim_chain import (
    SimChain,
    TickerProfile,
    generate_chain,
    is_trading_day,
    known_profiles,
    name_hash,
)

F64Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

SESSION_OPEN: Final = time(9, 30)
SESSION_CLOSE: Final = time(16, 0)
SESSION_SECONDS: Final = 6.5 * 3600.0
TRADING_YEAR_SECONDS: Final = 252.0 * SESSION_SECONDS
UNDERLYING_TRADES_PER_SECOND: Final = 20.0  # real seconds; several per batch
JUMPS_PER_SESSION: Final = 3.0
JUMP_MEAN: Final = -0.001  # log-return of a jump: slightly skewed down …
JUMP_SD: Final = 0.003  # … and about 0.3 % in size
MAX_OPTION_TRADES_PER_BATCH: Final = 2000
MEAN_TRADE_SIZE: Final = 8.0
DAY_VOLUME_FRACTION: Final = 0.2  # daily option volume ≈ 20 % of total open interest
PUT_WING_CURVATURE: Final = 0.2  # the put wing is nearly linear in z, the call wing curls up
VOL_MEAN_REVERSION: Final = 20.0  # per trading year (half-life ≈ 9 trading days)
VOL_OF_VOL: Final = 0.9  # per √(trading year)
REALISED_OVER_IMPLIED: Final = 0.85  # realised vol ≈ 0.85 × short-dated ATM implied vol
SECTOR_VOLS: Final[dict[str, float]] = {"tech": 0.06, "small": 0.115, "dow": 0.025}
BASIS_SD: Final = 2e-5  # an ETF's basis noise around parent × ratio (log, per print)
BLOCK_BATCHES: Final = 256  # the price path is made this many batches at a time …
KEEP_BLOCKS: Final = 16  # … and kept this many blocks behind the clock


@dataclass(frozen=True, slots=True)
class MarketConfig:
    """Pacing-independent parameters of the simulation (all times in real seconds)."""

    seed: int = 0
    speed: float = 1.0
    greeks_interval: float = 1.0
    batch_period: float = 0.1

    @property
    def market_seconds_per_batch(self) -> float:
        return self.batch_period * self.speed

    @property
    def batches_per_greeks_cycle(self) -> int:
        """Batches it takes for every contract to get one Greeks event."""
        return max(1, round(self.greeks_interval / self.batch_period))


def session_bounds(day: date) -> tuple[datetime, datetime]:
    return (
        datetime.combine(day, SESSION_OPEN, tzinfo=NEW_YORK),
        datetime.combine(day, SESSION_CLOSE, tzinfo=NEW_YORK),
    )


def is_market_open(moment: datetime) -> bool:
    """Regular New York session (09:30–16:00) on a trading day (NYSE holidays by rule)."""
    local = moment.astimezone(NEW_YORK)
    return is_trading_day(local.date()) and SESSION_OPEN <= local.time() < SESSION_CLOSE


def session_day(moment: datetime) -> date:
    """The trading day whose session is the latest to have opened at ``moment`` (its state
    is what the market shows: before 09:30 or on a holiday, the previous session's close)."""
    local = moment.astimezone(NEW_YORK)
    day = local.date()
    if not (is_trading_day(day) and local.time() >= SESSION_OPEN):
        day -= timedelta(days=1)
        while not is_trading_day(day):
            day -= timedelta(days=1)
    return day


def next_open(moment: datetime) -> datetime:
    """The next regular-session open (09:30 New York) after ``moment``."""
    local = moment.astimezone(NEW_YORK)
    day = local.date()
    if not (is_trading_day(day) and local.time() < SESSION_OPEN):
        day += timedelta(days=1)
        while not is_trading_day(day):
            day += timedelta(days=1)
    return datetime.combine(day, SESSION_OPEN, tzinfo=NEW_YORK)


def open_seconds(t0: datetime, t1: datetime) -> list[tuple[date, float]]:
    """Per trading day, the session seconds inside (t0, t1]."""
    out: list[tuple[date, float]] = []
    day = t0.astimezone(NEW_YORK).date()
    last = t1.astimezone(NEW_YORK).date()
    while day <= last:
        if is_trading_day(day):
            lo, hi = session_bounds(day)
            secs = (min(t1, hi) - max(t0, lo)).total_seconds()
            if secs > 0:
                out.append((day, secs))
        day += timedelta(days=1)
    return out


def intraday_shape(moment: datetime) -> float:
    """Relative activity through the session: U-shaped, ≈1.4 at the open, 0.8 midday."""
    local = moment.astimezone(NEW_YORK)
    lo, hi = session_bounds(local.date())
    since = max((local - lo).total_seconds(), 0.0) / 60.0
    until = max((hi - local).total_seconds(), 0.0) / 60.0
    return 0.8 + 0.6 * math.exp(-since / 30.0) + 0.4 * math.exp(-until / 30.0)


def implied_vol(
    profile: TickerProfile,
    level: float,
    spot: float,
    strike: F64Array,
    t: F64Array,
    noise: F64Array,
) -> F64Array:
    """The model smile (see module docstring); NaN where ``t`` is NaN (expired)."""
    atm = profile.vol_short + (profile.vol_long - profile.vol_short) * (1.0 - np.exp(-t / 0.5))
    z = np.log(strike / spot) / np.sqrt(t)
    curv = np.where(z < 0, PUT_WING_CURVATURE * profile.curvature, profile.curvature)
    shape = np.clip(-profile.skew * z + curv * z * z, -0.5, 2.0)
    return np.asarray(np.clip(level * atm * np.exp(shape) * noise, 0.03, 4.0), dtype=np.float64)


def bs_block(
    spot: float, strike: F64Array, iv: F64Array, t: F64Array, is_call: npt.NDArray[np.bool_]
) -> dict[str, F64Array]:
    """gamma, delta (core greeks), theta per day, vega per vol point and the mark price."""
    sq = np.sqrt(t)
    vol_t = iv * sq
    d1 = (np.log(spot / strike) + 0.5 * iv * iv * t) / vol_t
    d2 = d1 - vol_t
    pdf = norm_pdf(d1)
    call_px = spot * norm_cdf(d1) - strike * norm_cdf(d2)
    price = np.where(is_call, call_px, call_px - spot + strike)  # put-call parity, r = q = 0
    return {
        "gamma": bs_gamma(spot, strike, iv, t),
        "delta": bs_delta(spot, strike, iv, t, is_call),
        "iv": iv,
        "theta": -spot * pdf * iv / (2.0 * sq) / 365.0,
        "vega": spot * pdf * sq * 0.01,
        "price": np.maximum(price, 0.0),
    }


def rng_for(seed: int, ticker: str, stream: int) -> np.random.Generator:
    """Independent, reproducible random stream per (seed, ticker, purpose)."""
    h = name_hash(ticker)
    return np.random.default_rng(
        np.random.SeedSequence([seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF,
                                h & 0xFFFFFFFF, h >> 32, stream])
    )  # fmt: skip


def _seed_words(seed: int) -> list[int]:
    return [seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF]


@dataclass(frozen=True, slots=True)
class PathBlock:
    """:data:`BLOCK_BATCHES` batches of the market path from batch ``first`` on."""

    first: int
    open_secs: F64Array  # (B,) session seconds inside each batch
    move: F64Array  # (B, k, N) log(S / S₀) of every ticker at every print
    vol_factor: F64Array  # (B,) the market vol factor u at each batch's end


class MarketPath:
    """The shared clock and the price paths of every simulated underlying (see the module
    docstring); deterministic for (start, config). Thread-safe (a ticker's market may be
    built in a worker thread while others step on the event loop).

    ``head`` is the shared clock: the next batch number no ticker has produced yet; a ticker
    that opens (or reopens) starts there, so its clock never goes back.
    """

    def __init__(
        self,
        start: datetime,
        config: MarketConfig,
        profiles: Sequence[TickerProfile] | None = None,
    ) -> None:
        self.start = start.astimezone(UTC)
        self.config = config
        self.profiles = tuple(profiles if profiles is not None else known_profiles())
        self.index = {p.ticker: i for i, p in enumerate(self.profiles)}
        self.k = max(1, round(UNDERLYING_TRADES_PER_SECOND * config.batch_period))
        self.head = 0
        n = len(self.profiles)
        base = np.asarray([self.index.get(p.parent or p.ticker, i)
                           for i, p in enumerate(self.profiles)])  # fmt: skip
        self._parent = base  # a ticker's own index unless it tracks a parent index
        self._derived = base != np.arange(n)
        market = self.profiles[self.index["SPX"]] if "SPX" in self.index else self.profiles[0]
        self._market_vol = REALISED_OVER_IMPLIED * market.vol_short
        self._market_vs_beta = market.vol_spot_beta
        self._sector_of = np.asarray(
            [list(SECTOR_VOLS).index(p.sector) if p.sector else 0 for p in self.profiles]
        )
        self._sector_vol = np.asarray(
            [SECTOR_VOLS[p.sector] if p.sector else 0.0 for p in self.profiles]
        )
        self._beta = np.asarray([p.beta for p in self.profiles])
        self._sector_beta = np.asarray([p.sector_beta for p in self.profiles])
        target = np.asarray([REALISED_OVER_IMPLIED * p.vol_short for p in self.profiles])
        systematic = (self._beta * self._market_vol) ** 2 + (
            self._sector_beta * self._sector_vol
        ) ** 2
        own = target**2 - systematic
        floor = np.asarray([(0.3 * t) ** 2 if p.calendar == "equity" else 0.0
                            for t, p in zip(target, self.profiles, strict=True)])  # fmt: skip
        self._idio = np.sqrt(np.maximum(own, floor))
        self._variance = systematic + self._idio**2
        # start levels (±1 %) and the previous close, from the seed alone
        rng = np.random.default_rng(np.random.SeedSequence([*_seed_words(config.seed), 0x5EED]))
        z0 = rng.standard_normal(n)
        z_day = rng.standard_normal((3 + 2, n))
        ref = np.asarray([p.spot for p in self.profiles])
        s0 = ref * np.exp(0.01 * z0)
        s0 = np.where(self._derived, s0[base] / ref[base] * ref * np.exp(BASIS_SD * z0), s0)
        day = 1.0 / math.sqrt(252.0)
        r_day = (
            self._beta * self._market_vol * day * z_day[0, 0]
            + self._sector_beta * self._sector_vol * day * z_day[1 + self._sector_of, 0]
            + self._idio * day * z_day[4]
        )
        prev = s0 * np.exp(-r_day)
        prev = np.where(self._derived, prev[base] / s0[base] * s0, prev)
        self.spot0: F64Array = np.round(s0, 2)
        self._s0 = np.asarray(s0, dtype=np.float64)
        first_day = session_day(self.start)
        self._session = first_day
        self.prev_closes: dict[date, F64Array] = {first_day: np.round(prev, 2)}
        # generator state at the end of the last block made
        self._lock = threading.Lock()
        self._blocks: dict[int, PathBlock] = {}
        self._next_block = 0
        self._lowest = 0
        self._u = 0.0
        self._f = 0.0  # the market factor's log move (for the market vol level)
        self._move = np.zeros(n)
        self._last_move = np.zeros(n)
        self._basis = np.zeros(n)  # the ETFs' basis noise now (0: the start level's)
        self._t_prev = self.start

    # ------------------------------------------------------------------ clock
    def batch_time(self, n: int) -> datetime:
        return self.start + timedelta(
            microseconds=round(n * self.config.market_seconds_per_batch * 1e6)
        )

    def available(self, n: int) -> bool:
        """Whether batch ``n`` can still be read (blocks far behind the clock are dropped)."""
        return n // BLOCK_BATCHES >= self._lowest

    def claim(self, n: int) -> None:
        """A ticker produces batch ``n``: the shared clock is at least past it."""
        if n + 1 <= self.head:
            return
        with self._lock:
            self.head = max(self.head, n + 1)
            low = max(0, n // BLOCK_BATCHES - KEEP_BLOCKS)
            if low > self._lowest:
                for b in range(self._lowest, low):
                    self._blocks.pop(b, None)
                self._lowest = low

    # ------------------------------------------------------------------ reading
    def _block(self, n: int) -> tuple[PathBlock, int]:
        b = n // BLOCK_BATCHES
        with self._lock:
            if b < self._lowest:
                raise LookupError(f"batch {n} is no longer kept")
            while self._next_block <= b:
                self._blocks[self._next_block] = self._make_block(self._next_block)
                self._next_block += 1
            return self._blocks[b], n - b * BLOCK_BATCHES

    def prices(self, i: int, n: int) -> F64Array:
        """The ``k`` exact (unrounded) prints of ticker ``i`` in batch ``n``."""
        block, row = self._block(n)
        return np.asarray(self._s0[i] * np.exp(block.move[row, :, i]), dtype=np.float64)

    def last_price(self, i: int, n: int) -> float:
        """Ticker ``i``'s price at the end of batch ``n`` (its start level before batch 0)."""
        if n < 0:
            return float(self._s0[i])
        block, row = self._block(n)
        return float(self._s0[i] * math.exp(block.move[row, -1, i]))

    def open_secs(self, n: int) -> float:
        block, row = self._block(n)
        return float(block.open_secs[row])

    def vol_factor(self, n: int) -> float:
        if n < 0:
            return 0.0
        block, row = self._block(n)
        return float(block.vol_factor[row])

    def prev_close(self, i: int, day: date, default: float) -> float:
        """Ticker ``i``'s close of the session before ``day``'s; ``default`` (the current
        price, which is that close) while the path has not yet passed ``day``'s open."""
        closes = self.prev_closes.get(day)
        return default if closes is None else float(closes[i])

    # ------------------------------------------------------------------ making blocks
    def _make_block(self, b: int) -> PathBlock:
        big, k, n = BLOCK_BATCHES, self.k, len(self.profiles)
        rng = np.random.default_rng(
            np.random.SeedSequence([*_seed_words(self.config.seed), 0x9A7B, b])
        )
        steps = big * k
        z_m = rng.standard_normal(steps)
        u_jump = rng.random(steps)
        z_jump = rng.standard_normal(steps)
        z_vol = rng.standard_normal(steps)
        z_sector = rng.standard_normal((len(SECTOR_VOLS), steps))
        z_own = rng.standard_normal((n, steps))
        z_basis = rng.standard_normal((n, steps))
        open_secs = np.zeros(big)
        dt = np.zeros(steps)  # session seconds per print
        shape = np.ones(steps)
        closes: list[tuple[int, date]] = []  # (step index where a session opens, its day)
        for r in range(big):
            nb = b * big + r
            t = self.batch_time(nb)
            if nb > 0:
                for day, secs in open_seconds(self._t_prev, t):
                    open_secs[r] += secs
                    if day != self._session:
                        closes.append((r * k, day))
                        self._session = day
            self._t_prev = t
            if open_secs[r] > 0:
                dt[r * k : (r + 1) * k] = open_secs[r] / k
                shape[r * k : (r + 1) * k] = intraday_shape(t)
        d_market = np.zeros(steps)
        scale = np.zeros(steps)  # vol level × intraday shape
        u_end = np.zeros(steps)
        u, f = self._u, self._f
        sigma_m, vs_beta = self._market_vol, self._market_vs_beta
        for j in np.flatnonzero(dt > 0).tolist():  # sequential: vol level feeds back
            lvl = min(max(math.exp(u - vs_beta * f), 0.4), 4.0)
            scale[j] = lvl * shape[j]
            dt_y = dt[j] / TRADING_YEAR_SECONDS
            jump_prob = JUMPS_PER_SESSION * dt[j] / SESSION_SECONDS
            jump = -jump_prob * JUMP_MEAN  # compensator: no drift from the jumps on average
            if u_jump[j] < jump_prob:
                jump += JUMP_MEAN + JUMP_SD * z_jump[j]
            step = sigma_m * scale[j] * math.sqrt(dt_y) * z_m[j] + jump
            d_market[j] = step
            f += step - 0.5 * (sigma_m * scale[j]) ** 2 * dt_y
            u += -VOL_MEAN_REVERSION * u * dt_y
            u += VOL_OF_VOL * math.sqrt(dt_y) * z_vol[j] - 2.0 * min(jump, 0.0)
            u_end[j] = u
        # u at every print (carried through closed stretches)
        has = dt > 0
        carried = np.maximum.accumulate(np.where(has, np.arange(steps), -1))
        u_all = np.where(carried >= 0, u_end[np.maximum(carried, 0)], self._u)
        self._u, self._f = u, f
        root_dt = np.sqrt(dt / TRADING_YEAR_SECONDS) * scale  # (steps,)
        inc = (
            self._beta[:, None] * d_market[None, :]
            + (self._sector_beta * self._sector_vol)[:, None]
            * z_sector[self._sector_of]
            * root_dt[None, :]
            + self._idio[:, None] * z_own * root_dt[None, :]
            - 0.5 * self._variance[:, None] * root_dt[None, :] ** 2
        )  # (N, steps)
        move = self._move[:, None] + np.cumsum(inc, axis=1)
        self._move = move[:, -1].copy()
        # ETFs: the parent's move plus a tiny basis noise
        parent = self._parent
        derived = self._derived
        basis = np.where(
            carried >= 0, BASIS_SD * z_basis[:, np.maximum(carried, 0)], self._basis[:, None]
        )  # an ETF's basis changes with its prints, and stands still while closed
        self._basis = basis[:, -1].copy()
        move[derived] = move[parent[derived]] + basis[derived]
        for step_at, day in closes:  # the close before each new session (its last print)
            before = move[:, step_at - 1] if step_at > 0 else self._last_move
            self.prev_closes[day] = np.round(self._s0 * np.exp(before), 2)
        self._last_move = move[:, -1].copy()
        return PathBlock(
            first=b * big,
            open_secs=open_secs,
            move=np.ascontiguousarray(move.T.reshape(big, k, n)),
            vol_factor=u_all.reshape(big, k)[:, -1].copy(),
        )


class SimulatedMarket:
    """The evolving state of one ticker's simulated market; :meth:`next_batch` steps it.

    It reads its price from the shared :class:`MarketPath` and starts at batch ``join``
    (default: the path's clock, ``head``). Not thread-safe; deterministic for (profile, path,
    order of operations).
    """

    def __init__(self, profile: TickerProfile, path: MarketPath, join: int | None = None) -> None:
        self.profile = profile
        self.path = path
        self.config = path.config
        config = path.config
        self._i = path.index[profile.ticker]
        join = path.head if join is None else join
        self.batch_index = join  # the next batch this ticker produces
        self.start = path.batch_time(join)  # the first batch's time
        self._rng = rng_for(config.seed, profile.ticker, 1)
        chain_rng = rng_for(config.seed, profile.ticker, 0)
        self.ref_spot = float(path.spot0[self._i])  # S₀ of the vol level
        self.spot = round(path.last_price(self._i, join - 1), 2)  # the last printed price
        self.spot0 = self.spot  # the chain is listed around the spot at the join
        self.chain: SimChain = generate_chain(profile, self.start, self.spot0, chain_rng)
        n = self.chain.size
        self.symbols: pl.Series = self.chain.instruments["symbol"]
        # option symbols + the underlying's at index ``size`` (one gather builds any frame)
        self._symbols_und = pl.concat(
            [self.symbols, pl.Series("symbol", [profile.underlying_symbol])], rechunk=True
        )
        self.open_interest = self.chain.open_interest.copy()
        self.day_volume = np.zeros(n)
        self.last_price = np.full(n, np.nan)
        self.now = self.start
        self.vol_factor = path.vol_factor(join - 1)
        self.underlying_volume = 0.0
        self._perm = chain_rng.permutation(n).astype(np.int64)
        self._cursor = 0
        self._subscribed: npt.NDArray[np.bool_] | None = None
        self._trade_cdf: F64Array | None = None
        self._trade_cdf_batch = -1
        self.session_date: date = session_day(self.start)
        path.open_secs(join)  # the path knows the session of the first batch
        self.prev_close = round(path.prev_close(self._i, self.session_date, self.spot), 2)
        self._pending_summary = True
        self._greeks_quota = config.batches_per_greeks_cycle  # the snapshot's greeks cycle
        self._pending_volume_reset: IntArray | None = None
        self._add_session_volume(self._session_fraction(self.start))

    # ------------------------------------------------------------------ public helpers
    @property
    def size(self) -> int:
        return self.chain.size

    @property
    def level(self) -> float:
        """The vol level L (1.0 at the start spot with a neutral vol factor)."""
        lvl = math.exp(
            self.vol_factor - self.profile.vol_spot_beta * math.log(self.spot / self.ref_spot)
        )
        return min(max(lvl, 0.4), 4.0)

    @property
    def is_open(self) -> bool:
        """Whether the regular session is on at the ticker's clock."""
        return is_market_open(self.now)

    def time_to_expiry(self, idx: IntArray | None = None) -> F64Array:
        settle = self.chain.settlement_us if idx is None else self.chain.settlement_us[idx]
        return years_to_settlement(settle, self.now)

    def set_subscription(self, expirations: Sequence[date] | None) -> None:
        """Emit Greeks / option Trades only for these expirations (None: all). The market
        itself (price path, volumes) is unaffected. A changed subscription gets a Greeks
        cycle of its contracts even while the market is closed (their snapshot)."""
        if expirations is None:
            if self._subscribed is not None:
                self._greeks_quota = self.config.batches_per_greeks_cycle
            self._subscribed = None
            return
        days = np.asarray([(d - date(1970, 1, 1)).days for d in expirations], dtype=np.int64)
        subscribed = np.isin(self.chain.expiration_days, days)
        if self._subscribed is None or not np.array_equal(subscribed, self._subscribed):
            self._greeks_quota = self.config.batches_per_greeks_cycle  # their snapshot
        self._subscribed = subscribed

    def request_snapshot(self) -> None:
        """Next batches carry Summary for every contract, the latest Trade of every contract
        with volume and one Greeks cycle (what a fresh DXLink subscription receives first),
        also while the market is closed."""
        self._pending_summary = True
        self._greeks_quota = self.config.batches_per_greeks_cycle

    def catch_up(self) -> None:
        """Jump to the shared clock (a reopened ticker, or one far behind it): sessions that
        opened meanwhile roll over, volume accrues as it would have, the price is the path's."""
        head = self.path.head
        if head <= self.batch_index:
            return
        target = self.path.batch_time(head - 1)
        spot = round(self.path.last_price(self._i, head - 1), 2)  # (makes the path to there)
        for day, secs in open_seconds(self.now, target):
            if day != self.session_date:
                self._new_session(day)
            self._add_session_volume(secs / SESSION_SECONDS)
        self.now = target
        self.batch_index = head
        self.spot = spot
        self.vol_factor = self.path.vol_factor(head - 1)
        self._trade_cdf = None
        self.request_snapshot()

    # ------------------------------------------------------------------ stepping
    def next_batch(self) -> EventBatch:
        """Advance the clock by one batch and return its events."""
        path = self.path
        if not path.available(self.batch_index):
            self.catch_up()
        n = self.batch_index
        path.claim(n)
        open_secs = path.open_secs(n)  # (makes the path to here: closes known)
        t_prev = self.now
        self.now = path.batch_time(n)
        self.batch_index += 1
        for day, _secs in open_seconds(t_prev, self.now):
            if day != self.session_date:
                self._new_session(day)
        self.vol_factor = path.vol_factor(n)
        prices: list[float] = []
        if open_secs > 0:
            prices = np.round(path.prices(self._i, n), 2).tolist()
            self.spot = prices[-1]
        trade_parts: list[tuple[IntArray, F64Array, F64Array]] = []
        summary: pl.DataFrame | None = None
        # option trades first (they need marks at the new spot), then greeks
        option_trades = self._option_trades(open_secs, self._rng)
        if self._pending_volume_reset is not None and self._pending_volume_reset.size:
            trade_parts.append(self._trade_rows(self._pending_volume_reset))
            self._pending_volume_reset = None
        if self._pending_summary:
            summary = self._summary_all()
            traded = np.flatnonzero(self.day_volume > 0)
            if traded.size:
                trade_parts.append(self._trade_rows(traded))
            if not prices:
                prices = [self.spot]  # a subscriber learns the last price at once
            self._pending_summary = False
        if option_trades is not None:
            trade_parts.append(option_trades)
        if prices:
            und_idx = np.full(len(prices), self.size, dtype=np.int64)  # the underlying's row
            und_vol = self._underlying_volume_rows(len(prices), open_secs)
            trade_parts.append((und_idx, np.asarray(prices, dtype=np.float64), und_vol))
        greeks = None
        if open_secs > 0 or self._greeks_quota > 0:
            greeks = self._greeks_slice()
        self._greeks_quota = max(0, self._greeks_quota - 1)
        return EventBatch(
            time=self.now,
            greeks=greeks,
            summary=summary,
            trades=self._trades_frame(trade_parts) if trade_parts else None,
            meta={
                "source": "simulated",
                "market": "open" if is_market_open(self.now) else "closed",
                "batch": str(n),
            },
        )

    # ------------------------------------------------------------------ internals
    def _new_session(self, day: date) -> None:
        """A new regular session starts: prev close, OI from yesterday's volume, volume 0."""
        self.prev_close = round(self.path.prev_close(self._i, day, self.spot), 2)
        traded = self.day_volume > 0
        change = np.round(self.day_volume * self._rng.uniform(-0.2, 0.5, self.size))
        self.open_interest = np.maximum(self.open_interest + change, 0.0)
        self._pending_volume_reset = np.flatnonzero(traded)
        self.day_volume[:] = 0.0
        self.underlying_volume = 0.0
        self._pending_summary = True
        self.session_date = day

    def _session_fraction(self, moment: datetime) -> float:
        """How much of the shown session had passed at ``moment`` (1 after its close)."""
        lo, _ = session_bounds(self.session_date)
        return min(max((moment - lo).total_seconds() / SESSION_SECONDS, 0.0), 1.0)

    def _add_session_volume(self, frac: float) -> None:
        """Volume a session accumulates over ``frac`` of its length (a start mid-session,
        after the close, or a catch-up), with last prices at the current marks."""
        if frac <= 0:
            return
        total = self.profile.total_oi * DAY_VOLUME_FRACTION * frac
        w = self._activity_weights()
        add = np.floor(total * w / w.sum() * self._rng.gamma(2.0, 0.5, self.size))
        self.day_volume = self.day_volume + add
        marks = self._marks(np.arange(self.size, dtype=np.int64))
        fresh = add > 0
        self.last_price = np.where(fresh, np.round(marks, 2), self.last_price)
        if not self.profile.is_index:
            self.underlying_volume = float(round(self.underlying_volume + total * 30.0))

    def _activity_weights(self) -> F64Array:
        t = self.time_to_expiry()
        logm = np.log(self.chain.strike / self.spot)
        width = np.maximum(0.006, 0.8 * self.profile.vol_short * np.sqrt(np.nan_to_num(t)))
        w = np.exp(-0.5 * (logm / width) ** 2) / np.sqrt(np.nan_to_num(t, nan=1.0) + 0.003)
        w = w * self.chain.activity + 1e-6
        return np.asarray(np.where(np.isnan(t), 0.0, w), dtype=np.float64)

    def _marks(self, idx: IntArray) -> F64Array:
        t = self.time_to_expiry(idx)
        iv = implied_vol(
            self.profile, self.level, self.spot, self.chain.strike[idx], t, self.chain.iv_noise[idx]
        )
        return bs_block(self.spot, self.chain.strike[idx], iv, t, self.chain.is_call[idx])["price"]

    def _option_trades(
        self, open_secs: float, rng: np.random.Generator
    ) -> tuple[IntArray, F64Array, F64Array] | None:
        if open_secs <= 0:
            return None
        cycle = self.config.batches_per_greeks_cycle
        if self._trade_cdf is None or self.batch_index - self._trade_cdf_batch >= cycle:
            w = self._activity_weights()
            self._trade_cdf = np.cumsum(w) / w.sum()
            self._trade_cdf_batch = self.batch_index
        day_vol = self.profile.total_oi * DAY_VOLUME_FRACTION
        lam = day_vol / MEAN_TRADE_SIZE * open_secs / SESSION_SECONDS * intraday_shape(self.now)
        count = int(rng.poisson(lam))
        scale = 1.0
        if count > MAX_OPTION_TRADES_PER_BATCH:
            scale = count / MAX_OPTION_TRADES_PER_BATCH
            count = MAX_OPTION_TRADES_PER_BATCH
        if count == 0:
            return None
        pick = np.searchsorted(self._trade_cdf, rng.random(count), side="right")
        pick = np.minimum(pick, self.size - 1).astype(np.int64)
        sizes = np.ceil(rng.geometric(1.0 / MEAN_TRADE_SIZE, count) * scale)
        if self._subscribed is not None:
            keep = self._subscribed[pick]
            # volume accrues for all (the market does not depend on the subscription)
            np.add.at(self.day_volume, pick, sizes)
            pick = pick[keep]
        else:
            np.add.at(self.day_volume, pick, sizes)
        if pick.size == 0:
            return None
        idx = np.unique(pick)
        return self._trade_rows(idx, fresh=True)

    def _trade_rows(
        self, idx: IntArray, fresh: bool = False
    ) -> tuple[IntArray, F64Array, F64Array]:
        if fresh:
            self.last_price[idx] = np.round(self._marks(idx), 2)
        return idx, self.last_price[idx], self.day_volume[idx]

    def _trades_frame(self, parts: list[tuple[IntArray, F64Array, F64Array]]) -> pl.DataFrame:
        """One frame from (row index, price, day_volume) parts; row ``size`` is the underlying.
        A single gather (no concat of string columns, which is slow on polars string views)."""
        idx = np.concatenate([p[0] for p in parts])
        return pl.DataFrame(
            [
                self._symbols_und[idx],
                pl.Series("price", np.concatenate([p[1] for p in parts]), nan_to_null=True),
                pl.Series("day_volume", np.concatenate([p[2] for p in parts]), nan_to_null=True),
            ]
        )

    def _underlying_volume_rows(self, count: int, open_secs: float) -> F64Array:
        if self.profile.is_index:
            return np.full(count, np.nan)  # an index has no volume of its own
        if open_secs > 0:
            per_sec = self.profile.total_oi * DAY_VOLUME_FRACTION * 30.0 / SESSION_SECONDS
            add = per_sec * open_secs / count
            steps = np.round(self.underlying_volume + add * np.arange(1, count + 1))
            self.underlying_volume = float(steps[-1])
            return np.asarray(steps, dtype=np.float64)
        return np.full(count, self.underlying_volume)

    def _summary_all(self) -> pl.DataFrame:
        """Summary for the underlying (prev_close) and every contract (open_interest)."""
        idx = np.concatenate([[self.size], np.arange(self.size)]).astype(np.int64)
        oi = np.concatenate([[np.nan], self.open_interest])
        prev = np.full(self.size + 1, np.nan)
        prev[0] = self.prev_close
        return pl.DataFrame(
            [
                self._symbols_und[idx],
                pl.Series("open_interest", oi, nan_to_null=True),
                pl.Series("prev_close", prev, nan_to_null=True),
            ]
        )

    def _greeks_slice(self) -> pl.DataFrame:
        n = self.size
        chunk = -(-n // self.config.batches_per_greeks_cycle)
        lo = self._cursor
        hi = lo + chunk
        if hi <= n:
            idx = self._perm[lo:hi]
        else:
            idx = np.concatenate([self._perm[lo:], self._perm[: hi - n]])
        self._cursor = hi % n
        t = self.time_to_expiry(idx)
        live = ~np.isnan(t)
        if self._subscribed is not None:
            live &= self._subscribed[idx]
        idx = idx[live]
        t = t[live]
        strike = self.chain.strike[idx]
        iv = implied_vol(self.profile, self.level, self.spot, strike, t, self.chain.iv_noise[idx])
        cols = bs_block(self.spot, strike, iv, t, self.chain.is_call[idx])
        return pl.DataFrame([self.symbols[idx], *(pl.Series(k, v) for k, v in cols.items())])
