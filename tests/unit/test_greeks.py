"""Black–Scholes greeks against hand values, parity, and finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gextui.core.greeks import charm, delta, gamma, norm_cdf, norm_pdf, vanna


def phi(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def big_n(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def d1d2(s: float, k: float, sig: float, t: float, r: float = 0.0, q: float = 0.0):
    d1 = (math.log(s / k) + (r - q + 0.5 * sig * sig) * t) / (sig * math.sqrt(t))
    return d1, d1 - sig * math.sqrt(t)


# --------------------------------------------------------------------------- normal
def test_norm_cdf_accuracy_vs_erf() -> None:
    xs = np.linspace(-8.0, 8.0, 20001)
    want = np.array([big_n(x) for x in xs])
    err = np.max(np.abs(norm_cdf(xs) - want))
    assert err < 2e-7, err


def test_norm_cdf_and_pdf_landmarks() -> None:
    assert norm_cdf(0.0) == pytest.approx(0.5, abs=2e-7)
    assert norm_cdf(1.959963984540054) == pytest.approx(0.975, abs=2e-7)
    assert norm_cdf(-1.0) + norm_cdf(1.0) == pytest.approx(1.0, abs=1e-12)
    assert norm_pdf(0.0) == pytest.approx(1.0 / math.sqrt(2.0 * math.pi), rel=1e-15)
    assert norm_pdf(1.0) == pytest.approx(phi(1.0), rel=1e-15)


# --------------------------------------------------------------------------- hand values
def test_gamma_atm_hand_value() -> None:
    # S = K = 100, σ = 0.2, T = 1, r = q = 0: d1 = 0.1, Γ = φ(0.1) / (100 · 0.2 · 1)
    assert gamma(100.0, 100.0, 0.2, 1.0) == pytest.approx(phi(0.1) / 20.0, rel=1e-12)
    assert float(gamma(100.0, 100.0, 0.2, 1.0)) == pytest.approx(0.0198476274, rel=1e-8)


def test_delta_atm_hand_value() -> None:
    # d1 = 0.1: Δc = N(0.1) = 0.539827837, Δp = N(0.1) − 1
    assert delta(100.0, 100.0, 0.2, 1.0, True) == pytest.approx(0.539827837, abs=2e-7)
    assert delta(100.0, 100.0, 0.2, 1.0, False) == pytest.approx(0.539827837 - 1.0, abs=2e-7)


def test_vanna_charm_atm_hand_values() -> None:
    # d1 = 0.1, d2 = −0.1: vanna = −φ(0.1)·(−0.1)/0.2 = +0.5 φ(0.1)
    # charm (r = q = 0) = φ(d1)·d2/(2T) = −0.05 φ(0.1), same for calls and puts
    assert vanna(100.0, 100.0, 0.2, 1.0) == pytest.approx(0.5 * phi(0.1), rel=1e-12)
    for is_call in (True, False):
        assert charm(100.0, 100.0, 0.2, 1.0, is_call) == pytest.approx(-0.05 * phi(0.1), rel=1e-9)


def test_off_the_money_hand_values_with_rates() -> None:
    s, k, sig, t, r, q = 105.0, 95.0, 0.3, 0.5, 0.04, 0.01
    d1, d2 = d1d2(s, k, sig, t, r, q)
    dq = math.exp(-q * t)
    assert gamma(s, k, sig, t, r, q) == pytest.approx(
        dq * phi(d1) / (s * sig * math.sqrt(t)), rel=1e-12
    )
    assert delta(s, k, sig, t, True, r, q) == pytest.approx(dq * big_n(d1), abs=2e-7)
    assert delta(s, k, sig, t, False, r, q) == pytest.approx(-dq * big_n(-d1), abs=2e-7)
    assert vanna(s, k, sig, t, r, q) == pytest.approx(-dq * phi(d1) * d2 / sig, rel=1e-12)


def test_broadcasting() -> None:
    strikes = np.array([90.0, 100.0, 110.0])
    g = gamma(100.0, strikes, 0.2, 1.0)
    assert g.shape == (3,)
    for i, k in enumerate(strikes):
        assert g[i] == pytest.approx(float(gamma(100.0, k, 0.2, 1.0)), rel=1e-15)
    d = delta(100.0, 100.0, 0.2, 1.0, np.array([True, False]))
    assert d[0] - d[1] == pytest.approx(1.0, abs=1e-12)


# --------------------------------------------------------------------------- parity
params = st.tuples(
    st.floats(50.0, 200.0),  # S
    st.floats(50.0, 200.0),  # K
    st.floats(0.05, 1.0),  # σ
    st.floats(0.01, 3.0),  # T
    st.floats(-0.02, 0.08),  # r
    st.floats(0.0, 0.05),  # q
)


@settings(max_examples=200, deadline=None)
@given(params)
def test_put_call_delta_parity(p: tuple[float, ...]) -> None:
    s, k, sig, t, r, q = p
    dc = float(delta(s, k, sig, t, True, r, q))
    dp = float(delta(s, k, sig, t, False, r, q))
    assert dc - dp == pytest.approx(math.exp(-q * t), abs=1e-12)
    assert 0.0 <= dc <= 1.0
    assert -1.0 <= dp <= 0.0


@settings(max_examples=200, deadline=None)
@given(params)
def test_gamma_same_for_calls_and_puts_is_positive(p: tuple[float, ...]) -> None:
    s, k, sig, t, r, q = p
    g = float(gamma(s, k, sig, t, r, q))
    assert g >= 0.0
    # Γ = ∂Δ/∂S by central difference (exact-CDF delta to avoid the erf-fit noise)
    h = 1e-6 * s

    def dc(spot: float) -> float:
        d1, _ = d1d2(spot, k, sig, t, r, q)
        return math.exp(-q * t) * big_n(d1)

    fd = (dc(s + h) - dc(s - h)) / (2 * h)
    assert g == pytest.approx(fd, rel=1e-5, abs=1e-8)


# --------------------------------------------------------------------------- finite differences
def exact_delta(s, k, sig, t, is_call, r, q) -> float:  # type: ignore[no-untyped-def]
    d1, _ = d1d2(s, k, sig, t, r, q)
    dq = math.exp(-q * t)
    return dq * big_n(d1) if is_call else -dq * big_n(-d1)


FD_CASES = [
    (100.0, 100.0, 0.2, 1.0, 0.0, 0.0),
    (100.0, 110.0, 0.25, 0.25, 0.0, 0.0),
    (100.0, 90.0, 0.15, 0.1, 0.05, 0.02),
    (4700.0, 4650.0, 0.12, 7 / 365, 0.045, 0.013),
    (50.0, 60.0, 0.6, 2.0, -0.01, 0.03),
]


@pytest.mark.parametrize("case", FD_CASES)
@pytest.mark.parametrize("is_call", [True, False])
def test_vanna_is_d_delta_d_sigma(case: tuple[float, ...], is_call: bool) -> None:
    s, k, sig, t, r, q = case
    h = 1e-5
    fd = (
        exact_delta(s, k, sig + h, t, is_call, r, q) - exact_delta(s, k, sig - h, t, is_call, r, q)
    ) / (2 * h)
    assert float(vanna(s, k, sig, t, r, q)) == pytest.approx(fd, rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("case", FD_CASES)
@pytest.mark.parametrize("is_call", [True, False])
def test_charm_is_minus_d_delta_d_t(case: tuple[float, ...], is_call: bool) -> None:
    s, k, sig, t, r, q = case
    h = 1e-6 * t
    fd = -(
        exact_delta(s, k, sig, t + h, is_call, r, q) - exact_delta(s, k, sig, t - h, is_call, r, q)
    ) / (2 * h)
    got = float(charm(s, k, sig, t, is_call, r, q))
    assert got == pytest.approx(fd, rel=1e-5, abs=1e-6)


def test_charm_differs_between_call_and_put_when_q_nonzero() -> None:
    # charm_c − charm_p = q e^(−qT) (N(d1) + N(−d1)) = q e^(−qT)
    s, k, sig, t, r, q = 100.0, 100.0, 0.2, 1.0, 0.03, 0.02
    diff = float(charm(s, k, sig, t, True, r, q) - charm(s, k, sig, t, False, r, q))
    assert diff == pytest.approx(q * math.exp(-q * t), abs=1e-9)


# --------------------------------------------------------------------------- invalid inputs
@pytest.mark.parametrize(
    "s, k, sig, t",
    [
        (100.0, 100.0, 0.0, 1.0),
        (100.0, 100.0, -0.2, 1.0),
        (100.0, 100.0, 0.2, 0.0),
        (100.0, 100.0, 0.2, -1.0),
        (100.0, 100.0, math.nan, 1.0),
        (100.0, 100.0, 0.2, math.nan),
        (math.nan, 100.0, 0.2, 1.0),
        (100.0, math.nan, 0.2, 1.0),
        (0.0, 100.0, 0.2, 1.0),
        (100.0, 0.0, 0.2, 1.0),
        (-100.0, 100.0, 0.2, 1.0),
    ],
)
def test_invalid_inputs_give_nan(s: float, k: float, sig: float, t: float) -> None:
    assert math.isnan(float(gamma(s, k, sig, t)))
    assert math.isnan(float(delta(s, k, sig, t, True)))
    assert math.isnan(float(delta(s, k, sig, t, False)))
    assert math.isnan(float(vanna(s, k, sig, t)))
    assert math.isnan(float(charm(s, k, sig, t, True)))
    assert math.isnan(float(charm(s, k, sig, t, False, 0.03, 0.01)))


def test_invalid_entries_do_not_spoil_valid_ones() -> None:
    iv = np.array([0.2, math.nan, 0.0, 0.2])
    t = np.array([1.0, 1.0, 1.0, -1.0])
    g = gamma(100.0, 100.0, iv, t)
    assert g[0] == pytest.approx(phi(0.1) / 20.0, rel=1e-12)
    assert np.isnan(g[1:]).all()
