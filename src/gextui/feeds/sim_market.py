"""Dynamics of the simulated market: the underlying's price, implied vols, greeks, volume.

Everything here is SIMULATED: a stochastic model whose output has the shape of live dxFeed
data (Greeks, Summary and Trade events), not market observations.

Clock
-----
A market clock in America/New_York starts at ``start`` and advances by ``batch_period · speed``
seconds per batch (batch ``n`` is stamped ``start + n · batch_period · speed``). Content depends
only on the batch number, never on wall-clock timing. The regular session is 09:30–16:00 on
trading days (NYSE holidays by rule, no early closes); outside it the price stands still, but
time to expiry keeps shrinking, so a 0DTE option really decays toward its 16:00 settlement and
is expired (no longer emitted) after it. At each new session open the previous close becomes
``prev_close``, day volumes restart from zero and open interest is updated from the previous
day's volume.

Underlying
----------
A log random walk in session time with realised volatility ≈ 0.85 × the short-dated ATM
implied vol, scaled by an intraday U-shape (busier after the open and before the close), plus
occasional jumps (about three a day, ~0.3 %, slightly skewed down, compensated so they add
no drift). Several trades print per batch.

Implied volatility
------------------
``iv = L · atm(T) · exp(−skew · z + c · z²) · ε`` with ``z = ln(K/S) / √T`` (the exponent
clipped to [−0.5, 2]; ``c`` = the profile's curvature for z > 0, a fifth of it for z < 0):

* ``atm(T)`` rises from the profile's short-dated to its long-dated level (term structure);
* the smile is sticky in moneyness (it moves with spot) and skewed, so low strikes (puts below
  spot) are richer than high strikes the same distance above spot; in strike terms it narrows
  as T shrinks (a 0DTE smile is steep, a LEAPS smile flat);
* ``L = exp(u − β · ln(S/S₀))`` is the vol level: a vol-spot beta β (spot down → vols up) plus
  a mean-reverting random factor ``u`` that also jumps up on down-jumps of the price;
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
``day_volume``. The simulation starting mid-session begins with the volume a session would
have accumulated by then.
"""

from __future__ import annotations

import math
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


