"""Option chains of the simulated market: which tickers, expirations, strikes and open interest.

Everything here is SIMULATED. The chains are shaped like the real ones so that the product
behaves as it would on live data, but no number is a market observation.

Tickers
-------
* ``SPX`` (spot ≈ 6900): PM-settled ``SPXW`` dailies every trading day Monday–Friday for six
  weeks (including the start day's 0DTE), Friday weeklies for three months, monthlies and
  end-of-quarter expirations for a year, and AM-settled ``SPX`` monthlies (root ``SPX``) on
  third Fridays only; December LEAPS out to about two years. Strikes every 5 near
  the money, then 25, then 100 further out. About 20,000 contracts.
* ``NDX`` (≈ 25600): ``NDXP`` dailies (PM) + ``NDX`` AM monthlies, strikes 50 / 100 / 500;
  ``RUT`` (≈ 2500): ``RUTW`` dailies + ``RUT`` AM monthlies.
* ``SPY`` (≈ 688 = SPX / 10 less a basis), ``QQQ`` (≈ NDX / 41), ``IWM`` (≈ RUT / 10), ``DIA``
  (≈ 480): daily expirations Monday–Friday, monthlies, quarterlies, January/December LEAPS;
  strikes every 1 near the money, then 5, then 10.
* Large caps (AAPL, MSFT, NVDA, AMZN, META, GOOGL, TSLA, AVGO, AMD, NFLX, JPM) at plausible
  levels: Friday weeklies, monthlies, January LEAPS, strike steps by price.
* Any other name is refused (:class:`UnknownTickerError` listing the known ones): the simulator
  does not invent chains. The levels live in one table, ``_KNOWN``.

NYSE full-day holidays are applied by rule (no expirations on them; a monthly or weekly whose
Friday is a holiday expires the trading day before); early 13:00 closes are not modelled.
Multiplier is 100 everywhere.

Open interest
-------------
Each contract's open interest is drawn once per ticker (deterministic for a seed) from a
density that is

* concentrated near the money (a Gaussian in log-moneyness whose width grows with √T),
* heavier at round strikes (SPX: ×4 at multiples of 100, ×2.5 at multiples of 50),
* heavier in out-of-the-money puts below spot (×1.2) than in calls above it (the usual index
  hedging book), plus a broad hump of protective puts about three widths below spot, light in
  in-the-money options (×0.5 calls, ×0.3 puts),
* heavier on monthly / quarterly / LEAPS expirations than on dailies,

times log-normal noise, scaled to a plausible total for the ticker. With dealers short the
puts and long the calls (the GEX sign convention), this produces a put wall below spot, a call
wall above it and a zero-gamma level near spot, all of which move as the simulated spot moves
(for SPX: put/call OI ratio ≈ 1.5, absolute GEX ≈ $270 bn per 1 % and net GEX a few $bn either
side of zero — the same order as the real CBOE SPX chain of 2024-01-07 in ../shared/data).
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from gextui.core.chain import make_instruments
from gextui.core.expiry import NEW_YORK, settlement_time
from gextui.core.symbols import TickerError, streamer_symbols, ticker_name
from gextui.feeds.base import UnknownTickerError

F64Array = npt.NDArray[np.float64]
DAY_YEARS: Final = 1.0 / 365.0
OTM_PUT_WEIGHT: Final = 1.2  # open interest of OTM puts relative to OTM calls
ITM_CALL_WEIGHT: Final = 0.5
PUT_TAIL_WEIGHT: Final = 1.0  # a hump of protective puts ~3 sd below spot


@dataclass(frozen=True, slots=True)
class TickerProfile:
    """Static description of one simulated underlying and its option chain.

    The last five fields place it in the one coherent simulated market
    (:class:`gextui.feeds.sim_market.MarketPath`): a ``parent`` (an ETF on an index: price =
    parent × ``ratio`` × a tiny basis noise), or loadings on the market factor (``beta``) and a
    sector factor (``sector``, ``sector_beta``); the rest of its volatility is its own.
    """

    ticker: str
    underlying_symbol: str
    spot: float  # reference spot (the seed moves it by ~1 %)
    pm_root: str  # PM-settled root (SPXW, NDXP, SPY, …)
    am_root: str | None  # AM-settled monthly root (SPX, NDX) or None
    calendar: str  # "index" | "etf" | "equity"
    steps: tuple[float, float, float]  # strike step near / mid / far from the money
    round_strikes: tuple[float, float]  # (big, medium) round strikes that attract OI
    vol_short: float  # ATM implied vol at T → 0
    vol_long: float  # ATM implied vol at long T
    skew: float  # smile slope in standardised moneyness (puts richer)
    curvature: float  # smile convexity
    vol_spot_beta: float  # d ln(vol level) / d ln(spot) = −beta
    total_oi: float  # total open interest of the chain (contracts)
    is_index: bool  # index: the underlying has no volume
    parent: str | None = None  # an ETF tracking this index (SPY → SPX)
    ratio: float = 1.0  # price ≈ parent × ratio
    beta: float = 1.0  # loading on the market factor (SPX = 1)
    sector: str | None = None  # "tech" | "small" | "dow" | None
    sector_beta: float = 0.0


def _equity(
    ticker: str, spot: float, vol: float, total_oi: float, beta: float, tech: float = 0.0
) -> TickerProfile:
    """A large-cap stock: Friday weeklies, monthlies, January LEAPS; steps by price."""
    if spot < 50:
        steps = (0.5, 2.5, 5.0)
    elif spot < 150:
        steps = (1.0, 5.0, 10.0)
    elif spot < 400:
        steps = (2.5, 5.0, 10.0)
    else:
        steps = (5.0, 10.0, 25.0)
    return TickerProfile(
        ticker, ticker, spot, ticker, None, "equity", steps, (steps[2] * 2, steps[2]),
        vol, vol * 1.08, 0.5, 0.8, 2.5, total_oi, False,
        beta=beta, sector="tech" if tech else None, sector_beta=tech,
    )  # fmt: skip


# The simulated universe: reference levels (round numbers, plausible for late 2026; the seed
# moves each start by about ±1 %). ETFs follow their index: SPY ≈ SPX / 10, QQQ ≈ NDX / 41,
# IWM ≈ RUT / 10, each with its own small basis.
SPX_REF: Final = 6900.0
NDX_REF: Final = 25600.0
RUT_REF: Final = 2500.0
_KNOWN: Final[dict[str, TickerProfile]] = {
    "SPX": TickerProfile(
        "SPX", "SPX", SPX_REF, "SPXW", "SPX", "index", (5.0, 25.0, 100.0), (100.0, 50.0),
        0.11, 0.19, 1.0, 1.0, 5.0, 16e6, True,
    ),
    "SPY": TickerProfile(
        "SPY", "SPY", SPX_REF * 0.09965, "SPY", None, "etf", (1.0, 5.0, 10.0), (10.0, 5.0),
        0.11, 0.19, 1.0, 1.0, 5.0, 18e6, False, parent="SPX", ratio=0.09965,
    ),
    "NDX": TickerProfile(
        "NDX", "NDX", NDX_REF, "NDXP", "NDX", "index", (50.0, 100.0, 500.0), (500.0, 100.0),
        0.15, 0.22, 0.9, 0.9, 4.5, 1.2e6, True, beta=1.2, sector="tech", sector_beta=1.0,
    ),
    "QQQ": TickerProfile(
        "QQQ", "QQQ", NDX_REF / 41.0, "QQQ", None, "etf", (1.0, 5.0, 10.0), (10.0, 5.0),
        0.15, 0.22, 0.9, 0.9, 4.5, 9e6, False, parent="NDX", ratio=1 / 41.0,
    ),
    "RUT": TickerProfile(
        "RUT", "RUT", RUT_REF, "RUTW", "RUT", "index", (5.0, 25.0, 100.0), (100.0, 50.0),
        0.18, 0.24, 0.8, 0.9, 4.0, 0.6e6, True, beta=1.1, sector="small", sector_beta=1.0,
    ),
    "IWM": TickerProfile(
        "IWM", "IWM", RUT_REF * 0.0992, "IWM", None, "etf", (1.0, 5.0, 10.0), (10.0, 5.0),
        0.18, 0.24, 0.8, 0.9, 4.0, 5e6, False, parent="RUT", ratio=0.0992,
    ),
    "DIA": TickerProfile(
        "DIA", "DIA", 480.0, "DIA", None, "etf", (1.0, 5.0, 10.0), (10.0, 5.0),
        0.10, 0.17, 1.0, 1.0, 5.0, 0.5e6, False, beta=0.9, sector="dow", sector_beta=1.0,
    ),
    "AAPL": _equity("AAPL", 280.0, 0.24, 4e6, 1.05, 0.6),
    "MSFT": _equity("MSFT", 520.0, 0.22, 2.5e6, 1.0, 0.7),
    "NVDA": _equity("NVDA", 190.0, 0.42, 12e6, 1.6, 1.2),
    "AMZN": _equity("AMZN", 240.0, 0.30, 4e6, 1.2, 0.8),
    "META": _equity("META", 700.0, 0.33, 2e6, 1.25, 0.9),
    "GOOGL": _equity("GOOGL", 300.0, 0.28, 3e6, 1.1, 0.8),
    "TSLA": _equity("TSLA", 430.0, 0.55, 6e6, 1.8, 0.9),
    "AVGO": _equity("AVGO", 360.0, 0.40, 2e6, 1.5, 1.1),
    "AMD": _equity("AMD", 230.0, 0.48, 3e6, 1.7, 1.2),
    "NFLX": _equity("NFLX", 110.0, 0.32, 1.5e6, 1.0, 0.4),
    "JPM": _equity("JPM", 310.0, 0.20, 1e6, 0.9),
}  # fmt: skip
KNOWN_TICKERS: Final[tuple[str, ...]] = tuple(_KNOWN)


def known_profiles() -> tuple[TickerProfile, ...]:
    """Every simulated underlying, in table order."""
    return tuple(_KNOWN.values())


def normalise_ticker(ticker: str) -> str:
    """The core's ticker rule (:func:`~gextui.core.symbols.ticker_name`);
    :class:`UnknownTickerError` for a name that cannot be a ticker."""
    try:
        return ticker_name(ticker)
    except TickerError as exc:
        raise UnknownTickerError(f"{exc} (use letters and digits, e.g. SPX, SPY, AAPL)") from None


def name_hash(ticker: str) -> int:
    """A stable 64-bit integer for a name (never Python's salted ``hash``)."""
    return int.from_bytes(hashlib.sha256(ticker.encode()).digest()[:8], "big")


def profile_for(ticker: str) -> TickerProfile:
    """The profile of a known ticker; :class:`UnknownTickerError` (one line, listing the
    known ones) for any other name: the simulator never invents a chain."""
    name = normalise_ticker(ticker)
    profile = _KNOWN.get(name)
    if profile is None:
        raise UnknownTickerError(
            f"no simulated chain for {name}; known: {', '.join(KNOWN_TICKERS)}"
        )
    return profile


# ---------------------------------------------------------------------- calendar
def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th (1-based; −1 = last) given weekday (Monday = 0) of a month."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _observed(d: date) -> date:
    return d - timedelta(days=1) if d.weekday() == 5 else d + timedelta(days=int(d.weekday() == 6))


@functools.cache
def nyse_holidays(year: int) -> frozenset[date]:
    """Full-day NYSE holidays by rule (early 13:00 closes are not modelled)."""
    days = {
        _nth_weekday(year, 1, 0, 3),  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        _easter(year) - timedelta(days=2),  # Good Friday
        _nth_weekday(year, 5, 0, -1),  # Memorial Day
        _observed(date(year, 7, 4)),  # Independence Day
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving
        _observed(date(year, 12, 25)),  # Christmas
    }
    new_year = date(year, 1, 1)
    if new_year.weekday() < 5:
        days.add(new_year)
    elif new_year.weekday() == 6:
        days.add(new_year + timedelta(days=1))  # (a Saturday New Year is not observed)
    if year >= 2022:
        days.add(_observed(date(year, 6, 19)))  # Juneteenth
    return frozenset(days)


def is_trading_day(day: date) -> bool:
    """A weekday that is not an NYSE holiday."""
    return day.weekday() < 5 and day not in nyse_holidays(day.year)


def previous_trading_day(day: date) -> date:
    """``day`` itself if it is a trading day, else the trading day before it."""
    while not is_trading_day(day):
        day -= timedelta(days=1)
    return day


def third_friday(year: int, month: int) -> date:
    return _nth_weekday(year, month, 4, 3)


def monthly_expiration(year: int, month: int) -> date:
    """The standard monthly expiration: the third Friday, or the trading day before it when
    that Friday is a holiday (e.g. Good Friday)."""
    return previous_trading_day(third_friday(year, month))


def last_trading_day(year: int, month: int) -> date:
    return previous_trading_day(date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1))


