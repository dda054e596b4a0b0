"""LevelHistory: sampling by event time, the frame, bounds, reset."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import polars as pl
import pytest

from gextui.core.exposure import Coverage, ExposureSnapshot
from gextui.core.history import (
    HISTORY_SCHEMA,
    LevelHistory,
    LevelSample,
    samples_frame,
)

T0 = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)


def snap(
    seconds: float,
    spot: float | None = 6000.0,
    *,
    ticker: str = "SPX",
    net_gex: float = 1.5e9,
    zero_gamma: float | None = 5950.0,
    call_wall: float | None = 6100.0,
    put_wall: float | None = 5900.0,
) -> ExposureSnapshot:
    """A snapshot with the fields the history reads (the rest are placeholders)."""
    return ExposureSnapshot(
        ticker=ticker,
        source="simulated",
        as_of=T0 + timedelta(seconds=seconds),
        spot=spot,
        prev_close=None,
        expiry="all",
        expirations=(),
        net_gex=net_gex,
        call_gex=2e9,
        put_gex=net_gex - 2e9,
        abs_gex=5e9,
        net_gex_volume=net_gex / 10,
        net_dex=0.0,
        net_vex=0.0,
        net_cex=0.0,
        zero_gamma=zero_gamma,
        zero_gamma_crossings=() if zero_gamma is None else (zero_gamma,),
        zero_gamma_note="",
        call_wall=call_wall,
        put_wall=put_wall,
        max_pain=None,
        max_pain_expiration=None,
        put_call_oi_ratio=None,
        coverage=Coverage(1, 1, 1, 1, 1),
        strikes=pl.DataFrame(),
        profile=pl.DataFrame(),
    )


def test_first_snapshot_is_recorded_then_every_five_seconds_of_event_time() -> None:
    hist = LevelHistory()
    recorded = [hist.observe(snap(t)) is not None for t in range(0, 21)]
    # samples at 0, 5, 10, 15, 20 s of event time
    assert [t for t, r in enumerate(recorded) if r] == [0, 5, 10, 15, 20]
    assert len(hist) == 5
    assert hist.frame()["time"].to_list() == [T0 + timedelta(seconds=s) for s in (0, 5, 10, 15, 20)]


def test_sampling_is_relative_to_the_last_sample_not_a_grid() -> None:
    hist = LevelHistory(timedelta(seconds=5))
    for t in (0.0, 3.0, 6.5, 9.0, 11.4, 11.5, 20.0):
        hist.observe(snap(t))
    assert [s.time - T0 for s in hist] == [timedelta(seconds=x) for x in (0.0, 6.5, 11.5, 20.0)]


def test_event_time_not_wall_time_decides() -> None:
    """Many snapshots delivered at once (a replay at speed) with the same event time give
    one sample; snapshots 0.7 s of event time apart give a sample every 8 of them."""
    hist = LevelHistory()
    for _ in range(100):
        hist.observe(snap(0.0))
    assert len(hist) == 1
    paced = LevelHistory()
    for s in [snap(t * 0.7, 6000 + t) for t in range(200)]:
        paced.observe(s)
    assert len(paced) == math.floor(199 * 0.7 / 5.6) + 1  # a sample every 8 events (5.6 s)


def test_frame_schema_and_values() -> None:
    hist = LevelHistory(timedelta(0))
    hist.observe(snap(0, 6000.0, net_gex=-2e9, zero_gamma=None, call_wall=None))
    hist.observe(snap(1, None, put_wall=float("nan")))
    df = hist.frame()
    assert dict(df.schema) == dict(HISTORY_SCHEMA)
    assert df.columns[:7] == [
        "time",
        "spot",
        "net_gex",
        "net_gex_volume",
        "abs_gex",
        "zero_gamma",
        "call_wall",
    ]
    rows = df.to_dicts()
    assert rows[0]["spot"] == 6000.0
    assert rows[0]["net_gex"] == -2e9
    assert rows[0]["net_gex_volume"] == -2e8
    assert rows[0]["zero_gamma"] is None
    assert rows[0]["call_wall"] is None
    assert rows[0]["put_wall"] == 5900.0
    assert rows[1]["spot"] is None
    assert rows[1]["put_wall"] is None  # NaN becomes null


def test_frame_is_cached_until_the_next_change() -> None:
    hist = LevelHistory()
    hist.observe(snap(0))
    first = hist.frame()
    assert hist.frame() is first
    v = hist.version
    assert hist.observe(snap(1)) is None  # not due: nothing changes
    assert hist.frame() is first and hist.version == v
    hist.observe(snap(5))
    assert hist.frame() is not first and hist.frame().height == 2


def test_empty_frame_has_the_schema() -> None:
    df = LevelHistory().frame()
    assert df.height == 0
    assert dict(df.schema) == dict(HISTORY_SCHEMA)


def test_max_points_drops_the_oldest() -> None:
    hist = LevelHistory(timedelta(seconds=1), max_points=3)
    for t in range(10):
        hist.observe(snap(t, 6000.0 + t))
    assert hist.frame()["spot"].to_list() == [6007.0, 6008.0, 6009.0]


def test_out_of_order_snapshot_is_ignored_and_reset_starts_over() -> None:
    hist = LevelHistory()
    hist.observe(snap(100))
    assert hist.observe(snap(50)) is None  # a seek back without reset
    assert len(hist) == 1
    hist.reset()
    assert len(hist) == 0 and hist.last is None
    assert hist.observe(snap(50)) is not None
    assert hist.frame()["time"].to_list() == [T0 + timedelta(seconds=50)]


def test_replay_rebuilds_the_same_series() -> None:
    events = [snap(t, 6000.0 + (t % 7)) for t in range(0, 120, 2)]
    hist = LevelHistory()
    for s in events:
        hist.observe(s)
    before = hist.frame()
    hist.reset()
    for s in events:
        hist.observe(s)
    assert hist.frame().equals(before)


def test_sample_from_snapshot_normalises_time_and_nan() -> None:
    s = snap(0, float("nan"))
    east = s.as_of.astimezone(timezone(timedelta(hours=-5)))
    sample = LevelSample.from_snapshot(
        ExposureSnapshot(**{f: getattr(s, f) for f in s.__dataclass_fields__} | {"as_of": east})
    )
    assert sample.time == T0 and sample.time.tzinfo == UTC
    assert sample.spot is None
    assert sample.abs_gex == 5e9


def test_naive_time_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone"):
        LevelSample(datetime(2026, 1, 5), 1.0, 1.0)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        LevelHistory(max_points=0)
    with pytest.raises(ValueError):
        LevelHistory(timedelta(seconds=-1))


def test_samples_frame_matches_history_frame() -> None:
    hist = LevelHistory(timedelta(0), ticker="spx")
    for t in range(5):
        hist.observe(snap(t))
    assert hist.ticker == "SPX"
    assert samples_frame(hist.samples).equals(hist.frame())
