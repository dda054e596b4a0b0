"""StrikeHistory: one sample per minute of event time, bounded, look-back, the strike × time map."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from gextui.core.exposure import Coverage, ExposureSnapshot
from gextui.core.strike_history import (
    StrikeHistory,
    StrikeSample,
    minute_of,
    samples_from_snapshots,
)

T0 = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)  # 09:30 New York


def snap(
    at: datetime,
    strikes: list[float],
    net: list[float],
    spot: float = 100.0,
    zg: float | None = 99.0,
) -> ExposureSnapshot:
    frame = pl.DataFrame(
        {"strike": strikes, "net_gex": net}, schema={"strike": pl.Float64, "net_gex": pl.Float64}
    )
    return ExposureSnapshot(
        ticker="SPX", source="hand", as_of=at, spot=spot, prev_close=None, expiry="all",
        expirations=(), net_gex=sum(net), call_gex=0.0, put_gex=0.0, abs_gex=0.0,
        net_gex_volume=0.0, net_dex=0.0, net_vex=0.0, net_cex=0.0, zero_gamma=zg,
        zero_gamma_crossings=() if zg is None else (zg,), zero_gamma_note="", call_wall=None,
        put_wall=None, max_pain=None, max_pain_expiration=None, put_call_oi_ratio=None,
        coverage=Coverage(1, 1, 1, 1, 1), strikes=frame,
        profile=pl.DataFrame(schema={"spot": pl.Float64, "net_gex": pl.Float64}),
    )  # fmt: skip


def test_one_sample_per_minute_the_latest_wins() -> None:
    h = StrikeHistory()
    h.observe(snap(T0 + timedelta(seconds=5), [100.0, 105.0], [1.0, 2.0]))
    h.observe(snap(T0 + timedelta(seconds=50), [100.0, 105.0], [3.0, 4.0]))
    h.observe(snap(T0 + timedelta(seconds=20), [100.0, 105.0], [9.0, 9.0]))  # older: kept out
    h.observe(snap(T0 + timedelta(minutes=1, seconds=1), [100.0, 105.0], [5.0, 6.0]))
    assert len(h) == 2
    first, second = h.samples
    assert first.minute == T0 and first.as_of == T0 + timedelta(seconds=50)
    assert first.net_gex.tolist() == [3.0, 4.0] and first.net_gex.dtype == np.float32
    assert second.minute == T0 + timedelta(minutes=1)


def test_at_is_the_sample_at_or_before() -> None:
    h = StrikeHistory()
    for i in range(10):
        h.observe(snap(T0 + timedelta(minutes=i, seconds=30), [100.0], [float(i)]))
    got = h.at(T0 + timedelta(minutes=5, seconds=40))
    assert got is not None and got.net_gex.tolist() == [5.0]
    got = h.at(T0 + timedelta(minutes=5, seconds=10))  # minute 5's sample is at :30
    assert got is not None and got.net_gex.tolist() == [4.0]
    assert h.at(T0) is None
    assert h.at(T0 + timedelta(hours=5)) is h.samples[-1]


def test_capacity_bounds_memory() -> None:
    h = StrikeHistory(capacity=390)
    for i in range(500):
        h.observe(snap(T0 + timedelta(minutes=i), [100.0], [float(i)]))
    assert len(h) == 390
    assert h.samples[0].minute == T0 + timedelta(minutes=110)
    with pytest.raises(ValueError):
        StrikeHistory(capacity=0)


def test_matrix_values_nan_where_missing_and_window() -> None:
    h = StrikeHistory()
    h.observe(snap(T0, [95.0, 100.0, 105.0], [1.0, 2.0, 3.0], spot=100.0, zg=98.0))
    h.observe(snap(T0 + timedelta(minutes=1), [100.0, 105.0, 110.0], [4.0, 5.0, 6.0], zg=None))
    h.observe(snap(T0 + timedelta(minutes=2), [100.0], [7.0], spot=101.0))
    m = h.matrix(96.0, 108.0)
    assert m.times == [T0 + timedelta(minutes=i) for i in range(3)]
    assert m.strikes.tolist() == [100.0, 105.0]
    assert m.values.shape == (2, 3)
    assert m.values[0].tolist() == [2.0, 4.0, 7.0]
    assert m.values[1, :2].tolist() == [3.0, 5.0] and math.isnan(m.values[1, 2])
    assert m.spot.tolist() == [100.0, 100.0, 101.0]
    assert m.zero_gamma[0] == 98.0 and math.isnan(m.zero_gamma[1])
    w = h.matrix(
        0.0, 1e9, start=T0 + timedelta(minutes=1), end=T0 + timedelta(minutes=1, seconds=59)
    )
    assert w.times == [T0 + timedelta(minutes=1)] and w.strikes.tolist() == [100.0, 105.0, 110.0]
    empty = StrikeHistory().matrix(0.0, 1.0)
    assert empty.times == [] and empty.values.shape == (0, 0)


def test_matrix_max_rows_sums_groups() -> None:
    h = StrikeHistory()
    ks = [100.0 + 5 * i for i in range(7)]
    h.observe(snap(T0, ks, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]))
    h.observe(snap(T0 + timedelta(minutes=1), ks[:2], [10.0, 20.0]))
    m = h.matrix(0.0, 1e9, max_rows=3)
    assert m.per_row == 3
    assert m.strikes.tolist() == [100.0, 115.0, 130.0]
    assert m.values[:, 0].tolist() == [6.0, 15.0, 7.0]
    assert m.values[0, 1] == 30.0 and np.isnan(m.values[1:, 1]).all()


def test_samples_from_snapshots_one_per_minute_at_the_given_time() -> None:
    pairs = [(T0 + timedelta(seconds=s), snap(T0, [100.0], [float(s)])) for s in (10, 40, 70, 200)]
    samples = samples_from_snapshots(iter(pairs))
    assert [s.minute for s in samples] == [T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=3)]
    assert [s.net_gex[0] for s in samples] == [40.0, 70.0, 200.0]
    h = StrikeHistory()
    h.backfill(reversed(samples))
    assert h.samples == samples
    again = samples_from_snapshots(lambda: iter(pairs))  # a callable that yields
    assert [(s.minute, s.net_gex.tolist()) for s in again] == [
        (s.minute, s.net_gex.tolist()) for s in samples
    ]


def test_sample_sorts_strikes_and_minute_of() -> None:
    s = StrikeSample.from_snapshot(snap(T0, [105.0, 100.0], [2.0, 1.0]))
    assert s.strikes.tolist() == [100.0, 105.0] and s.net_gex.tolist() == [1.0, 2.0]
    assert minute_of(T0 + timedelta(seconds=59, microseconds=9)) == T0
    nz = StrikeSample.from_snapshot(dataclasses.replace(snap(T0, [], []), spot=None))
    assert nz.strikes.size == 0 and math.isnan(nz.spot)