def _months(first: date, last: date) -> list[tuple[int, int]]:
    out = []
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def expiration_calendar(profile: TickerProfile, start: datetime) -> list[tuple[str, date]]:
    """(root, expiration) pairs listed on the day of ``start``, not yet settled at ``start``."""
    today = start.astimezone(NEW_YORK).date()
    leaps_end = today + timedelta(days=760)  # about two years
    months = _months(today, leaps_end)
    pm: set[date] = set()
    am: set[date] = set()
    days = [today + timedelta(days=i) for i in range(91)]
    # weeklies expire on Fridays, or on the Thursday before a Friday holiday
    fridays = {previous_trading_day(d) for d in days if d.weekday() == 4}
    if profile.calendar in ("index", "etf"):
        pm.update(d for d in days[:42] if is_trading_day(d))  # dailies
        pm.update(fridays)
        leap_months = (12,) if profile.calendar == "index" else (1, 12)
        for y, m in months:
            tf = monthly_expiration(y, m)
            if tf <= today + timedelta(days=365):
                pm.add(tf)
                if m in (3, 6, 9, 12):
                    pm.add(last_trading_day(y, m))  # quarterlies
                if profile.am_root:
                    am.add(tf)
            elif m in leap_months:
                pm.add(tf)
                if profile.am_root:
                    am.add(tf)
    else:  # equity
        pm.update(d for d in fridays if d <= today + timedelta(days=42))
        for y, m in months:
            tf = monthly_expiration(y, m)
            if tf <= today + timedelta(days=270) or m == 1:
                pm.add(tf)
    pairs = [(profile.pm_root, d) for d in pm]
    if profile.am_root:
        pairs += [(profile.am_root, d) for d in am]
    live = [(r, d) for r, d in pairs if settlement_time(r, d) > start and d <= leaps_end]
    return sorted(live, key=lambda p: (p[1], p[0]))


