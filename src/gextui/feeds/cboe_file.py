"""Read a CBOE delayed-quotes option chain (CSV or JSON) into a ChainBook.

The file is what cboe.com's delayed-quotes page exports ("Options Range: All, Expiration: All →
Download CSV")::

    <blank line, or a banner such as ---Example Data--->
    S&P 500 INDEX,Last: 4697.2402,Change:  8.5602
    "Date: January 7, 2024 at 10:52 AM EST",Bid: 4645.23,Ask: 4753.8999,Size: 1*1,Volume: 0
    Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest,Strike,Puts,…
    Fri Jan 05 2024,SPXW240105C01200000,3499.25,-1.1,3492.4,3501.3,1,0,0,0,24,1200.00,SPXW…

What the parser copes with:

* the header row is found by its first cell ``Expiration Date`` wherever it is; the two lines
  above it hold the index name and spot (``Last:``) and the quote time (``Date:``);
* the ``Date:`` is in the browser's locale (:mod:`gextui.feeds.cboe_dates`): ``January 7,
  2024 at 10:52 AM EST``, en-GB ``9 June 2023, 1:40 PM EDT`` (unquoted, so the CSV comma
  splits it: the date is the cell and the following cells up to the next ``Label:``), Spanish
  ``12 de enero de 2026, 13:36 GMT-5``, other languages' month names, 24-hour clocks, ``GMT±N``;
  a date without a zone is New York time. Banner numbers may carry locale separators
  (``Volume: 21.801.210``);
* the 22 columns repeat their names for the put half, so they are read by position;
* one row is one (expiration, strike, root): SPX monthlies (AM-settled, root ``SPX``) and SPXW
  (PM-settled) share strikes; the roots come from the call/put OCC symbols;
* rows of expirations already past (a weekend download still holds Friday) are kept: the book
  knows their settlement time and exposure leaves out T ≤ 0.

Values: IV is a fraction; an IV of 0 (CBOE's "none") becomes missing, as does a last sale of 0
(no trade). Gamma/Delta are the vendor's (rounded to 4 decimals) and are the headline greeks.

:func:`read_cboe` returns a ready ChainBook (source ``"file"``) with one columnar
:class:`~gextui.core.events.EventBatch` applied at the file's time; :func:`parse_cboe` gives the
parts (header facts, instruments, batch) without building the book. :class:`CboeFileFeed` serves
the file through the :class:`~gextui.feeds.base.Feed` protocol (one batch, then the stream ends).

The CBOE delayed-quotes **JSON** (``timestamp``, ``data.current_price``, ``data.options[]``
with OCC ``option`` symbols) is read too; the content decides, not the file name (a file whose
first character is ``{`` is JSON). Its ``timestamp`` has no zone and is read in New York time,
like every other time in it (see :func:`_parse_json`).

Refused, never used silently: a row with a negative or infinite open interest, gamma, IV or
volume (the message names its line and every such line); a second banner or header below the
first (two downloads concatenated: the message names the line).

Everything that is not such a file raises :class:`CboeFileError` with a one-line message;
one that is neither format says which formats are supported (:data:`SUPPORTED`).
"""

from __future__ import annotations

import asyncio
import csv
import json
import math
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Final

import polars as pl

from gextui.core.chain import ChainBook, ChainError, make_instruments
from gextui.core.events import EventBatch
from gextui.core.expiry import NEW_YORK
from gextui.core.symbols import parse_symbols
from gextui.feeds.base import (
    ChainInfo,
    FeedError,
    FeedState,
    FeedStatus,
    Source,
    UnknownTickerError,
)
from gextui.feeds.cboe_dates import parse_cboe_date

__all__ = [
    "COLUMNS",
    "SUPPORTED",
    "CboeFile",
    "CboeFileError",
    "CboeFileFeed",
    "CboeFileSession",
    "parse_cboe",
    "parse_cboe_date",
    "read_cboe",
]

