"""The CBOE delayed-quotes CSV reader against the real files in ../shared/data/cboe."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from gextui.core.chain import ChainBook
from gextui.core.expiry import NEW_YORK
from gextui.feeds.base import Feed, FeedError, FeedSession, Source, UnknownTickerError
from gextui.feeds.cboe_file import (
    CboeFileError,
    CboeFileFeed,
    parse_cboe,
    parse_cboe_date,
    read_cboe,
)

DATA = Path(__file__).parents[2].parent / "shared" / "data" / "cboe"

# file -> (ticker, spot, local as-of, UTC offset hours, rows (README), roots)
FILES: dict[str, tuple[str, float, datetime, int, int, tuple[str, ...]]] = {
    "spx_quotedata_2024-01-07.csv": (
        "SPX",
        4697.2402,
        datetime(2024, 1, 7, 10, 52),
        -5,
        10_519,
        ("SPX", "SPXW"),
    ),
    "spx_quotedata_2022-02-05.csv": (
        "SPX",
        4500.5298,
        datetime(2022, 2, 5, 20, 9),
        -5,
        10_257,
        ("SPX", "SPXW"),
    ),
    "spx_quotedata_2022-06-11.csv": (
        "SPX",
        3900.8601,
        datetime(2022, 6, 11, 20, 47),
        -4,
        9_835,
        ("SPX", "SPXW"),
    ),
    "spx_quotedata_2022-12-12.csv": (
        "SPX",
        3990.5601,
        datetime(2022, 12, 12, 20, 30),
        -5,
        9_578,
        ("SPX", "SPXW"),
    ),
    "ndx_quotedata_2022-02-05.csv": (
        "NDX",
        14694.3506,
        datetime(2022, 2, 5, 20, 26),
        -5,
        9_193,
        ("NDX", "NDXP"),
    ),
}


def data_file(name: str) -> Path:
    if not DATA.is_dir():
        pytest.fail(f"CBOE test data directory missing: {DATA} (expected ../shared/data/cboe)")
    path = DATA / name
    if not path.is_file():
        pytest.fail(f"CBOE test data file missing: {path}")
    return path


def test_data_dir_holds_exactly_the_documented_files() -> None:
    if not DATA.is_dir():
        pytest.fail(f"CBOE test data directory missing: {DATA}")
    assert sorted(p.name for p in DATA.glob("*.csv")) == sorted(FILES)


# ---------------------------------------------------------------------------- real files
@pytest.mark.parametrize("name", sorted(FILES))
def test_real_file_header_facts(name: str) -> None:
    ticker, spot, local, offset_h, rows, roots = FILES[name]
    parsed = parse_cboe(data_file(name))
    assert parsed.ticker == ticker
    assert parsed.underlying_symbol == ticker
    assert parsed.spot == spot
    assert parsed.as_of.replace(tzinfo=None) == local
    assert parsed.as_of.utcoffset() == timedelta(hours=offset_h)
    assert parsed.rows == rows
    assert parsed.roots == roots
    assert parsed.instruments.height == 2 * rows
    assert parsed.instruments.columns == [
        "symbol",
        "root",
        "expiration",
        "settlement",
        "type",
        "strike",
        "multiplier",
    ]
    assert (parsed.instruments["multiplier"] == 100.0).all()
    assert parsed.batch.time.utcoffset() == timedelta(0)
    assert parsed.batch.time == parsed.as_of


@pytest.mark.parametrize("name", sorted(FILES))
def test_real_file_book(name: str) -> None:
    ticker, spot, local, _offset_h, rows, roots = FILES[name]
    book = read_cboe(data_file(name))
    assert isinstance(book, ChainBook)
    assert book.ticker == ticker
    assert book.source == Source.FILE.value
    assert book.spot == spot
    assert book.as_of == local.replace(tzinfo=NEW_YORK).astimezone(UTC)
    assert len(book) == 2 * rows
    assert book.unknown_symbols == 0
    with_gamma, with_oi, total = book.coverage()
    assert (with_gamma, with_oi, total) == (2 * rows, 2 * rows, 2 * rows)
    frame = book.frame()
    assert set(frame["root"].unique()) == set(roots)
    assert frame.filter(pl.col("type") == "C").height == rows
    assert frame["symbol"].str.starts_with(".").all()
    assert frame["open_interest"].min() is not None
    assert (frame["open_interest"] >= 0).all()
    # IV is a fraction; 0 (CBOE's "none") is read as missing
    iv = frame["iv"].drop_nulls()
    assert iv.len() > rows
    assert (iv > 0).all() and iv.median() < 2.0  # type: ignore[operator]


def test_settlements_by_root() -> None:
    """SPX monthlies settle 09:30 New York (AM), SPXW 16:00 (PM) — same date, same strikes."""
    frame = read_cboe(data_file("spx_quotedata_2024-01-07.csv")).frame()
    local = frame.with_columns(
        pl.col("settlement").dt.convert_time_zone("America/New_York").dt.time().alias("t")
    )
    times = dict(local.group_by("root").agg(pl.col("t").unique()).iter_rows())
    assert [str(t) for t in times["SPX"]] == ["09:30:00"]
    assert [str(t) for t in times["SPXW"]] == ["16:00:00"]
    third_friday = frame.filter(pl.col("expiration") == date(2024, 1, 19))
    assert set(third_friday["root"]) == {"SPX", "SPXW"}
    spx = set(third_friday.filter(pl.col("root") == "SPX")["strike"])
    spxw = set(third_friday.filter(pl.col("root") == "SPXW")["strike"])
    assert len(spx & spxw) > 100  # the roots share strikes
    row = frame.filter(pl.col("symbol") == ".SPX240119C4700").row(0, named=True)
    assert row["strike"] == 4700.0 and row["type"] == "C" and row["root"] == "SPX"


def test_ndx_roots_and_settlement() -> None:
    frame = read_cboe(data_file("ndx_quotedata_2022-02-05.csv")).frame()
    local = frame.with_columns(
        pl.col("settlement").dt.convert_time_zone("America/New_York").dt.time().alias("t")
    )
    assert {str(t) for t in local.filter(pl.col("root") == "NDX")["t"]} == {"09:30:00"}
    assert {str(t) for t in local.filter(pl.col("root") == "NDXP")["t"]} == {"16:00:00"}


def test_expired_rows_are_kept() -> None:
    """A weekend download still holds Friday's rows: kept in the book, settled before as-of."""
    book = read_cboe(data_file("spx_quotedata_2024-01-07.csv"))
    frame = book.frame()
    expired = frame.filter(pl.col("expiration") == date(2024, 1, 5))
    assert expired.height > 0
    assert book.as_of is not None
    assert (expired["settlement"] < book.as_of).all()
    assert expired["iv"].null_count() == expired.height  # IV 0 -> missing


