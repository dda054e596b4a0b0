"""The JSON snapshot's contract (issue 2), written down once for every test that checks it:
the keys every snapshot carries, in this order; extra keys may follow."""

from __future__ import annotations

REQUIRED_KEYS: list[str] = [
    "ticker",
    "source",
    "as_of",
    "spot",
    "expiry",
    "expirations",
    "net_gex",
    "call_gex",
    "put_gex",
    "abs_gex",
    "net_gex_volume",
    "net_dex",
    "net_vex",
    "net_cex",
    "zero_gamma",
    "zero_gamma_crossings",
    "call_wall",
    "put_wall",
    "max_pain",
    "put_call_oi_ratio",
    "strikes",
]
