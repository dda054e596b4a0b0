"""Exposure analytics on small hand-built chains; expected numbers are computed here by hand."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from snapshot_keys import REQUIRED_KEYS

from gextui.core.chain import ChainBook, make_instruments
from gextui.core.events import EventBatch
from gextui.core.expiry import ExpirySelectionError, settlement_time
from gextui.core.exposure import compute_exposure, exposure_by_expiration
from gextui.core.greeks import charm, gamma, vanna
from gextui.core.symbols import streamer_symbol

T0 = datetime(2024, 1, 19, 15, 0, tzinfo=UTC)  # Friday 10:00 New York
TODAY = date(2024, 1, 19)
E1 = date(2024, 1, 26)
E2 = date(2024, 2, 16)
S = 4700.0
YEAR = 365.0 * 86400.0


@dataclass(frozen=True)
class K:
    """One contract of a hand-built chain (None = the feed never sent that value)."""

    type: str
    strike: float
    gamma: float | None = None
    delta: float | None = None
    iv: float | None = None
    oi: float | None = None
    vol: float | None = None
    exp: date = E1
    root: str = "SPXW"
    mult: float = 100.0

    @property
    def symbol(self) -> str:
        return streamer_symbol(self.root, self.exp, self.type, self.strike)

    @property
    def sign(self) -> float:
        return 1.0 if self.type == "C" else -1.0

    def t_years(self, as_of: datetime = T0) -> float:
        t = (settlement_time(self.root, self.exp) - as_of).total_seconds() / YEAR
        return max(t, 3600.0 / YEAR)


def build(contracts: list[K], spot: float | None = S, as_of: datetime = T0) -> ChainBook:
    ins = make_instruments(
        pl.DataFrame(
            {
                "symbol": [c.symbol for c in contracts],
                "root": [c.root for c in contracts],
                "expiration": [c.exp for c in contracts],
                "type": [c.type for c in contracts],
                "strike": [c.strike for c in contracts],
                "multiplier": [c.mult for c in contracts],
            }
        )
    )
    book = ChainBook("SPX", ins, source="hand")
    f64 = pl.Float64
    syms = [c.symbol for c in contracts]
    trades = pl.DataFrame(
        {"symbol": syms, "price": [None] * len(syms), "day_volume": [c.vol for c in contracts]},
        schema={"symbol": pl.String, "price": f64, "day_volume": f64},
    )
    if spot is not None:
        trades = pl.concat(
            [
                trades,
                pl.DataFrame(
                    {"symbol": ["SPX"], "price": [spot], "day_volume": [None]}, schema=trades.schema
                ),
            ]
        )
    book.apply(
        EventBatch(
            time=as_of,
            greeks=pl.DataFrame(
                {
                    "symbol": syms,
                    "gamma": [c.gamma for c in contracts],
                    "delta": [c.delta for c in contracts],
                    "iv": [c.iv for c in contracts],
                },
                schema={"symbol": pl.String, "gamma": f64, "delta": f64, "iv": f64},
            ),
            summary=pl.DataFrame(
                {"symbol": syms, "open_interest": [c.oi for c in contracts]},
                schema={"symbol": pl.String, "open_interest": f64},
            ),
            trades=trades,
        )
    )
    return book


def gex(c: K, spot: float = S, weight: float | None = None) -> float:
    w = c.oi if weight is None else weight
    assert c.gamma is not None and w is not None
    return c.sign * c.gamma * w * c.mult * spot * spot * 0.01


def strike_row(snap, strike: float) -> dict[str, float]:  # type: ignore[no-untyped-def]
    return snap.strikes.filter(pl.col("strike") == strike).to_dicts()[0]


# --------------------------------------------------------------------------- GEX / DEX
CALL = K("C", 4700.0, gamma=0.002, delta=0.5, iv=0.15, oi=1000.0, vol=50.0)
PUT = K("P", 4650.0, gamma=0.0015, delta=-0.3, iv=0.18, oi=2000.0, vol=10.0)


def test_gex_per_contract_by_hand() -> None:
    snap = compute_exposure(build([CALL, PUT]))
    # call: +0.002 · 1000 · 100 · 4700² · 0.01 = 44,180,000
    # put:  −0.0015 · 2000 · 100 · 4700² · 0.01 = −66,270,000
    assert snap.call_gex == pytest.approx(44_180_000.0, rel=1e-12)
    assert snap.put_gex == pytest.approx(-66_270_000.0, rel=1e-12)
    assert snap.net_gex == pytest.approx(44_180_000.0 - 66_270_000.0, rel=1e-12)
    assert snap.abs_gex == pytest.approx(44_180_000.0 + 66_270_000.0, rel=1e-12)
    assert snap.gamma_regime == "negative"
    # volume GEX: 0.002 · 50 · 100 · 4700² · 0.01 − 0.0015 · 10 · 100 · 4700² · 0.01
    assert snap.net_gex_volume == pytest.approx(2_209_000.0 - 331_350.0, rel=1e-12)
    # DEX = Σ Δ · OI · m · S: 0.5·1000·100·4700 − 0.3·2000·100·4700
    assert snap.net_dex == pytest.approx(235_000_000.0 - 282_000_000.0, rel=1e-12)
    assert snap.put_call_oi_ratio == pytest.approx(2.0)
    assert snap.spot == S
    assert snap.expirations == (E1,)

    c = strike_row(snap, 4700.0)
    p = strike_row(snap, 4650.0)
    assert c["call_gex"] == pytest.approx(44_180_000.0, rel=1e-12)
    assert c["put_gex"] == 0.0
    assert c["net_gex"] == pytest.approx(44_180_000.0, rel=1e-12)
    assert p["put_gex"] == pytest.approx(-66_270_000.0, rel=1e-12)
    assert (c["call_oi"], c["put_oi"], p["call_oi"], p["put_oi"]) == (1000.0, 0.0, 0.0, 2000.0)
    assert snap.strikes["strike"].to_list() == [4650.0, 4700.0]


def test_abs_gex_is_per_contract_not_per_strike() -> None:
    # a call and a put at the same strike with equal |GEX| cancel in net but not in abs
    c = K("C", 4700.0, gamma=0.001, delta=0.5, iv=0.15, oi=100.0)
    p = K("P", 4700.0, gamma=0.001, delta=-0.5, iv=0.15, oi=100.0)
    snap = compute_exposure(build([c, p]))
    assert snap.net_gex == pytest.approx(0.0, abs=1e-6)
    assert snap.abs_gex == pytest.approx(2 * gex(c), rel=1e-12)
    assert strike_row(snap, 4700.0)["net_gex"] == pytest.approx(0.0, abs=1e-6)


def test_multiplier_is_per_contract() -> None:
    mini = K("C", 4700.0, gamma=0.002, delta=0.5, iv=0.15, oi=1000.0, root="XSP", mult=10.0)
    snap = compute_exposure(build([CALL, mini]))
    assert snap.call_gex == pytest.approx(gex(CALL) + gex(mini), rel=1e-12)
    assert gex(mini) == pytest.approx(gex(CALL) / 10.0, rel=1e-12)
    assert snap.net_dex == pytest.approx(0.5 * 1000 * (100 + 10) * S, rel=1e-12)


# --------------------------------------------------------------------------- VEX / CEX
VC_CHAIN = [
    K("C", 4700.0, gamma=0.002, delta=0.5, iv=0.15, oi=1000.0),
    K("C", 4800.0, gamma=0.001, delta=0.2, iv=0.13, oi=700.0, exp=E2),
    K("P", 4600.0, gamma=0.0012, delta=-0.25, iv=0.20, oi=1500.0),
    K("P", 4400.0, gamma=0.0004, delta=-0.05, iv=0.28, oi=900.0, exp=E2, root="SPX"),
]


@pytest.mark.parametrize("r, q", [(0.0, 0.0), (0.05, 0.013)])
def test_vex_cex_against_greeks_module(r: float, q: float) -> None:
    snap = compute_exposure(build(VC_CHAIN), r=r, q=q)
    vex = cex = 0.0
    for c in VC_CHAIN:
        t = c.t_years()
        va = float(vanna(S, c.strike, c.iv, t, r, q))
        ch = float(charm(S, c.strike, c.iv, t, c.type == "C", r, q))
        assert math.isfinite(va) and math.isfinite(ch)
        assert c.oi is not None
        vex += c.sign * va * c.oi * c.mult * S * 0.01
        cex += c.sign * ch * c.oi * c.mult * S / 365.0
    assert vex != 0.0 and cex != 0.0
    assert snap.net_vex == pytest.approx(vex, rel=1e-9)
    assert snap.net_cex == pytest.approx(cex, rel=1e-9)


def test_vex_cex_closed_form_single_atm_call() -> None:
    # S = K, r = q = 0: d1 = σ√T/2, d2 = −σ√T/2
    c = K("C", S, gamma=0.002, delta=0.5, iv=0.2, oi=100.0)
    t = c.t_years()
    vt = 0.2 * math.sqrt(t)
    pdf = math.exp(-0.5 * (vt / 2) ** 2) / math.sqrt(2 * math.pi)
    vanna_h = -pdf * (-vt / 2) / 0.2
    charm_h = pdf * (-vt / 2) / (2 * t)
    snap = compute_exposure(build([c]))
    assert snap.net_vex == pytest.approx(vanna_h * 100 * 100 * S * 0.01, rel=1e-9)
    assert snap.net_cex == pytest.approx(charm_h * 100 * 100 * S / 365.0, rel=1e-9)


def test_nan_iv_contributes_no_vex_cex() -> None:
    c = K("C", 4700.0, gamma=0.002, delta=0.5, iv=None, oi=1000.0)
    snap = compute_exposure(build([c]))
    assert snap.net_vex == 0.0
    assert snap.net_cex == 0.0
    assert snap.net_gex == pytest.approx(gex(c), rel=1e-12)  # headline GEX uses feed gamma


# --------------------------------------------------------------------------- walls
WALL_CHAIN = [
    # call GEX: 4700 → 3 (E1) + 3 (E2) = 6 units; 4750 → 5 units (E1 only)
    K("C", 4700.0, gamma=0.003, delta=0.5, iv=0.15, oi=1000.0),
    K("C", 4700.0, gamma=0.003, delta=0.5, iv=0.15, oi=1000.0, exp=E2),
    K("C", 4750.0, gamma=0.005, delta=0.4, iv=0.15, oi=1000.0),
    # put GEX: 4600 → −4 units (SPXW) − 3 (SPX root, E2) = −7; 4650 → −6
    K("P", 4600.0, gamma=0.004, delta=-0.2, iv=0.2, oi=1000.0),
    K("P", 4600.0, gamma=0.003, delta=-0.2, iv=0.2, oi=1000.0, exp=E2, root="SPX"),
    K("P", 4650.0, gamma=0.006, delta=-0.3, iv=0.2, oi=1000.0),
]


def test_walls_sum_over_expirations_and_roots() -> None:
    snap = compute_exposure(build(WALL_CHAIN), "all")
    assert snap.call_wall == 4700.0
    assert snap.put_wall == 4600.0
    assert snap.expirations == (E1, E2)


def test_expiry_selection_restricts_the_sums() -> None:
    book = build(WALL_CHAIN)
    one = compute_exposure(book, E1.isoformat())
    assert one.expirations == (E1,)
    assert one.call_wall == 4750.0
    assert one.put_wall == 4650.0
    e1 = [c for c in WALL_CHAIN if c.exp == E1]
    assert one.call_gex == pytest.approx(sum(gex(c) for c in e1 if c.type == "C"), rel=1e-12)
    assert one.put_gex == pytest.approx(sum(gex(c) for c in e1 if c.type == "P"), rel=1e-12)
    assert one.coverage.contracts == 4
    nxt = compute_exposure(book, "next")
    assert nxt.net_gex == pytest.approx(one.net_gex, rel=1e-12)
    ex = compute_exposure(book, "ex-next")
    assert ex.expirations == (E2,)
    assert ex.net_gex == pytest.approx(sum(gex(c) for c in WALL_CHAIN if c.exp == E2), rel=1e-12)
    assert set(ex.strikes["strike"].to_list()) == {4600.0, 4700.0}
    week = compute_exposure(book, "week")
    assert week.expirations == (E1,)
    assert compute_exposure(book, "0dte").expirations == ()
    assert compute_exposure(book, "0dte").net_gex == 0.0
    every = compute_exposure(book, "all")
    assert every.net_gex == pytest.approx(one.net_gex + ex.net_gex, rel=1e-12)
    by_exp = exposure_by_expiration(book)
    assert by_exp[E1] == pytest.approx(one.net_gex, rel=1e-12)
    assert by_exp[E2] == pytest.approx(ex.net_gex, rel=1e-12)
    with pytest.raises(ExpirySelectionError):
        compute_exposure(book, "fortnight")


def test_no_calls_means_no_call_wall() -> None:
    puts = [c for c in WALL_CHAIN if c.type == "P"]
    snap = compute_exposure(build(puts))
    assert snap.call_wall is None
    assert snap.put_wall == 4600.0
    assert snap.put_call_oi_ratio is None  # no call OI
    calls = [c for c in WALL_CHAIN if c.type == "C"]
    snap = compute_exposure(build(calls))
    assert snap.put_wall is None
    assert snap.call_wall == 4700.0
    assert snap.put_call_oi_ratio == 0.0


# --------------------------------------------------------------------------- max pain
def hand_pain(contracts: list[K], at: float) -> float:
    total = 0.0
    for c in contracts:
        assert c.oi is not None
        payoff = max(at - c.strike, 0.0) if c.type == "C" else max(c.strike - at, 0.0)
        total += payoff * c.oi * c.mult
    return total


MP_CHAIN = [
    K("C", 90.0, gamma=0.01, delta=0.9, iv=0.3, oi=100.0),
    K("C", 100.0, gamma=0.03, delta=0.5, iv=0.3, oi=100.0),
    K("C", 110.0, gamma=0.01, delta=0.1, iv=0.3, oi=50.0),
    K("P", 90.0, gamma=0.01, delta=-0.1, iv=0.3, oi=150.0),
    K("P", 100.0, gamma=0.03, delta=-0.5, iv=0.3, oi=40.0),
    K("P", 110.0, gamma=0.01, delta=-0.9, iv=0.3, oi=30.0),
]


def test_max_pain_tiny_hand_example() -> None:
    # pain (per share of OI, × 100 multiplier):
    #   at  90: puts 100: 10·40 + puts 110: 20·30                 = 1000
    #   at 100: calls 90: 10·100 + puts 110: 10·30                = 1300
    #   at 110: calls 90: 20·100 + calls 100: 10·100              = 3000
    assert hand_pain(MP_CHAIN, 90.0) == 1000.0 * 100
    assert hand_pain(MP_CHAIN, 100.0) == 1300.0 * 100
    assert hand_pain(MP_CHAIN, 110.0) == 3000.0 * 100
    snap = compute_exposure(build(MP_CHAIN, spot=100.0))
    assert snap.max_pain == 90.0
    assert snap.max_pain_expiration == E1
    assert snap.put_call_oi_ratio == pytest.approx(220.0 / 250.0)


def test_max_pain_uses_nearest_selected_expiration_only() -> None:
    # a far expiration whose OI alone would put max pain at 110
    far = [
        K("P", 110.0, gamma=0.01, delta=-0.5, iv=0.3, oi=100_000.0, exp=E2),
        K("C", 90.0, gamma=0.01, delta=0.5, iv=0.3, oi=1.0, exp=E2),
    ]
    book = build(MP_CHAIN + far, spot=100.0)
    snap = compute_exposure(book, "all")
    assert snap.max_pain == 90.0
    assert snap.max_pain_expiration == E1
    only_far = compute_exposure(book, E2.isoformat())
    assert min((90.0, 110.0), key=lambda x: hand_pain(far, x)) == 110.0
    assert only_far.max_pain == 110.0
    assert only_far.max_pain_expiration == E2


# --------------------------------------------------------------------------- expired
def test_expired_contracts_are_excluded() -> None:
    # at 10:00 New York on the 19th: SPX (AM, 09:30) of today has settled, SPXW (16:00) has not,
    # and yesterday's SPXW is long gone.
    live = K("C", 4700.0, gamma=0.002, delta=0.5, iv=0.15, oi=1000.0, exp=TODAY)
    am = K("P", 4700.0, gamma=0.05, delta=-0.5, iv=0.15, oi=99_999.0, exp=TODAY, root="SPX")
    old = K("P", 4650.0, gamma=0.05, delta=-0.5, iv=0.15, oi=99_999.0, exp=date(2024, 1, 18))
    book = build([live, am, old])
    snap = compute_exposure(book, "all")
    assert snap.expirations == (TODAY,)
    assert snap.net_gex == pytest.approx(gex(live), rel=1e-12)
    assert snap.put_gex == 0.0
    assert snap.put_wall is None
    assert snap.coverage.contracts == 1
    assert snap.coverage.chain_total == 3
    assert snap.put_call_oi_ratio == 0.0
    assert compute_exposure(book, "0dte").expirations == (TODAY,)
    # the same book one day later: nothing is live
    later = compute_exposure(book, "all", as_of=T0 + timedelta(days=1))
    assert later.expirations == ()
    assert later.net_gex == 0.0
    assert later.coverage.contracts == 0
    assert later.zero_gamma is None


def test_as_of_defaults_to_book_time_and_is_utc() -> None:
    book = build([CALL])
    snap = compute_exposure(book)
    assert snap.as_of == T0
    assert snap.as_of.utcoffset() == timedelta(0)
    ny = compute_exposure(book, as_of=T0.astimezone(settlement_time("SPX", E1).tzinfo))
    assert ny.as_of == T0
    assert ny.as_of.tzinfo is not None


# --------------------------------------------------------------------------- zero gamma
def profile_ref(contracts: list[K], x, as_of: datetime = T0):  # type: ignore[no-untyped-def]
    """P(x) = Σ sign · Γ_BS(x, K, σ, T) · OI · m · x² · 0.01, only contracts with IV and OI
    (x a float or an array of hypothetical spots)."""
    xs = np.asarray(x, dtype=np.float64)
    total = np.zeros_like(xs)
    for c in contracts:
        if c.iv is None or not c.oi or math.isnan(c.iv):
            continue
        t = (settlement_time(c.root, c.exp) - as_of).total_seconds() / YEAR
        if t <= 0:
            continue
        t = max(t, 3600.0 / YEAR)
        total += c.sign * gamma(xs, c.strike, c.iv, t) * c.oi * c.mult * xs * xs * 0.01
    return total if total.ndim else float(total)


def crossings_ref(contracts: list[K], spot: float, as_of: datetime = T0) -> list[float]:
    """Every sign change on a dense grid over [0.8 S, 1.2 S], bisected to 1e-7."""
    grid = np.linspace(0.8 * spot, 1.2 * spot, 8001)
    vals = profile_ref(contracts, grid, as_of)
    out = []
    for i in np.flatnonzero(vals[:-1] * vals[1:] < 0):
        lo, hi, flo = float(grid[i]), float(grid[i + 1]), float(vals[i])
        while hi - lo > 1e-7:
            mid = 0.5 * (lo + hi)
            fm = profile_ref(contracts, mid, as_of)
            if fm * flo > 0:
                lo, flo = mid, fm
            else:
                hi = mid
        out.append(0.5 * (lo + hi))
    return out


def test_zero_gamma_single_crossing_closed_form() -> None:
    # a put at 95 and a call at 105 with equal IV, T and OI: Γ(x, 95) = Γ(x, 105) where
    # d1² agree, i.e. x = √(95·105) · e^(−σ²T/2); below it the put dominates (P < 0)
    pair = [
        K("P", 95.0, gamma=0.05, delta=-0.2, iv=0.2, oi=1000.0, exp=E2),
        K("C", 105.0, gamma=0.05, delta=0.2, iv=0.2, oi=1000.0, exp=E2),
    ]
    t = pair[0].t_years()
    closed = math.sqrt(95.0 * 105.0) * math.exp(-0.5 * 0.2 * 0.2 * t)
    ref = crossings_ref(pair, 100.0)
    assert len(ref) == 1
    assert ref[0] == pytest.approx(closed, abs=1e-5)
    snap = compute_exposure(build(pair, spot=100.0))
    assert snap.zero_gamma is not None
    assert abs(snap.zero_gamma - closed) < 0.05
    assert len(snap.zero_gamma_crossings) == 1
    assert snap.zero_gamma_distance_pct == pytest.approx(snap.zero_gamma - 100.0, abs=1e-9)
    # the profile frame is P(x) on [0.8 S, 1.2 S]
    prof = snap.profile
    assert prof["spot"][0] == pytest.approx(80.0)
    assert prof["spot"][-1] == pytest.approx(120.0)
    # the coarse profile grid is evaluated in float32 (crossings are refined in float64)
    for x, v in zip(prof["spot"].to_list()[::10], prof["net_gex"].to_list()[::10], strict=True):
        assert v == pytest.approx(profile_ref(pair, x), rel=1e-5, abs=1e-6)


TWO_CROSS = [
    K("P", 90.0, gamma=0.02, delta=-0.1, iv=0.1, oi=1000.0, exp=E2),
    K("C", 100.0, gamma=0.05, delta=0.5, iv=0.1, oi=1000.0, exp=E2),
    K("P", 110.0, gamma=0.02, delta=-0.9, iv=0.1, oi=1000.0, exp=E2),
]


def test_zero_gamma_every_crossing_and_nearest_to_spot() -> None:
    spot = 103.0
    ref = crossings_ref(TWO_CROSS, spot)
    assert len(ref) == 2
    assert 90.0 < ref[0] < 100.0 < ref[1] < 110.0
    snap = compute_exposure(build(TWO_CROSS, spot=spot))
    got = sorted(snap.zero_gamma_crossings)
    assert len(got) == 2
    for g, r in zip(got, ref, strict=True):
        assert abs(g - r) < 0.05
    nearest = min(ref, key=lambda x: abs(x - spot))
    assert nearest == ref[1]
    assert snap.zero_gamma is not None
    assert abs(snap.zero_gamma - nearest) < 0.05
    # from a spot below 100 the lower crossing is the nearer one
    low = compute_exposure(build(TWO_CROSS, spot=97.0))
    ref_low = crossings_ref(TWO_CROSS, 97.0)
    assert low.zero_gamma is not None
    assert abs(low.zero_gamma - min(ref_low, key=lambda x: abs(x - 97.0))) < 0.05
    assert low.zero_gamma < 100.0


# --------------------------------------------------------------------------- every crossing
def brute_crossings(contracts: list[K], spot: float, as_of: datetime) -> tuple[list[float], float]:
    """Sign changes of the float64 profile on a grid uniform in ln x whose step is 1/16 of
    the narrowest σ√T (so every gamma peak is sampled 16 times per width), each bisected to
    1e-7; zeros (terms underflowed) carry no sign. Returns (crossings, grid step in x at
    1.2 S)."""
    widths = [
        c.iv * math.sqrt(c.t_years(as_of))
        for c in contracts
        if c.iv and c.oi and (settlement_time(c.root, c.exp) - as_of).total_seconds() > 0
    ]
    step = min(widths) / 16.0
    n = int(math.log(1.5) / step) + 2
    grid = np.exp(np.linspace(math.log(0.8 * spot), math.log(1.2 * spot), n))
    vals = profile_ref(contracts, grid, as_of)
    gross = profile_ref([dataclasses.replace(c, type="C") for c in contracts], grid, as_of)
    signed = np.abs(vals) > 1e-12 * gross  # cancelling to rounding (or underflow): no sign
    grid, vals = grid[signed], vals[signed]
    out = []
    # signs, not products: two far-tail values (1e-164 · 1e-152) multiply to 0
    for i in np.flatnonzero(np.signbit(vals[:-1]) != np.signbit(vals[1:])):
        lo, hi, flo = float(grid[i]), float(grid[i + 1]), float(vals[i])
        while hi - lo > 1e-7:
            mid = 0.5 * (lo + hi)
            fm = profile_ref(contracts, mid, as_of)
            if (fm > 0) == (flo > 0):
                lo, flo = mid, fm
            else:
                hi = mid
        out.append(0.5 * (lo + hi))
    return out, 1.2 * spot * step


def contracts_st(expiries: tuple[date, ...], iv: tuple[float, float], oi: tuple[float, float]):  # type: ignore[no-untyped-def]
    return st.builds(
        K,
        type=st.sampled_from(["C", "P"]),
        strike=st.integers(160, 240).map(lambda k: k * 0.5),  # 80 … 120, every 0.5
        gamma=st.just(0.01),
        iv=st.floats(*iv),
        oi=st.floats(*oi),
        exp=st.sampled_from(expiries),
    )


# a smooth background (weeks to expiry, large OI) and short-dated spikes (0DTE, next day)
background_st = contracts_st((E1, E2), (0.1, 0.6), (1_000.0, 50_000.0))
spikes_st = contracts_st((TODAY, TODAY, date(2024, 1, 22)), (0.05, 0.3), (1.0, 300.0))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    background=st.lists(background_st, min_size=1, max_size=4, unique_by=lambda c: c.symbol),
    spikes=st.lists(spikes_st, min_size=1, max_size=10, unique_by=lambda c: c.symbol),
    minutes=st.integers(0, 350),
    spot=st.floats(95.0, 105.0),
)
def test_zero_gamma_finds_every_crossing_of_a_fine_scan(
    background: list[K], spikes: list[K], minutes: int, spot: float
) -> None:
    """Random chains with 0DTE contracts (as of 10:00 … 15:50 New York, so σ√T down to
    0.05 · √(1 h)): the reported crossings are those of a brute-force scan fine enough for
    the narrowest gamma peak, each within 0.05 points."""
    as_of = T0 + timedelta(minutes=minutes)
    contracts = background + [c for c in spikes if c.symbol not in {b.symbol for b in background}]
    snap = compute_exposure(build(contracts, spot=spot, as_of=as_of))
    ref, _ = brute_crossings(contracts, spot, as_of)
    got = list(snap.zero_gamma_crossings)
    assert got == sorted(got)
    assert len(got) == len(ref), (got, ref)
    for g, r in zip(got, ref, strict=True):
        assert abs(g - r) < 0.05, (got, ref)
    if ref:
        assert snap.zero_gamma is not None
        assert abs(snap.zero_gamma - min(ref, key=lambda x: abs(x - spot))) < 0.05
    else:
        assert snap.zero_gamma is None


def test_zero_gamma_narrow_0dte_pair_between_coarse_points() -> None:
    """A 0DTE put (σ√T ≈ 0.0011, far narrower than the 0.5 % grid) dips a positive profile
    below zero between two coarse grid points: both crossings are found, and the nearer one
    to spot is the headline zero gamma."""
    as_of = datetime(2024, 1, 19, 20, 0, tzinfo=UTC)  # 15:00 New York: 1 h to the close
    chain = [
        K("C", 100.0, gamma=0.01, iv=0.2, oi=1_000.0, exp=E2),
        K("P", 101.3, gamma=0.01, iv=0.1, oi=40.0, exp=TODAY),
    ]
    ref, _ = brute_crossings(chain, 100.0, as_of)
    assert len(ref) == 2 and 101.0 < ref[0] < ref[1] < 101.6
    coarse = np.linspace(80.0, 120.0, 81)
    assert not ((coarse > ref[0]) & (coarse < ref[1])).any()  # the pair hides in one step
    snap = compute_exposure(build(chain, spot=100.0, as_of=as_of))
    assert len(snap.zero_gamma_crossings) == 2
    for g, r in zip(snap.zero_gamma_crossings, ref, strict=True):
        assert abs(g - r) < 0.05
    assert snap.zero_gamma == snap.zero_gamma_crossings[0]
    # the profile frame holds the dip (its points are sorted, the coarse grid among them)
    prof = snap.profile
    assert prof["spot"].is_sorted()
    assert prof["net_gex"].min() < 0  # type: ignore[operator]
    assert set(coarse.round(9)) <= set(prof["spot"].round(9).to_list())


def test_zero_gamma_none_when_all_calls() -> None:
    calls = [
        K("C", 95.0, gamma=0.05, delta=0.7, iv=0.2, oi=100.0, exp=E2),
        K("C", 105.0, gamma=0.05, delta=0.3, iv=0.2, oi=300.0, exp=E2),
    ]
    snap = compute_exposure(build(calls, spot=100.0))
    assert snap.zero_gamma is None
    assert snap.zero_gamma_crossings == ()
    assert "positive" in snap.zero_gamma_note
    assert "negative" not in snap.zero_gamma_note
    puts = [K("P", 100.0, gamma=0.05, delta=-0.5, iv=0.2, oi=100.0, exp=E2)]
    snap = compute_exposure(build(puts, spot=100.0))
    assert snap.zero_gamma is None
    assert "negative" in snap.zero_gamma_note


def test_zero_gamma_leaves_out_nan_iv_zero_oi_missing_oi_and_expired() -> None:
    pair = [
        K("P", 95.0, gamma=0.05, delta=-0.2, iv=0.2, oi=1000.0, exp=E2),
        K("C", 105.0, gamma=0.05, delta=0.2, iv=0.2, oi=1000.0, exp=E2),
    ]
    closed = math.sqrt(95.0 * 105.0) * math.exp(-0.5 * 0.2 * 0.2 * pair[0].t_years())
    heavy = dict(gamma=0.05, delta=-0.5, oi=50_000.0, exp=E2)
    noise = [
        K("P", 100.0, iv=None, **heavy),  # type: ignore[arg-type]
        K("P", 101.0, iv=0.2, **{**heavy, "oi": 0.0}),  # type: ignore[arg-type]
        K("P", 102.0, iv=0.2, **{**heavy, "oi": None}),  # type: ignore[arg-type]
        K("P", 99.0, iv=0.2, **{**heavy, "exp": date(2024, 1, 18)}),  # type: ignore[arg-type]
    ]
    # sanity: any of these, were it counted with its IV and OI, would move the flip a lot
    counted = [*pair, K("P", 100.0, gamma=0.05, delta=-0.5, iv=0.2, oi=50_000.0, exp=E2)]
    moved = crossings_ref(counted, 100.0)
    assert all(abs(x - closed) > 1.0 for x in moved)
    snap = compute_exposure(build(pair + noise, spot=100.0))
    assert snap.zero_gamma is not None
    assert abs(snap.zero_gamma - closed) < 0.05
    assert len(snap.zero_gamma_crossings) == 1


def test_zero_gamma_without_spot_or_profile_data() -> None:
    snap = compute_exposure(build([CALL, PUT], spot=None))
    assert snap.spot is None
    assert snap.zero_gamma is None
    assert snap.zero_gamma_note
    no_iv = [K("C", 4700.0, gamma=0.002, delta=0.5, oi=10.0), K("P", 4600.0, gamma=0.002, oi=5.0)]
    snap = compute_exposure(build(no_iv))
    assert snap.zero_gamma is None
    assert snap.zero_gamma_crossings == ()
    assert snap.profile.height == 0
    assert snap.zero_gamma_note


# --------------------------------------------------------------------------- coverage
def test_missing_oi_is_missing_coverage_not_zero() -> None:
    chain = [
        K("C", 4700.0, gamma=0.002, delta=0.5, iv=0.15, oi=1000.0),  # both
        K("C", 4750.0, gamma=0.001, delta=0.3, iv=0.15, oi=None),  # greeks only
        K("P", 4650.0, gamma=None, delta=None, iv=None, oi=800.0),  # OI only
        K("P", 4600.0, gamma=0.001, delta=-0.2, iv=0.2, oi=0.0),  # both (OI really 0)
        K("P", 4550.0),  # nothing yet
    ]
    snap = compute_exposure(build(chain))
    cov = snap.coverage
    assert (cov.contracts, cov.with_greeks, cov.with_oi, cov.with_both) == (5, 3, 3, 2)
    assert cov.chain_total == 5
    assert cov.fraction == pytest.approx(2 / 5)
    assert snap.net_gex == pytest.approx(gex(chain[0]), rel=1e-12)
    assert snap.put_wall is None  # the only put with gamma has zero OI
    d = snap.to_dict()
    assert d["coverage"] == {
        "contracts": 5,
        "with_greeks": 3,
        "with_oi": 3,
        "with_both": 2,
        "chain_total": 5,
        "rejected_values": 0,
    }


def test_gamma_regime_na_without_data() -> None:
    snap = compute_exposure(build([K("C", 4700.0, oi=5.0), K("P", 4600.0, gamma=0.001)]))
    assert snap.coverage.with_both == 0
    assert snap.gamma_regime == "n/a"


# --------------------------------------------------------------------------- to_dict / JSON
STRIKE_KEYS = {"strike", "call_gex", "put_gex", "net_gex", "call_oi", "put_oi"}


@pytest.mark.parametrize("spot", [S, None])
def test_to_dict_keys_iso_time_and_strict_json(spot: float | None) -> None:
    chain = [*WALL_CHAIN, K("C", 4800.0, gamma=None, delta=None, iv=None, oi=None)]
    snap = compute_exposure(build(chain, spot=spot), "all")
    d = snap.to_dict()
    assert set(d) >= set(REQUIRED_KEYS)
    assert d["ticker"] == "SPX"
    assert d["source"] == "hand"
    assert d["expiry"] == "all"
    assert d["expirations"] == [E1.isoformat(), E2.isoformat()]
    as_of = datetime.fromisoformat(d["as_of"])
    assert as_of.utcoffset() is not None
    assert as_of == T0
    assert d["strikes"]
    for row in d["strikes"]:
        assert set(row) >= STRIKE_KEYS
    assert [row["strike"] for row in d["strikes"]] == [4600.0, 4650.0, 4700.0, 4750.0, 4800.0]
    text = json.dumps(d, allow_nan=False)
    assert json.loads(text)["ticker"] == "SPX"
    if spot is None:
        assert d["spot"] is None
        assert d["zero_gamma"] is None
    else:
        assert d["spot"] == S
        assert d["call_wall"] == 4700.0
        assert d["net_gex"] == pytest.approx(snap.net_gex)
        row = next(r for r in d["strikes"] if r["strike"] == 4700.0)
        assert row["call_gex"] == pytest.approx(gex(WALL_CHAIN[0]) + gex(WALL_CHAIN[1]))
        assert row["call_oi"] == 2000.0


def test_to_dict_of_empty_selection_is_strict_json() -> None:
    snap = compute_exposure(build([CALL, PUT]), "2030-01-01")
    d = snap.to_dict()
    assert d["expirations"] == []
    assert d["strikes"] == []
    assert d["max_pain"] is None
    assert d["call_wall"] is None
    json.dumps(d, allow_nan=False)


def test_extreme_values_inside_the_bounds_compute_without_numpy_warnings() -> None:
    """The largest open interest, gamma and volume and the smallest IV the book accepts
    (:data:`~gextui.core.chain.VALUE_BOUNDS`) keep every figure finite: no overflow in the
    float32 profile terms, no NaN from inf·0 in its sums (a warning here is an error)."""
    contracts = [
        K("C", 4700, gamma=9.9e5, iv=1.01e-4, oi=9.99e8, vol=9.9e9),
        K("P", 4690, gamma=9.9e5, iv=1.01e-4, oi=9.99e8, mult=1000.0),
        K("C", 4710, gamma=0.002, iv=9.99, oi=9.99e8),
        K("P", 4650, gamma=0.001, iv=0.2, oi=100),
    ]
    b = build(contracts)
    assert b.rejected_values == 0
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        snap = compute_exposure(b)
    assert math.isfinite(snap.net_gex) and snap.net_gex == pytest.approx(
        sum(gex(c) for c in contracts), rel=1e-9
    )
    assert (snap.call_wall, snap.put_wall) == (4700.0, 4690.0)
    assert snap.zero_gamma is not None and 4690 < snap.zero_gamma < 4700
