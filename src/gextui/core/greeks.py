"""Vectorised Black–Scholes greeks (numpy), with continuous rate ``r`` and yield ``q``.

With d1 = (ln(S/K) + (r − q + σ²/2)T) / (σ√T) and d2 = d1 − σ√T:

* gamma = e^(−qT) φ(d1) / (S σ √T)                       (same for calls and puts)
* delta = e^(−qT) N(d1) for calls, −e^(−qT) N(−d1) for puts
* vanna = ∂Δ/∂σ = −e^(−qT) φ(d1) d2 / σ                  (same for calls and puts)
* charm = ∂Δ/∂t (per year, t = calendar time, so −∂Δ/∂T):
    call: q e^(−qT) N(d1) − e^(−qT) φ(d1) (2(r−q)T − d2 σ√T) / (2T σ√T)
    put:  −q e^(−qT) N(−d1) − e^(−qT) φ(d1) (2(r−q)T − d2 σ√T) / (2T σ√T)
  which for r = q = 0 is φ(d1) d2 / (2T) for both.

Inputs broadcast; invalid inputs (σ ≤ 0, T ≤ 0, NaN) give NaN.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike
INV_SQRT_2PI: Final = 1.0 / math.sqrt(2.0 * math.pi)


def norm_pdf(x: ArrayLike) -> Array:
    xa = np.asarray(x, dtype=np.float64)
    return np.asarray(INV_SQRT_2PI * np.exp(-0.5 * xa * xa), dtype=np.float64)


def _erf(x: Array) -> Array:
    """Vectorised erf (W. J. Cody-style rational fit via Numerical Recipes erfc, |err| < 1.2e-7)."""
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = (
        -z * z
        - 1.26551223
        + t
        * (
            1.00002368
            + t
            * (
                0.37409196
                + t
                * (
                    0.09678418
                    + t
                    * (
                        -0.18628806
                        + t
                        * (
                            0.27886807
                            + t
                            * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))
                        )
                    )
                )
            )
        )
    )
    erfc = t * np.exp(poly)
    return np.where(x >= 0, 1.0 - erfc, erfc - 1.0)


def norm_cdf(x: ArrayLike) -> Array:
    xa = np.asarray(x, dtype=np.float64)
    return np.asarray(0.5 * (1.0 + _erf(xa / math.sqrt(2.0))), dtype=np.float64)


def _d1_d2(
    spot: ArrayLike, strike: ArrayLike, iv: ArrayLike, t: ArrayLike, r: float, q: float
) -> tuple[Array, Array, Array]:
    s = np.asarray(spot, dtype=np.float64)
    k = np.asarray(strike, dtype=np.float64)
    sig = np.asarray(iv, dtype=np.float64)
    tt = np.asarray(t, dtype=np.float64)
    valid = (sig > 0) & (tt > 0) & (s > 0) & (k > 0)
    sig = np.where(valid, sig, np.nan)
    tt = np.where(valid, tt, np.nan)
    vol_t = sig * np.sqrt(tt)
    with np.errstate(divide="ignore", invalid="ignore"):
        d1 = (np.log(s / k) + (r - q + 0.5 * sig * sig) * tt) / vol_t
    return d1, d1 - vol_t, vol_t


def gamma(
    spot: ArrayLike, strike: ArrayLike, iv: ArrayLike, t: ArrayLike, r: float = 0.0, q: float = 0.0
) -> Array:
    """Black–Scholes gamma (per 1 unit of underlying)."""
    d1, _, vol_t = _d1_d2(spot, strike, iv, t, r, q)
    s = np.asarray(spot, dtype=np.float64)
    disc_q = np.exp(-q * np.asarray(t, dtype=np.float64))
    return np.asarray(disc_q * norm_pdf(d1) / (s * vol_t), dtype=np.float64)


def delta(
    spot: ArrayLike,
    strike: ArrayLike,
    iv: ArrayLike,
    t: ArrayLike,
    is_call: ArrayLike,
    r: float = 0.0,
    q: float = 0.0,
) -> Array:
    """Black–Scholes delta; ``is_call`` is a boolean array (puts carry negative delta)."""
    d1, _, _ = _d1_d2(spot, strike, iv, t, r, q)
    disc_q = np.exp(-q * np.asarray(t, dtype=np.float64))
    call = np.asarray(is_call, dtype=bool)
    return np.asarray(
        np.where(call, disc_q * norm_cdf(d1), -disc_q * norm_cdf(-d1)), dtype=np.float64
    )


def vanna(
    spot: ArrayLike, strike: ArrayLike, iv: ArrayLike, t: ArrayLike, r: float = 0.0, q: float = 0.0
) -> Array:
    """∂Δ/∂σ (per 1.00 of volatility, i.e. per 100 vol points)."""
    d1, d2, _ = _d1_d2(spot, strike, iv, t, r, q)
    sig = np.asarray(iv, dtype=np.float64)
    disc_q = np.exp(-q * np.asarray(t, dtype=np.float64))
    return np.asarray(-disc_q * norm_pdf(d1) * d2 / sig, dtype=np.float64)


def charm(
    spot: ArrayLike,
    strike: ArrayLike,
    iv: ArrayLike,
    t: ArrayLike,
    is_call: ArrayLike,
    r: float = 0.0,
    q: float = 0.0,
) -> Array:
    """∂Δ/∂t per year of calendar time (divide by 365 for per day)."""
    d1, d2, vol_t = _d1_d2(spot, strike, iv, t, r, q)
    tt = np.asarray(t, dtype=np.float64)
    disc_q = np.exp(-q * tt)
    common = disc_q * norm_pdf(d1) * (2.0 * (r - q) * tt - d2 * vol_t) / (2.0 * tt * vol_t)
    call = np.asarray(is_call, dtype=bool)
    out = np.where(call, q * disc_q * norm_cdf(d1) - common, -q * disc_q * norm_cdf(-d1) - common)
    return np.asarray(out, dtype=np.float64)