# ---------------------------------------------------------------------- strikes
def _band(lo: float, hi: float, step: float) -> F64Array:
    first = math.ceil(lo / step - 1e-9) * step
    n = max(0, math.floor((hi - first) / step + 1e-9) + 1)
    return np.round(first + step * np.arange(n, dtype=np.float64), 3)


def strike_grid(profile: TickerProfile, spot: float, t_years: float) -> F64Array:
    """Strikes listed for one expiration: the fine step within about one standard deviation
    of spot (at least ±2 %), the middle step out to ~2.5 sd below / 2 sd above, and the wide
    step further out (deep puts down to −60 % at most, calls up to +40 %)."""
    fine, mid, far = profile.steps
    sd = profile.vol_long * math.sqrt(max(t_years, DAY_YEARS))
    fine_w = min(max(1.0 * sd, 0.02), 0.04 if t_years < 0.5 else 0.025)
    mid_dn = min(max(2.5 * sd, 0.06), 0.35)
    mid_up = min(max(2.0 * sd, 0.05), 0.25)
    far_dn = min(max(4.0 * sd, 0.15), 0.6)
    far_up = min(max(2.5 * sd, 0.08), 0.4)
    parts = [
        _band(spot * (1 - fine_w), spot * (1 + fine_w), fine),
        _band(spot * (1 - mid_dn), spot * (1 + mid_up), mid),
        _band(spot * (1 - far_dn), spot * (1 + far_up), far),
    ]
    ks = np.unique(np.concatenate(parts))
    return ks[ks > 0]