#: Positional names of the 22 columns (the file's own names repeat for the put half).
COLUMNS: Final[tuple[str, ...]] = (
    "expiration_date",
    "call_symbol",
    "call_last",
    "call_net",
    "call_bid",
    "call_ask",
    "call_volume",
    "call_iv",
    "call_delta",
    "call_gamma",
    "call_oi",
    "strike",
    "put_symbol",
    "put_last",
    "put_net",
    "put_bid",
    "put_ask",
    "put_volume",
    "put_iv",
    "put_delta",
    "put_gamma",
    "put_oi",
)
_NUMERIC: Final[tuple[str, ...]] = tuple(
    c for c in COLUMNS if c not in ("expiration_date", "call_symbol", "put_symbol")
)
_HEADER_FIRST_CELL: Final = "Expiration Date"
_EXPIRATION_FORMAT: Final = "%a %b %d %Y"  # Fri Jan 05 2024

# Index name (upper case, from the line above the date) -> ticker, for files whose roots
# alone do not say it.
_INDEX_NAMES: Final[Mapping[str, str]] = {
    "S&P 500 INDEX": "SPX",
    "STANDARD & POORS 500 INDEX": "SPX",
    "NASDAQ 100": "NDX",
    "NASDAQ 100 INDEX": "NDX",
    "RUSSELL 2000 INDEX": "RUT",
    "CBOE VOLATILITY INDEX": "VIX",
}
# Option root -> the ticker of its underlying (weekly / PM-settled roots of the indexes).
_ROOT_TICKERS: Final[Mapping[str, str]] = {
    "SPXW": "SPX",
    "SPXPM": "SPX",
    "NDXP": "NDX",
    "RUTW": "RUT",
    "VIXW": "VIX",
}

#: What :func:`parse_cboe` reads (named in the error for anything else).
SUPPORTED: Final = (
    "supported: the CBOE delayed-quotes CSV download (a header row starting with"
    ' \'Expiration Date\') and the CBOE delayed-quotes JSON ({"timestamp", "data":'
    ' {"current_price", "options": [...]}})'
)
# a cell like "Bid: 4645.23" (label, colon, value)
_LABEL_CELL_RE: Final = re.compile(r"^(?P<label>[^\W\d_][^:]{0,20}):\s*(?P<value>.*)$")
# checked values: a negative or infinite one is refused (with its line); NaN is "missing"
_CHECKED: Final[Mapping[str, str]] = {
    "open_interest": "open interest",
    "gamma": "gamma",
    "iv": "IV",
    "day_volume": "volume",
}


class CboeFileError(FeedError):
    """The file is not a readable CBOE delayed-quotes option-chain CSV (one-line message)."""


@dataclass(frozen=True, slots=True)
class CboeFile:
    """The parsed parts of a CBOE CSV (see :func:`parse_cboe`).

    ``as_of`` is aware, in US Eastern time as the file states it; ``batch.time`` is the same
    instant in UTC. ``instruments`` (the ChainBook schema: symbol, root, expiration,
    settlement, type, strike, multiplier) has two rows (call, put) per CSV row.
    """

    path: Path
    index_name: str
    ticker: str
    underlying_symbol: str
    spot: float
    as_of: datetime
    rows: int
    roots: tuple[str, ...]
    instruments: pl.DataFrame
    batch: EventBatch

    @property
    def expirations(self) -> list[date]:
        """Every expiration in the file (expired ones included), sorted."""
        return sorted(self.instruments["expiration"].unique().to_list())

    def chain_info(self) -> ChainInfo:
        return ChainInfo(self.ticker, self.underlying_symbol, Source.FILE, self.instruments)

    def new_book(self) -> ChainBook:
        """A fresh ChainBook of this chain with the file's batch applied."""
        try:
            book = self.chain_info().new_book()
        except ChainError as exc:  # pragma: no cover - parse_cboe validated the instruments
            raise _fail(self.path, f"cannot build the chain: {exc}") from None
        book.apply(self.batch)
        return book


# ---------------------------------------------------------------------------- public functions
def read_cboe(path: str | Path) -> ChainBook:
    """Read a CBOE delayed-quotes CSV into a ChainBook (source ``"file"``).

    The book holds every contract of the file (expired ones too) with the file's greeks
    (gamma, delta, IV), open interest, last sale and volume, bid/ask, and spot from ``Last:``;
    its ``as_of`` is the file's ``Date:``. Raises :class:`CboeFileError`.

    >>> book = read_cboe("spx_quotedata.csv")            # doctest: +SKIP
    >>> book.ticker, book.spot                            # doctest: +SKIP
    ('SPX', 4697.2402)
    """
    return parse_cboe(path).new_book()


