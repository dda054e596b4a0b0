"""Rendering of an ExposureSnapshot: JSON object, per-strike CSV, plain-text summary.

The snapshot comes from a synthetic CBOE file the tests write (tests/cboe_synth.py), so a fresh
clone tests the whole path; the real 2024-01-07 chain (../shared, skipped when absent) checks
the text report's figures against the published result."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from datetime import date, datetime
from typing import Any

import polars as pl
import pytest
from cboe_synth import MONDAY_10AM, expected_gex, synth_chain, write
from cboe_synth import cboe_csv as synth_csv
from realdata import cboe_file
from snapshot_keys import REQUIRED_KEYS

import gextui
from gextui.core.exposure import ExposureSnapshot
from gextui.report import CSV_COLUMNS, to_csv, to_json, to_text

# what ExposureSnapshot.to_dict() adds beyond issue 2 (documented extras)
EXTRA_KEYS = {
    "zero_gamma_note",
    "gamma_regime",
    "max_pain_expiration",
    "prev_close",
    "coverage",
    # issue 13: by expiration, the key levels
    "by_expiration",
    "abs_gamma_strike",
    "call_walls",
    "put_walls",
    "expected_move",
    "expected_move_strike",
    "expected_move_expiration",
}
NUMBER_KEYS = [k for k in REQUIRED_KEYS if k not in {"ticker", "source", "as_of", "expiry"}]
STRIKE_KEYS = ["strike", "call_gex", "put_gex", "net_gex", "call_oi", "put_oi"]


SYNTH = synth_chain()


@pytest.fixture(scope="module")
def snap(tmp_path_factory: pytest.TempPathFactory) -> ExposureSnapshot:
    """A synthetic SPX chain (expired Friday, 0DTE, AM monthly) read from its CBOE CSV."""
    path = write(tmp_path_factory.mktemp("cboe"), synth_csv(SYNTH))
    return gextui.exposure(gextui.read_cboe(path))


@pytest.fixture(scope="module")
def real_snap() -> ExposureSnapshot:
    return gextui.exposure(gextui.read_cboe(cboe_file("spx_quotedata_2024-01-07.csv")))


def is_number_or_null(value: Any) -> bool:
    if value is None:
        return True
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# ---------------------------------------------------------------------------- JSON
def test_json_keys(snap: ExposureSnapshot) -> None:
    obj = json.loads(to_json(snap))
    assert set(REQUIRED_KEYS) <= set(obj)
    assert set(obj) - set(REQUIRED_KEYS) == EXTRA_KEYS
    assert [k for k in obj if k in REQUIRED_KEYS] == REQUIRED_KEYS  # in the order


def test_json_values(snap: ExposureSnapshot) -> None:
    obj = json.loads(to_json(snap))
    assert obj["ticker"] == "SPX"
    assert obj["source"] == "file"
    assert obj["expiry"] == "all"
    as_of = datetime.fromisoformat(obj["as_of"])
    assert as_of.utcoffset() is not None
    assert as_of == MONDAY_10AM
    assert obj["spot"] == SYNTH.spot
    for key in ("expirations", "zero_gamma_crossings", "strikes"):
        assert isinstance(obj[key], list)
    for d in obj["expirations"]:
        date.fromisoformat(d)
    assert obj["expirations"] == ["2024-01-08", "2024-01-10", "2024-01-19"]  # not the expired
    for key in NUMBER_KEYS:
        if key in ("expirations", "zero_gamma_crossings", "strikes"):
            continue
        assert is_number_or_null(obj[key]), key
    assert all(is_number_or_null(x) for x in obj["zero_gamma_crossings"])
    call_gex, put_gex = expected_gex(SYNTH)
    assert obj["net_gex"] == pytest.approx(call_gex + put_gex, rel=1e-12)  # dollars
    assert obj["call_gex"] == pytest.approx(call_gex, rel=1e-12)
    assert obj["zero_gamma"] == snap.zero_gamma
    assert obj["call_wall"] == snap.call_wall and obj["put_wall"] == snap.put_wall
    assert len(obj["strikes"]) == snap.strikes.height
    for row in obj["strikes"]:
        assert list(row) == STRIKE_KEYS
        assert all(is_number_or_null(v) for v in row.values())
    assert sum(r["net_gex"] for r in obj["strikes"]) == pytest.approx(obj["net_gex"], rel=1e-9)


def test_json_warnings(snap: ExposureSnapshot) -> None:
    assert "warnings" not in json.loads(to_json(snap))
    obj = json.loads(to_json(snap, warnings=["timed out"], indent=None))
    assert obj["warnings"] == ["timed out"]


def test_json_has_no_nan(snap: ExposureSnapshot) -> None:
    """Undefined figures are null, never NaN (which is not JSON)."""
    nan = float("nan")
    bad = dataclasses.replace(
        snap,
        zero_gamma=None,
        zero_gamma_crossings=(),
        zero_gamma_note="profile stays negative",
        net_vex=nan,
        put_call_oi_ratio=None,
        call_wall=None,
        strikes=snap.strikes.with_columns(pl.lit(nan).alias("call_gex")),
    )
    text = to_json(bad)
    assert "NaN" not in text and "Infinity" not in text
    obj = json.loads(text)
    assert obj["zero_gamma"] is None and obj["zero_gamma_crossings"] == []
    assert obj["net_vex"] is None and obj["put_call_oi_ratio"] is None
    assert obj["call_wall"] is None
    assert all(r["call_gex"] is None for r in obj["strikes"])


# ---------------------------------------------------------------------------- CSV
def test_csv(snap: ExposureSnapshot) -> None:
    text = to_csv(snap)
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    assert header[: len(CSV_COLUMNS)] == STRIKE_KEYS
    assert len(rows) - 1 == snap.strikes.height
    frame = pl.read_csv(io.StringIO(text))
    assert frame["strike"].is_sorted()
    assert frame["net_gex"].sum() == pytest.approx(snap.net_gex, rel=1e-9)
    assert frame["call_oi"].sum() == pytest.approx(snap.strikes["call_oi"].sum())
    wall = frame.sort("call_gex", descending=True)["strike"][0]
    assert wall == snap.call_wall


def test_csv_nan_is_empty(snap: ExposureSnapshot) -> None:
    bad = dataclasses.replace(
        snap, strikes=snap.strikes.head(2).with_columns(pl.lit(float("nan")).alias("put_gex"))
    )
    rows = list(csv.DictReader(io.StringIO(to_csv(bad))))
    assert [r["put_gex"] for r in rows] == ["", ""]


# ---------------------------------------------------------------------------- text
def test_text_contains_the_figures(real_snap: ExposureSnapshot) -> None:
    """The real 2024-01-07 chain: the published −11.00 bn and the levels, as text."""
    snap = real_snap
    text = to_text(snap)
    assert "\x1b" not in text  # no colour codes
    assert "SPX" in text
    assert "source: file" in text
    assert "2024-01-07 10:52" in text and "EST" in text
    assert "4,697.24" in text  # spot
    assert "all: 54 (2024-01-08 … 2029-12-21)" in text
    assert "-11.00 bn" in text  # net GEX, $bn per 1 % move
    assert f"{snap.call_gex / 1e9:+,.2f} bn" in text
    assert f"{snap.put_gex / 1e9:+,.2f} bn" in text
    assert f"{snap.abs_gex / 1e9:+,.2f} bn" in text
    assert f"{snap.net_gex_volume / 1e9:+,.2f} bn" in text
    assert f"{snap.net_dex / 1e9:+,.2f} bn" in text
    assert f"{snap.net_vex / 1e9:+,.2f} bn" in text
    assert f"{snap.net_cex / 1e9:+,.2f} bn" in text
    assert snap.zero_gamma is not None
    assert f"zero gamma   {snap.zero_gamma:,.2f} (+0.79 % from spot)" in text
    assert "zero gamma   4,734.44" in text
    assert "call wall    4,800" in text
    assert "put wall     4,600" in text
    assert "max pain     4,725 (expiration 2024-01-08)" in text
    assert f"P/C OI ratio {snap.put_call_oi_ratio:.2f}" in text
    assert "20,592 of 20,592 live contracts" in text
    assert "top 10 strikes by |net GEX|" in text
    top = snap.strikes.sort(pl.col("net_gex").abs(), descending=True)["strike"][0]
    assert f"{top:,.0f}" in text.split("top 10 strikes")[1]


def test_text_simulated_and_no_flip(snap: ExposureSnapshot) -> None:
    sim = dataclasses.replace(
        snap,
        source="simulated",
        zero_gamma=None,
        zero_gamma_crossings=(),
        zero_gamma_note="profile stays negative from 3,758 to 5,637: no gamma flip",
        put_call_oi_ratio=None,
    )
    text = to_text(sim)
    assert "SIMULATED" in text
    assert "zero gamma   none (profile stays negative from 3,758 to 5,637" in text
    assert "P/C OI ratio n/a" in text


def test_text_of_a_synthetic_file(snap: ExposureSnapshot) -> None:
    """The same report on the synthetic file: its own numbers, computed from the chain."""
    text = to_text(snap)
    call_gex, put_gex = expected_gex(SYNTH)
    assert "SPX dealer gamma exposure  [source: file]" in text
    assert "2024-01-08 10:00" in text and "EST" in text
    assert f"  net        {(call_gex + put_gex) / 1e9:+,.2f} bn" in text
    assert f"  calls      {call_gex / 1e9:+,.2f} bn" in text
    assert "all: 2024-01-08, 2024-01-10, 2024-01-19" in text
    n = SYNTH.live().height
    assert f"{n:,} of {n:,} live contracts" in text and f"{SYNTH.options.height:,} in chain" in text
    assert snap.zero_gamma is not None
    assert f"zero gamma   {snap.zero_gamma:,.2f}" in text


def test_text_lists_every_crossing(snap: ExposureSnapshot) -> None:
    many = dataclasses.replace(snap, zero_gamma_crossings=(4100.5, 4734.25, 5300.0))
    text = to_text(many)
    assert "3 crossings" in text and "4,100.50, 4,734.25, 5,300.00" in text