# ---------------------------------------------------------------------- the chain
@dataclass(frozen=True, slots=True)
class SimChain:
    """A generated chain: instruments (INSTRUMENT_SCHEMA, sorted) + model arrays aligned."""

    profile: TickerProfile
    spot0: float
    instruments: pl.DataFrame
    strike: F64Array
    is_call: npt.NDArray[np.bool_]
    settlement_us: npt.NDArray[np.int64]
    expiration_days: npt.NDArray[np.int64]  # days since 1970-01-01 of the expiration date
    open_interest: F64Array
    iv_noise: F64Array  # static per-contract multiplicative IV noise (≈ 1 ± 0.5 %)
    activity: F64Array  # static per-contract trading-activity multiplier

    @property
    def size(self) -> int:
        return self.instruments.height


def generate_chain(
    profile: TickerProfile, start: datetime, spot0: float, rng: np.random.Generator
) -> SimChain:
    """Build the instrument list and the static per-contract model arrays."""
    start_us = start.timestamp() * 1e6
    roots: list[str] = []
    exps: list[date] = []
    strikes: list[F64Array] = []
    counts: list[int] = []
    for root, exp in expiration_calendar(profile, start):
        settle = settlement_time(root, exp)
        t = max((settle.timestamp() * 1e6 - start_us) / 1e6 / (365.0 * 86400.0), 0.0)
        ks = strike_grid(profile, spot0, t)
        roots.append(root)
        exps.append(exp)
        strikes.append(ks)
        counts.append(ks.size)
    reps = np.asarray(counts)
    k_all = np.concatenate(strikes)
    n = k_all.size
    base = pl.DataFrame(
        {
            "root": pl.Series(roots, dtype=pl.String).gather(
                np.repeat(np.arange(len(roots)), reps)
            ),
            "expiration": pl.Series(exps, dtype=pl.Date).gather(
                np.repeat(np.arange(len(exps)), reps)
            ),
            "strike": k_all,
        }
    )
    frame = pl.concat(
        [base.with_columns(pl.lit("C").alias("type")), base.with_columns(pl.lit("P").alias("type"))]
    )
    frame = frame.with_columns(streamer_symbols(frame).alias("symbol"))
    inst = make_instruments(frame)
    assert inst.height == 2 * n

    strike = inst["strike"].to_numpy().astype(np.float64)
    is_call = (inst["type"] == "C").to_numpy()
    settle_us = inst["settlement"].dt.epoch("us").to_numpy().astype(np.int64)
    exp_days = inst["expiration"].cast(pl.Int32).to_numpy().astype(np.int64)
    root_arr = inst["root"].to_numpy()
    t = np.maximum((settle_us - start_us) / 1e6 / (365.0 * 86400.0), DAY_YEARS / 4)
    oi = _open_interest(profile, spot0, strike, is_call, t, exp_days, root_arr, rng)
    iv_noise = np.exp(0.005 * rng.standard_normal(inst.height))
    activity = rng.lognormal(0.0, 0.6, inst.height)
    return SimChain(
        profile, spot0, inst, strike, is_call, settle_us, exp_days, oi, iv_noise, activity
    )


