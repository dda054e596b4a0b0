"""Dealer exposure analytics: pure functions from a ChainBook to an immutable snapshot.

Conventions (SqueezeMetrics 2017; Perfiliev 2022), m = shares per contract, S = spot:

* Dealers are assumed long calls and short puts: sign = +1 for calls, −1 for puts.
* GEX per contract, dollars per 1 % move of the underlying: ``sign · Γ · OI · m · S² · 0.01``
  (Γ is the feed's own gamma). Volume GEX: the same with the day's volume instead of OI.
* DEX (dollar delta of open interest) = Σ Δ · OI · m · S (puts carry negative Δ; no dealer sign).
* VEX (dollars of delta per 1 vol point) = Σ sign · vanna · OI · m · S · 0.01,
  vanna = −e^(−qT) φ(d1) d2 / σ.
* CEX (dollars of delta per day) = Σ sign · charm · OI · m · S / 365; for r = q = 0,
  charm = φ(d1) d2 / (2T) (general form in :mod:`gextui.core.greeks`).
  Vanna and charm are Black–Scholes at spot with each contract's own IV.
* Zero gamma (gamma flip): the zeros of the profile
  P(x) = Σ sign · Γ_BS(x, K, σ, T) · OI · m · x² · 0.01 for hypothetical spots
  x ∈ [0.8 S, 1.2 S], Γ recomputed by Black–Scholes with each contract's IV. Every sign change
  is reported, refined to < 0.05 points; "the" zero gamma is the crossing nearest spot; none
  when the profile keeps one sign (the note says which). Contracts without IV or OI, or already
  expired, are left out of the profile. The search is complete whatever the contracts' σ√T:
  an 81-point grid (0.5 % of spot) resolves the wide terms, and every step where short-dated
  terms (gamma peaks narrower than 4 steps) could move P across zero is halved until they
  cannot or the step resolves them (:meth:`_Profile.scan`).
* T in years = (settlement − as-of) / 365 days, expired (T ≤ 0) excluded, floored at one hour.
* Call wall: strike with the largest call GEX; put wall: strike with the most negative put GEX,
  summed over the selected expirations and all roots. Max pain, for the nearest selected
  expiration: the strike minimising Σ OI · m · payoff owed to holders.

Missing values (NaN gamma, OI, volume...) contribute nothing to sums: they are reported as
missing coverage, never as zeros.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl

from gextui.core.chain import ChainArrays, ChainBook
from gextui.core.expiry import (
    MIN_T_YEARS,
    YEAR_SECONDS,
    select_expirations,
    years_to_settlement,
)
from gextui.core.greeks import charm, vanna

Array = npt.NDArray[np.float64]
EPOCH: Final = date(1970, 1, 1)
PROFILE_LOW: Final = 0.8
PROFILE_HIGH: Final = 1.2
PROFILE_POINTS: Final = 81  # coarse grid: 0.5 % of spot per step
ZERO_TOL: Final = 0.01  # refine crossings to 0.01 index points (< 0.05 required)
METRICS: Final[tuple[str, ...]] = ("gex", "dex", "vex", "cex")
INV_SQRT_2PI: Final = 1.0 / math.sqrt(2.0 * math.pi)
F32_DOUBT: Final = 1e-3
NOISE: Final = 1e-12  # |P| below this fraction of Σ|terms| is rounding: no sign
TAIL_D: Final = 9.0  # φ(9) ≈ 1.0e-18: terms beyond it are below double precision here
# A grid whose step in ln x is at most RESOLVED · σ√T samples a contract's gamma term finely
# enough (its Gaussian in ln x has width σ√T); narrower terms get the adaptive search.
RESOLVED: Final = 0.25
MAX_LEVELS: Final = 12  # rounds of cutting a step (each into ≤ MAX_SPLIT) at most
MAX_SPLIT: Final = 16
# A resolved term at least SUBSAMPLE · s steps wide is evaluated every s-th grid point only
# (s a power of 2) and interpolated between (quintic: ~1e-4 of its peak at most).
SUBSAMPLE: Final = 3.0
INTERP_ERR: Final = 1.1e-4  # quintic Lagrange at h ≤ σ/3: 15 · 3.52 / 720 / 3⁶ of a peak
F32_ERR: Final = 1e-5  # float32 terms and sums, relative to Σ |c_i| x (generous)
MAX_EXAMINED: Final = 4096  # float64 points _Profile._examine adds at most
WALLS: Final = 3  # call_walls / put_walls: the top 3


@dataclass(frozen=True, slots=True)
class Coverage:
    """How much of the selected chain has the data the figures need."""

    contracts: int  # live contracts in the selected expirations
    with_greeks: int  # ... that have a gamma
    with_oi: int  # ... that have open interest
    with_both: int
    chain_total: int  # every contract in the book (all expirations, incl. expired)
    rejected: int = 0  # values the book refused as not sane (ChainBook.rejected_values)

    @property
    def fraction(self) -> float:
        return self.with_both / self.contracts if self.contracts else 0.0


@dataclass(frozen=True, slots=True)
class Wall:
    """A strike and its call GEX (a call wall, > 0) or put GEX (a put wall, < 0), dollars per
    1 % move, summed over the selected expirations and all roots."""

    strike: float
    gex: float

    def to_dict(self) -> dict[str, float | None]:
        return {"strike": _num(self.strike), "gex": _num(self.gex)}


@dataclass(frozen=True, slots=True)
class ExpirationExposure:
    """GEX of one selected expiration (dollars per 1 % move; every root of that date)."""

    expiration: date
    net_gex: float
    call_gex: float
    put_gex: float
    abs_gex: float
    contracts: int  # live contracts of this expiration (with or without data)

    def to_dict(self) -> dict[str, Any]:
        return {
            "expiration": self.expiration.isoformat(),
            "net_gex": _num(self.net_gex),
            "call_gex": _num(self.call_gex),
            "put_gex": _num(self.put_gex),
            "abs_gex": _num(self.abs_gex),
            "contracts": self.contracts,
        }


@dataclass(frozen=True, slots=True)
class ExposureSnapshot:
    """Every figure for one chain at one moment. Dollars, not billions."""

    ticker: str
    source: str
    as_of: datetime
    spot: float | None
    prev_close: float | None
    expiry: str
    expirations: tuple[date, ...]
    net_gex: float
    call_gex: float
    put_gex: float
    abs_gex: float
    net_gex_volume: float
    net_dex: float
    net_vex: float
    net_cex: float
    zero_gamma: float | None
    zero_gamma_crossings: tuple[float, ...]
    zero_gamma_note: str
    call_wall: float | None
    put_wall: float | None
    max_pain: float | None
    max_pain_expiration: date | None
    put_call_oi_ratio: float | None
    coverage: Coverage
    # per strike: strike, call_/put_/net_ × gex/dex/vex/cex (OI) and the same + "_vol"
    # (volume-weighted), call_oi, put_oi, call_volume, put_volume
    strikes: pl.DataFrame = field(repr=False)
    # hypothetical spot → net GEX (the zero-gamma profile); empty when not computable
    profile: pl.DataFrame = field(repr=False)
    # per selected expiration (in date order); their GEX sums are the totals
    by_expiration: tuple[ExpirationExposure, ...] = ()
    # the strike with the largest |call GEX| + |put GEX|
    abs_gamma_strike: float | None = None
    # the top WALLS call / put walls, strongest first (call_walls[0] is call_wall)
    call_walls: tuple[Wall, ...] = ()
    put_walls: tuple[Wall, ...] = ()
    # the nearest selected expiration's ATM straddle (call + put price at the strike nearest
    # spot), in index points: the market's expected move to that expiration
    expected_move: float | None = None
    expected_move_strike: float | None = None
    expected_move_expiration: date | None = None

    @property
    def gamma_regime(self) -> str:
        """'positive' or 'negative' (sign of net GEX), 'n/a' without data."""
        if not self.coverage.with_both:
            return "n/a"
        return "positive" if self.net_gex >= 0 else "negative"

    @property
    def zero_gamma_distance_pct(self) -> float | None:
        if self.zero_gamma is None or not self.spot:
            return None
        return (self.zero_gamma - self.spot) / self.spot * 100.0

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``gextui snapshot --json`` (NaN becomes None)."""
        strikes = [
            {k: _num(row[k]) for k in ("strike", "call_gex", "put_gex", "net_gex")}
            | {"call_oi": _num(row["call_oi"]), "put_oi": _num(row["put_oi"])}
            for row in self.strikes.select(
                "strike", "call_gex", "put_gex", "net_gex", "call_oi", "put_oi"
            ).iter_rows(named=True)
        ]
        return {
            "ticker": self.ticker,
            "source": self.source,
            "as_of": self.as_of.isoformat(),
            "spot": _num(self.spot),
            "expiry": self.expiry,
            "expirations": [d.isoformat() for d in self.expirations],
            "net_gex": _num(self.net_gex),
            "call_gex": _num(self.call_gex),
            "put_gex": _num(self.put_gex),
            "abs_gex": _num(self.abs_gex),
            "net_gex_volume": _num(self.net_gex_volume),
            "net_dex": _num(self.net_dex),
            "net_vex": _num(self.net_vex),
            "net_cex": _num(self.net_cex),
            "zero_gamma": _num(self.zero_gamma),
            "zero_gamma_crossings": [_num(x) for x in self.zero_gamma_crossings],
            "zero_gamma_note": self.zero_gamma_note,
            "gamma_regime": self.gamma_regime,
            "call_wall": _num(self.call_wall),
            "put_wall": _num(self.put_wall),
            "max_pain": _num(self.max_pain),
            "max_pain_expiration": (
                self.max_pain_expiration.isoformat() if self.max_pain_expiration else None
            ),
            "put_call_oi_ratio": _num(self.put_call_oi_ratio),
            "prev_close": _num(self.prev_close),
            "coverage": {
                "contracts": self.coverage.contracts,
                "with_greeks": self.coverage.with_greeks,
                "with_oi": self.coverage.with_oi,
                "with_both": self.coverage.with_both,
                "chain_total": self.coverage.chain_total,
                "rejected_values": self.coverage.rejected,
            },
            "by_expiration": [e.to_dict() for e in self.by_expiration],
            "abs_gamma_strike": _num(self.abs_gamma_strike),
            "call_walls": [w.to_dict() for w in self.call_walls],
            "put_walls": [w.to_dict() for w in self.put_walls],
            "expected_move": _num(self.expected_move),
            "expected_move_strike": _num(self.expected_move_strike),
            "expected_move_expiration": (
                self.expected_move_expiration.isoformat() if self.expected_move_expiration else None
            ),
            "strikes": strikes,
        }


