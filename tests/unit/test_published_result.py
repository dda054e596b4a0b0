"""Exposure on the real CBOE chains, against a published result and independent arithmetic.

For ``spx_quotedata_2024-01-07.csv`` the source repository published, from this very file,
"Total Gamma: $-11.00 Bn per 1% SPX Move" (spot 4,697) and "Gamma Flip: 4,734" (see
../shared/data/cboe/README.md). The other files are checked against the same figures computed
here with plain polars / numpy, independently of :mod:`gextui.core.exposure` — and so is a
synthetic chain written in CBOE format by the test itself (tests/cboe_synth.py), so a fresh clone
without ../shared still runs the reader and the engine end to end (the real files are skipped
there, with the reason, by tests/realdata.py).
"""

from __future__ import annotations

import math
from datetime import UTC, date

import numpy as np
import polars as pl
import pytest
from cboe_synth import cboe_csv, synth_chain, write
from realdata import cboe_file

from gextui import exposure, read_cboe
from gextui.core.chain import ChainBook
from gextui.core.exposure import ExposureSnapshot, compute_exposure

FILES = (
    "spx_quotedata_2024-01-07.csv",
    "spx_quotedata_2022-02-05.csv",
    "spx_quotedata_2022-06-11.csv",
    "spx_quotedata_2022-12-12.csv",
    "ndx_quotedata_2022-02-05.csv",
)
SYNTHETIC = "synthetic (tests/cboe_synth.py)"
PUBLISHED_NET_GEX = -11.00e9
PUBLISHED_FLIP = 4734.0
SPOT_2024 = 4697.2402

_cache: dict[str, tuple[ChainBook, ExposureSnapshot]] = {}


def load(name: str) -> tuple[ChainBook, ExposureSnapshot]:
    """A real file (skipped when ../shared is absent) or the synthetic chain."""
    if name not in _cache:
        if name == SYNTHETIC:
            import tempfile
            from pathlib import Path

            folder = Path(tempfile.mkdtemp(prefix="gextui-synth-"))
            path = write(folder, cboe_csv(synth_chain(seed=3)))
        else:
            path = cboe_file(name)
        book = read_cboe(path)
        _cache[name] = (book, exposure(book, "all"))
    return _cache[name]


def live_frame(book: ChainBook) -> pl.DataFrame:
    """Contracts not yet settled at the book's as-of, with GEX by the classic recipe."""
    assert book.as_of is not None
    s = book.spot
    sign = pl.when(pl.col("type") == "C").then(1.0).otherwise(-1.0)
    return (
        book.frame()
        .filter(pl.col("settlement") > book.as_of)
        .with_columns(
            (sign * pl.col("gamma") * pl.col("open_interest") * 100.0 * s * s * 0.01).alias("gex")
        )
    )


# ---------------------------------------------------------------------------- published
def test_published_total_gamma() -> None:
    """Published: "Total Gamma: $-11.00 Bn per 1% SPX Move"."""
    _, snap = load("spx_quotedata_2024-01-07.csv")
    assert snap.spot == SPOT_2024
    assert snap.net_gex == pytest.approx(PUBLISHED_NET_GEX, rel=0.005), (
        f"net GEX {snap.net_gex / 1e9:.4f} bn vs published -11.00 bn"
    )
    assert round(snap.net_gex / 1e9, 4) == -10.9987  # ours, to the digit


def test_published_gamma_flip() -> None:
    """Published: "Gamma Flip: 4,734" — ours within 0.5 % of spot of it."""
    _, snap = load("spx_quotedata_2024-01-07.csv")
    assert snap.zero_gamma is not None, snap.zero_gamma_note
    assert abs(snap.zero_gamma - PUBLISHED_FLIP) <= 0.005 * SPOT_2024, (
        f"zero gamma {snap.zero_gamma:.2f} vs published 4,734"
    )
    assert snap.zero_gamma in snap.zero_gamma_crossings
    assert snap.zero_gamma == pytest.approx(4734.44, abs=0.01)  # ours, to the cent


def test_flip_is_a_sign_change_of_an_independent_profile() -> None:
    """Recompute the BS-gamma profile here (numpy, r = q = 0, T in years of 365 days floored at
    one hour) and check it changes sign across the reported zero gamma."""
    book, snap = load("spx_quotedata_2024-01-07.csv")
    assert snap.zero_gamma is not None and book.as_of is not None
    f = live_frame(book).filter(pl.col("iv").is_not_null() & (pl.col("open_interest") > 0))
    as_of_us = book.as_of.timestamp() * 1e6
    t = (f["settlement"].dt.epoch("us").to_numpy() - as_of_us) / 1e6 / (365 * 86400)
    t = np.maximum(t, 3600 / (365 * 86400))
    k = f["strike"].to_numpy()
    iv = f["iv"].to_numpy()
    w = np.where(f["type"].to_numpy() == "C", 1.0, -1.0) * f["open_interest"].to_numpy() * 100

    def profile(x: float) -> float:
        d1 = (np.log(x / k) + 0.5 * iv * iv * t) / (iv * np.sqrt(t))
        gamma = np.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi) / (x * iv * np.sqrt(t))
        return float((w * gamma).sum() * x * x * 0.01)

    zg = snap.zero_gamma
    assert profile(zg - 0.5) * profile(zg + 0.5) < 0
    assert abs(profile(zg)) < 0.01 * abs(profile(zg - 20))