def parse_cboe(path: str | Path) -> CboeFile:
    """Parse a CBOE delayed-quotes download — the CSV or the JSON, told apart by content, not
    by the file name — into its parts (no ChainBook). Raises CboeFileError."""
    p = Path(path)
    text = _read_text(p)
    if text.lstrip()[:1] in ("{", "["):
        return _parse_json(text, p)
    m = _HEADER_RE.search(text)
    if m is None:
        raise _fail(
            p,
            f"no header row (a line starting with '{_HEADER_FIRST_CELL}'): not a CBOE option"
            f" chain; {SUPPORTED}",
        )
    lines_before, header_line, body, header_no = _split(text, p)
    index_line, date_line = lines_before
    index_name, spot, change = _parse_index_line(index_line, p)
    as_of = _parse_date_line(date_line, p)
    date_cells = _csv_cells(date_line)
    und_bid = _banner_number(date_cells, "Bid")
    und_ask = _banner_number(date_cells, "Ask")
    _check_header(header_line, p)
    table = _read_table(body, p, first_line=header_no + 1)
    instruments, table = _instruments(table, p)
    roots = tuple(sorted(set(instruments["root"].to_list())))
    ticker = _ticker(roots, index_name, p)
    opts = _csv_options(table)
    _check_values(opts, p, lambda line: f"line {line}")
    prev_close = round(spot - change, 6) if change is not None else None
    batch = _batch(opts, ticker, spot, prev_close, und_bid, und_ask, as_of, p, index_name)
    return CboeFile(
        path=p,
        index_name=index_name,
        ticker=ticker,
        underlying_symbol=ticker,
        spot=spot,
        as_of=as_of,
        rows=table.height,
        roots=roots,
        instruments=instruments,
        batch=batch,
    )


# ---------------------------------------------------------------------------- the feed
class CboeFileSession:
    """A :class:`~gextui.feeds.base.FeedSession` over one parsed file: one batch, then the end."""

    def __init__(self, parsed: CboeFile) -> None:
        self._parsed = parsed
        self._chain = parsed.chain_info()
        local = parsed.as_of.strftime("%Y-%m-%d %H:%M %Z")
        self._status = FeedStatus(FeedState.LIVE, f"file {parsed.path.name}, as of {local}")
        self._closed = False
        self._delivered = False

    @property
    def chain(self) -> ChainInfo:
        return self._chain

    @property
    def status(self) -> FeedStatus:
        return self._status

    async def events(self) -> AsyncIterator[EventBatch]:
        """Yield the file's single batch (once per session), then end."""
        if self._closed or self._delivered:
            return
        self._delivered = True
        yield self._parsed.batch

    async def set_expirations(self, expirations: Sequence[date] | None) -> None:
        """No-op: the file holds every expiration already."""
        return None

    async def aclose(self) -> None:
        self._closed = True
        self._status = FeedStatus(FeedState.CLOSED, "closed")


