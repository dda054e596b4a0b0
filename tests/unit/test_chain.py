"""ChainBook: instrument list, upserts from EventBatch, NaN handling, underlying state."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from gextui.core.chain import ChainBook, ChainError, make_instruments
from gextui.core.events import EventBatch
from gextui.core.expiry import settlement_time

EXP = date(2024, 1, 19)
T0 = datetime(2024, 1, 19, 15, 0, tzinfo=UTC)
C4700 = ".SPXW240119C4700"
P4700 = ".SPXW240119P4700"
C4750 = ".SPXW240119C4750"
P4650 = ".SPXW240119P4650"


def instruments() -> pl.DataFrame:
    # deliberately unsorted
    return pl.DataFrame(
        {
            "symbol": [C4750, P4700, C4700, P4650],
            "root": ["SPXW"] * 4,
            "expiration": [EXP] * 4,
            "type": ["C", "P", "C", "P"],
            "strike": [4750.0, 4700.0, 4700.0, 4650.0],
        }
    )


def book() -> ChainBook:
    return ChainBook("spx", instruments(), source="test")


def row(b: ChainBook, symbol: str) -> dict[str, object]:
    return b.frame().filter(pl.col("symbol") == symbol).to_dicts()[0]


# --------------------------------------------------------------------------- instruments
def test_make_instruments_schema_sort_settlement_multiplier() -> None:
    ins = make_instruments(instruments())
    assert ins.columns == [
        "symbol",
        "root",
        "expiration",
        "settlement",
        "type",
        "strike",
        "multiplier",
    ]
    assert ins["strike"].to_list() == [4650.0, 4700.0, 4700.0, 4750.0]
    assert ins["type"].to_list() == ["P", "C", "P", "C"]
    assert ins["multiplier"].to_list() == [100.0] * 4
    assert ins["settlement"][0] == settlement_time("SPXW", EXP)


def test_make_instruments_keeps_given_multiplier() -> None:
    ins = make_instruments(instruments().with_columns(pl.lit(10.0).alias("multiplier")))
    assert ins["multiplier"].to_list() == [10.0] * 4


def test_duplicate_symbols_raise_chain_error() -> None:
    dup = pl.concat([instruments(), instruments().head(1)])
    with pytest.raises(ChainError, match="duplicate"):
        make_instruments(dup)
    with pytest.raises(ChainError):
        ChainBook("SPX", dup)


def test_missing_columns_and_bad_type_raise_chain_error() -> None:
    with pytest.raises(ChainError, match="strike"):
        make_instruments(instruments().drop("strike"))
    with pytest.raises(ChainError):
        make_instruments(instruments().with_columns(pl.lit("X").alias("type")))
    assert issubclass(ChainError, ValueError)


def test_new_book_is_empty() -> None:
    b = book()
    assert len(b) == 4
    assert b.ticker == "SPX"
    assert b.underlying.symbol == "SPX"
    assert math.isnan(b.spot)
    assert b.as_of is None
    f = b.frame()
    for col in ("gamma", "open_interest", "bid", "last", "updated"):
        assert f[col].null_count() == 4, col
    assert b.coverage() == (0, 0, 4)


# --------------------------------------------------------------------------- apply
def test_apply_upserts_values() -> None:
    b = book()
    res = b.apply(
        EventBatch(
            time=T0,
            greeks=pl.DataFrame(
                {
                    "symbol": [C4700, P4700],
                    "gamma": [0.002, 0.0015],
                    "delta": [0.5, -0.45],
                    "iv": [0.15, 0.17],
                }
            ),
            summary=pl.DataFrame({"symbol": [C4700], "open_interest": [1234.0]}),
            trades=pl.DataFrame({"symbol": [C4700], "price": [12.5], "day_volume": [99.0]}),
            quotes=pl.DataFrame({"symbol": [P4700], "bid": [10.0], "ask": [10.4]}),
        )
    )
    assert res.events == 5
    assert res.unknown == 0
    assert res.nan_values == 0
    c = row(b, C4700)
    assert (c["gamma"], c["delta"], c["iv"]) == (0.002, 0.5, 0.15)
    assert c["open_interest"] == 1234.0
    assert c["last"] == 12.5
    assert c["day_volume"] == 99.0
    assert c["theta"] is None  # column not in the batch: stays missing
    p = row(b, P4700)
    assert (p["gamma"], p["delta"], p["bid"], p["ask"]) == (0.0015, -0.45, 10.0, 10.4)
    assert p["open_interest"] is None
    assert b.coverage() == (2, 1, 4)
    assert b.as_of == T0
    assert b.version == 1
    assert b.events_applied == 5

    # a later batch overwrites (upsert)
    b.apply(
        EventBatch(
            time=T0 + timedelta(seconds=1),
            greeks=pl.DataFrame({"symbol": [C4700], "gamma": [0.003]}),
        )
    )
    c = row(b, C4700)
    assert c["gamma"] == 0.003
    assert c["delta"] == 0.5  # untouched column kept
    assert b.as_of == T0 + timedelta(seconds=1)
    assert b.version == 2


def test_as_of_does_not_go_backwards() -> None:
    b = book()
    b.apply(EventBatch(time=T0, greeks=pl.DataFrame({"symbol": [C4700], "gamma": [0.1]})))
    b.apply(
        EventBatch(
            time=T0 - timedelta(minutes=5), greeks=pl.DataFrame({"symbol": [C4700], "gamma": [0.2]})
        )
    )
    assert b.as_of == T0
    assert row(b, C4700)["gamma"] == 0.2


def test_unknown_symbols_are_counted_not_applied() -> None:
    b = book()
    res = b.apply(
        EventBatch(
            time=T0,
            greeks=pl.DataFrame(
                {"symbol": [".SPXW240119C9999", C4700, "nonsense"], "gamma": [1.0, 0.002, 2.0]}
            ),
        )
    )
    assert res.events == 3
    assert res.unknown == 2
    assert b.unknown_symbols == 2
    assert row(b, C4700)["gamma"] == 0.002
    assert sorted(b.frame()["gamma"].drop_nulls().to_list()) == [0.002]
    assert b.unknown_examples == [".SPXW240119C9999", "nonsense"]
    # a batch of only unknown symbols does not crash either
    res = b.apply(
        EventBatch(time=T0, summary=pl.DataFrame({"symbol": ["X"], "open_interest": [5.0]}))
    )
    assert res.unknown == 1
    assert b.unknown_symbols == 3


def test_nan_and_null_never_overwrite_and_are_counted() -> None:
    b = book()
    b.apply(
        EventBatch(
            time=T0,
            greeks=pl.DataFrame({"symbol": [C4700, P4700], "gamma": [0.002, 0.003]}),
            summary=pl.DataFrame({"symbol": [C4700], "open_interest": [500.0]}),
        )
    )
    res = b.apply(
        EventBatch(
            time=T0 + timedelta(seconds=1),
            greeks=pl.DataFrame(
                {"symbol": [C4700, P4700], "gamma": [float("nan"), None]},
                schema={"symbol": pl.String, "gamma": pl.Float64},
            ),
            summary=pl.DataFrame(
                {"symbol": [C4700], "open_interest": [None]},
                schema={"symbol": pl.String, "open_interest": pl.Float64},
            ),
        )
    )
    assert res.nan_values == 3
    assert b.nan_values == 3
    assert row(b, C4700)["gamma"] == 0.002
    assert row(b, P4700)["gamma"] == 0.003
    assert row(b, C4700)["open_interest"] == 500.0


def test_partial_nan_row_updates_the_good_columns() -> None:
    b = book()
    res = b.apply(
        EventBatch(
            time=T0,
            greeks=pl.DataFrame(
                {"symbol": [C4700], "gamma": [float("nan")], "delta": [0.51], "iv": [0.2]}
            ),
        )
    )
    assert res.nan_values == 1
    c = row(b, C4700)
    assert c["gamma"] is None
    assert (c["delta"], c["iv"]) == (0.51, 0.2)


def test_integer_columns_with_nulls_are_accepted() -> None:
    b = book()
    res = b.apply(
        EventBatch(
            time=T0,
            summary=pl.DataFrame(
                {"symbol": [C4700, P4700], "open_interest": [7, None]},
                schema={"symbol": pl.String, "open_interest": pl.Int64},
            ),
        )
    )
    assert res.nan_values == 1
    assert row(b, C4700)["open_interest"] == 7.0
    assert row(b, P4700)["open_interest"] is None


def test_last_value_wins_within_a_batch() -> None:
    b = book()
    b.apply(
        EventBatch(
            time=T0,
            greeks=pl.DataFrame(
                {
                    "symbol": [C4700, P4700, C4700, C4700, P4700],
                    "gamma": [0.1, 0.5, 0.2, 0.3, float("nan")],
                }
            ),
        )
    )
    assert row(b, C4700)["gamma"] == 0.3
    # a trailing NaN does not erase the earlier good value for the same symbol
    assert row(b, P4700)["gamma"] == 0.5


def test_updated_is_stamped_only_for_rows_that_got_a_value() -> None:
    b = book()
    b.apply(
        EventBatch(
            time=T0,
            greeks=pl.DataFrame(
                {"symbol": [C4700, P4700], "gamma": [0.002, float("nan")], "iv": [0.2, None]}
            ),
        )
    )
    f = b.frame()
    stamped = dict(zip(f["symbol"].to_list(), f["updated"].to_list(), strict=True))
    assert stamped[C4700] == T0
    assert stamped[P4700] is None
    assert stamped[C4750] is None
    assert f["updated"].dtype == pl.Datetime("us", "UTC")

    t1 = T0 + timedelta(seconds=3)
    b.apply(EventBatch(time=t1, quotes=pl.DataFrame({"symbol": [C4700], "bid": [float("nan")]})))
    assert row(b, C4700)["updated"] == T0  # an all-NaN event leaves the stamp alone
    b.apply(EventBatch(time=t1, quotes=pl.DataFrame({"symbol": [C4700], "bid": [1.0]})))
    assert row(b, C4700)["updated"] == t1


def test_frame_is_a_copy() -> None:
    b = book()
    b.apply(EventBatch(time=T0, greeks=pl.DataFrame({"symbol": [C4700], "gamma": [0.002]})))
    before = b.frame()
    b.apply(
        EventBatch(
            time=T0 + timedelta(seconds=1),
            greeks=pl.DataFrame({"symbol": [C4700, P4700], "gamma": [0.009, 0.008]}),
        )
    )
    assert before.filter(pl.col("symbol") == C4700)["gamma"][0] == 0.002
    assert before["gamma"].null_count() == 3
    assert before.filter(pl.col("symbol") == C4700)["updated"][0] == T0
    col = b.column("gamma")
    col[:] = -1.0
    assert row(b, C4700)["gamma"] == 0.009


def test_state_is_a_frame_keyed_by_symbol_over_the_live_columns() -> None:
    b = book()
    state = b.state
    assert state.columns[0] == "symbol" and state["symbol"].to_list() == b.symbols
    assert state["symbol"].is_unique().all()
    assert state["gamma"].is_nan().all() and (state["updated_us"] == -1).all()
    b.apply(EventBatch(time=T0, greeks=pl.DataFrame({"symbol": [C4700], "gamma": [0.002]})))
    got = b.state.filter(pl.col("symbol") == C4700)
    assert got["gamma"][0] == 0.002
    assert got["updated_us"][0] == int(T0.timestamp() * 1_000_000)
    # the maths reads the same numbers as numpy views
    arrays = b.arrays()
    assert np.array_equal(arrays.state["gamma"], b.state["gamma"].to_numpy(), equal_nan=True)
    # a copy has its own state: the original's next apply does not reach it
    clone = b.copy()
    b.apply(
        EventBatch(
            time=T0 + timedelta(seconds=1),
            greeks=pl.DataFrame({"symbol": [C4700], "gamma": [0.009]}),
        )
    )
    assert clone.state.filter(pl.col("symbol") == C4700)["gamma"][0] == 0.002
    assert b.state.filter(pl.col("symbol") == C4700)["gamma"][0] == 0.009


def test_arrays_are_aligned_with_instruments() -> None:
    b = book()
    a = b.arrays()
    assert a.strike.tolist() == [4650.0, 4700.0, 4700.0, 4750.0]
    assert a.is_call.tolist() == [False, True, False, True]
    assert a.strikes.tolist() == [4650.0, 4700.0, 4750.0]
    assert a.strike_index.tolist() == [0, 1, 1, 2]
    assert not a.strike.flags.writeable
    b.apply(EventBatch(time=T0, greeks=pl.DataFrame({"symbol": [C4750], "gamma": [0.7]})))
    assert np.isnan(a.state["gamma"][:3]).all()
    assert a.state["gamma"][3] == 0.7


# --------------------------------------------------------------------------- underlying
def test_underlying_trade_sets_spot() -> None:
    b = book()
    res = b.apply(
        EventBatch(
            time=T0,
            trades=pl.DataFrame({"symbol": ["SPX", C4700], "price": [4712.5, 11.0]}),
            summary=pl.DataFrame({"symbol": ["SPX"], "prev_close": [4690.0]}),
        )
    )
    assert res.unknown == 0
    assert b.spot == 4712.5
    assert b.underlying.prev_close == 4690.0
    assert row(b, C4700)["last"] == 11.0
    # a later trade moves spot; a NaN trade does not
    b.apply(EventBatch(time=T0, trades=pl.DataFrame({"symbol": ["SPX"], "price": [4715.0]})))
    assert b.spot == 4715.0
    res = b.apply(
        EventBatch(time=T0, trades=pl.DataFrame({"symbol": ["SPX"], "price": [float("nan")]}))
    )
    assert res.nan_values == 1
    assert b.spot == 4715.0


def test_underlying_last_trade_in_batch_wins() -> None:
    b = book()
    b.apply(
        EventBatch(
            time=T0,
            trades=pl.DataFrame(
                {"symbol": ["SPX", "SPX", "SPX"], "price": [4700.0, 4705.0, float("nan")]}
            ),
        )
    )
    assert b.spot == 4705.0


def test_underlying_symbol_override() -> None:
    b = ChainBook("SPX", instruments(), underlying_symbol="$SPX.X")
    b.apply(
        EventBatch(time=T0, trades=pl.DataFrame({"symbol": ["$SPX.X", "SPX"], "price": [1.0, 2.0]}))
    )
    assert b.spot == 1.0
    assert b.unknown_symbols == 1


def test_underlying_quote_gives_mid_when_no_trade() -> None:
    b = book()
    b.apply(
        EventBatch(
            time=T0, quotes=pl.DataFrame({"symbol": ["SPX"], "bid": [100.0], "ask": [102.0]})
        )
    )
    assert b.spot == 101.0
    assert (b.underlying.bid, b.underlying.ask) == (100.0, 102.0)


def test_underlying_mid_follows_quotes_until_a_trade_arrives() -> None:
    b = book()
    b.apply(
        EventBatch(
            time=T0, quotes=pl.DataFrame({"symbol": ["SPX"], "bid": [100.0], "ask": [102.0]})
        )
    )
    b.apply(
        EventBatch(
            time=T0, quotes=pl.DataFrame({"symbol": ["SPX"], "bid": [110.0], "ask": [112.0]})
        )
    )
    # still no trade: spot should be the current mid, not the first one
    assert b.spot == 111.0


def test_underlying_trade_beats_quote_mid() -> None:
    b = book()
    b.apply(
        EventBatch(
            time=T0,
            trades=pl.DataFrame({"symbol": ["SPX"], "price": [4700.0]}),
            quotes=pl.DataFrame({"symbol": ["SPX"], "bid": [4710.0], "ask": [4712.0]}),
        )
    )
    assert b.spot == 4700.0
    b.apply(
        EventBatch(
            time=T0, quotes=pl.DataFrame({"symbol": ["SPX"], "bid": [4720.0], "ask": [4722.0]})
        )
    )
    assert b.spot == 4700.0  # a quote never overrides a traded price
    # a one-sided or empty quote gives no mid
    b2 = book()
    b2.apply(
        EventBatch(
            time=T0,
            quotes=pl.DataFrame(
                {"symbol": ["SPX"], "bid": [float("nan")], "ask": [4712.0]},
            ),
        )
    )
    assert math.isnan(b2.spot)


# --------------------------------------------------------------------------- sane values only
def test_insane_values_are_rejected_counted_and_never_applied() -> None:
    """inf (e.g. gamma sent as "1e309"), negative OI / volume / prices, IV outside (0, 10),
    |delta| > 1, negative gamma: counted as rejected, the last good value stays."""
    inf = float("inf")
    b = book()
    good = EventBatch(
        time=T0,
        greeks=pl.DataFrame(
            {
                "symbol": [C4700, P4700, C4750],
                "gamma": [0.002, 0.003, 0.001],
                "delta": [0.5, -0.5, 0.3],
                "iv": [0.2, 0.25, 0.18],
                "price": [12.0, 11.0, 3.0],
            }
        ),
        summary=pl.DataFrame({"symbol": [C4700, P4700], "open_interest": [500.0, 700.0]}),
        trades=pl.DataFrame({"symbol": ["SPX", C4700], "price": [4700.5, 12.5]}),
    )
    b.apply(good)
    res = b.apply(
        EventBatch(
            time=T0 + timedelta(seconds=1),
            greeks=pl.DataFrame(
                {
                    "symbol": [C4700, P4700, C4750],
                    "gamma": [inf, -0.001, 0.004],  # 2 rejected, 1 applied
                    "delta": [1.5, -1.0, -inf],  # -1.0 is fine
                    "iv": [0.0, 10.0, 0.3],  # 0 and 10 are outside (0, 10)
                    "price": [-1.0, float("nan"), 2.5],
                }
            ),
            summary=pl.DataFrame({"symbol": [C4700, P4700], "open_interest": [-5.0, 800.0]}),
            trades=pl.DataFrame({"symbol": ["SPX", C4700], "price": [-inf, 13.0]}),
        )
    )
    assert res.rejected == 2 + 2 + 2 + 1 + 1 + 1
    assert res.nan_values == 1
    assert b.rejected_values == res.rejected
    assert b.rejected_by_column == {
        "gamma": 2,
        "delta": 2,
        "iv": 2,
        "price": 1,
        "open_interest": 1,
        "spot": 1,
    }
    c, p, c2 = row(b, C4700), row(b, P4700), row(b, C4750)
    assert (c["gamma"], c["delta"], c["iv"], c["price"], c["open_interest"]) == (
        0.002,
        0.5,
        0.2,
        12.0,
        500.0,
    )
    assert (p["gamma"], p["delta"], p["iv"], p["open_interest"]) == (0.003, -1.0, 0.25, 800.0)
    assert (c2["gamma"], c2["delta"], c2["iv"], c2["price"]) == (0.004, 0.3, 0.3, 2.5)
    assert c["last"] == 13.0
    assert b.spot == 4700.5
    state = b.arrays().state
    for name in ("gamma", "delta", "iv", "price", "open_interest"):
        vals = state[name][~np.isnan(state[name])]
        assert np.isfinite(vals).all()


@pytest.mark.parametrize(
    ("column", "value", "kind"),
    [
        ("open_interest", 1e300, "summary"),  # finite, yet no market has it
        ("open_interest", 1e9, "summary"),
        ("iv", 1e-300, "greeks"),
        ("iv", 1e-4, "greeks"),
        ("gamma", 1e300, "greeks"),
        ("gamma", 1e6, "greeks"),
    ],
)
def test_finite_but_absurd_values_are_rejected(column: str, value: float, kind: str) -> None:
    """Values finite in float64 but beyond any market (they would overflow the analytics'
    products or the profile's float32 terms) are rejected like ``inf``; the good one stays."""
    b = book()
    good = {"open_interest": 500.0, "iv": 0.2, "gamma": 0.002}[column]
    frame = {"symbol": [C4700], column: [good]}
    b.apply(EventBatch(time=T0, **{kind: pl.DataFrame(frame)}))
    res = b.apply(
        EventBatch(
            time=T0 + timedelta(seconds=1),
            **{kind: pl.DataFrame({"symbol": [C4700], column: [value]})},
        )
    )
    assert (res.rejected, b.rejected_by_column) == (1, {column: 1})
    assert row(b, C4700)[column] == good
