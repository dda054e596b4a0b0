"""Issue 13's snapshot fields (by expiration, abs gamma strike, top walls, expected move), the
levels export and the change comparison, each against sums written here with polars / numpy
from the book's own frame (not the exposure code), on the shipped CBOE chains (skipped when
../shared is absent) and on small hand-built chains."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from realdata import cboe_file, holdout_file

from gextui.core.chain import ChainBook, make_instruments
from gextui.core.events import EventBatch
from gextui.core.exposure import ExposureSnapshot, compute_exposure
from gextui.core.levels import CHANGE_KEYS, level_changes, strike_changes, top_changes
from gextui.core.symbols import streamer_symbol
from gextui.feeds.cboe_file import read_cboe
from gextui.report import levels_csv, levels_rows, levels_text, to_json, to_text

REAL = [
    ("cboe", "spx_quotedata_2024-01-07.csv"),
    ("cboe", "ndx_quotedata_2022-02-05.csv"),
    ("holdout", "rut_quotedata_2022-12-12.csv"),
    ("holdout", "spy_quotedata_2023-09-14.csv"),
    ("holdout", "rut_quotedata_2023-09-21.json"),
]


def independent(book: ChainBook, as_of: datetime, exps: tuple[date, ...]) -> pl.DataFrame:
    """Live contracts of ``exps`` with their GEX (sign · Γ · OI · m · S² · 0.01; missing → 0)
    and mid."""
    s = book.spot
    f = book.frame().filter((pl.col("settlement") > as_of) & pl.col("expiration").is_in(exps))
    sign = pl.when(pl.col("type") == "C").then(1.0).otherwise(-1.0)
    return f.with_columns(
        gex=sign
        * pl.col("gamma").fill_null(0.0)
        * pl.col("open_interest").fill_null(0.0)
        * pl.col("multiplier")
        * (s * s * 0.01),
        mid=pl.when((pl.col("ask") >= pl.col("bid")) & (pl.col("ask") > 0))
        .then((pl.col("bid") + pl.col("ask")) / 2)
        .otherwise(pl.col("price")),
    )


def check_fields(book: ChainBook, snap: ExposureSnapshot) -> None:
    f = independent(book, snap.as_of, snap.expirations)
    # by expiration: one row per selected expiration, summing to the totals
    per = (
        f.group_by("expiration")
        .agg(
            net=pl.col("gex").sum(),
            call=pl.col("gex").filter(pl.col("type") == "C").sum(),
            put=pl.col("gex").filter(pl.col("type") == "P").sum(),
            absolute=pl.col("gex").abs().sum(),
            n=pl.len(),
        )
        .sort("expiration")
    )
    got = snap.by_expiration
    assert [e.expiration for e in got] == per["expiration"].to_list() == list(snap.expirations)
    scale = max(snap.abs_gex, 1.0)
    for e, row in zip(got, per.iter_rows(named=True), strict=True):
        assert e.net_gex == pytest.approx(row["net"], abs=1e-9 * scale)
        assert e.call_gex == pytest.approx(row["call"], abs=1e-9 * scale)
        assert e.put_gex == pytest.approx(row["put"], abs=1e-9 * scale)
        assert e.abs_gex == pytest.approx(row["absolute"], abs=1e-9 * scale)
        assert e.contracts == row["n"]
    assert sum(e.net_gex for e in got) == pytest.approx(snap.net_gex, abs=1e-9 * scale)
    assert sum(e.call_gex for e in got) == pytest.approx(snap.call_gex, abs=1e-9 * scale)
    assert sum(e.put_gex for e in got) == pytest.approx(snap.put_gex, abs=1e-9 * scale)
    assert sum(e.abs_gex for e in got) == pytest.approx(snap.abs_gex, abs=1e-9 * scale)
    assert sum(e.contracts for e in got) == snap.coverage.contracts

    # per strike: walls (top 3, strongest first) and the absolute gamma strike
    ks = (
        f.group_by("strike")
        .agg(
            call=pl.col("gex").filter(pl.col("type") == "C").sum(),
            put=pl.col("gex").filter(pl.col("type") == "P").sum(),
        )
        .sort("strike")
    )
    calls = ks.filter(pl.col("call") > 0).sort(["call", "strike"], descending=[True, False])
    puts = ks.filter(pl.col("put") < 0).sort(["put", "strike"])
    assert [w.strike for w in snap.call_walls] == calls["strike"].head(3).to_list()
    assert [w.strike for w in snap.put_walls] == puts["strike"].head(3).to_list()
    for w, v in zip(snap.call_walls, calls["call"].head(3).to_list(), strict=True):
        assert w.gex == pytest.approx(v, rel=1e-9)
    for w, v in zip(snap.put_walls, puts["put"].head(3).to_list(), strict=True):
        assert w.gex == pytest.approx(v, rel=1e-9)
    assert snap.call_wall == snap.call_walls[0].strike
    assert snap.put_wall == snap.put_walls[0].strike
    gross = ks.with_columns(g=pl.col("call").abs() + pl.col("put").abs())
    assert snap.abs_gamma_strike == gross.sort(["g", "strike"], descending=[True, False])[
        "strike"
    ].item(0)

    # expected move: ATM straddle of the nearest selected expiration
    near = f.filter(pl.col("expiration") == snap.expirations[0])
    pairs = (
        near.group_by("settlement", "strike")
        .agg(
            c=pl.col("mid").filter(pl.col("type") == "C").first(),
            p=pl.col("mid").filter(pl.col("type") == "P").first(),
            n_c=(pl.col("type") == "C").sum(),
            n_p=(pl.col("type") == "P").sum(),
        )
        .filter((pl.col("n_c") > 0) & (pl.col("n_p") > 0))
        .with_columns(dist=(pl.col("strike") - book.spot).abs())
        .sort(["dist", "strike", "settlement"], descending=[False, False, True])
    )
    atm = pairs.row(0, named=True)
    assert snap.expected_move_strike == atm["strike"]
    assert snap.expected_move_expiration == snap.expirations[0]
    if atm["c"] is None or atm["p"] is None:
        assert snap.expected_move is None
    else:
        assert snap.expected_move == pytest.approx(atm["c"] + atm["p"], rel=1e-12)


@pytest.mark.parametrize(("where", "name"), REAL)
def test_fields_against_independent_sums_on_real_chains(where: str, name: str) -> None:
    path = cboe_file(name) if where == "cboe" else holdout_file(name)
    book = read_cboe(path)
    snap = compute_exposure(book)
    check_fields(book, snap)
    near = compute_exposure(book, "next")
    check_fields(book, near)
    assert len(near.by_expiration) == 1


def test_published_chain_levels_and_json() -> None:
    book = read_cboe(cboe_file("spx_quotedata_2024-01-07.csv"))
    snap = compute_exposure(book)
    assert snap.expected_move is not None and 0 < snap.expected_move < 0.05 * book.spot
    obj = __import__("json").loads(to_json(snap))
    assert [e["expiration"] for e in obj["by_expiration"]] == obj["expirations"]
    assert obj["call_walls"][0] == {"strike": snap.call_wall, "gex": snap.call_walls[0].gex}
    assert obj["put_walls"][0]["strike"] == snap.put_wall and obj["put_walls"][0]["gex"] < 0
    assert obj["expected_move"] == snap.expected_move
    assert obj["expected_move_expiration"] == snap.expirations[0].isoformat()
    text = to_text(snap)
    walls = " · ".join(f"{w.strike:,.0f}" for w in snap.call_walls)
    assert f"top walls    calls {walls}; puts" in text
    assert f"exp. move    ±{snap.expected_move:,.2f} to 2024-01-08" in text
    rows = levels_rows(snap)
    labels = [label for _, label in rows]
    assert labels[:1] == ["Zero Gamma"] and labels[-1] == "Spot"
    assert rows[labels.index("Expected Move Up")][0] == pytest.approx(
        book.spot + snap.expected_move
    )


# ---------------------------------------------------------------------------- hand-built
AS_OF = datetime(2024, 1, 19, 15, 0, tzinfo=UTC)  # Friday 10:00 New York
E0, E1 = date(2024, 1, 19), date(2024, 1, 26)


def hand_book(
    rows: list[tuple[str, float, date, float, float, float | None, float | None]],
    spot: float = 100.0,
) -> ChainBook:
    """rows: (type, strike, expiration, gamma, OI, bid, ask); IV 0.2 for all."""
    syms = [streamer_symbol("SPXW", e, t, k) for t, k, e, *_ in rows]
    ins = make_instruments(
        pl.DataFrame(
            {
                "symbol": syms,
                "root": ["SPXW"] * len(rows),
                "expiration": [r[2] for r in rows],
                "type": [r[0] for r in rows],
                "strike": [r[1] for r in rows],
            }
        )
    )
    book = ChainBook("SPX", ins, source="hand")
    f64 = pl.Float64
    book.apply(
        EventBatch(
            time=AS_OF,
            greeks=pl.DataFrame(
                {"symbol": syms, "gamma": [r[3] for r in rows], "iv": [0.2] * len(rows)}
            ),
            summary=pl.DataFrame({"symbol": syms, "open_interest": [r[4] for r in rows]}),
            quotes=pl.DataFrame(
                {"symbol": syms, "bid": [r[5] for r in rows], "ask": [r[6] for r in rows]},
                schema={"symbol": pl.String, "bid": f64, "ask": f64},
            ),
            trades=pl.DataFrame({"symbol": ["SPX"], "price": [spot], "day_volume": [0.0]}),
        )
    )
    book.set_as_of(AS_OF)
    return book


def test_hand_chain_walls_abs_strike_expected_move() -> None:
    # GEX unit: Γ · OI · 100 · 100² · 0.01 = Γ · OI · 1e4
    book = hand_book(
        [
            ("C", 100.0, E0, 0.05, 100.0, 1.9, 2.1),  # +5e4
            ("P", 100.0, E0, 0.05, 300.0, 2.4, 2.6),  # −1.5e5
            ("C", 105.0, E0, 0.02, 1100.0, 0.4, 0.6),  # +2.2e5
            ("P", 95.0, E0, 0.02, 400.0, 0.3, 0.5),  # −8e4
            ("C", 110.0, E1, 0.01, 900.0, None, None),  # +9e4
            ("P", 90.0, E1, 0.01, 100.0, 0.1, 0.2),  # −1e4
            ("C", 95.0, E1, 0.01, 0.0, 5.0, 5.2),  # 0: not a wall
        ]
    )
    snap = compute_exposure(book)
    assert [(w.strike, w.gex) for w in snap.call_walls] == [
        (105.0, pytest.approx(2.2e5)),
        (110.0, pytest.approx(9e4)),
        (100.0, pytest.approx(5e4)),
    ]
    assert [(w.strike, w.gex) for w in snap.put_walls] == [
        (100.0, pytest.approx(-1.5e5)),
        (95.0, pytest.approx(-8e4)),
        (90.0, pytest.approx(-1e4)),
    ]
    assert snap.abs_gamma_strike == 105.0  # 2.2e5 > 5e4 + 1.5e5
    by = {e.expiration: e for e in snap.by_expiration}
    assert by[E0].net_gex == pytest.approx(5e4 - 1.5e5 + 2.2e5 - 8e4)
    assert by[E0].abs_gex == pytest.approx(5e4 + 1.5e5 + 2.2e5 + 8e4)
    assert by[E1].call_gex == pytest.approx(9e4) and by[E1].contracts == 3
    # ATM straddle of the nearest expiration (E0): strike 100, mids 2.0 + 2.5
    assert snap.expected_move == pytest.approx(4.5)
    assert snap.expected_move_strike == 100.0 and snap.expected_move_expiration == E0
    levels = {label: price for price, label in levels_rows(snap)}
    assert levels["Expected Move Up"] == pytest.approx(104.5)
    assert levels["Expected Move Down"] == pytest.approx(95.5)
    text = levels_csv(snap)
    assert text.splitlines()[1:4] == ["105,Call Wall 1", "110,Call Wall 2", "100,Call Wall 3"]
    assert "104.5,Expected Move Up\n95.5,Expected Move Down\n" in text
    assert text.endswith("100,Spot\n")
    assert "Call Wall 1" in levels_text(snap)


def test_abs_gamma_strike_tie_takes_the_lower_strike() -> None:
    snap = compute_exposure(
        hand_book(
            [
                ("C", 100.0, E0, 0.05, 100.0, 1.0, 1.2),  # 5e4
                ("P", 100.0, E0, 0.05, 300.0, 1.0, 1.2),  # 1.5e5 → |·| sum 2e5
                ("C", 105.0, E0, 0.02, 1000.0, 1.0, 1.2),  # 2e5
            ]
        )
    )
    assert snap.abs_gamma_strike == 100.0


def test_expected_move_null_without_prices_and_mark_fallback() -> None:
    rows = [("C", 100.0, E0, 0.05, 100.0, None, None), ("P", 100.0, E0, 0.05, 100.0, 1.0, 1.4)]
    assert compute_exposure(hand_book(rows)).expected_move is None
    book = hand_book(rows)
    sym = streamer_symbol("SPXW", E0, "C", 100.0)
    book.apply(EventBatch(time=AS_OF, greeks=pl.DataFrame({"symbol": [sym], "price": [1.5]})))
    assert compute_exposure(book).expected_move == pytest.approx(1.5 + 1.2)


def test_fewer_than_three_walls_and_empty_selection() -> None:
    snap = compute_exposure(hand_book([("C", 100.0, E0, 0.05, 100.0, 1.0, 1.2)]))
    assert [w.strike for w in snap.call_walls] == [100.0] and snap.put_walls == ()
    empty = compute_exposure(hand_book([("C", 100.0, E0, 0.05, 100.0, 1.0, 1.2)]), "2024-02-16")
    assert empty.by_expiration == () and empty.call_walls == () and empty.expected_move is None
    assert empty.abs_gamma_strike is None
    assert levels_rows(empty) == [(100.0, "Spot")]


# ---------------------------------------------------------------------------- changes
def test_strike_and_level_changes_by_hand() -> None:
    then = compute_exposure(
        hand_book([("C", 100.0, E0, 0.05, 100.0, 1.0, 1.2), ("P", 95.0, E0, 0.02, 400.0, 0.3, 0.5)])
    )
    now_book = hand_book(
        [
            ("C", 100.0, E0, 0.05, 300.0, 1.0, 1.2),
            ("P", 95.0, E0, 0.02, 400.0, 0.3, 0.5),
            ("C", 110.0, E1, 0.01, 500.0, 0.1, 0.2),
        ]
    )
    now = compute_exposure(now_book)
    ch = strike_changes(now, then)
    assert ch["strike"].to_list() == [95.0, 100.0, 110.0]
    assert ch["change"].to_list() == [pytest.approx(0.0), pytest.approx(1e5), None]
    assert top_changes(ch, 1) == [(100.0, pytest.approx(1e5))]
    lv = level_changes(now, then)
    assert list(lv) == list(CHANGE_KEYS)
    assert lv["net_gex"] == pytest.approx(now.net_gex - then.net_gex)
    assert lv["call_wall"] == pytest.approx(now.call_wall - then.call_wall)  # type: ignore[operator]
    assert lv["spot"] == 0.0
    none_zg = dataclasses.replace(then, zero_gamma=None)
    assert level_changes(now, none_zg)["zero_gamma"] is None
    obj = __import__("json").loads(to_json(now, since=then))
    assert [r["net_gex_change"] for r in obj["strikes"]] == [
        pytest.approx(0.0),
        pytest.approx(1e5),
        None,
    ]
    assert obj["changes"]["net_gex"] == pytest.approx(now.net_gex - then.net_gex)
    assert obj["changes"]["seconds"] == 0.0


def test_levels_rows_skip_undefined_and_round_in_csv() -> None:
    snap = compute_exposure(hand_book([("C", 100.0, E0, 0.05, 100.0, 1.0, 1.2)], spot=4734.4449))
    odd = dataclasses.replace(snap, zero_gamma=4734.436, max_pain=None, expected_move=None)
    rows = levels_rows(odd)
    assert rows[0] == (4734.436, "Zero Gamma")
    assert all(lab not in {"Max Pain", "Expected Move Up"} for _, lab in rows)
    assert levels_csv(odd).splitlines()[0] == "4734.44,Zero Gamma"
    assert math.isclose(rows[-1][0], 4734.4449)


def test_since_window_helpers_use_event_time() -> None:
    """Changes compare the snapshots' own as_of times (no wall clock)."""
    a = compute_exposure(hand_book([("C", 100.0, E0, 0.05, 100.0, 1.0, 1.2)]))
    b = dataclasses.replace(a, as_of=a.as_of + timedelta(minutes=15))
    obj = __import__("json").loads(to_json(b, since=a))
    assert obj["changes"]["seconds"] == 900.0
    assert obj["changes"]["since"] == a.as_of.isoformat()
    assert np.isclose(obj["changes"]["net_gex"], 0.0)
