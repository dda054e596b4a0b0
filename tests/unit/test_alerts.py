"""Alert rules, the per-ticker engine, the independent predictor and the monitor."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gextui.core.alerts import (
    RULE_KINDS,
    Alert,
    AlertEngine,
    AlertKind,
    AlertRules,
    AlertRulesError,
    LevelMonitor,
    predict_alerts,
)
from gextui.core.exposure import Coverage, ExposureSnapshot
from gextui.core.history import LevelHistory, LevelSample, samples_frame

T0 = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
ONLY = {k.value: False for k in AlertKind}


def rules_for(*kinds: AlertKind, **kw: object) -> AlertRules:
    """Rules with only ``kinds`` enabled (and thresholds from ``kw``)."""
    return AlertRules(**(ONLY | {k.value: True for k in kinds} | kw))  # type: ignore[arg-type]


def sample(
    i: int,
    spot: float | None = None,
    *,
    zg: float | None = None,
    call: float | None = None,
    put: float | None = None,
    net: float | None = None,
    gross: float | None = None,
) -> LevelSample:
    return LevelSample(
        time=T0 + timedelta(seconds=5 * i),
        spot=spot,
        net_gex=net,
        zero_gamma=zg,
        call_wall=call,
        put_wall=put,
        abs_gex=gross,
    )


def run(samples: Sequence[LevelSample], rules: AlertRules, ticker: str = "SPX") -> list[Alert]:
    """Alerts from the engine; also checks the predictor agrees on the same series."""
    engine = AlertEngine(rules)
    got = [a for s in samples for a in engine.evaluate(s, ticker)]
    assert predict_alerts(samples_frame(list(samples)), rules, ticker) == got
    return got


def fired_at(alerts: Sequence[Alert]) -> list[int]:
    return [int((a.time - T0).total_seconds() // 5) for a in alerts]


# =========================================================================== rules
def test_defaults() -> None:
    r = AlertRules()
    assert all(r.is_enabled(k) for k in RULE_KINDS)
    assert r.wall_distance_pct == 0.25
    assert r.rearm_pct == 0.10
    assert r.wall_confirm_samples == 1
    assert r.command is None


def test_from_mapping_reads_the_alerts_table() -> None:
    r = AlertRules.from_mapping(
        {
            "near_put_wall": False,
            "wall_distance_pct": 1,
            "rearm_pct": 0.5,
            "net_gex_rearm_pct": 10,
            "wall_confirm_samples": 3,
            "bell": False,
            "command": "notify-send gextui",
        }
    )
    assert r.near_put_wall is False and r.near_call_wall is True
    assert r.wall_distance_pct == 1.0 and isinstance(r.wall_distance_pct, float)
    assert r.rearm_pct == 0.5 and r.net_gex_rearm_pct == 10.0
    assert r.wall_confirm_samples == 3 and r.bell is False
    assert r.command == "notify-send gextui"
    assert AlertRules.from_mapping(r.to_mapping()) == r
    assert AlertRules.from_mapping({}) == AlertRules()
    assert AlertRules.from_mapping({"command": "  "}).command is None
    assert "command" not in AlertRules().to_mapping()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"wall_distance": 1}, "unknown key 'wall_distance'"),
        ({"wall_distance_pct": "0.5"}, "wall_distance_pct must be a number > 0"),
        ({"wall_distance_pct": 0}, "wall_distance_pct must be a number > 0"),
        ({"wall_distance_pct": True}, "wall_distance_pct must be a number"),
        ({"wall_distance_pct": float("nan")}, "wall_distance_pct must be a number"),
        ({"rearm_pct": -0.1}, "rearm_pct must be a number ≥ 0"),
        ({"net_gex_rearm_pct": 101}, "net_gex_rearm_pct must be a number ≥ 0 and ≤ 100"),
        ({"wall_confirm_samples": 0}, "wall_confirm_samples must be a whole number"),
        ({"wall_confirm_samples": 1.5}, "wall_confirm_samples must be a whole number"),
        ({"zero_gamma_cross": "yes"}, "zero_gamma_cross must be true or false, got 'yes'"),
        ({"bell": 1}, "bell must be true or false"),
        ({"command": ["notify-send"]}, "command must be a string"),
    ],
)
def test_from_mapping_rejects_bad_values(table: dict[str, object], message: str) -> None:
    with pytest.raises(AlertRulesError, match=message) as info:
        AlertRules.from_mapping(table)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("[alerts] ")


def test_from_mapping_names_every_problem_at_once() -> None:
    with pytest.raises(AlertRulesError) as info:
        AlertRules.from_mapping({"rearm_pct": -1, "typo": 1, "bell": "no"})
    text = str(info.value)
    assert "rearm_pct" in text and "'typo'" in text and "bell" in text


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(AlertRulesError):
        AlertRules(wall_distance_pct=-1)


def test_toggle_a_rule() -> None:
    r = AlertRules()
    off = r.with_enabled("near_call_wall")
    assert not off.near_call_wall and off.with_enabled(AlertKind.NEAR_CALL_WALL).near_call_wall
    assert r.with_enabled(AlertKind.WALL_MOVED, True) == r
    assert not r.with_enabled(AlertKind.WALL_MOVED, False).is_enabled("wall_moved")
    assert all(k.label for k in RULE_KINDS)


# =========================================================================== zero gamma
def test_zero_gamma_cross_fires_once_and_not_again_while_it_holds() -> None:
    rules = rules_for(AlertKind.ZERO_GAMMA_CROSS, rearm_pct=0.1)
    spots = [100.5, 100.3, 99.7, 99.5, 99.0, 99.6]  # crosses below at 2, stays below
    got = run([sample(i, s, zg=100.0) for i, s in enumerate(spots)], rules)
    assert fired_at(got) == [2]
    a = got[0]
    assert a.kind is AlertKind.ZERO_GAMMA_CROSS
    assert a.details["direction"] == "below"
    assert a.level == 100.0 and a.spot == 99.7
    assert a.message == "SPX: spot 99.70 crossed below zero gamma 100.00"


def test_zero_gamma_first_sample_only_sets_the_side() -> None:
    rules = rules_for(AlertKind.ZERO_GAMMA_CROSS)
    assert run([sample(0, 99.0, zg=100.0), sample(1, 98.0, zg=100.0)], rules) == []


def test_zero_gamma_wiggle_inside_the_band_does_not_repeat() -> None:
    rules = rules_for(AlertKind.ZERO_GAMMA_CROSS, rearm_pct=0.1)  # band: 0.1 % ≈ 0.1 point
    spots = [100.5, 99.97, 100.02, 99.98, 100.03, 99.96]  # cross, then noise around the line
    got = run([sample(i, s, zg=100.0) for i, s in enumerate(spots)], rules)
    assert fired_at(got) == [1]


def test_zero_gamma_rearms_after_clearing_the_margin() -> None:
    rules = rules_for(AlertKind.ZERO_GAMMA_CROSS, rearm_pct=0.1)
    # cross below at 1 (armed before: 100.5 is clear), clear below at 2 (re-armed),
    # cross above at 3 (fires, in-band), back below at 4 (in band, not re-armed: silent),
    # clear above at 5 (re-arms), cross below at 6 (fires)
    spots = [100.5, 99.98, 99.5, 100.02, 99.99, 100.5, 99.95]
    got = run([sample(i, s, zg=100.0) for i, s in enumerate(spots)], rules)
    assert fired_at(got) == [1, 3, 6]
    assert [a.details["direction"] for a in got] == ["below", "above", "below"]


def test_zero_gamma_decisive_cross_fires_even_when_not_armed() -> None:
    rules = rules_for(AlertKind.ZERO_GAMMA_CROSS, rearm_pct=0.1)
    # cross above at 1 (in band), then straight to clearly below at 2
    spots = [99.5, 100.02, 99.5]
    got = run([sample(i, s, zg=100.0) for i, s in enumerate(spots)], rules)
    assert fired_at(got) == [1, 2]


def test_zero_gamma_moving_level_and_missing_values() -> None:
    rules = rules_for(AlertKind.ZERO_GAMMA_CROSS, rearm_pct=0.0)
    samples = [
        sample(0, 100.0, zg=99.0),
        sample(1, 100.0, zg=None),  # no flip: state kept
        sample(2, None, zg=99.0),  # no spot: state kept
        sample(3, 100.0, zg=101.0),  # the level moved above spot: spot is now below it
        sample(4, 100.0, zg=100.0),  # exactly on the line: no side
        sample(5, 100.0, zg=100.5),
    ]
    got = run(samples, rules)
    assert fired_at(got) == [3]


# =========================================================================== walls
def test_near_call_wall_fires_once_and_rearms_beyond_the_margin() -> None:
    rules = rules_for(AlertKind.NEAR_CALL_WALL, wall_distance_pct=0.25, rearm_pct=0.1)
    # distance from the 100 wall in % of spot ≈ 100 - spot
    spots = [99.0, 99.8, 99.9, 99.7, 99.8, 99.6, 99.8, 100.1]
    got = run([sample(i, s, call=100.0) for i, s in enumerate(spots)], rules)
    # 1: within 0.25 % → fires; 3: 0.30 % is not beyond 0.35 % → still "near";
    # 5: 0.40 % → re-armed; 6: near again → fires; 7: still near (above the wall)
    assert fired_at(got) == [1, 6]
    a = got[0]
    assert a.kind is AlertKind.NEAR_CALL_WALL
    assert a.level == 100.0 and a.details["wall"] == "call"
    assert a.details["distance_pct"] == pytest.approx(0.2004, abs=1e-4)
    assert a.message == "SPX: spot 99.80 within 0.20 % of the call wall 100.00"


def test_near_put_wall_fires_on_the_first_sample_when_already_near() -> None:
    rules = rules_for(AlertKind.NEAR_PUT_WALL, wall_distance_pct=0.5, rearm_pct=0.0)
    spots = [100.3, 100.4, 100.6, 100.5]
    got = run([sample(i, s, put=100.0) for i, s in enumerate(spots)], rules)
    assert fired_at(got) == [0, 3]
    assert all(a.kind is AlertKind.NEAR_PUT_WALL for a in got)


def test_near_wall_follows_a_moving_wall() -> None:
    rules = rules_for(AlertKind.NEAR_CALL_WALL, wall_distance_pct=0.25, rearm_pct=0.1)
    samples = [
        sample(0, 99.9, call=100.0),  # near → fires
        sample(1, 99.9, call=105.0),  # the wall moved away: cleared
        sample(2, 99.9, call=None),  # no wall: state kept
        sample(3, 99.9, call=100.0),  # near again → fires
    ]
    assert fired_at(run(samples, rules)) == [0, 3]


def test_wall_moved() -> None:
    rules = rules_for(AlertKind.WALL_MOVED)
    calls = [6000.0, 6000.0, 6050.0, None, 6050.0, 6000.0]
    puts = [5900.0, 5850.0, 5850.0, 5850.0, 5850.0, 5850.0]
    got = run(
        [
            sample(i, 5950.0, call=c, put=p)
            for i, (c, p) in enumerate(zip(calls, puts, strict=True))
        ],
        rules,
    )
    assert [
        (fired_at([a])[0], a.details["wall"], a.details["from"], a.details["to"]) for a in got
    ] == [
        (1, "put", 5900.0, 5850.0),
        (2, "call", 6000.0, 6050.0),
        (5, "call", 6050.0, 6000.0),
    ]
    assert got[1].level == 6050.0
    assert got[1].message == "SPX: call wall moved 6,000.00 → 6,050.00"


def test_wall_moved_needs_confirmation_when_asked() -> None:
    rules = rules_for(AlertKind.WALL_MOVED, wall_confirm_samples=2)
    # flicker between two strikes never confirms; a move held for two samples does
    calls = [6000.0, 6000.0, 6050.0, 6000.0, 6050.0, 6000.0, 6050.0, 6050.0, 6050.0]
    got = run([sample(i, call=c) for i, c in enumerate(calls)], rules)
    assert fired_at(got) == [7]
    assert got[0].details == {"wall": "call", "from": 6000.0, "to": 6050.0}


# =========================================================================== net GEX
def test_net_gex_sign_with_hysteresis() -> None:
    rules = rules_for(AlertKind.NET_GEX_SIGN, net_gex_rearm_pct=2.0)  # band: 2 % of gross
    nets = [5e8, -1e7, 1e7, -1e7, -3e8, 1e7, -5e6, 2e8]
    got = run([sample(i, 6000.0, net=n, gross=1e10) for i, n in enumerate(nets)], rules)
    # 1: turns negative (armed by the first, clear, sample); 2-3: noise inside ±2e8;
    # 4: clear below (re-armed); 5: positive → fires; 6: noise; 7: positive and clear (no change)
    assert fired_at(got) == [1, 5]
    assert [a.details["sign"] for a in got] == ["negative", "positive"]
    assert got[0].message == "SPX: net GEX turned negative (-$10.00 M per 1 % move)"
    assert got[0].level is None


def test_net_gex_sign_without_gross_has_no_band() -> None:
    rules = rules_for(AlertKind.NET_GEX_SIGN)
    nets = [1.0, -1.0, 1.0, 0.0, -1.0]
    assert fired_at(run([sample(i, net=n) for i, n in enumerate(nets)], rules)) == [1, 2, 4]


# =========================================================================== engine
def test_disabled_rules_stay_silent_but_keep_tracking() -> None:
    engine = AlertEngine(rules_for())
    assert engine.evaluate(sample(0, 100.0, zg=101.0, call=100.1), "SPX") == []
    engine.rules = AlertRules()
    # spot was already near the call wall while the rule was off: no stale alert
    assert engine.evaluate(sample(1, 100.05, zg=101.0, call=100.1), "SPX") == []
    got = engine.evaluate(sample(2, 101.5, zg=101.0, call=100.1), "SPX")
    assert [a.kind for a in got] == [AlertKind.ZERO_GAMMA_CROSS]


def test_state_is_per_ticker_and_reset_forgets_it() -> None:
    engine = AlertEngine(rules_for(AlertKind.ZERO_GAMMA_CROSS))
    engine.evaluate(sample(0, 99.0, zg=100.0), "SPX")
    assert engine.evaluate(sample(0, 101.0, zg=100.0), "ndx") == []  # its own first sample
    assert len(engine.evaluate(sample(1, 101.0, zg=100.0), "spx")) == 1
    engine.reset("SPX")
    assert engine.evaluate(sample(2, 99.0, zg=100.0), "SPX") == []
    assert len(engine.evaluate(sample(1, 99.0, zg=100.0), "NDX")) == 1
    engine.reset()
    assert engine.evaluate(sample(3, 101.0, zg=100.0), "NDX") == []


def test_one_sample_can_raise_several_alerts_in_rule_order() -> None:
    rules = AlertRules(rearm_pct=0.0)
    samples = [
        sample(0, 100.0, zg=99.0, call=105.0, put=90.0, net=1.0),
        sample(1, 98.0, zg=99.0, call=98.1, put=97.9, net=-1.0),
    ]
    got = run(samples, rules)
    assert [(a.kind.value, a.details.get("wall")) for a in got] == [
        ("zero_gamma_cross", None),
        ("near_call_wall", "call"),
        ("near_put_wall", "put"),
        ("net_gex_sign", None),
        ("wall_moved", "call"),
        ("wall_moved", "put"),
    ]


def test_alert_json() -> None:
    (a,) = run(
        [sample(0, 99.0, zg=100.0), sample(1, 101.0, zg=100.0)],
        rules_for(AlertKind.ZERO_GAMMA_CROSS),
        ticker="spx",
    )
    data = json.loads(a.to_json())
    assert data == {
        "kind": "zero_gamma_cross",
        "selection": "",  # the engine alone does not know it; LevelMonitor.observe sets it
        "ticker": "SPX",
        "time": "2026-01-05T14:30:05+00:00",
        "message": "SPX: spot 101.00 crossed above zero gamma 100.00",
        "spot": 101.0,
        "level": 100.0,
        "details": {"direction": "above", "distance_pct": pytest.approx(0.990099, abs=1e-6)},
    }
    assert "\n" not in a.to_json() and "\n" not in a.message


def test_predict_accepts_a_frame_without_optional_columns_and_with_nan() -> None:
    frame = pl.DataFrame(
        {
            "time": [T0, T0 + timedelta(seconds=5), T0 + timedelta(seconds=10)],
            "spot": [101.0, float("nan"), 99.0],
            "net_gex": [1.0, 1.0, 1.0],
            "zero_gamma": [100.0, 100.0, 100.0],
            "call_wall": [None, None, None],
            "put_wall": [None, None, None],
        },
        schema_overrides={
            "time": pl.Datetime("us", "UTC"),
            "call_wall": pl.Float64,
            "put_wall": pl.Float64,
        },
    )
    got = predict_alerts(frame, rules_for(AlertKind.ZERO_GAMMA_CROSS), "SPX")
    assert fired_at(got) == [2]
    assert predict_alerts(frame.clear(), AlertRules(), "SPX") == []


# =========================================================================== engine = predictor
@st.composite
def walks(draw: st.DrawFn) -> tuple[list[LevelSample], AlertRules]:
    n = draw(st.integers(1, 60))

    rng = random.Random(draw(st.integers(0, 2**32 - 1)))  # fast: the walks from a seed

    def walk(start: int, step: int, missing: int) -> list[float | None]:
        """An integer random walk with about ``missing`` % of the values left out."""
        out: list[float | None] = []
        x = start
        for _ in range(n):
            x += rng.randint(-step, step)
            out.append(None if rng.randrange(100) < missing else float(x))
        return out

    spot = [None if v is None else v / 100 for v in walk(10_000, 40, 5)]  # cents
    zg = [None if v is None else v / 100 for v in walk(10_000, 30, 10)]
    calls = walk(101, 1, 5)
    puts = walk(99, 1, 5)
    net = [None if v is None else v * 1e7 for v in walk(0, 10, 5)]
    extra = [rng.randint(-5, 20) for _ in range(n)]
    gross = [
        None if v is None or e < 0 else abs(v) + e * 1e7 for v, e in zip(net, extra, strict=True)
    ]
    samples = [
        LevelSample(
            T0 + timedelta(seconds=5 * i),
            spot[i],
            net[i],
            zero_gamma=zg[i],
            call_wall=calls[i],
            put_wall=puts[i],
            abs_gex=gross[i],
        )
        for i in range(n)
    ]
    rules = AlertRules(
        **{k.value: draw(st.booleans()) for k in AlertKind},  # type: ignore[arg-type]
        wall_distance_pct=draw(st.sampled_from([0.05, 0.25, 1.0, 2.0])),
        rearm_pct=draw(st.sampled_from([0.0, 0.05, 0.1, 0.3, 1.0])),
        net_gex_rearm_pct=draw(st.sampled_from([0.0, 2.0, 20.0, 60.0])),
        wall_confirm_samples=draw(st.integers(1, 3)),
    )
    return samples, rules


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(walks())
def test_engine_agrees_with_the_direct_computation(
    case: tuple[list[LevelSample], AlertRules],
) -> None:
    samples, rules = case
    hist = LevelHistory(timedelta(seconds=5))
    engine = AlertEngine(rules)
    got: list[Alert] = []
    for s in samples:
        recorded = hist.observe_sample(s)
        assert recorded is not None
        got += engine.evaluate(recorded, "SPX")
    assert predict_alerts(hist.frame(), rules, "SPX") == got


def test_random_walks_do_fire_alerts() -> None:
    """Guard for the property test above: such walks do raise alerts of every kind."""
    samples = [
        sample(
            i,
            100 + (i % 10) * 0.3 - 1.5,
            zg=100.0,
            call=101.0 + (i // 7) % 2,
            put=99.0,
            net=(i % 6 - 2.5) * 1e7,
            gross=1e8,
        )
        for i in range(60)
    ]
    got = run(samples, AlertRules(rearm_pct=0.1, net_gex_rearm_pct=5))
    assert {a.kind for a in got} == set(AlertKind)


# =========================================================================== monitor
def snap(
    seconds: float, spot: float, *, ticker: str = "SPX", zg: float = 6000.0
) -> ExposureSnapshot:
    return ExposureSnapshot(
        ticker=ticker,
        source="simulated",
        as_of=T0 + timedelta(seconds=seconds),
        spot=spot,
        prev_close=None,
        expiry="all",
        expirations=(),
        net_gex=1e9,
        call_gex=2e9,
        put_gex=-1e9,
        abs_gex=3e9,
        net_gex_volume=1e8,
        net_dex=0.0,
        net_vex=0.0,
        net_cex=0.0,
        zero_gamma=zg,
        zero_gamma_crossings=(zg,),
        zero_gamma_note="",
        call_wall=6200.0,
        put_wall=5800.0,
        max_pain=None,
        max_pain_expiration=None,
        put_call_oi_ratio=None,
        coverage=Coverage(1, 1, 1, 1, 1),
        strikes=pl.DataFrame(),
        profile=pl.DataFrame(),
    )


def test_monitor_samples_histories_and_logs_alerts() -> None:
    mon = LevelMonitor(rules_for(AlertKind.ZERO_GAMMA_CROSS))
    assert mon.observe(snap(0, 5990.0)) == []
    assert mon.observe(snap(1, 6010.0)) == []  # not due (5 s sampling): no sample, no alert
    got = mon.observe(snap(5, 6010.0))
    assert [a.kind for a in got] == [AlertKind.ZERO_GAMMA_CROSS]
    mon.observe(snap(0, 100.0, ticker="QQQ", zg=101.0))
    assert mon.tickers == ("SPX", "QQQ")
    assert mon.history("spx").frame()["spot"].to_list() == [5990.0, 6010.0]
    assert mon.log == tuple(got)
    assert predict_alerts(mon.history("SPX").frame(), mon.rules, "SPX", "all") == list(mon.log)
    assert {a.selection for a in mon.log} == {"all"}  # the snapshots' selection

    mon.rules = replace(mon.rules, zero_gamma_cross=False)
    assert mon.observe(snap(10, 5990.0)) == []
    mon.reset("SPX")
    assert len(mon.history("SPX")) == 0 and len(mon.history("QQQ")) == 1
    assert len(mon.log) == 1  # the log survives a reset
    mon.reset()
    assert len(mon.history("QQQ")) == 0
    mon.clear_log()
    assert len(mon.log) == 0


def test_monitor_observe_sample() -> None:
    mon = LevelMonitor(rules_for(AlertKind.ZERO_GAMMA_CROSS))
    assert mon.observe_sample(sample(0, 99.0, zg=100.0), "SPX") == []
    assert mon.observe_sample(sample(0, 101.0, zg=100.0), "SPX") == []  # not due
    assert len(mon.observe_sample(sample(1, 101.0, zg=100.0), "SPX")) == 1


def test_alerts_expiry_setting() -> None:
    assert AlertRules().expiry == "all"
    assert AlertRules.from_mapping({"expiry": "0DTE"}).expiry == "0dte"
    assert AlertRules.from_mapping({"expiry": "2026-12-18"}).expiry == "2026-12-18"
    with pytest.raises(AlertRulesError, match=r"\[alerts\] expiry must be 0dte.*'soon'"):
        AlertRules.from_mapping({"expiry": "soon"})
    with pytest.raises(AlertRulesError, match="expiry"):
        AlertRules.from_mapping({"expiry": 3})