def test_values_from_the_file_row() -> None:
    """One row read by position: the put half's repeated column names do not get mixed up."""
    # Fri Jan 05 2024,SPXW240105C01200000,3499.25,-1.1,3492.4,3501.3,1,0,0,0,24,1200.00,
    # SPXW240105P01200000,0.05,0.025,0,0.05,2,0,0,0,0
    frame = read_cboe(data_file("spx_quotedata_2024-01-07.csv")).frame()
    call = frame.filter(pl.col("symbol") == ".SPXW240105C1200").row(0, named=True)
    put = frame.filter(pl.col("symbol") == ".SPXW240105P1200").row(0, named=True)
    assert (call["last"], call["bid"], call["ask"], call["day_volume"]) == (
        3499.25,
        3492.4,
        3501.3,
        1.0,
    )
    assert call["open_interest"] == 24.0
    assert (put["last"], put["bid"], put["ask"], put["day_volume"]) == (0.05, 0.0, 0.05, 2.0)
    assert put["open_interest"] == 0.0


def test_underlying_state() -> None:
    book = read_cboe(data_file("spx_quotedata_2024-01-07.csv"))
    assert book.underlying.symbol == "SPX"
    assert book.underlying.spot == 4697.2402
    assert book.underlying.prev_close == pytest.approx(4697.2402 - 8.5602)
    assert (book.underlying.bid, book.underlying.ask) == (4645.23, 4753.8999)


