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

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl

from gextui.core.chain import ChainBook
from gextui.core.expiry import select_expirations, years_to_settlement
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


@dataclass(frozen=True, slots=True)
class Coverage:
    """How much of the selected chain has the data the figures need."""

    contracts: int  # live contracts in the selected expirations
    with_greeks: int  # ... that have a gamma
    with_oi: int  # ... that have open interest
    with_both: int
    chain_total: int  # every contract in the book (all expirations, incl. expired)

    @property
    def fraction(self) -> float:
        return self.with_both / self.contracts if self.contracts else 0.0


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
            },
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


def select_contracts(
    book: ChainBook, expiry: str, moment: datetime
) -> tuple[Array, tuple[date, ...], npt.NDArray[np.bool_]]:
    """(T in years per contract — NaN when expired, the expirations ``expiry`` picks at
    ``moment``, the mask of live contracts in them). Raises ExpirySelectionError."""
    a = book.arrays()
    t_years = years_to_settlement(a.settlement_us, moment)
    exps = tuple(select_expirations(live_expirations(book, moment), expiry, moment))
    wanted_days = {(e - EPOCH).days for e in exps}
    chosen = np.fromiter((int(d) in wanted_days for d in a.expiry_days), bool, a.expiry_days.size)
    return t_years, exps, ~np.isnan(t_years) & chosen[a.expiry_index]


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

    t_years, exps, sel = select_contracts(book, expiry, moment)

    gamma_a, oi_a = st["gamma"], st["open_interest"]
    has_g = ~np.isnan(gamma_a)
    has_oi = ~np.isnan(oi_a)
    coverage = Coverage(
        contracts=int(sel.sum()),
        with_greeks=int((sel & has_g).sum()),
        with_oi=int((sel & has_oi).sum()),
        with_both=int((sel & has_g & has_oi).sum()),
        chain_total=len(book),
    )

    idx = np.flatnonzero(sel)
    strike = a.strike[idx]
    is_call = a.is_call[idx]
    sign = np.where(is_call, 1.0, -1.0)
    mult = a.multiplier[idx]
    t_sel = t_years[idx]
    iv = st["iv"][idx]
    # fancy indexing copies, so zeroing NaN in place is safe
    oi = _zero_nan(oi_a[idx])
    vol = _zero_nan(st["day_volume"][idx])
    gam = _zero_nan(gamma_a[idx])
    dlt = _zero_nan(st["delta"][idx])
    s = spot if have_spot else float("nan")

    # per-contract unit exposures (per one contract of OI or volume)
    unit: dict[str, Array] = {
        "gex": sign * gam * mult * s * s * 0.01,
        "dex": dlt * mult * s,
    }
    # d1 = (ln S − a)/(σ√T) with a = ln K − (r − q + σ²/2)T: shared by vanna/charm and the
    # zero-gamma profile (which evaluates the same Gaussian at hypothetical spots)
    with np.errstate(invalid="ignore", divide="ignore"):
        vol_t = iv * np.sqrt(t_sel)
        a_ln = np.log(strike) - (r - q + 0.5 * iv * iv) * t_sel
    if have_spot:
        van, chm = _vanna_charm(s, strike, iv, t_sel, is_call, r, q, a_ln, vol_t)
    else:
        van = chm = np.zeros_like(strike)
    unit["vex"] = sign * van * mult * s * 0.01
    unit["cex"] = sign * chm * mult * s / 365.0
    if not have_spot:
        unit = {k: np.zeros_like(strike) for k in unit}

    # Per-strike sums of every column at once: one (contracts × columns) weight matrix,
    # rows ordered by strike (the book's static order), summed per strike with reduceat.
    # Per-strike sums. The book keeps instruments in strike order, so ``idx`` (increasing)
    # is strike-sorted and each strike is one run: np.add.reduceat sums the runs. Puts are
    # the total minus the calls (one masked product per column instead of two).
    call_w = is_call.astype(np.float64)
    inv = a.strike_index[idx]
    starts = (
        np.flatnonzero(np.concatenate(([True], inv[1:] != inv[:-1])))
        if idx.size
        else np.empty(0, dtype=np.int64)
    )
    strikes_u = a.strikes[inv[starts]] if idx.size else np.empty(0)

    def runs(values: Array) -> Array:
        return np.add.reduceat(values, starts) if idx.size else np.empty(0)

    cols: dict[str, Array] = {}
    columns = [
        (f"{metric}{suffix}", unit[metric] * weight)
        for metric in METRICS
        for weight, suffix in ((oi, ""), (vol, "_vol"))
    ]
    for name, per in columns:
        total, calls = runs(per), runs(per * call_w)
        cols[f"call_{name}"] = calls
        cols[f"put_{name}"] = total - calls
        cols[f"net_{name}"] = total
    for name, per in (("oi", oi), ("volume", vol)):
        total, calls = runs(per), runs(per * call_w)
        cols[f"call_{name}"] = calls
        cols[f"put_{name}"] = total - calls
    names = ["strike", *cols]
    table = np.empty((len(names), strikes_u.size))
    table[0] = strikes_u
    for j, col in enumerate(cols.values(), start=1):
        table[j] = col
    strikes_df = (
        pl.from_numpy(table, schema=names, orient="col")
        if strikes_u.size
        else pl.DataFrame(schema=dict.fromkeys(names, pl.Float64))
    )
    cols = {name: table[j] for j, name in enumerate(names)}

    call_gex = float(cols["call_gex"].sum())
    put_gex = float(cols["put_gex"].sum())
    abs_gex = float(np.abs(unit["gex"] * oi).sum())
    call_oi_total = float(cols["call_oi"].sum())
    put_oi_total = float(cols["put_oi"].sum())

    call_wall = _wall(strikes_u, cols["call_gex"], largest=True)
    put_wall = _wall(strikes_u, cols["put_gex"], largest=False)

    mp_exp = exps[0] if exps else None
    max_pain = None
    if mp_exp is not None:
        in_exp = a.expiration_days[idx] == (mp_exp - EPOCH).days
        max_pain = _max_pain(strike[in_exp], is_call[in_exp], oi[in_exp] * mult[in_exp])

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
        if use.all():  # the usual case: no copies
            prof = _Profile(a_ln, vol_t, t_sel, sign * oi * mult, q, span)
        else:
            weight = sign[use] * oi[use] * mult[use]
            prof = _Profile(a_ln[use], vol_t[use], t_sel[use], weight, q, span)
        if prof.total == 0:
            note = "no contracts with both IV and open interest"
        elif prof.size == 0:
            note = "no contract has gamma within ±20 % of spot"
        else:
            grid = np.linspace(PROFILE_LOW * s, PROFILE_HIGH * s, max(profile_points, 3))
            xs, values, crossings = prof.scan(grid)
            profile = pl.DataFrame({"spot": xs, "net_gex": values})
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
        call_wall=call_wall,
        put_wall=put_wall,
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
    )