class CboeFileFeed:
    """A :class:`~gextui.feeds.base.Feed` serving one CBOE CSV (``Source.FILE``).

    ``open(ticker)`` parses the file (once, off the event loop) and returns a session whose
    ``events()`` yields the single batch of the file, then ends. A ticker other than the
    file's raises :class:`~gextui.feeds.base.UnknownTickerError`; an unreadable file raises
    :class:`CboeFileError`.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._parsed: CboeFile | None = None
        self._sessions: list[CboeFileSession] = []

    @property
    def source(self) -> Source:
        return Source.FILE

    async def load(self) -> CboeFile:
        """Parse the file (cached)."""
        if self._parsed is None:
            self._parsed = await asyncio.to_thread(parse_cboe, self.path)
        return self._parsed

    async def open(self, ticker: str) -> CboeFileSession:
        parsed = await self.load()
        wanted = ticker.strip().upper()
        if wanted not in (parsed.ticker, *parsed.roots):
            raise UnknownTickerError(
                f"{self.path.name} holds the {parsed.ticker} option chain, not {ticker!r}"
            )
        session = CboeFileSession(parsed)
        self._sessions.append(session)
        return session

    async def aclose(self) -> None:
        for session in self._sessions:
            await session.aclose()
        self._sessions.clear()


# ---------------------------------------------------------------------------- internals
def _fail(path: Path, message: str) -> CboeFileError:
    return CboeFileError(f"{path.name}: {message}")


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CboeFileError(f"file not found: {path}") from None
    except IsADirectoryError:
        raise CboeFileError(f"{path} is a directory, not a CBOE CSV file") from None
    except OSError as exc:
        raise CboeFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not raw.strip():
        raise _fail(path, "file is empty")
    if b"\x00" in raw[:4096]:
        raise _fail(path, "binary file, not a CBOE CSV (text) file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _fail(path, f"not UTF-8 text (bad byte at offset {exc.start})") from None


def _csv_cells(line: str) -> list[str]:
    rows = list(csv.reader([line]))
    return [c.strip() for c in rows[0]] if rows else []


_HEADER_RE: Final = re.compile(r'^[ \t\ufeff]*"?Expiration Date"?[ \t]*(?:,|$)', re.MULTILINE)


def _split(text: str, path: Path) -> tuple[tuple[str, str], str, str, int]:
    """(index line, date line), header line, body text, line number of the header (1-based)."""
    m = _HEADER_RE.search(text)
    if m is None:
        raise _fail(path, f"no header row (a line starting with '{_HEADER_FIRST_CELL}')")
    before = text[: m.start()].splitlines()
    nonblank = [ln for ln in before if ln.strip()]
    if len(before) < 2 or len(nonblank) < 2:
        raise _fail(
            path,
            "the two lines above the header row (index 'Last:' line and 'Date:' line) are missing",
        )
    end = text.find("\n", m.start())
    header = text[m.start() :] if end < 0 else text[m.start() : end]
    body = "" if end < 0 else text[end + 1 :]
    return (before[-2], before[-1]), header.rstrip("\r"), body, text.count("\n", 0, m.start()) + 1


def _parse_index_line(line: str, path: Path) -> tuple[str, float, float | None]:
    cells = _csv_cells(line)
    last = next((c for c in cells if c.lower().startswith("last:")), None)
    if last is None:
        shown = line.strip()[:60]
        raise _fail(path, f"no spot price ('Last: <number>') two lines above the header: {shown!r}")
    raw = last.split(":", 1)[1].strip()
    spot = _locale_number(raw)
    if spot is None:
        raise _fail(path, f"no spot price ('Last: <number>') two lines above the header: {raw!r}")
    if not spot > 0 or spot == math.inf:
        raise _fail(path, f"bad spot price 'Last: {raw}' (must be a positive number)")
    name = cells[0] if cells and not cells[0].lower().startswith("last:") else ""
    return name, spot, _banner_number(cells, "Change")


def _locale_number(text: str) -> float | None:
    """A number of the banner in the browser's locale: ``4697.2402``, ``71,039,449`` (en),
    ``21.801.210`` (es/de thousands), ``4.697,24`` / ``627,99`` (decimal comma). None if it
    is not a number."""
    t = re.sub(r"[\s\u00a0\u202f']", "", text).replace("\u2212", "-")
    if not re.fullmatch(r"[-+]?(\d[\d.,]*)?\d(\.\d*)?([eE][-+]?\d+)?|[-+]?\.\d+", t):
        return None
    dots, commas = t.count("."), t.count(",")
    if dots > 1 and commas <= 1:  # 21.801.210 or 4.697.123,5
        t = t.replace(".", "").replace(",", ".")
    elif commas > 1 and dots <= 1:  # 71,039,449 or 1,234,567.5
        t = t.replace(",", "")
    elif dots and commas:  # 4,697.24 or 4.697,24: the later one is the decimal mark
        t = (
            t.replace(",", "")
            if t.rfind(".") > t.rfind(",")
            else t.replace(".", "").replace(",", ".")
        )
    elif commas:  # 1,234 (thousands) or 627,99 (decimal comma)
        head, tail = t.split(",")
        t = head + tail if len(tail) == 3 else f"{head}.{tail}"
    try:
        return float(t)
    except ValueError:
        return None


def _banner_number(cells: Sequence[str], label: str) -> float | None:
    """The number of the banner cell ``<label>: <number>``, or None."""
    for cell in cells:
        m = _LABEL_CELL_RE.match(cell)
        if m is not None and m["label"].strip().lower() == label.lower():
            return _locale_number(m["value"])
    return None


def _parse_date_line(line: str, path: Path) -> datetime:
    """The ``Date:`` of the line above the header. en-GB downloads leave it unquoted
    (``Date: 9 June 2023, 1:40 PM EDT,Bid: …``), so the CSV comma splits it: the date is the
    first cell and every following cell up to the next ``Label:`` cell."""
    cells = _csv_cells(line)
    first = cells[0] if cells else ""
    if not first.lower().startswith("date:"):
        shown = first[:60]
        raise _fail(path, f"no 'Date:' cell on the line above the header (found {shown!r})")
    parts = [first]
    for cell in cells[1:]:
        if _LABEL_CELL_RE.match(cell):
            break
        parts.append(cell)
    try:
        return parse_cboe_date(", ".join(parts))
    except ValueError as exc:
        raise _fail(path, str(exc)) from None


def _check_header(line: str, path: Path) -> None:
    cells = _csv_cells(line)
    if len(cells) != len(COLUMNS):
        raise _fail(path, f"header row has {len(cells)} columns, expected {len(COLUMNS)}")
    # the shape the format promises: symbols in columns 2 and 13, strike in column 12
    expect = {1: "Calls", 11: "Strike", 12: "Puts", 9: "Gamma", 20: "Gamma"}
    for i, name in expect.items():
        if cells[i].lower() != name.lower():
            raise _fail(
                path, f"header column {i + 1} is {cells[i]!r}, expected {name!r} (not CBOE format?)"
            )


def _read_table(body: str, path: Path, first_line: int) -> pl.DataFrame:
    """The data rows by position (numbers as Float64), with ``line`` (line number in the file,
    the body's first line being ``first_line``)."""
    lines = pl.Series("text", body.split("\n"), dtype=pl.String).str.strip_chars_end("\r")
    frame = pl.DataFrame({"text": lines}).with_row_index("line", offset=first_line)
    frame = frame.filter(pl.col("text").str.strip_chars() != "")
    if frame.height == 0:
        raise _fail(path, "no option rows below the header row")
    # a second download pasted below the first: its banner, Date: line or header row
    again = frame.filter(
        pl.col("text").str.contains(r"(?i)(^|,)\s*\"?(Last|Date):")
        | pl.col("text").str.contains(r'^[ \t\ufeff]*"?Expiration Date"?[ \t]*(,|$)')
    )
    if again.height:
        line, shown = again.row(0)
        raise _fail(
            path,
            f"line {line}: a second CBOE download starts here ({shown.strip()[:50]!r}) — two"
            " files concatenated? keep one download per file",
        )
    ncols = pl.col("text").str.count_matches(",", literal=True) + 1
    bad = frame.filter(ncols != len(COLUMNS))
    if bad.height:
        first = bad.row(0, named=True)
        n = int(first["text"].count(",")) + 1
        hint = " (truncated file?)" if n < len(COLUMNS) else ""
        raise _fail(
            path,
            f"line {first['line']} has {n} columns, expected {len(COLUMNS)}{hint}"
            f" ({bad.height} bad row{'s' if bad.height > 1 else ''})",
        )
    cells = pl.col("text").str.split_exact(",", len(COLUMNS) - 1)
    table = frame.select(
        "line",
        cells.struct.rename_fields(list(COLUMNS)).alias("cells"),
    ).unnest("cells")
    table = table.with_columns(pl.col(c).str.strip_chars() for c in COLUMNS)
    numeric = table.select(
        pl.col(c).str.replace_all(",", "", literal=True).cast(pl.Float64, strict=False)
        for c in _NUMERIC
    )
    failed = table.select(
        pl.any_horizontal(
            (pl.col(c) != "") & numeric[c].is_null().alias(c) for c in _NUMERIC
        ).alias("bad")
    )["bad"]
    if failed.any():
        row = table.filter(failed).row(0, named=True)
        col = next(c for c in _NUMERIC if row[c] != "" and _not_float(row[c]))
        raise _fail(
            path,
            f"line {row['line']}: column {COLUMNS.index(col) + 1} ({col}) is not a number:"
            f" {row[col]!r}",
        )
    return table.select("line", "expiration_date", "call_symbol", "put_symbol").hstack(numeric)


def _not_float(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return True
    return False


def _instruments(table: pl.DataFrame, path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(instrument frame of calls and puts, table with streamer symbols ``call``/``put``)."""
    exp = table["expiration_date"].str.to_date(_EXPIRATION_FORMAT, strict=False)
    if exp.null_count():
        i = int(exp.is_null().arg_max() or 0)
        raise _fail(
            path,
            f"line {table['line'][i]}: expiration {table['expiration_date'][i]!r} "
            "is not like 'Fri Jan 05 2024'",
        )
    calls = parse_symbols(table["call_symbol"])
    puts = parse_symbols(table["put_symbol"])
    for side, parsed, want in (("call", calls, "C"), ("put", puts, "P")):
        raw = table[f"{side}_symbol"]
        bad = parsed["symbol"].is_null() | (parsed["type"] != want).fill_null(True)
        if bad.any():
            i = int(bad.arg_max() or 0)
            raise _fail(path, f"line {table['line'][i]}: bad {side} symbol {raw[i]!r}")
        mismatch = ((parsed["strike"] - table["strike"]).abs() > 1e-6).fill_null(True) | (
            parsed["expiration"] != exp
        ).fill_null(True)
        if mismatch.any():
            i = int(mismatch.arg_max() or 0)
            raise _fail(
                path,
                f"line {table['line'][i]}: {side} symbol {raw[i]!r} does not match "
                f"the row's expiration/strike",
            )
    instruments = pl.concat([calls, puts], how="vertical")
    dup = instruments["symbol"].is_duplicated()
    if dup.any():
        sym = instruments["symbol"].filter(dup)[0]
        raise _fail(path, f"option {sym} appears on more than one row")
    try:  # full instrument schema: settlement (AM/PM by root) and multiplier 100
        instruments = make_instruments(instruments)
    except ChainError as exc:  # pragma: no cover - validated above
        raise _fail(path, f"cannot build the chain: {exc}") from None
    table = table.with_columns(call=calls["symbol"], put=puts["symbol"])
    return instruments, table


def _ticker(roots: Sequence[str], index_name: str, path: Path) -> str:
    tickers = {_ROOT_TICKERS.get(r, r) for r in roots}
    if len(tickers) == 1:
        return tickers.pop()
    by_name = _INDEX_NAMES.get(" ".join(index_name.upper().split()))
    if by_name is not None:
        return by_name
    # the shortest root that prefixes all the others (SPX for SPX + SPXW)
    shortest = min(roots, key=len)
    if all(r.startswith(shortest) for r in roots):
        return shortest
    raise _fail(path, f"cannot tell the underlying: roots {', '.join(roots)} ({index_name!r})")


def _csv_options(table: pl.DataFrame) -> pl.DataFrame:
    """One row per option (calls, then puts) of the CSV table, with its file ``line``."""

    def side(prefix: str, symbol_col: str) -> pl.DataFrame:
        return table.select(
            "line",
            pl.col(symbol_col).alias("symbol"),
            pl.col(f"{prefix}_gamma").alias("gamma"),
            pl.col(f"{prefix}_delta").alias("delta"),
            pl.col(f"{prefix}_iv").alias("iv"),
            pl.col(f"{prefix}_oi").alias("open_interest"),
            pl.col(f"{prefix}_last").alias("last"),
            pl.col(f"{prefix}_volume").alias("day_volume"),
            pl.col(f"{prefix}_bid").alias("bid"),
            pl.col(f"{prefix}_ask").alias("ask"),
        )

    return pl.concat([side("call", "call"), side("put", "put")], how="vertical")


def _check_values(opts: pl.DataFrame, path: Path, where: Callable[[int], str]) -> None:
    """Refuse the file when an option has a negative or infinite open interest, gamma, IV or
    volume (or an infinite delta): one line naming the first such row and how many there are.
    Such a value is a broken download or an edited file; using it (or quietly dropping the
    row) would change the figures without a word."""
    bad_any = pl.lit(False)
    for col in _CHECKED:
        bad_any = bad_any | (pl.col(col) < 0) | pl.col(col).is_infinite()
    bad_any = bad_any | pl.col("delta").is_infinite()
    bad = opts.filter(bad_any).sort("line")
    if bad.height == 0:
        return
    row = bad.row(0, named=True)
    col = next(
        c for c in (*_CHECKED, "delta") if row[c] is not None and (row[c] < 0 or math.isinf(row[c]))
    )
    name = _CHECKED.get(col, "delta")
    lines = sorted(set(bad["line"].to_list()))
    listed = ", ".join(str(n) for n in lines[:5]) + (", …" if len(lines) > 5 else "")
    raise _fail(
        path,
        f"{where(row['line'])}: {'infinite' if math.isinf(row[col]) else 'negative'} {name}"
        f" ({row[col]}) for {row['symbol'].lstrip('.')}; {len(lines)} row"
        f"{'s' if len(lines) > 1 else ''} with negative or infinite open interest, gamma, IV"
        f" or volume ({'lines' if where(0).startswith('line') else 'options'} {listed}):"
        " fix or remove them",
    )


def _batch(
    opts: pl.DataFrame,
    ticker: str,
    spot: float,
    prev_close: float | None,
    und_bid: float | None,
    und_ask: float | None,
    as_of: datetime,
    path: Path,
    index_name: str,
) -> EventBatch:
    """One columnar batch: greeks, summary, trades, quotes for every option, plus the
    underlying. CBOE writes IV 0 when it has none (expired, no market) and a last sale of 0
    for no trade: both become missing."""
    opts = opts.with_columns(
        pl.when(pl.col("iv") > 0).then(pl.col("iv")).alias("iv"),
        pl.when(pl.col("last") > 0).then(pl.col("last")).alias("last"),
    )
    f64 = pl.Float64
    trades = opts.select("symbol", pl.col("last").alias("price"), "day_volume")
    trades = pl.concat(
        [
            trades,
            pl.DataFrame(
                {"symbol": [ticker], "price": [spot], "day_volume": [None]},
                schema={"symbol": pl.String, "price": f64, "day_volume": f64},
            ),
        ]
    )
    summary = opts.select("symbol", "open_interest")
    if prev_close is not None and math.isfinite(prev_close) and prev_close > 0:
        summary = pl.concat(
            [
                summary.with_columns(pl.lit(None, f64).alias("prev_close")),
                pl.DataFrame(
                    {"symbol": [ticker], "open_interest": [None], "prev_close": [prev_close]},
                    schema={"symbol": pl.String, "open_interest": f64, "prev_close": f64},
                ),
            ]
        )
    quotes = opts.select("symbol", "bid", "ask")
    if und_bid is not None and und_ask is not None and und_bid > 0 and und_ask > 0:
        quotes = pl.concat(
            [
                quotes,
                pl.DataFrame(
                    {"symbol": [ticker], "bid": [und_bid], "ask": [und_ask]},
                    schema={"symbol": pl.String, "bid": f64, "ask": f64},
                ),
            ]
        )
    return EventBatch(
        time=as_of.astimezone(UTC),
        greeks=opts.select("symbol", "gamma", "delta", "iv"),
        summary=summary,
        trades=trades,
        quotes=quotes,
        meta={
            "source": Source.FILE.value,
            "file": str(path),
            "index": index_name,
            "as_of_local": as_of.isoformat(),
        },
    )


# ---------------------------------------------------------------------------- the JSON
# CBOE delayed-quotes JSON field -> options-frame column
_JSON_FIELDS: Final[Mapping[str, str]] = {
    "gamma": "gamma",
    "delta": "delta",
    "iv": "iv",
    "open_interest": "open_interest",
    "last_trade_price": "last",
    "volume": "day_volume",
    "bid": "bid",
    "ask": "ask",
}


def _parse_json(text: str, path: Path) -> CboeFile:
    """The CBOE delayed-quotes JSON (``cdn.cboe.com/api/global/delayed_quotes/options/
    _SPX.json``)::

        {"timestamp": "2023-09-21 03:17:42", "symbol": "^RUT",
         "data": {"current_price": 1806.1193, "prev_day_close": 1827.0, "bid": …, "ask": …,
                  "options": [{"option": "RUT231020C01000000", "bid": …, "ask": …, "iv": …,
                               "open_interest": …, "volume": …, "delta": …, "gamma": …,
                               "last_trade_price": …, …}, …]}}

    ``timestamp`` has no zone; it is read in America/New_York, the zone of every other time
    in the file (the options' ``last_trade_time`` run from 09:30 to 16:15, the exchange's
    hours in New York). The ``option`` symbols are OCC (root, YYMMDD, C/P, strike × 1000).
    """
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(
            path, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); {SUPPORTED}"
        ) from None
    data = obj.get("data") if isinstance(obj, dict) else None
    options = data.get("options") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(options, list):
        raise _fail(path, f"JSON without data.options: not a CBOE delayed-quotes file; {SUPPORTED}")
    if not options:
        raise _fail(path, "no options in data.options")
    stamp = obj.get("timestamp")
    if not isinstance(stamp, str):
        raise _fail(path, "no 'timestamp' (the quote time) in the JSON")
    try:
        naive = datetime.fromisoformat(stamp.strip())
    except ValueError:
        raise _fail(
            path, f"unreadable timestamp {stamp!r} (expected 'YYYY-MM-DD HH:MM:SS')"
        ) from None
    as_of = naive if naive.tzinfo is not None else naive.replace(tzinfo=NEW_YORK)
    spot = _json_number(data.get("current_price"))
    if spot is None or not spot > 0 or math.isinf(spot):
        raise _fail(path, f"bad or missing data.current_price {data.get('current_price')!r}")
    index_name = str(data.get("symbol") or obj.get("symbol") or "")
    for i, o in enumerate(options):
        if not isinstance(o, dict) or not isinstance(o.get("option"), str):
            raise _fail(path, f"options[{i}]: not an option object with an 'option' symbol")
    columns: dict[str, list[float | None]] = {}
    for field, col in _JSON_FIELDS.items():
        values: list[float | None] = []
        for i, o in enumerate(options):
            raw = o.get(field)
            v = _json_number(raw)
            if v is None and raw is not None:
                raise _fail(path, f"options[{i}]: {field} is not a number: {raw!r}")
            values.append(v)
        columns[col] = values
    occ = pl.Series("option", [o["option"].replace(" ", "") for o in options], dtype=pl.String)
    parsed = parse_symbols(occ)
    bad = parsed["symbol"].is_null()
    if bad.any():
        i = int(bad.arg_max() or 0)
        raise _fail(path, f"options[{i}]: bad option symbol {occ[i]!r}")
    dup = parsed["symbol"].is_duplicated()
    if dup.any():
        raise _fail(path, f"option {occ.filter(dup)[0]} appears more than once")
    try:
        instruments = make_instruments(parsed)
    except ChainError as exc:
        raise _fail(path, f"cannot build the chain: {exc}") from None
    opts = pl.DataFrame(
        {"line": list(range(len(options))), "symbol": parsed["symbol"], **columns},
        schema={"line": pl.Int64, "symbol": pl.String, **dict.fromkeys(columns, pl.Float64)},
    )
    _check_values(opts, path, lambda i: f"options[{i}]")
    roots = tuple(sorted(set(instruments["root"].to_list())))
    ticker = _ticker(roots, index_name.lstrip("^_$"), path)
    batch = _batch(
        opts,
        ticker,
        spot,
        _json_number(data.get("prev_day_close")),
        _json_number(data.get("bid")),
        _json_number(data.get("ask")),
        as_of,
        path,
        index_name,
    )
    return CboeFile(
        path=path,
        index_name=index_name,
        ticker=ticker,
        underlying_symbol=ticker,
        spot=spot,
        as_of=as_of,
        rows=len(options),
        roots=roots,
        instruments=instruments,
        batch=batch,
    )


def _json_number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None
