"""Option symbols: dxFeed streamer symbols and OCC symbols, parsed and formatted.

* dxFeed streamer form: ``.SPXW240105C4700``, ``.SPY260116P412.5`` (leading dot, root,
  YYMMDD, C/P, strike as a plain decimal).
* OCC form: ``SPXW  240105C04700000`` (root padded to six), or unpadded as in CBOE files
  ``SPXW240105C04700000`` (strike × 1000 in eight digits).

The ChainBook keys every option by its dxFeed streamer symbol, whatever the source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import polars as pl

_DX_RE = re.compile(r"^\.(?P<root>\S+)(?P<ymd>\d{6})(?P<type>[CP])(?P<strike>\d+(?:\.\d+)?)$")
_OCC_RE = re.compile(r"^(?P<root>\S+?)\s*(?P<ymd>\d{6})(?P<type>[CP])(?P<strike>\d{8})$")
# vectorised forms (polars regex, same groups)
_DX_PL = r"^\.(\S+)(\d{6})([CP])(\d+(?:\.\d+)?)$"
_OCC_PL = r"^(\S+?)\s*(\d{6})([CP])(\d{8})$"


class SymbolError(ValueError):
    """A string that is neither a dxFeed nor an OCC option symbol."""


class TickerError(ValueError):
    """A string that cannot be a ticker."""


MAX_TICKER_LENGTH = 12
_TICKER_RE = re.compile(r"^[A-Z0-9][A-Z0-9./]*$")


def ticker_name(text: str) -> str:
    """The one ticker rule of gextui: ``" spx"`` → ``"SPX"``, ``"^SPX"`` / ``"$SPX"`` →
    ``"SPX"``, ``"brk/b"`` → ``"BRK/B"``; letters, digits, ``.`` and ``/``, at most
    :data:`MAX_TICKER_LENGTH` characters; :class:`TickerError` (one line) otherwise."""
    name = text.strip().upper().lstrip("^$")
    if not name or len(name) > MAX_TICKER_LENGTH or not _TICKER_RE.match(name):
        raise TickerError(f"not a ticker: {text.strip()!r}")
    return name


@dataclass(frozen=True, slots=True)
class OptionSymbol:
    root: str
    expiration: date
    type: str  # "C" or "P"
    strike: float

    @property
    def streamer_symbol(self) -> str:
        return streamer_symbol(self.root, self.expiration, self.type, self.strike)

    @property
    def occ_symbol(self) -> str:
        ymd = self.expiration.strftime("%y%m%d")
        return f"{self.root:<6}{ymd}{self.type}{round(self.strike * 1000):08d}"


def format_strike(strike: float) -> str:
    """4700.0 -> '4700', 412.5 -> '412.5' (the dxFeed way)."""
    text = f"{strike:.3f}".rstrip("0").rstrip(".")
    return text


def streamer_symbol(root: str, expiration: date, type_: str, strike: float) -> str:
    """Build a dxFeed streamer symbol, e.g. ``.SPXW240105C4700``."""
    return f".{root}{expiration.strftime('%y%m%d')}{type_}{format_strike(strike)}"


def _ymd(text: str) -> date:
    return date(2000 + int(text[:2]), int(text[2:4]), int(text[4:6]))


def parse_symbol(symbol: str) -> OptionSymbol:
    """Parse a dxFeed streamer symbol or an OCC symbol (padded or not).

    >>> parse_symbol(".SPY260116P412.5")
    OptionSymbol(root='SPY', expiration=datetime.date(2026, 1, 16), type='P', strike=412.5)
    >>> parse_symbol("SPXW  240105C04700000").strike
    4700.0
    """
    text = symbol.strip()
    m = _DX_RE.match(text)
    if m is not None:
        strike = float(m["strike"])
    else:
        m = _OCC_RE.match(text)
        if m is None:
            raise SymbolError(f"not an option symbol: {symbol!r}")
        strike = int(m["strike"]) / 1000.0
    try:
        expiration = _ymd(m["ymd"])
    except ValueError as exc:
        raise SymbolError(f"bad expiration date in option symbol {symbol!r}") from exc
    return OptionSymbol(m["root"], expiration, m["type"], strike)


def parse_symbols(symbols: pl.Series) -> pl.DataFrame:
    """Vectorised :func:`parse_symbol`: columns root, expiration, type, strike, and
    ``symbol`` (the dxFeed streamer form). Unparseable rows give nulls."""
    s = symbols.str.strip_chars()
    dx = s.str.extract_groups(_DX_PL).struct.unnest()
    occ = s.str.extract_groups(_OCC_PL).struct.unnest()
    frame = pl.concat(
        [dx.rename(lambda c: f"dx_{c}"), occ.rename(lambda c: f"occ_{c}")], how="horizontal"
    )
    is_dx = frame["dx_1"].is_not_null()
    out = pl.DataFrame(
        {
            "root": pl.select(
                pl.when(pl.lit(is_dx)).then(frame["dx_1"]).otherwise(frame["occ_1"])
            ).to_series(),
            "ymd": pl.select(
                pl.when(pl.lit(is_dx)).then(frame["dx_2"]).otherwise(frame["occ_2"])
            ).to_series(),
            "type": pl.select(
                pl.when(pl.lit(is_dx)).then(frame["dx_3"]).otherwise(frame["occ_3"])
            ).to_series(),
            "strike": pl.select(
                pl.when(pl.lit(is_dx))
                .then(frame["dx_4"].cast(pl.Float64))
                .otherwise(frame["occ_4"].cast(pl.Float64) / 1000.0)
            ).to_series(),
        }
    )
    out = out.with_columns(
        pl.concat_str(pl.lit("20"), pl.col("ymd"))
        .str.to_date("%Y%m%d", strict=False)
        .alias("expiration")
    ).drop("ymd")
    bad = out["expiration"].is_null()
    if bad.any():  # shape was right but the date impossible: null the whole row
        out = out.with_columns(
            [pl.when(pl.lit(bad)).then(None).otherwise(pl.col(c)).alias(c) for c in out.columns]
        )
    return out.with_columns(streamer_symbols(out).alias("symbol")).select(
        "symbol", "root", "expiration", "type", "strike"
    )


def streamer_symbols(frame: pl.DataFrame) -> pl.Series:
    """Vectorised :func:`streamer_symbol` over columns root, expiration, type, strike."""
    strike_txt = (
        pl.col("strike")
        .round(3)
        .cast(pl.String)
        .str.replace(r"\.0+$", "")
        .str.replace(r"(\.\d*?)0+$", "$1")
    )
    return frame.select(
        pl.concat_str(
            pl.lit("."),
            pl.col("root"),
            pl.col("expiration").dt.strftime("%y%m%d"),
            pl.col("type"),
            strike_txt,
        )
    ).to_series()