@pytest.mark.parametrize(
    ("text", "expected", "offset"),
    [
        ("January 7, 2024 at 10:52 AM EST", datetime(2024, 1, 7, 10, 52), -5),
        ("February 5 2022, 8:09 PM EST", datetime(2022, 2, 5, 20, 9), -5),
        ("June 11, 2022, 8:47 PM EDT", datetime(2022, 6, 11, 20, 47), -4),
        ("Date: December 12, 2022 at 8:30 PM EST", datetime(2022, 12, 12, 20, 30), -5),
        ("Jan 2, 2024 at 12:05 AM ET", datetime(2024, 1, 2, 0, 5), -5),
        ("July 3, 2024 at 12:30 PM", datetime(2024, 7, 3, 12, 30), -4),
    ],
)
def test_date_styles(text: str, expected: datetime, offset: int) -> None:
    got = parse_cboe_date(text)
    assert got.replace(tzinfo=None) == expected
    assert got.utcoffset() == timedelta(hours=offset)


@pytest.mark.parametrize(
    "text", ["", "yesterday", "Smarch 7, 2024 at 10:52 AM EST", "January 7, 2024 at 10:52 AM PST"]
)
def test_bad_dates(text: str) -> None:
    with pytest.raises(ValueError):
        parse_cboe_date(text)


# ---------------------------------------------------------------------------- broken files
HEAD = (
    "S&P 500 INDEX,Last: 4697.2402,Change:  8.5602\n"
    '"Date: January 7, 2024 at 10:52 AM EST",Bid: 4645.23,Ask: 4753.8999,Size: 1*1,Volume: 0\n'
)
HEADER = (
    "Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest,Strike,"
    "Puts,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest\n"
)
ROW1 = (
    "Mon Jan 08 2024,SPXW240108C04700000,20.5,0,20,21,100,0.12,0.5,0.01,1000,4700.00,"
    "SPXW240108P04700000,18,0,17.5,18.5,90,0.13,-0.5,0.011,1200\n"
)
ROW2 = (
    "Fri Jan 19 2024,SPX240119C04700000,50,0,49,51,10,0.13,0.52,0.004,5000,4700.00,"
    "SPX240119P04700000,45,0,44,46,12,0.14,-0.48,0.004,6000\n"
)
GOOD = "\n" + HEAD + HEADER + ROW1 + ROW2