def _zero_nan(values: Array) -> Array:
    """NaN → 0 in place (for fancy-indexed copies): missing data adds nothing to sums."""
    values[np.isnan(values)] = 0.0
    return values


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
    """

    def __init__(
        self, a: Array, vol_t: Array, t: Array, weight: Array, q: float, span: tuple[float, float]
    ):
        """``a`` = ln K − (r − q + σ²/2)T and ``vol_t`` = σ√T per contract (shared with
        vanna/charm); ``weight`` = sign · OI · m."""
        # d = (ln x − a)/(σ√T) is increasing in x: a contract with d > TAIL_D at the low end
        # of the span, or d < −TAIL_D at the high end, adds < φ(9) ≈ 1e-18 of its weight
        # anywhere in the span — nothing at double precision next to the near-the-money
        # terms. Drop it.
        tail = TAIL_D * vol_t
        keep = (a >= math.log(span[0]) - tail) & (a <= math.log(span[1]) + tail)
        self.total = int(keep.size)
        if not keep.all():
            a, t, weight, vol_t = a[keep], t[keep], weight[keep], vol_t[keep]
        self.a = a
        self.b = 1.0 / vol_t
        # 0.01 for "per 1 % move"; e^(−qT) only when q ≠ 0
        self.c = weight * (0.01 * INV_SQRT_2PI) * self.b
        if q != 0.0:
            self.c *= np.exp(-q * t)
        self.size = int(a.size)

    @staticmethod
    def _evaluate32(xs: Array, a: Array, b: Array, c: Array, chunk: int = 8) -> Array:
        """Σ c g(x) at every x, in float32 (twice as fast; used for terms the grid resolves —
        brackets are re-checked and refined in float64 by :meth:`at`)."""
        a32 = a.astype(np.float32)
        b32 = b.astype(np.float32)
        c32 = c.astype(np.float32)
        lx = np.log(xs).astype(np.float32)
        out = np.empty(xs.size)
        buf = np.empty((chunk, a32.size), dtype=np.float32)
        for start in range(0, xs.size, chunk):
            part = lx[start : start + chunk]
            d = buf[: part.size]
            np.subtract(part[:, None], a32[None, :], out=d)
            d *= b32
            d *= d
            d *= np.float32(-0.5)
            np.exp(d, out=d)
            out[start : start + part.size] = d @ c32
        return out * xs

    @staticmethod
    def _terms(xs: Array, a: Array, b: Array) -> npt.NDArray[np.float32]:
        """g_i(x) for every x (rows) and term (columns), float32."""
        d = np.log(xs).astype(np.float32)[:, None] - a.astype(np.float32)[None, :]
        d *= b.astype(np.float32)[None, :]
        d *= d
        d *= np.float32(-0.5)
        np.exp(d, out=d)
        d *= xs.astype(np.float32)[:, None]
        return d

    def evaluate(self, xs: Array) -> Array:
        """P at every x (float32 sums)."""
        return self._evaluate32(xs, self.a, self.b, self.c)

    def at(self, x: float) -> float:
        """P(x) in float64; 0 when the sum is within rounding of cancelling out (|P| ≤
        NOISE × Σ |c_i g_i(x)|): such a value has no sign."""
        d = (math.log(x) - self.a) * self.b
        e = np.exp(-0.5 * d * d)
        net = float(x * (e @ self.c))
        if abs(net) <= NOISE * float(x * (e @ np.abs(self.c))):
            return 0.0
        return net

    def scan(self, grid: Array) -> tuple[Array, Array, tuple[float, ...]]:
        """(points, P at them, every sign change refined) on the uniform grid ``grid``.

        The coarse grid resolves every term whose width σ√T is at least 1/RESOLVED of its
        step in ln x. Narrower terms (short-dated contracts: 0DTE, a day or two) can hide a
        dip between two grid points, so each step is checked: its narrow terms can move P
        by at most V = Σ |c_i| (max g_i − min g_i) over the step (exact for unimodal g_i:
        the peak when it lies inside, else the larger end). Where V reaches min(|P(lo)|,
        |P(hi)|) the step is halved — the narrow terms evaluated exactly, the resolved ones
        interpolated (cubic, from the coarse grid) — until every step either cannot hide a
        sign change or resolves its terms too. Then every sign change between consecutive
        points is refined (Illinois, float64) to < ZERO_TOL.
        """
        lx = np.log(grid)
        step0 = float(np.max(np.diff(lx)))
        narrow = self.b * step0 > RESOLVED
        if not narrow.any():
            values = self.evaluate(grid)
            return grid, values, tuple(self._crossings(grid, values))
        # one float32 pass over the terms (narrow ones first, keeping their block); the very
        # wide ones (≥ 2 · 4 steps) only at every other grid point, the rest interpolated
        # (cubic midpoints; the error is ~1e-5 of a term's peak, below what the grid needs)
        very = (self.b * step0 * 2.0 <= RESOLVED) if grid.size >= 9 and grid.size % 2 else None
        if very is None or very.sum() < 1000:
            very = np.zeros(narrow.size, dtype=bool)
        mid_t = ~narrow & ~very
        order_t = np.concatenate(
            (np.flatnonzero(narrow), np.flatnonzero(mid_t), np.flatnonzero(very))
        )
        nn = int(narrow.sum())
        nm = nn + int(mid_t.sum())
        a32 = self.a[order_t].astype(np.float32)
        b32 = self.b[order_t].astype(np.float32)
        c32 = self.c[order_t].astype(np.float32)
        lx32 = lx.astype(np.float32)
        g = np.empty((grid.size, nn), dtype=np.float32)
        pw = np.empty(grid.size)
        chunk = 8
        buf = np.empty((chunk, a32.size), dtype=np.float32)
        for start in range(0, grid.size, chunk):
            part = lx32[start : start + chunk]
            d = buf[: part.size, :nm]
            np.subtract(part[:, None], a32[None, :nm], out=d)
            d *= b32[:nm]
            d *= d
            d *= np.float32(-0.5)
            np.exp(d, out=d)
            pw[start : start + part.size] = d[:, nn:] @ c32[nn:nm]
            g[start : start + part.size] = d[:, :nn]
        if nm < a32.size:  # the very wide terms on the even points, interpolated between
            part = lx32[::2]
            even = np.empty(part.size)
            av, bv, cv = a32[nm:], b32[nm:], c32[nm:]
            for start in range(0, part.size, chunk):  # the same loop, reusing buf
                sub = part[start : start + chunk]
                d = buf[: sub.size, : av.size]
                np.subtract(sub[:, None], av[None, :], out=d)
                d *= bv
                d *= d
                d *= np.float32(-0.5)
                np.exp(d, out=d)
                even[start : start + sub.size] = d @ cv
            full = np.empty(grid.size)
            full[::2] = even
            full[3:-3:2] = (9.0 * (even[1:-2] + even[2:-1]) - even[:-3] - even[3:]) / 16.0
            full[1] = 0.375 * even[0] + 0.75 * even[1] - 0.125 * even[2]
            full[-2] = 0.375 * even[-1] + 0.75 * even[-2] - 0.125 * even[-3]
            pw += full
        pw *= grid
        g *= grid[:, None].astype(np.float32)
        an, bn = self.a[narrow], self.b[narrow]
        cn32 = c32[:nn]
        abs_c = np.abs(cn32)
        x_peak = np.exp(an + 1.0 / (bn * bn))
        g_peak = np.exp(an + 0.5 / (bn * bn))
        values = pw + g @ cn32
        x0, dx, m = float(grid[0]), float(grid[1] - grid[0]), grid.size

        def wide_at(x: Array) -> Array:  # cubic Lagrange on the uniform coarse grid
            pos = (x - x0) / dx
            j = np.clip(np.floor(pos).astype(np.int64), 1, m - 3) if m >= 4 else None
            if j is None:
                return np.interp(x, grid, pw)
            t = pos - j
            y0, y1, y2, y3 = pw[j - 1], pw[j], pw[j + 1], pw[j + 2]
            return (
                -t * (t - 1) * (t - 2) / 6 * y0
                + (t + 1) * (t - 1) * (t - 2) / 2 * y1
                - (t + 1) * t * (t - 2) / 2 * y2
                + (t + 1) * t * (t - 1) / 6 * y3
            )

        lo, hi = grid[:-1], grid[1:]
        p_lo, p_hi = values[:-1], values[1:]
        extra_x: list[Array] = [grid]
        extra_v: list[Array] = [values]
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
            var = diff @ abs_c[act]
            # a peak inside a step: the range is from the peak, not the larger end
            # (the steps stay sorted: each is replaced in place by its pieces)
            k = np.searchsorted(lo, x_peak[act], side="right") - 1
            idx = np.clip(k, 0, None)
            ok = (k >= 0) & (x_peak[act] < hi[idx])
            if ok.any():
                ii, tt = idx[ok], np.flatnonzero(ok)
                top = np.maximum(g_lo[ii, tt], g_hi[ii, tt])
                np.add.at(var, ii, abs_c[act[tt]] * (g_peak[act[tt]] - top))
            split = var > np.minimum(np.abs(p_lo), np.abs(p_hi))
            if not split.any():
                break
            lo, hi, p_lo, p_hi = lo[split], hi[split], p_lo[split], p_hi[split]
            # cut each such step into n at once, n enough to resolve the narrowest active
            # term (at most MAX_SPLIT: the next round goes on if that was not enough)
            n = int(min(MAX_SPLIT, max(2, math.ceil(step * float(bn[act].max()) / RESOLVED))))
            frac = np.arange(1, n) / n
            mids = (lo[:, None] + (hi - lo)[:, None] * frac[None, :]).ravel()
            p_mid = wide_at(mids) + self._terms(mids, an, bn) @ cn32
            extra_x.append(mids)
            extra_v.append(p_mid)
            k2 = lo.size
            mm = mids.reshape(k2, n - 1)
            pm = p_mid.reshape(k2, n - 1)
            lo = np.concatenate((lo[:, None], mm), axis=1).ravel()
            hi = np.concatenate((mm, hi[:, None]), axis=1).ravel()
            p_lo = np.concatenate((p_lo[:, None], pm), axis=1).ravel()
            p_hi = np.concatenate((pm, p_hi[:, None]), axis=1).ravel()
        xs = np.concatenate(extra_x)
        vs = np.concatenate(extra_v)
        order = np.argsort(xs)
        xs, vs = xs[order], vs[order]
        return xs, vs, tuple(self._crossings(xs, vs))

    def _crossings(self, xs: Array, ys: Array) -> list[float]:
        """Every sign change of P between consecutive points ``xs`` (sorted), refined by
        Illinois. A value that is exactly 0 in float32 (its terms underflowed) is re-evaluated
        in float64; one that is 0 even then (no term reaches it, or the terms cancel to
        rounding) has no sign and is skipped: a crossing is a change of sign between values
        that have one. A bracket whose ends are within float32 doubt of zero (F32_DOUBT ×
        Σ|c| x; float32 sums carry a relative error of ~1e-7 × n) is re-checked in float64."""
        ys = ys.copy()
        exact = np.zeros(ys.size, dtype=bool)
        doubt = F32_DOUBT * float(np.abs(self.c).sum() * xs[-1]) if xs.size else 0.0
        fix = np.flatnonzero(ys == 0.0)
        for _ in range(ys.size + 1):
            if fix.size:
                ys[fix] = [self.at(float(xs[i])) for i in fix]
                exact[fix] = True
                signed = ys != 0.0
                xs, ys, exact = xs[signed], ys[signed], exact[signed]
            # the ends of every sign change that float32 alone cannot vouch for, until the
            # signs around each change are float64's
            flips = np.flatnonzero(np.signbit(ys[:-1]) != np.signbit(ys[1:]))
            ends = np.union1d(flips, flips + 1)
            fix = ends[~exact[ends] & (np.abs(ys[ends]) <= doubt)]
            if not fix.size:
                break
        return [
            _refine(self, float(xs[i]), float(xs[i + 1]), float(ys[i]), float(ys[i + 1]))
            for i in np.flatnonzero(np.signbit(ys[:-1]) != np.signbit(ys[1:]))
        ]


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
