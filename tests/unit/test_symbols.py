"""Option symbols: dxFeed streamer and OCC forms, scalar and vectorised parsing."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gextui.core.symbols import (
    OptionSymbol,
    SymbolError,
    format_strike,
    parse_symbol,
    parse_symbols,
    streamer_symbol,
    streamer_symbols,
)

SPXW_4700 = OptionSymbol("SPXW", date(2024, 1, 5), "C", 4700.0)
SPY_412_5 = OptionSymbol("SPY", date(2026, 1, 16), "P", 412.5)


# --------------------------------------------------------------------------- scalar parsing
@pytest.mark.parametrize(
    "text",
    [
        ".SPXW240105C4700",
        "SPXW  240105C04700000",  # OCC, root padded to six
        "SPXW240105C04700000",  # OCC, unpadded (CBOE files)
        "  .SPXW240105C4700  ",  # surrounding whitespace is ignored
    ],
)
def test_spxw_forms_parse_to_the_same_symbol(text: str) -> None:
    assert parse_symbol(text) == SPXW_4700


def test_dxfeed_half_strike() -> None:
    sym = parse_symbol(".SPY260116P412.5")
    assert sym == SPY_412_5
    assert sym.strike == 412.5
    assert sym.type == "P"


def test_occ_half_strike_both_paddings() -> None:
    assert parse_symbol("SPY   260116P00412500") == SPY_412_5
    assert parse_symbol("SPY260116P00412500") == SPY_412_5


def test_occ_fractional_thousandths() -> None:
    # strike × 1000 in eight digits: 00001250 -> 1.25
    assert parse_symbol("ABC   250321C00001250").strike == 1.25


def test_formatting_known_values() -> None:
    assert SPXW_4700.streamer_symbol == ".SPXW240105C4700"
    assert SPXW_4700.occ_symbol == "SPXW  240105C04700000"
    assert SPY_412_5.streamer_symbol == ".SPY260116P412.5"
    assert SPY_412_5.occ_symbol == "SPY   260116P00412500"
    assert format_strike(4700.0) == "4700"
    assert format_strike(412.5) == "412.5"
    assert format_strike(1.25) == "1.25"
    assert format_strike(10.0) == "10"
    assert streamer_symbol("QQQ", date(2025, 12, 19), "C", 500.0) == ".QQQ251219C500"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "SPX",
        "garbage",
        ".SPXW240105X4700",  # type not C/P
        ".SPXW24015C4700",  # five-digit date
        "SPXW  240105C4700",  # OCC strike must have eight digits
        ".SPXW240105C",  # no strike
        ".SPXW241305C4700",  # month 13
        ".SPXW240230C4700",  # 30 February
        "SPXW  240001P04700000",  # month 0
        "240105C04700000",  # no root
    ],
)
def test_garbage_raises_symbol_error(text: str) -> None:
    with pytest.raises(SymbolError):
        parse_symbol(text)


def test_symbol_error_is_value_error() -> None:
    assert issubclass(SymbolError, ValueError)


# --------------------------------------------------------------------------- round trips
roots = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=6)
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
strikes = st.integers(min_value=1, max_value=2 * 99_999).map(lambda n: n / 2.0)  # 0.5 steps
types = st.sampled_from(["C", "P"])
option_symbols = st.builds(OptionSymbol, roots, dates, types, strikes)


@settings(max_examples=300, deadline=None)
@given(option_symbols)
def test_round_trip_streamer(sym: OptionSymbol) -> None:
    text = sym.streamer_symbol
    assert text.startswith("." + sym.root)
    assert parse_symbol(text) == sym


@settings(max_examples=300, deadline=None)
@given(option_symbols)
def test_round_trip_occ(sym: OptionSymbol) -> None:
    text = sym.occ_symbol
    assert len(text) == 21
    assert parse_symbol(text) == sym
    # unpadded OCC (CBOE style) parses the same
    assert parse_symbol(text.replace(" ", "")) == sym
    # and the streamer form is the same instrument
    assert parse_symbol(text).streamer_symbol == sym.streamer_symbol


# --------------------------------------------------------------------------- vectorised
def _row(sym: OptionSymbol) -> dict[str, object]:
    return {
        "symbol": sym.streamer_symbol,
        "root": sym.root,
        "expiration": sym.expiration,
        "type": sym.type,
        "strike": sym.strike,
    }


def test_parse_symbols_known_values_and_garbage() -> None:
    texts = [
        ".SPXW240105C4700",
        "SPXW  240105C04700000",
        "SPXW240105C04700000",
        ".SPY260116P412.5",
        "garbage",
        "",
        "SPY260116P00412500",
    ]
    out = parse_symbols(pl.Series("s", texts))
    assert out.columns == ["symbol", "root", "expiration", "type", "strike"]
    assert out.height == len(texts)
    rows = out.to_dicts()
    assert rows[0] == rows[1] == rows[2] == _row(SPXW_4700)
    assert rows[3] == rows[6] == _row(SPY_412_5)
    for garbage in (rows[4], rows[5]):
        assert all(v is None for v in garbage.values()), garbage


def test_parse_symbols_bad_date_gives_null_expiration_and_symbol() -> None:
    out = parse_symbols(pl.Series("s", [".SPXW241305C4700", ".SPXW240105C4700"]))
    assert out["expiration"][0] is None
    assert out["symbol"][0] is None
    assert out["symbol"][1] == ".SPXW240105C4700"


@settings(max_examples=50, deadline=None)
@given(st.lists(option_symbols, min_size=1, max_size=30), st.randoms(use_true_random=False))
def test_parse_symbols_agrees_with_parse_symbol(syms: list[OptionSymbol], rnd) -> None:  # type: ignore[no-untyped-def]
    forms = []
    for s in syms:
        occ = s.occ_symbol
        forms.append(rnd.choice([s.streamer_symbol, occ, occ.replace(" ", "")]))
    forms.append("not a symbol")
    out = parse_symbols(pl.Series("s", forms)).to_dicts()
    for text, row in zip(forms[:-1], out[:-1], strict=True):
        assert row == _row(parse_symbol(text))
    assert all(v is None for v in out[-1].values())


@settings(max_examples=100, deadline=None)
@given(st.lists(option_symbols, min_size=1, max_size=20))
def test_streamer_symbols_vectorised_matches_scalar(syms: list[OptionSymbol]) -> None:
    frame = pl.DataFrame(
        {
            "root": [s.root for s in syms],
            "expiration": [s.expiration for s in syms],
            "type": [s.type for s in syms],
            "strike": [s.strike for s in syms],
        }
    )
    assert streamer_symbols(frame).to_list() == [s.streamer_symbol for s in syms]