def _num(value: float | None) -> float | None:
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def _opt(value: float) -> float | None:
    return value if math.isfinite(value) else None


# --------------------------------------------------------------------------- selection
def live_expirations(book: ChainBook, as_of: datetime) -> list[date]:
    """Expirations with at least one contract not yet settled at ``as_of``."""
    a = book.arrays()
    now_us = as_of.timestamp() * 1e6
    days = a.expiry_days[a.expiry_last_settlement_us > now_us]
    return [EPOCH + timedelta(days=int(d)) for d in days]


def _selection(
    a: ChainArrays, expiry: str, moment: datetime
) -> tuple[tuple[date, ...], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """(the expirations ``expiry`` picks at ``moment``, which of the book's expirations they
    are, the mask of live contracts in them). Raises ExpirySelectionError."""
    now_us = moment.timestamp() * 1e6
    live = a.expiry_last_settlement_us > now_us
    days = a.expiry_days[live]
    exps = tuple(select_expirations([EPOCH + timedelta(days=int(d)) for d in days], expiry, moment))
    chosen = np.zeros(a.expiry_days.size, dtype=bool)
    if exps:
        wanted = np.array([(e - EPOCH).days for e in exps], dtype=a.expiry_days.dtype)
        chosen[np.searchsorted(a.expiry_days, wanted)] = True
    # a.settlement_us > now_us  ⟺  T > 0 (the sign of a float difference is exact)
    return exps, chosen, chosen[a.expiry_index] & (a.settlement_us > now_us)


def select_contracts(
    book: ChainBook, expiry: str, moment: datetime
) -> tuple[Array, tuple[date, ...], npt.NDArray[np.bool_]]:
    """(T in years per contract — NaN when expired, the expirations ``expiry`` picks at
    ``moment``, the mask of live contracts in them). Raises ExpirySelectionError."""
    a = book.arrays()
    exps, _, sel = _selection(a, expiry, moment)
    return years_to_settlement(a.settlement_us, moment), exps, sel


# --------------------------------------------------------------------------- main entry
def compute_exposure(
    book: ChainBook,
    expiry: str = "all",
    *,
    as_of: datetime | None = None,
    r: float = 0.0,
    q: float = 0.0,
    profile_points: int = PROFILE_POINTS,
) -> ExposureSnapshot:
    """All exposure figures of ``book`` for the expirations ``expiry`` selects at ``as_of``
    (default: the book's as-of time). Raises ExpirySelectionError for a bad selection."""
    moment = (as_of or book.as_of or datetime.now(UTC)).astimezone(UTC)
    a = book.arrays()
    st = a.state
    spot = float(book.underlying.spot)
    have_spot = math.isfinite(spot) and spot > 0
    s = spot if have_spot else float("nan")

    exps, chosen_exp, sel = _selection(a, expiry, moment)
    n_sel = int(np.count_nonzero(sel))
    # the usual "all" case takes the book's columns as they are (no gathers)
    idx = None if n_sel == sel.size else np.flatnonzero(sel)

    def take(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return values if idx is None else values[idx]

    g_raw, oi_raw = take(st["gamma"]), take(st["open_interest"])
    has_g = ~np.isnan(g_raw)
    has_oi = ~np.isnan(oi_raw)
    with_both = int(np.count_nonzero(has_g & has_oi))
    coverage = Coverage(
        contracts=n_sel,
        with_greeks=int(np.count_nonzero(has_g)),
        with_oi=int(np.count_nonzero(has_oi)),
        with_both=with_both,
        chain_total=len(book),
        rejected=book.rejected_values,
    )

    strike = take(a.strike)
    is_call = take(a.is_call)
    sign = np.where(is_call, 1.0, -1.0)
    mult = take(a.multiplier)
    now_us = moment.timestamp() * 1e6
    # T as :func:`years_to_settlement` gives it (every selected contract is live)
    t_sel = (take(a.settlement_us).astype(np.float64) - now_us) / 1e6 / YEAR_SECONDS
    np.maximum(t_sel, MIN_T_YEARS, out=t_sel)
    iv = take(st["iv"])
    # missing values add nothing to sums (they are counted as missing coverage)
    oi = np.where(has_oi, oi_raw, 0.0)
    gam = np.where(has_g, g_raw, 0.0)
    vol = _nan_to_zero(take(st["day_volume"]))
    dlt = _nan_to_zero(take(st["delta"]))
    w_oi = oi * mult  # shares of open interest per contract
    w_vol = vol * mult

    # per-contract unit exposures (per share of OI or volume)
    sgam = sign * gam
    unit: dict[str, Array] = {"gex": sgam * (s * s * 0.01), "dex": dlt * s}
    # d1 = (ln S − a)/(σ√T) with a = ln K − (r − q + σ²/2)T: shared by vanna/charm and the
    # zero-gamma profile (which evaluates the same Gaussian at hypothetical spots)
    with np.errstate(invalid="ignore", divide="ignore"):
        vol_t = iv * np.sqrt(t_sel)
        a_ln = np.log(strike) - (r - q + 0.5 * iv * iv) * t_sel
    if have_spot:
        van, chm = _vanna_charm(s, strike, iv, t_sel, is_call, r, q, a_ln, vol_t)
        unit["vex"] = sign * van * (s * 0.01)
        unit["cex"] = sign * chm * (s / 365.0)
    else:
        unit = {k: np.zeros_like(strike) for k in METRICS}

    gex_c = unit["gex"] * w_oi  # GEX per contract (OI)
    strikes_u, cols, strikes_df = _per_strike(
        a.strikes, take(a.strike_index), is_call, unit, w_oi, w_vol, oi, vol
    )

    call_gex = float(cols["call_gex"].sum())
    put_gex = float(cols["put_gex"].sum())
    abs_gex = float(np.abs(gex_c).sum())
    call_oi_total = float(cols["call_oi"].sum())
    put_oi_total = float(cols["put_oi"].sum())

    call_walls = _top_walls(strikes_u, cols["call_gex"], largest=True)
    put_walls = _top_walls(strikes_u, cols["put_gex"], largest=False)
    abs_by_strike = np.abs(cols["call_gex"]) + np.abs(cols["put_gex"])
    abs_strike = _wall(strikes_u, abs_by_strike, largest=True)

    exp_index = take(a.expiry_index)
    by_exp = _by_expiration(a, exp_index, chosen_exp, is_call, gex_c)

    mp_exp = exps[0] if exps else None
    max_pain = None
    em: tuple[float, float] | None = None
    if mp_exp is not None:
        # the nearest expiration's contracts (positions in the selection, then in the book)
        nearest = int(np.searchsorted(a.expiry_days, (mp_exp - EPOCH).days))
        in_exp = np.flatnonzero(exp_index == nearest)
        max_pain = _max_pain(strike[in_exp], is_call[in_exp], w_oi[in_exp])
        if have_spot:
            rows = in_exp if idx is None else idx[in_exp]
            em = _expected_move(
                s,
                strike[in_exp],
                is_call[in_exp],
                a.settlement_us[rows],
                {k: st[k][rows] for k in ("bid", "ask", "price")},
            )

    # ------------------------------------------------------------------ zero gamma
    crossings: tuple[float, ...] = ()
    zero_gamma: float | None = None
    profile: pl.DataFrame | None = None
    note = ""
    if not have_spot:
        note = "no spot price yet"
    else:
        use = (oi > 0) & (iv > 0) & np.isfinite(iv)
        span = (PROFILE_LOW * s, PROFILE_HIGH * s)
        weight = sign * w_oi
        prof = _Profile(a_ln, vol_t, t_sel, weight, q, span, use)
        if prof.total == 0:
            note = "no contracts with both IV and open interest"
        elif prof.size == 0:
            note = "no contract has gamma within ±20 % of spot"
        else:
            grid = np.linspace(PROFILE_LOW * s, PROFILE_HIGH * s, max(profile_points, 3))
            xs, values, crossings = prof.scan(grid)
            profile = pl.DataFrame([pl.Series("spot", xs), pl.Series("net_gex", values)])
            if crossings:
                zero_gamma = min(crossings, key=lambda x: abs(x - s))
            else:
                sign_word = "positive" if values[0] > 0 else "negative"
                note = (
                    f"profile stays {sign_word} from {grid[0]:,.0f} to {grid[-1]:,.0f}: "
                    "no gamma flip in ±20 % of spot"
                )

    return ExposureSnapshot(
        ticker=book.ticker,
        source=book.source,
        as_of=moment,
        spot=spot if have_spot else None,
        prev_close=_opt(book.underlying.prev_close),
        expiry=expiry,
        expirations=exps,
        net_gex=call_gex + put_gex,
        call_gex=call_gex,
        put_gex=put_gex,
        abs_gex=abs_gex,
        net_gex_volume=float(cols["net_gex_vol"].sum()),
        net_dex=float(cols["net_dex"].sum()),
        net_vex=float(cols["net_vex"].sum()),
        net_cex=float(cols["net_cex"].sum()),
        zero_gamma=zero_gamma,
        zero_gamma_crossings=crossings,
        zero_gamma_note=note,
        call_wall=call_walls[0].strike if call_walls else None,
        put_wall=put_walls[0].strike if put_walls else None,
        max_pain=max_pain,
        max_pain_expiration=mp_exp if max_pain is not None else None,
        put_call_oi_ratio=put_oi_total / call_oi_total if call_oi_total > 0 else None,
        coverage=coverage,
        strikes=strikes_df,
        profile=(
            profile
            if profile is not None
            else pl.DataFrame(schema={"spot": pl.Float64, "net_gex": pl.Float64})
        ),
        by_expiration=by_exp,
        abs_gamma_strike=abs_strike,
        call_walls=call_walls,
        put_walls=put_walls,
        expected_move=em[0] if em else None,
        expected_move_strike=em[1] if em else None,
        expected_move_expiration=mp_exp if em else None,
    )


def _nan_to_zero(values: Array) -> Array:
    """A copy with NaN → 0: missing data adds nothing to sums."""
    return np.where(np.isnan(values), 0.0, values)


def _zero_nan(values: Array) -> Array:
    """NaN → 0 in place (for fancy-indexed copies): missing data adds nothing to sums."""
    values[np.isnan(values)] = 0.0
    return values


def _per_strike(
    strikes: Array,
    inv: npt.NDArray[np.int64],
    is_call: npt.NDArray[np.bool_],
    unit: Mapping[str, Array],
    w_oi: Array,
    w_vol: Array,
    oi: Array,
    vol: Array,
) -> tuple[Array, dict[str, Array], pl.DataFrame]:
    """(the strikes with a selected contract, their per-strike columns, the strikes frame).

    The book keeps instruments in strike order, so the selected contracts (in book order) are
    one run per strike and np.add.reduceat sums the runs (a bincount when they are not).
    Puts are the total minus the calls (one masked product per column instead of two)."""
    call_w = is_call.astype(np.float64)
    n = inv.size
    if n and bool(np.all(inv[1:] >= inv[:-1])):
        starts = np.flatnonzero(np.concatenate(([True], inv[1:] != inv[:-1])))
        strikes_u = strikes[inv[starts]]

        def runs(values: Array) -> Array:
            return np.add.reduceat(values, starts)

    else:
        present = np.unique(inv)
        strikes_u = strikes[present]

        def runs(values: Array) -> Array:
            sums = np.bincount(inv, weights=values, minlength=strikes.size)
            return sums[present].astype(np.float64, copy=False)

    names = ["strike"]
    table = np.empty((strikes_u.size, 29), order="F")  # columns contiguous for polars
    table[:, 0] = strikes_u
    j = 1
    for metric in METRICS:
        for weight, suffix in ((w_oi, ""), (w_vol, "_vol")):
            name = f"{metric}{suffix}"
            per = unit[metric] * weight
            if n:
                total, calls = runs(per), runs(per * call_w)
                table[:, j] = calls
                np.subtract(total, calls, out=table[:, j + 1])
                table[:, j + 2] = total
            names += [f"call_{name}", f"put_{name}", f"net_{name}"]
            j += 3
    for name, per in (("oi", oi), ("volume", vol)):
        if n:
            total, calls = runs(per), runs(per * call_w)
            table[:, j] = calls
            np.subtract(total, calls, out=table[:, j + 1])
        names += [f"call_{name}", f"put_{name}"]
        j += 2
    frame = (
        pl.from_numpy(table, schema=names, orient="row")
        if strikes_u.size
        else pl.DataFrame(schema=dict.fromkeys(names, pl.Float64))
    )
    return strikes_u, {name: table[:, k] for k, name in enumerate(names)}, frame


def _by_expiration(
    a: ChainArrays,
    exp_index: npt.NDArray[np.int64],
    chosen: npt.NDArray[np.bool_],
    is_call: npt.NDArray[np.bool_],
    gex: Array,
) -> tuple[ExpirationExposure, ...]:
    """Net / call / put / absolute GEX and the live contracts of each selected expiration
    (one bincount over (expiration, type) pairs)."""
    n_exp = a.expiry_days.size
    key = exp_index * 2 + is_call
    both = np.bincount(key, weights=gex, minlength=2 * n_exp).reshape(n_exp, 2)
    absolute = np.bincount(exp_index, weights=np.abs(gex), minlength=n_exp)
    count = np.bincount(exp_index, minlength=n_exp)
    pick = np.flatnonzero(chosen)
    days = a.expiry_days[pick].tolist()
    puts, calls = both[pick, 0].tolist(), both[pick, 1].tolist()
    return tuple(
        ExpirationExposure(EPOCH + timedelta(days=d), c + p, c, p, ab, n)
        for d, c, p, ab, n in zip(
            days, calls, puts, absolute[pick].tolist(), count[pick].tolist(), strict=True
        )
    )


def _expected_move(
    s: float,
    strike: Array,
    is_call: npt.NDArray[np.bool_],
    settlement: npt.NDArray[np.int64],
    state: Mapping[str, Array],
) -> tuple[float, float] | None:
    """(ATM straddle price in index points, its strike) of one expiration's contracts.

    The ATM strike is the listed strike nearest spot that has both a call and a put of the
    same settlement (AM and PM roots are separate; ties: the lower strike, then the later
    settlement). Each leg's price is its quote mid ((bid + ask) / 2, when both are there and
    ask ≥ bid), else the feed's mark (the Greeks event's price); None when either leg has
    neither."""
    bid, ask, mark = state["bid"], state["ask"], state["price"]
    # sorted by strike, settlement, type (puts first): a listed straddle is a put followed
    # by a call of the same strike and settlement
    order = np.lexsort((is_call, settlement, strike))
    k, t, c = strike[order], settlement[order], is_call[order]
    p = np.flatnonzero((k[:-1] == k[1:]) & (t[:-1] == t[1:]) & ~c[:-1] & c[1:])
    if not p.size:
        return None
    best = int(p[np.lexsort((-t[p], k[p], np.abs(k[p] - s)))[0]])
    legs = order[[best, best + 1]]
    with np.errstate(invalid="ignore"):
        quoted = (ask[legs] >= bid[legs]) & (ask[legs] > 0)
    price = np.where(quoted, 0.5 * (bid[legs] + ask[legs]), mark[legs])
    straddle = float(price.sum())
    return (straddle, float(k[best])) if math.isfinite(straddle) else None


def _vanna_charm(
    s: float,
    strike: Array,
    iv: Array,
    t: Array,
    is_call: npt.NDArray[np.bool_],
    r: float,
    q: float,
    a_ln: Array,
    vol_t: Array,
) -> tuple[Array, Array]:
    """Vanna and charm (per year); NaN inputs give 0. For r = q = 0 the closed forms
    −φ(d1)d2/σ and φ(d1)d2/(2T) use the shared d1 = (ln S − a)/(σ√T) and skip the normal
    CDF; otherwise :mod:`gextui.core.greeks` computes the general forms."""
    if r != 0.0 or q != 0.0:
        van = vanna(s, strike, iv, t, r, q)
        chm = charm(s, strike, iv, t, is_call, r, q)
        return _zero_nan(van), _zero_nan(chm)
    with np.errstate(invalid="ignore", divide="ignore"):
        d1 = (math.log(s) - a_ln) / vol_t
        d2 = d1 - vol_t
        pdf = INV_SQRT_2PI * np.exp(-0.5 * d1 * d1)
        van = -pdf * d2 / iv
        chm = pdf * d2 / (2.0 * t)
    ok = (iv > 0) & (t > 0)
    van[~ok] = 0.0
    chm[~ok] = 0.0
    return _zero_nan(van), _zero_nan(chm)


def _top_walls(strikes: Array, values: Array, *, largest: bool) -> tuple[Wall, ...]:
    """The WALLS strikes with the largest (``largest``) or most negative per-strike GEX,
    strongest first (ties: the lower strike first, as for the call/put wall); only strikes
    whose GEX has the wall's sign count."""
    if values.size == 0:
        return ()
    key = -values if largest else values
    n = min(WALLS, values.size)
    part = np.argpartition(key, n - 1)[:n] if values.size > n else np.arange(values.size)
    # exact ordering among the candidates and any ties with the n-th (stable: lower strike)
    cut = key[part].max()
    cand = np.flatnonzero(key <= cut)
    cand = cand[np.argsort(key[cand], kind="stable")][:n]
    return tuple(Wall(float(strikes[i]), float(values[i])) for i in cand.tolist() if key[i] < 0)


def _wall(strikes: Array, values: Array, *, largest: bool) -> float | None:
    if values.size == 0:
        return None
    i = int(np.argmax(values) if largest else np.argmin(values))
    v = values[i]
    if (largest and v <= 0) or (not largest and v >= 0):
        return None
    return float(strikes[i])


def _max_pain(strike: Array, is_call: npt.NDArray[np.bool_], weight: Array) -> float | None:
    """Strike minimising the intrinsic value owed to holders (weight = OI × multiplier).

    pain(P) = Σ_calls w·max(P − K, 0) + Σ_puts w·max(K − P, 0), evaluated at every listed
    strike P with sorted cumulative sums (O(n log n)).
    """
    if strike.size == 0 or not (weight > 0).any():
        return None
    cand = np.unique(strike)
    w_c = np.where(is_call, weight, 0.0)
    w_p = weight - w_c
    order = np.argsort(strike, kind="stable")
    k_sorted = strike[order]
    cum_wc = np.concatenate(([0.0], np.cumsum(w_c[order])))
    cum_wck = np.concatenate(([0.0], np.cumsum(w_c[order] * k_sorted)))
    cum_wp = np.concatenate(([0.0], np.cumsum(w_p[order])))
    cum_wpk = np.concatenate(([0.0], np.cumsum(w_p[order] * k_sorted)))
    below = np.searchsorted(k_sorted, cand, side="right")  # strikes ≤ P
    calls_itm = cand * cum_wc[below] - cum_wck[below]
    puts_itm = (cum_wpk[-1] - cum_wpk[below]) - cand * (cum_wp[-1] - cum_wp[below])
    pain = calls_itm + puts_itm
    return float(cand[int(np.argmin(pain))])


class _Profile:
    """P(x) = x · Σ c_i exp(−½ ((ln x − a_i) b_i)²), the BS-gamma profile in closed form:
    Γ_i(x) x² = e^(−qT) φ(d1) x / (σ√T), d1 = (ln x − ln K + (r − q + σ²/2)T) / (σ√T).

    Each term g_i(x) = x exp(−½ ((ln x − a_i) b_i)²) is a bump of width σ√T = 1/b_i in ln x,
    unimodal (log-concave in ln x) with its peak at ln x = a_i + 1/b_i², where it is
    exp(a_i + 1/(2 b_i²)).

    float32 work uses ln x and a_i relative to the span's centre (``ref``), so that both are
    small numbers and their difference keeps float32's relative precision.
    """

    def __init__(
        self,
        a: Array,
        vol_t: Array,
        t: Array,
        weight: Array,
        q: float,
        span: tuple[float, float],
        use: npt.NDArray[np.bool_] | None = None,
    ):
        """``a`` = ln K − (r − q + σ²/2)T and ``vol_t`` = σ√T per contract (shared with
        vanna/charm); ``weight`` = sign · OI · m; ``use``: the contracts that count (default
        all; :attr:`total` counts them)."""
        # d = (ln x − a)/(σ√T) is increasing in x: a contract with d > TAIL_D at the low end
        # of the span, or d < −TAIL_D at the high end, adds < φ(9) ≈ 1e-18 of its weight
        # anywhere in the span — nothing at double precision next to the near-the-money
        # terms. Drop it.
        lo, hi = math.log(span[0]), math.log(span[1])
        tail = TAIL_D * vol_t
        keep = (a >= lo - tail) & (a <= hi + tail)
        if use is not None:
            keep &= use
        self.total = int(keep.size if use is None else np.count_nonzero(use))
        if not keep.all():
            a, t, weight, vol_t = a[keep], t[keep], weight[keep], vol_t[keep]
        self.ref = 0.5 * (lo + hi)
        self.a = a
        self.b = 1.0 / vol_t
        # 0.01 for "per 1 % move"; e^(−qT) only when q ≠ 0
        self.c = weight * (0.01 * INV_SQRT_2PI) * self.b
        if q != 0.0:
            self.c *= np.exp(-q * t)
        self.abs_c = np.abs(self.c)
        self.abs_c_sum = float(self.abs_c.sum())
        self.size = int(a.size)

    def _u32(self, xs: Array) -> npt.NDArray[np.float32]:
        """ln x − ref, float32."""
        return (np.log(xs) - self.ref).astype(np.float32)

    @staticmethod
    def _sum32(u: npt.NDArray[np.float32], a: Array, b: Array, c: Array) -> Array:
        """Σ c exp(−½ ((u − a) b)²) at every ``u`` (float32 terms: twice as fast as float64;
        brackets are re-checked and refined in float64 by :meth:`at`), a few points at a
        time so that the work matrix stays in cache. ``a`` is relative to ``ref``."""
        a32 = a.astype(np.float32)
        b32 = b.astype(np.float32)
        c32 = c.astype(np.float32)
        out = np.empty(u.size)
        chunk = 8
        buf = np.empty((min(chunk, u.size), a32.size), dtype=np.float32)
        for start in range(0, u.size, chunk):
            part = u[start : start + chunk]
            d = buf[: part.size]
            np.subtract(part[:, None], a32[None, :], out=d)
            d *= b32
            d *= d
            d *= np.float32(-0.5)
            np.exp(d, out=d)
            out[start : start + part.size] = d @ c32
        return out

    def _smooth(self, grid: Array, use: npt.NDArray[np.bool_], step0: float) -> Array:
        """Σ c_i g_i at every point of the uniform grid over the terms ``use`` (each at least
        1/RESOLVED steps wide). A term W steps wide is evaluated only every s-th point, s the
        largest power of 2 with W ≥ SUBSAMPLE · s (at most (m − 1)/5, so that ≥ 6 points
        remain), and interpolated between them by quintic Lagrange: for a Gaussian of width
        σ sampled every h ≤ σ/SUBSAMPLE the error is below 15 · 3.52 / 6! · (h/σ)⁶ ≈ 1e-4 of
        its peak (:data:`INTERP_ERR`)."""
        m = grid.size
        out = np.zeros(m)
        pick = np.flatnonzero(use)
        if not pick.size:
            return out
        u = self._u32(grid)
        kmax = 0
        while (m - 1) % (2 ** (kmax + 1)) == 0 and (m - 1) // 2 ** (kmax + 1) >= 5:
            kmax += 1
        b = self.b[pick]
        if kmax:
            with np.errstate(divide="ignore"):
                level = np.log2(1.0 / (b * (step0 * SUBSAMPLE)))
            np.floor(level, out=level)
            np.clip(level, 0, kmax, out=level)
            lv = level.astype(np.int8)
            order = np.argsort(lv, kind="stable")  # radix sort of small integers
            counts = np.bincount(lv, minlength=kmax + 1).tolist()
            pick = pick[order]
            b = b[order]
        else:
            counts = [pick.size]
        a = self.a[pick] - self.ref
        c = self.c[pick]
        start = 0
        for k, n in enumerate(counts):
            if not n:
                continue
            s = 2**k
            part = slice(start, start + n)
            v = self._sum32(u[::s], a[part], b[part], c[part])
            out += v if s == 1 else _lagrange_matrix(m, s) @ v
            start += n
        out *= grid
        return out

    def _terms(self, xs: Array, a: Array, b: Array) -> npt.NDArray[np.float32]:
        """g_i(x) for every x (rows) and term (columns), float32 (``a`` absolute)."""
        d = self._u32(xs)[:, None] - (a - self.ref).astype(np.float32)[None, :]
        d *= b.astype(np.float32)[None, :]
        d *= d
        d *= np.float32(-0.5)
        np.exp(d, out=d)
        d *= xs.astype(np.float32)[:, None]
        return d

    def evaluate(self, xs: Array) -> Array:
        """P at every x (float32 sums)."""
        return self._sum32(self._u32(xs), self.a - self.ref, self.b, self.c) * xs

    def at(self, x: float) -> float:
        """P(x) in float64; 0 when the sum is within rounding of cancelling out (|P| ≤
        NOISE × Σ |c_i g_i(x)|): such a value has no sign."""
        d = (math.log(x) - self.a) * self.b
        d *= d
        d *= -0.5
        e = np.exp(d, out=d)
        net = float(x * (e @ self.c))
        if abs(net) > NOISE * x * self.abs_c_sum:  # e ≤ 1: Σ |c_i g_i| ≤ x Σ |c_i|
            return net
        if abs(net) <= NOISE * float(x * (e @ self.abs_c)):
            return 0.0
        return net

    def scan(self, grid: Array) -> tuple[Array, Array, tuple[float, ...]]:
        """(points, P at them, every sign change refined) on the uniform grid ``grid``.

        The coarse grid resolves every term whose width σ√T is at least 1/RESOLVED of its
        step in ln x (wide ones are sampled more sparsely still, :meth:`_smooth`). Narrower
        terms (short-dated contracts: 0DTE, a day or two) can hide a dip between two grid
        points, so each step is checked: its narrow terms can move P by at most
        V = Σ |c_i| (max g_i − min g_i) over the step (exact for unimodal g_i: the peak when
        it lies inside, else the larger end). Where V reaches min(|P(lo)|, |P(hi)|) less the
        error the computed P may carry (interpolation, float32), the step is cut — the narrow
        terms evaluated exactly, the resolved ones interpolated (quintic, from the coarse
        grid) — until every step either cannot hide a sign change or resolves its terms too.
        Then every sign change between consecutive points is refined (Illinois, float64) to
        < ZERO_TOL.
        """
        lx = np.log(grid)
        step0 = float(np.max(np.diff(lx)))
        narrow = self.b * step0 > RESOLVED
        pw = self._smooth(grid, ~narrow, step0)  # the resolved terms at the grid points
        # what a computed P may be off by: interpolation of the resolved terms (twice: onto
        # the grid, then between its points) and float32 sums, against a term's peak
        # (≤ 1.25 x for σ√T < 0.5)
        # (+ float32 error relative to the point's own gross Σ |c_i| g_i: in the tails,
        # where every term is small, float32 terms keep their relative precision)
        res_c = float(self.abs_c[~narrow].sum()) if narrow.any() else self.abs_c_sum
        res_err = (2.5 * INTERP_ERR + 1.25 * F32_ERR) * res_c
        margin = res_err * grid
        if not narrow.any():
            return self._finish(grid, pw, margin)
        an, bn = self.a[narrow], self.b[narrow]
        cn32 = self.c[narrow].astype(np.float32)
        g = self._terms(grid, an, bn)
        abs_c = np.abs(cn32)
        x_peak = np.exp(an + 1.0 / (bn * bn))
        g_peak = np.exp(an + 0.5 / (bn * bn))
        values = pw + g @ cn32
        margin = margin + F32_ERR * (g @ abs_c)
        x0, dx, m = float(grid[0]), float(grid[1] - grid[0]), grid.size

        def wide_at(x: Array) -> Array:  # Lagrange on the uniform coarse grid
            return _lagrange_at(pw, (x - x0) / dx) if m >= 6 else np.interp(x, grid, pw)

        lo, hi = grid[:-1], grid[1:]
        p_lo, p_hi = values[:-1], values[1:]
        m_lo, m_hi = margin[:-1], margin[1:]
        extra_x: list[Array] = [grid]
        extra_v: list[Array] = [values]
        extra_m: list[Array] = [margin]
        for level in range(MAX_LEVELS + 1):
            step = float(np.max(np.log(hi / lo)))
            act = np.flatnonzero(bn * step > RESOLVED)  # terms this step does not resolve
            if not act.size or level == MAX_LEVELS:
                break
            if level == 0 and act.size == bn.size:
                g_lo, g_hi = g[:-1], g[1:]
            else:  # only the active terms, at the ends of the current steps
                g_lo = self._terms(lo, an[act], bn[act])
                g_hi = self._terms(hi, an[act], bn[act])
            diff = np.subtract(g_hi, g_lo)
            np.abs(diff, out=diff)
            var = (diff @ abs_c[act]).astype(np.float64)
            # a peak inside a step: the range is from the peak, not the larger end
            # (the steps stay sorted: each is replaced in place by its pieces)
            k = np.searchsorted(lo, x_peak[act], side="right") - 1
            idx = np.clip(k, 0, None)
            ok = (k >= 0) & (x_peak[act] < hi[idx])
            if ok.any():
                ii, tt = idx[ok], np.flatnonzero(ok)
                top = np.maximum(g_lo[ii, tt], g_hi[ii, tt])
                var += np.bincount(
                    ii, weights=abs_c[act[tt]] * (g_peak[act[tt]] - top), minlength=var.size
                )
            split = var > np.minimum(np.abs(p_lo), np.abs(p_hi)) - np.maximum(m_lo, m_hi)
            if not split.any():
                break
            lo, hi, p_lo, p_hi = lo[split], hi[split], p_lo[split], p_hi[split]
            m_lo, m_hi = m_lo[split], m_hi[split]
            # cut each such step into n at once, n enough to resolve the narrowest active
            # term (at most MAX_SPLIT: the next round goes on if that was not enough)
            n = int(min(MAX_SPLIT, max(2, math.ceil(step * float(bn[act].max()) / RESOLVED))))
            frac = np.arange(1, n) / n
            mids = (lo[:, None] + (hi - lo)[:, None] * frac[None, :]).ravel()
            g_mid = self._terms(mids, an, bn)
            p_mid = wide_at(mids) + g_mid @ cn32
            m_mid = res_err * mids + F32_ERR * (g_mid @ abs_c)
            extra_m.append(m_mid)
            extra_x.append(mids)
            extra_v.append(p_mid)
            k2 = lo.size
            mm = mids.reshape(k2, n - 1)
            pm = p_mid.reshape(k2, n - 1)
            lo = np.concatenate((lo[:, None], mm), axis=1).ravel()
            hi = np.concatenate((mm, hi[:, None]), axis=1).ravel()
            p_lo = np.concatenate((p_lo[:, None], pm), axis=1).ravel()
            p_hi = np.concatenate((pm, p_hi[:, None]), axis=1).ravel()
            mmid = m_mid.reshape(k2, n - 1)
            m_lo = np.concatenate((m_lo[:, None], mmid), axis=1).ravel()
            m_hi = np.concatenate((mmid, m_hi[:, None]), axis=1).ravel()
        xs = np.concatenate(extra_x)
        vs = np.concatenate(extra_v)
        ms = np.concatenate(extra_m)
        order = np.argsort(xs)
        return self._finish(xs[order], vs[order], ms[order])

    def _finish(
        self, xs: Array, vs: Array, margin: Array
    ) -> tuple[Array, Array, tuple[float, ...]]:
        """(points, values, crossings) once the sampled points are complete: the steps
        :meth:`_examine` checks added, then every sign change refined."""
        xs, vs, exact = self._examine(xs, vs, margin)
        return xs, vs, tuple(self._crossings(xs, vs, exact))

    def _values64(self, xs: Array) -> tuple[Array, Array]:
        """(P at every x in float64 — 0 where it cancels to rounding, as :meth:`at` —, and
        g_i(x) for every x (rows) and term (columns))."""
        d = (np.log(xs)[:, None] - self.a[None, :]) * self.b[None, :]
        d *= d
        d *= -0.5
        np.exp(d, out=d)
        d *= xs[:, None]
        net = d @ self.c
        net[np.abs(net) <= NOISE * (d @ self.abs_c)] = 0.0
        return net, d

    def _examine(
        self, xs: Array, vs: Array, margin: Array
    ) -> tuple[Array, Array, npt.NDArray[np.bool_]]:
        """Make sure of the steps the sampled values cannot vouch for: those with an end
        within ``margin`` (what a computed value may be off by) of zero. There float32 and
        interpolation say nothing, and far in the tails, where every term is small, a
        resolved-looking sum can still dip across zero and back within a step. Each such step
        is checked in float64 over every term: each unimodal g_i lies between min(g_i(lo),
        g_i(hi)) and its maximum over the step (the peak when inside, else the larger end), so
        P lies between L = Σ c_i (min or max, whichever is lower) and U likewise; the step is
        clear when P has one sign at both ends and L > 0 (or U < 0); otherwise it is halved,
        down to ZERO_TOL. Returns the points with the new ones, their values (float64 where
        examined) and which values are float64's."""
        exact = np.zeros(xs.size, dtype=bool)
        small = np.abs(vs) < margin  # (0 < 0: no term reaches a point in float32)
        cand = np.flatnonzero(small[:-1] | small[1:])
        if not cand.size:
            return xs, vs, exact
        vs = vs.copy()
        end = np.zeros(xs.size, dtype=bool)
        end[cand] = True
        end[cand + 1] = True
        ends = np.flatnonzero(end)
        vs[ends], _ = self._values64(xs[ends])
        exact[ends] = True
        lo, hi, p_lo, p_hi = xs[cand], xs[cand + 1], vs[cand], vs[cand + 1]
        x_peak = np.exp(self.a + 1.0 / (self.b * self.b))
        g_peak = np.exp(self.a + 0.5 / (self.b * self.b))
        new_x: list[Array] = []
        new_v: list[Array] = []
        added = 0
        c_pos = np.where(self.c > 0, self.c, 0.0)
        c_neg = self.c - c_pos
        while lo.size and added < MAX_EXAMINED:
            low = np.empty(lo.size)  # bounds of P over each step
            high = np.empty(lo.size)
            for start in range(0, lo.size, 64):  # (steps × terms) matrices in pieces
                part = slice(start, start + 64)
                _, g_lo = self._values64(lo[part])
                _, g_hi = self._values64(hi[part])
                top = np.maximum(g_lo, g_hi)
                inside = (x_peak[None, :] > lo[part, None]) & (x_peak[None, :] < hi[part, None])
                np.copyto(top, np.broadcast_to(g_peak, top.shape), where=inside)
                bottom = np.minimum(g_lo, g_hi, out=g_lo)
                low[part] = bottom @ c_pos + top @ c_neg
                high[part] = top @ c_pos + bottom @ c_neg
            clear = ((p_lo > 0) & (p_hi > 0) & (low > 0)) | ((p_lo < 0) & (p_hi < 0) & (high < 0))
            clear |= (low == 0.0) & (high == 0.0)  # no term reaches the step
            # a sign change is a bracket (refined later); zeros have no sign
            change = (p_lo != 0.0) & (p_hi != 0.0) & (np.signbit(p_lo) != np.signbit(p_hi))
            doubt = ~clear & ~change & (hi - lo > ZERO_TOL)
            if not doubt.any():
                break
            lo, hi, p_lo, p_hi = lo[doubt], hi[doubt], p_lo[doubt], p_hi[doubt]
            mid = 0.5 * (lo + hi)
            p_mid, _ = self._values64(mid)
            new_x.append(mid)
            new_v.append(p_mid)
            added += mid.size
            lo, hi = np.concatenate((lo, mid)), np.concatenate((mid, hi))
            p_lo, p_hi = np.concatenate((p_lo, p_mid)), np.concatenate((p_mid, p_hi))
        if not new_x:
            return xs, vs, exact
        xs = np.concatenate((xs, *new_x))
        vs = np.concatenate((vs, *new_v))
        exact = np.concatenate((exact, np.ones(added, dtype=bool)))
        order = np.argsort(xs, kind="stable")
        return xs[order], vs[order], exact[order]

    def _crossings(self, xs: Array, ys: Array, exact: npt.NDArray[np.bool_]) -> list[float]:
        """Every sign change of P between consecutive points ``xs`` (sorted), refined by
        Illinois. A value that is exactly 0 in float32 (its terms underflowed) is re-evaluated
        in float64; one that is 0 even then (no term reaches it, or the terms cancel to
        rounding) has no sign and is skipped: a crossing is a change of sign between values
        that have one. A bracket whose ends are within float32 doubt of zero (F32_DOUBT ×
        Σ|c| x; float32 sums carry a relative error of ~1e-7 × n) is re-checked in float64."""
        ys = ys.copy()
        exact = exact.copy()
        doubt = F32_DOUBT * self.abs_c_sum * float(xs[-1]) if xs.size else 0.0
        zero = (ys == 0.0) & exact  # float64 zeros: no sign
        if zero.any():
            xs, ys, exact = xs[~zero], ys[~zero], exact[~zero]
        fix = np.flatnonzero((ys == 0.0) & ~exact)
        for _ in range(ys.size + 1):
            if fix.size:
                ys[fix] = [self.at(float(xs[i])) for i in fix]
                exact[fix] = True
                signed = ys != 0.0
                xs, ys, exact = xs[signed], ys[signed], exact[signed]
            # the ends of every sign change that float32 alone cannot vouch for, until the
            # signs around each change are float64's
            flip = np.signbit(ys[:-1]) != np.signbit(ys[1:])
            end = np.zeros(ys.size, dtype=bool)
            end[:-1] |= flip
            end[1:] |= flip
            fix = np.flatnonzero(end & ~exact & (np.abs(ys) <= doubt))
            if not fix.size:
                break
        return [
            _refine(self, float(xs[i]), float(xs[i + 1]), float(ys[i]), float(ys[i + 1]))
            for i in np.flatnonzero(np.signbit(ys[:-1]) != np.signbit(ys[1:]))
        ]


@functools.lru_cache(maxsize=32)
def _lagrange_matrix(m: int, s: int) -> Array:
    """(m × n) weights taking values at every s-th of m uniform points (n = (m − 1)/s + 1,
    n ≥ 6) to all m points by quintic Lagrange on the 6 nearest nodes (read-only)."""
    n = (m - 1) // s + 1
    pos = np.arange(m) / s
    j0 = np.clip(np.floor(pos).astype(np.int64) - 2, 0, n - 6)
    w = _lagrange_weights(pos - j0)
    out = np.zeros((m, n))
    rows = np.arange(m)
    for r in range(6):
        out[rows, j0 + r] += w[r]
    out.flags.writeable = False
    return out


def _lagrange_weights(t: Array) -> list[Array]:
    """The 6 quintic Lagrange weights on nodes 0 … 5 at positions ``t``."""
    out = []
    for r in range(6):
        w = np.ones_like(t)
        for j in range(6):
            if j != r:
                w *= (t - j) / (r - j)
        out.append(w)
    return out


def _lagrange_at(values: Array, pos: Array) -> Array:
    """Quintic Lagrange interpolation of ``values`` (on nodes 0, 1, …) at ``pos``."""
    j0 = np.clip(np.floor(pos).astype(np.int64) - 2, 0, values.size - 6)
    w = _lagrange_weights(pos - j0)
    out = w[0] * values[j0]
    for r in range(1, 6):
        out += w[r] * values[j0 + r]
    return out


def _refine(prof: _Profile, s: float, t: float, fs: float, ft: float) -> float:
    """Illinois (modified regula falsi) on a bracket [s, t] with fs·ft < 0, to ZERO_TOL;
    falls back to bisection if it has not converged after 40 steps."""
    side = 0
    for step in range(100):
        if abs(t - s) < ZERO_TOL:
            break
        r = (fs * t - ft * s) / (fs - ft) if step < 40 else 0.5 * (s + t)
        fr = prof.at(r)
        if fr == 0.0:
            return r
        if (fr > 0) == (ft > 0):  # signs, not the product (it underflows in far tails)
            t, ft = r, fr
            if side == -1:
                fs *= 0.5
            side = -1
        else:
            s, fs = r, fr
            if side == 1:
                ft *= 0.5
            side = 1
    return 0.5 * (s + t)


def exposure_by_expiration(book: ChainBook, as_of: datetime | None = None) -> Mapping[date, float]:
    """Net GEX per live expiration (for the expiry picker), in one vectorised pass: the same
    sign · Γ · OI · m · S² · 0.01 sums as :func:`compute_exposure`, grouped by expiration."""
    moment = (as_of or book.as_of or datetime.now(UTC)).astimezone(UTC)
    a = book.arrays()
    live = ~np.isnan(years_to_settlement(a.settlement_us, moment))
    spot = float(book.underlying.spot)
    s = spot if math.isfinite(spot) and spot > 0 else 0.0
    st = a.state
    gex = np.where(a.is_call[live], 1.0, -1.0) * _zero_nan(st["gamma"][live])
    gex *= _zero_nan(st["open_interest"][live]) * a.multiplier[live] * (s * s * 0.01)
    per = np.bincount(a.expiry_index[live], weights=gex, minlength=a.expiry_days.size)
    return {
        EPOCH + timedelta(days=int(a.expiry_days[i])): float(per[i])
        for i in np.unique(a.expiry_index[live])
    }