class SimulatedMarket:
    """The evolving state of one ticker's simulated market; :meth:`next_batch` steps it.

    Not thread-safe; deterministic for (profile, start, config).
    """

    def __init__(self, profile: TickerProfile, start: datetime, config: MarketConfig) -> None:
        self.profile = profile
        self.config = config
        self.start = start.astimezone(UTC)
        self._rng = rng_for(config.seed, profile.ticker, 1)
        chain_rng = rng_for(config.seed, profile.ticker, 0)
        self.spot0 = float(round(profile.spot * math.exp(0.01 * chain_rng.standard_normal()), 2))
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
        self.batch_index = 0  # index of the next batch
        self.now = self.start
        self.spot = self.spot0  # the last printed (cent-rounded) price: the model's spot
        self._exact_spot = self.spot0  # the walk itself, unrounded (no tick-size stickiness)
        self.prev_close = float(
            round(self.spot0 * math.exp(0.008 * chain_rng.standard_normal()), 2)
        )
        self.vol_factor = 0.0
        self.underlying_volume = 0.0
        self._perm = chain_rng.permutation(n).astype(np.int64)
        self._cursor = 0
        self._subscribed: npt.NDArray[np.bool_] | None = None
        self._trade_cdf: F64Array | None = None
        self._trade_cdf_batch = -1
        local = self.start.astimezone(NEW_YORK)
        started_in_session = is_trading_day(local.date()) and local.time() >= SESSION_OPEN
        self.session_date: date | None = local.date() if started_in_session else None
        self._pending_summary = True
        self._pending_volume_reset: IntArray | None = None
        if is_market_open(self.start):
            self._seed_day_volume(local)

    # ------------------------------------------------------------------ public helpers
    @property
    def size(self) -> int:
        return self.chain.size

    @property
    def level(self) -> float:
        """The vol level L (1.0 at the start spot with a neutral vol factor)."""
        lvl = math.exp(
            self.vol_factor - self.profile.vol_spot_beta * math.log(self.spot / self.spot0)
        )
        return min(max(lvl, 0.4), 4.0)

    def time_to_expiry(self, idx: IntArray | None = None) -> F64Array:
        settle = self.chain.settlement_us if idx is None else self.chain.settlement_us[idx]
        return years_to_settlement(settle, self.now)

    def set_subscription(self, expirations: Sequence[date] | None) -> None:
        """Emit Greeks / option Trades only for these expirations (None: all). The market
        itself (price path, volumes) is unaffected."""
        if expirations is None:
            self._subscribed = None
            return
        days = np.asarray([(d - date(1970, 1, 1)).days for d in expirations], dtype=np.int64)
        self._subscribed = np.isin(self.chain.expiration_days, days)

    def request_snapshot(self) -> None:
        """Next batch carries Summary for every contract and the latest Trade of every
        contract with volume (what a fresh DXLink subscription receives first)."""
        self._pending_summary = True

    # ------------------------------------------------------------------ stepping
    def next_batch(self) -> EventBatch:
        """Advance the clock by one batch and return its events."""
        cfg = self.config
        n = self.batch_index
        t_prev = self.now
        self.now = self.start + timedelta(
            microseconds=round(n * cfg.market_seconds_per_batch * 1e6)
        )
        self.batch_index += 1
        rng = self._rng
        k = max(1, round(UNDERLYING_TRADES_PER_SECOND * cfg.batch_period))
        # fixed draws per batch (the amount of randomness never depends on the clock)
        z_spot = rng.standard_normal(k)
        z_vol = rng.standard_normal(k)
        u_jump = rng.random(k)
        z_jump = rng.standard_normal(k)
        trade_parts: list[tuple[IntArray, F64Array, F64Array]] = []
        summary: pl.DataFrame | None = None
        prices: list[float] = []
        sessions = open_seconds(t_prev, self.now) if n > 0 else []
        for day, _secs in sessions:
            if day != self.session_date:
                self._new_session(day)
        open_secs = sum(s for _, s in sessions)
        if open_secs > 0:
            dt = open_secs / k
            shape = intraday_shape(self.now)
            for j in range(k):  # k is a handful (underlying trades), not contracts
                sigma = 0.85 * self._atm_short() * shape
                step = sigma * math.sqrt(dt / TRADING_YEAR_SECONDS) * z_spot[j]
                jump_prob = JUMPS_PER_SESSION * dt / SESSION_SECONDS
                jump = -jump_prob * JUMP_MEAN  # compensator: no drift from the jumps on average
                if u_jump[j] < jump_prob:
                    jump += JUMP_MEAN + JUMP_SD * z_jump[j]
                diffusion_drift = -0.5 * sigma * sigma * dt / TRADING_YEAR_SECONDS
                self._exact_spot *= math.exp(step + diffusion_drift + jump)
                dt_y = dt / TRADING_YEAR_SECONDS
                self.vol_factor += -VOL_MEAN_REVERSION * self.vol_factor * dt_y
                self.vol_factor += VOL_OF_VOL * math.sqrt(dt_y) * z_vol[j] - 2.0 * min(jump, 0.0)
                self.spot = round(self._exact_spot, 2)
                prices.append(self.spot)
        else:
            prices = [self.spot]
        # option trades first (they need marks at the new spot), then greeks
        option_trades = self._option_trades(open_secs, rng)
        if self._pending_volume_reset is not None and self._pending_volume_reset.size:
            trade_parts.append(self._trade_rows(self._pending_volume_reset))
            self._pending_volume_reset = None
        if self._pending_summary:
            summary = self._summary_all()
            traded = np.flatnonzero(self.day_volume > 0)
            if traded.size:
                trade_parts.append(self._trade_rows(traded))
            self._pending_summary = False
        if option_trades is not None:
            trade_parts.append(option_trades)
        und_idx = np.full(len(prices), self.size, dtype=np.int64)  # the underlying's row
        und_vol = self._underlying_volume_rows(len(prices), open_secs)
        trade_parts.append((und_idx, np.asarray(prices, dtype=np.float64), und_vol))
        return EventBatch(
            time=self.now,
            greeks=self._greeks_slice(),
            summary=summary,
            trades=self._trades_frame(trade_parts),
            meta={
                "source": "simulated",
                "market": "open" if is_market_open(self.now) else "closed",
                "batch": str(n),
            },
        )

    # ------------------------------------------------------------------ internals
    def _atm_short(self) -> float:
        return self.profile.vol_short * self.level

    def _new_session(self, day: date) -> None:
        """A new regular session starts: prev close, OI from yesterday's volume, volume 0."""
        if self.session_date is not None:
            self.prev_close = self.spot
            traded = self.day_volume > 0
            change = np.round(self.day_volume * self._rng.uniform(-0.2, 0.5, self.size))
            self.open_interest = np.maximum(self.open_interest + change, 0.0)
            self._pending_volume_reset = np.flatnonzero(traded)
            self.day_volume[:] = 0.0
            self.underlying_volume = 0.0
            self._pending_summary = True
        self.session_date = day

    def _seed_day_volume(self, local: datetime) -> None:
        """Volume a session would have accumulated between 09:30 and ``local``."""
        lo, _ = session_bounds(local.date())
        frac = min(max((local - lo).total_seconds() / SESSION_SECONDS, 0.0), 1.0)
        total = self.profile.total_oi * DAY_VOLUME_FRACTION * frac
        w = self._activity_weights()
        self.day_volume = np.floor(total * w / w.sum() * self._rng.gamma(2.0, 0.5, self.size))
        marks = self._marks(np.arange(self.size, dtype=np.int64))
        self.last_price = np.where(self.day_volume > 0, np.round(marks, 2), np.nan)
        if not self.profile.is_index:
            self.underlying_volume = float(round(total * 30.0))

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