# ---------------------------------------------------------------------------- every file
@pytest.mark.parametrize("name", [*FILES, SYNTHETIC])
def test_totals_match_independent_sums(name: str) -> None:
    book, snap = load(name)
    f = live_frame(book)
    calls = f.filter(pl.col("type") == "C")
    puts = f.filter(pl.col("type") == "P")
    assert snap.call_gex == pytest.approx(calls["gex"].sum(), rel=1e-9)
    assert snap.put_gex == pytest.approx(puts["gex"].sum(), rel=1e-9)
    assert snap.net_gex == pytest.approx(f["gex"].sum(), rel=1e-9)
    assert snap.abs_gex == pytest.approx(f["gex"].abs().sum(), rel=1e-9)
    assert snap.call_gex >= 0 >= snap.put_gex
    s = book.spot
    dex = (f["delta"] * f["open_interest"] * 100.0 * s).sum()
    assert snap.net_dex == pytest.approx(dex, rel=1e-9)
    assert snap.put_call_oi_ratio == pytest.approx(
        float(puts["open_interest"].sum()) / float(calls["open_interest"].sum()), rel=1e-12
    )


@pytest.mark.parametrize("name", [*FILES, SYNTHETIC])
def test_walls_match_independent_groupby(name: str) -> None:
    book, snap = load(name)
    f = live_frame(book)
    per_strike = (
        f.group_by("strike")
        .agg(
            pl.col("gex").filter(pl.col("type") == "C").sum().alias("call"),
            pl.col("gex").filter(pl.col("type") == "P").sum().alias("put"),
        )
        .sort("strike")
    )
    call_wall = per_strike.sort("call", descending=True)["strike"][0]
    put_wall = per_strike.sort("put")["strike"][0]
    assert snap.call_wall == call_wall
    assert snap.put_wall == put_wall
    # the snapshot's own per-strike table agrees
    table = snap.strikes.select("strike", "call_gex", "put_gex").join(
        per_strike, on="strike", how="full", coalesce=True
    )
    assert table["call_gex"].fill_null(0).to_numpy() == pytest.approx(
        table["call"].fill_null(0).to_numpy(), rel=1e-9, abs=1e-3
    )
    assert table["put_gex"].fill_null(0).to_numpy() == pytest.approx(
        table["put"].fill_null(0).to_numpy(), rel=1e-9, abs=1e-3
    )


@pytest.mark.parametrize("name", [*FILES, SYNTHETIC])
def test_max_pain_and_expirations(name: str) -> None:
    book, snap = load(name)
    assert book.as_of is not None
    f = live_frame(book)
    live = sorted(set(f["expiration"].to_list()))
    assert list(snap.expirations) == live
    assert all(d > date(2000, 1, 1) for d in live)
    nearest = f.filter(pl.col("expiration") == live[0])
    assert snap.max_pain_expiration == live[0]
    cand = nearest.select(pl.col("strike").unique().alias("settle"))
    pain = (
        cand.join(nearest, how="cross")
        .with_columns(
            pl.when(pl.col("type") == "C")
            .then((pl.col("settle") - pl.col("strike")).clip(lower_bound=0))
            .otherwise((pl.col("strike") - pl.col("settle")).clip(lower_bound=0))
            .mul(pl.col("open_interest"))
            .alias("owed")
        )
        .group_by("settle")
        .agg(pl.col("owed").sum())
        .sort("owed", "settle")
    )
    assert snap.max_pain == pain["settle"][0]


@pytest.mark.parametrize("name", [*FILES, SYNTHETIC])
def test_zero_gamma_sane(name: str) -> None:
    book, snap = load(name)
    s = book.spot
    crossings = list(snap.zero_gamma_crossings)
    assert crossings == sorted(crossings)
    assert all(0.8 * s <= x <= 1.2 * s for x in crossings)
    if snap.zero_gamma is None:
        assert snap.zero_gamma_note
        assert not crossings
    else:
        assert snap.zero_gamma == min(crossings, key=lambda x: abs(x - s))
    assert snap.as_of == book.as_of
    assert snap.as_of.tzinfo is not None and snap.as_of.utcoffset() == UTC.utcoffset(None)


def test_selection_next_is_a_subset() -> None:
    book, all_ = load("spx_quotedata_2024-01-07.csv")
    nxt = compute_exposure(book, "next")
    assert nxt.expirations == (date(2024, 1, 8),)
    assert abs(nxt.abs_gex) < abs(all_.abs_gex)
    assert nxt.max_pain == all_.max_pain