def _open_interest(
    profile: TickerProfile,
    spot: float,
    strike: F64Array,
    is_call: npt.NDArray[np.bool_],
    t: F64Array,
    exp_days: npt.NDArray[np.int64],
    roots: npt.NDArray[np.object_],
    rng: np.random.Generator,
) -> F64Array:
    logm = np.log(strike / spot)
    width = np.maximum(0.012, 0.9 * profile.vol_long * np.sqrt(t))
    near = np.exp(-0.5 * (logm / width) ** 2) + 0.03 * np.exp(-np.abs(logm) / (3 * width))
    # protective puts: a broad, low-gamma tail of open interest well below spot
    near = near + np.where(
        ~is_call, PUT_TAIL_WEIGHT * np.exp(-0.5 * ((logm + 3.0 * width) / width) ** 2), 0.0
    )
    big, medium = profile.round_strikes
    fine = profile.steps[0]
    roundness = np.where(
        np.isclose(np.mod(strike + 1e-9, big), 0.0, atol=1e-6),
        4.0,
        np.where(
            np.isclose(np.mod(strike + 1e-9, medium), 0.0, atol=1e-6),
            2.5,
            np.where(np.isclose(np.mod(strike + 1e-9, fine * 5), 0.0, atol=1e-6), 1.4, 1.0),
        ),
    )
    otm_put = ~is_call & (strike < spot)
    otm_call = is_call & (strike >= spot)
    side = np.where(
        otm_put, OTM_PUT_WEIGHT, np.where(otm_call, 1.0, np.where(is_call, ITM_CALL_WEIGHT, 0.3))
    )
    # expiration kind: third-Friday monthlies, AM roots and LEAPS carry the most OI
    exp_dates = exp_days.astype("datetime64[D]")
    dom = (exp_dates - exp_dates.astype("datetime64[M]")).astype(np.int64) + 1
    weekday = (exp_days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    monthly = (weekday == 4) & (dom >= 15) & (dom <= 21)
    friday = weekday == 4
    term = np.where(monthly, 3.0, np.where(friday, 1.3, 0.7))
    term = term * np.where(roots == profile.am_root, 1.5, 1.0) * (1.0 + 0.5 * np.minimum(t, 1.0))
    raw = near * roundness * side * term * rng.lognormal(0.0, 0.5, strike.size)
    scaled = raw / raw.sum() * profile.total_oi
    oi = np.floor(scaled + rng.random(strike.size))  # stochastic rounding
    return np.asarray(oi, dtype=np.float64)
