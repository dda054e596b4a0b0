"""Settlement times, time to expiry, expiry selections."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from gextui.core.expiry import (
    MIN_T_YEARS,
    NEW_YORK,
    SELECTIONS,
    ExpirySelectionError,
    live_expirations,
    ny_date,
    parse_selection,
    select_expirations,
    settlement_expr,
    settlement_time,
    step_selection,
    years_to_settlement,
)

WINTER = date(2024, 1, 19)  # EST, UTC−5
SUMMER = date(2024, 7, 19)  # EDT, UTC−4


def us(moment: datetime) -> int:
    return round(moment.timestamp() * 1_000_000)


# --------------------------------------------------------------------------- settlement time
@pytest.mark.parametrize(
    "root, day, utc_hm",
    [
        ("SPX", WINTER, (14, 30)),
        ("NDX", WINTER, (14, 30)),
        ("RUT", WINTER, (14, 30)),
        ("spx", WINTER, (14, 30)),  # case-insensitive
        ("SPXW", WINTER, (21, 0)),
        ("SPY", WINTER, (21, 0)),
        ("NDXP", WINTER, (21, 0)),
        ("QQQ", WINTER, (21, 0)),
        ("SPX", SUMMER, (13, 30)),
        ("NDX", SUMMER, (13, 30)),
        ("RUT", SUMMER, (13, 30)),
        ("SPXW", SUMMER, (20, 0)),
        ("SPY", SUMMER, (20, 0)),
    ],
)
def test_settlement_time_across_dst(root: str, day: date, utc_hm: tuple[int, int]) -> None:
    got = settlement_time(root, day)
    assert got.tzinfo is not None
    want = datetime(day.year, day.month, day.day, *utc_hm, tzinfo=UTC)
    assert got == want
    local = got.astimezone(NEW_YORK)
    assert local.date() == day


@pytest.mark.parametrize(
    "day",
    [WINTER, SUMMER, date(2024, 3, 11), date(2024, 11, 4), date(2024, 3, 8), date(2024, 11, 1)],
)
def test_settlement_expr_matches_scalar(day: date) -> None:
    roots = ["SPX", "SPXW", "NDX", "NDXP", "RUT", "SPY", "AAPL"]
    frame = pl.DataFrame({"root": roots, "expiration": [day] * len(roots)})
    got = frame.select(settlement_expr().alias("s"))["s"]
    assert got.dtype == pl.Datetime("us", "UTC")
    for root, value in zip(roots, got.to_list(), strict=True):
        assert value == settlement_time(root, day), root


# --------------------------------------------------------------------------- years to settlement
def test_years_to_settlement_values() -> None:
    settle = settlement_time("SPXW", SUMMER)
    as_of = settle - timedelta(days=73)  # 73 / 365 = 0.2 years
    got = years_to_settlement(np.array([us(settle)], dtype=np.int64), as_of)
    assert got[0] == pytest.approx(0.2, rel=1e-12)


def test_years_to_settlement_expired_nan_and_one_hour_floor() -> None:
    as_of = datetime(2024, 7, 19, 19, 0, tzinfo=UTC)  # 15:00 New York
    settles = np.array(
        [
            us(as_of - timedelta(hours=1)),  # expired
            us(as_of),  # settles now: T = 0 -> expired
            us(as_of + timedelta(minutes=10)),  # live, floored to one hour
            us(as_of + timedelta(hours=2)),  # live, 2 h
        ],
        dtype=np.int64,
    )
    t = years_to_settlement(settles, as_of)
    assert math.isnan(t[0])
    assert math.isnan(t[1])
    assert t[2] == pytest.approx(MIN_T_YEARS, rel=1e-12)
    assert pytest.approx(1.0 / (365 * 24), rel=1e-12) == MIN_T_YEARS
    assert t[3] == pytest.approx(2.0 / (365 * 24), rel=1e-9)
    unfloored = years_to_settlement(settles, as_of, floor=False)
    assert math.isnan(unfloored[0])
    assert unfloored[2] == pytest.approx(10.0 / (60 * 365 * 24), rel=1e-9)


def test_years_to_settlement_am_vs_pm_same_day() -> None:
    # 12:00 New York on expiration day: SPX (AM, 09:30) expired, SPXW (PM, 16:00) live 4 h
    as_of = datetime(2024, 1, 19, 12, 0, tzinfo=NEW_YORK)
    settles = np.array(
        [us(settlement_time("SPX", WINTER)), us(settlement_time("SPXW", WINTER))], dtype=np.int64
    )
    t = years_to_settlement(settles, as_of)
    assert math.isnan(t[0])
    assert t[1] == pytest.approx(4.0 / (365 * 24), rel=1e-9)


def test_ny_date_crosses_midnight_utc() -> None:
    # 02:00 UTC on the 20th is still the 19th in New York
    assert ny_date(datetime(2024, 1, 20, 2, 0, tzinfo=UTC)) == date(2024, 1, 19)
    assert ny_date(datetime(2024, 1, 20, 6, 0, tzinfo=UTC)) == date(2024, 1, 20)


def test_live_expirations() -> None:
    as_of = datetime(2024, 1, 19, 12, 0, tzinfo=NEW_YORK)
    pairs = [
        (WINTER, settlement_time("SPX", WINTER)),
        (WINTER, settlement_time("SPXW", WINTER)),
        (date(2024, 1, 18), settlement_time("SPXW", date(2024, 1, 18))),
        (date(2024, 2, 16), settlement_time("SPX", date(2024, 2, 16))),
    ]
    assert live_expirations(pairs, as_of) == [WINTER, date(2024, 2, 16)]
    assert live_expirations(pairs[:1], as_of) == []


# --------------------------------------------------------------------------- selections
AS_OF = datetime(2024, 1, 19, 15, 0, tzinfo=UTC)  # Fri 10:00 New York
TODAY = date(2024, 1, 19)
EXPS = [
    date(2024, 2, 16),  # +28 days
    TODAY,
    date(2024, 1, 22),  # +3
    date(2024, 1, 26),  # +7 (boundary of week)
    date(2024, 1, 29),  # +10
    date(2024, 2, 19),  # +31 (boundary of month)
    date(2024, 2, 20),  # +32
    date(2024, 6, 21),
]
SORTED = sorted(EXPS)


@pytest.mark.parametrize(
    "selection, want",
    [
        ("all", SORTED),
        ("ALL", SORTED),
        (" all ", SORTED),
        ("0dte", [TODAY]),
        ("next", [TODAY]),
        ("ex-next", SORTED[1:]),
        ("week", [TODAY, date(2024, 1, 22), date(2024, 1, 26)]),
        (
            "month",
            [
                TODAY,
                date(2024, 1, 22),
                date(2024, 1, 26),
                date(2024, 1, 29),
                date(2024, 2, 16),
                date(2024, 2, 19),
            ],
        ),
        ("2024-01-29", [date(2024, 1, 29)]),
        ("2024-01-30", []),
    ],
)
def test_select_expirations(selection: str, want: list[date]) -> None:
    assert select_expirations(EXPS, selection, AS_OF) == want


def test_0dte_uses_new_york_date() -> None:
    late = datetime(2024, 1, 20, 1, 0, tzinfo=UTC)  # 20:00 on the 19th in New York
    exps = [date(2024, 1, 19), date(2024, 1, 20), date(2024, 1, 22)]
    assert select_expirations(exps, "0dte", late) == [date(2024, 1, 19)]
    assert select_expirations(exps[1:], "0dte", late) == []


def test_next_and_ex_next_on_empty_and_duplicates() -> None:
    assert select_expirations([], "next", AS_OF) == []
    assert select_expirations([], "ex-next", AS_OF) == []
    assert select_expirations([TODAY, TODAY, date(2024, 1, 22)], "all", AS_OF) == [
        TODAY,
        date(2024, 1, 22),
    ]


@pytest.mark.parametrize(
    "bad", ["", "tomorrow", "0DTE-ish", "2024-13-01", "2024-02-30", "weekly", "next week"]
)
def test_bad_selection_raises(bad: str) -> None:
    with pytest.raises(ExpirySelectionError):
        parse_selection(bad)
    with pytest.raises(ExpirySelectionError):
        select_expirations(EXPS, bad, AS_OF)


def test_parse_selection_normalises() -> None:
    for sel in SELECTIONS:
        assert parse_selection(sel.upper()) == sel
    assert parse_selection(" 2024-01-29 ") == "2024-01-29"
    assert issubclass(ExpirySelectionError, ValueError)


# --------------------------------------------------------------------------- stepping
def test_step_selection_cycles_and_wraps() -> None:
    assert SELECTIONS == ("0dte", "next", "week", "month", "all", "ex-next")
    exps = [date(2024, 1, 22), TODAY]
    cycle = [*SELECTIONS, "2024-01-19", "2024-01-22"]
    sel = cycle[0]
    seen = [sel]
    for _ in range(len(cycle)):
        sel = step_selection(sel, exps, +1)
        seen.append(sel)
    assert seen == [*cycle, cycle[0]]  # forward wraps back to the start
    assert step_selection("0dte", exps, -1) == "2024-01-22"  # backward wraps to the end
    assert step_selection("2024-01-22", exps, +1) == "0dte"
    assert step_selection("ALL", exps, +1) == "ex-next"
    assert step_selection("all", exps, +len(cycle)) == "all"
    assert step_selection("next", exps, -2) == "2024-01-22"  # "next" is second in the cycle


def test_step_selection_unknown_start_starts_at_cycle_head() -> None:
    exps = [TODAY]
    # a date not among the expirations, or garbage, restarts from the head of the cycle
    assert step_selection("2030-01-01", exps, +1) == SELECTIONS[1]
    assert step_selection("garbage", exps, 0) == SELECTIONS[0]