def write(tmp_path: Path, text: str | bytes, name: str = "chain.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_minimal_file_parses(tmp_path: Path) -> None:
    book = read_cboe(write(tmp_path, GOOD))
    assert len(book) == 4
    assert book.spot == 4697.2402
    frame = book.frame()
    row = frame.filter(pl.col("symbol") == ".SPXW240108P4700").row(0, named=True)
    assert (row["gamma"], row["delta"], row["iv"], row["open_interest"]) == (
        0.011,
        -0.5,
        0.13,
        1200.0,
    )


@pytest.mark.parametrize(
    "first_line", ["", "---Example Data---\n", "\n\n", "Some banner,with,commas\n"]
)
def test_banner_or_blank_first_lines(tmp_path: Path, first_line: str) -> None:
    book = read_cboe(write(tmp_path, first_line + HEAD + HEADER + ROW1 + ROW2))
    assert len(book) == 4


def test_crlf_and_bom(tmp_path: Path) -> None:
    text = ("\ufeff" + GOOD).replace("\n", "\r\n")
    assert len(read_cboe(write(tmp_path, text))) == 4


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "empty"),
        ("   \n\n", "empty"),
        ("hello world\nthis is not a csv\n", "no header row"),
        ("a,b,c\n1,2,3\n4,5,6\n", "no header row"),
        (HEADER + ROW1, "two lines above the header"),
        ("\n" + HEAD.replace("Last: 4697.2402", "Last: n/a") + HEADER + ROW1, "Last:"),
        ("\n" + HEAD.replace("Last: 4697.2402", "Last: 0") + HEADER + ROW1, "spot"),
        ("\n" + HEAD.replace("January 7, 2024", "Janvier 7, 2024") + HEADER + ROW1, "date"),
        ("\n" + HEAD.replace("Date: ", "When: ") + HEADER + ROW1, "Date:"),
        ("\n" + HEAD + HEADER, "no option rows"),
        ("\n" + HEAD + HEADER.replace(",Strike", ""), "header row has 21 columns"),
        ("\n" + HEAD + HEADER + ROW1 + ROW2[:40], "truncated"),
        ("\n" + HEAD + HEADER + ROW1 + ROW1.replace("\n", ",extra\n"), "23 columns"),
        ("\n" + HEAD + HEADER + ROW1.replace("0.12", "abc"), "not a number"),
        ("\n" + HEAD + HEADER + ROW1.replace("Mon Jan 08 2024", "2024-01-08"), "expiration"),
        ("\n" + HEAD + HEADER + ROW1.replace("SPXW240108C", "XX"), "bad call symbol"),
        ("\n" + HEAD + HEADER + ROW1.replace("C04700000", "P04700000", 1), "bad call symbol"),
        ("\n" + HEAD + HEADER + ROW1.replace(",4700.00,", ",4800.00,"), "does not match"),
        ("\n" + HEAD + HEADER + ROW1 + ROW1, "more than one row"),
    ],
)
def test_bad_files_give_one_line_errors(tmp_path: Path, text: str, needle: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(CboeFileError) as info:
        read_cboe(path)
    message = str(info.value)
    assert needle.lower() in message.lower(), message
    assert "\n" not in message
    assert isinstance(info.value, FeedError)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(CboeFileError, match="file not found"):
        read_cboe(tmp_path / "nope.csv")
    with pytest.raises(CboeFileError, match="directory"):
        read_cboe(tmp_path)


def test_not_utf8_and_binary(tmp_path: Path) -> None:
    latin1 = ("\n" + HEAD.replace("S&P 500 INDEX", "S&P 500 INDEX \xe9") + HEADER + ROW1).encode(
        "latin-1"
    )
    with pytest.raises(CboeFileError, match="not UTF-8"):
        read_cboe(write(tmp_path, latin1))
    with pytest.raises(CboeFileError, match="binary"):
        read_cboe(write(tmp_path, b"PK\x03\x04\x00\x00garbage", name="x.zip"))


def test_truncated_real_file(tmp_path: Path) -> None:
    raw = data_file("spx_quotedata_2024-01-07.csv").read_bytes()
    cut = write(tmp_path, raw[: len(raw) // 2])  # cut mid-row
    with pytest.raises(CboeFileError, match="truncated"):
        read_cboe(cut)


# ---------------------------------------------------------------------------- the feed
async def test_feed_yields_one_batch_then_ends() -> None:
    feed = CboeFileFeed(data_file("spx_quotedata_2024-01-07.csv"))
    assert isinstance(feed, Feed)
    assert feed.source is Source.FILE
    session = await feed.open("spx")
    assert isinstance(session, FeedSession)
    assert session.chain.ticker == "SPX"
    assert session.chain.source is Source.FILE
    book = session.chain.new_book()
    batches = [b async for b in session.events()]
    assert len(batches) == 1
    book.apply(batches[0])
    assert book.spot == 4697.2402
    assert book.coverage() == (21_038, 21_038, 21_038)
    await session.set_expirations([date(2024, 1, 8)])
    await feed.aclose()
    assert session.status.state.value == "closed"


async def test_feed_ticker_mismatch_and_bad_file(tmp_path: Path) -> None:
    feed = CboeFileFeed(data_file("ndx_quotedata_2022-02-05.csv"))
    with pytest.raises(UnknownTickerError, match="NDX"):
        await feed.open("SPX")
    assert (await feed.open("NDX")).chain.underlying_symbol == "NDX"
    await feed.aclose()
    bad = CboeFileFeed(write(tmp_path, "garbage\n"))
    with pytest.raises(CboeFileError):
        await bad.open("SPX")


def test_feed_runs_in_plain_asyncio() -> None:
    async def main() -> int:
        feed = CboeFileFeed(data_file("spx_quotedata_2022-12-12.csv"))
        session = await feed.open("SPX")
        n = sum([b.n_events async for b in session.events()])
        await feed.aclose()
        return n

    # 4 kinds × both sides of every row, plus the underlying's trade, summary and quote
    assert asyncio.run(main()) == 4 * 2 * 9_578 + 3
