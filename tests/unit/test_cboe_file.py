"""The CBOE delayed-quotes reader (CSV in several locales, and the JSON).

Synthetic files (tests/cboe_synth.py) test the parser, every format and error on a fresh clone;
the real third-party downloads in ../shared (data/cboe and holdout) are read where they lie
through tests/realdata.py, which skips with a reason when they are absent."""

from __future__ import annotations

import asyncio
import json
import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from cboe_synth import (
    MONDAY_10AM,
    cboe_csv,
    cboe_json,
    date_text,
    expected_gex,
    synth_chain,
)
from realdata import cboe_file, holdout_file

from gextui import exposure
from gextui.core.chain import ChainBook
from gextui.core.expiry import NEW_YORK
from gextui.feeds.base import Feed, FeedError, FeedSession, Source, UnknownTickerError
from gextui.feeds.cboe_file import (
    CboeFileError,
    CboeFileFeed,
    _locale_number,
    parse_cboe,
    parse_cboe_date,
    read_cboe,
)

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
    return cboe_file(name)


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
        ("hello world\nthis is not a csv\n", "supported: the CBOE delayed-quotes CSV"),
        ("a,b,c\n1,2,3\n4,5,6\n", "no header row"),
        (HEADER + ROW1, "two lines above the header"),
        ("\n" + HEAD.replace("Last: 4697.2402", "Last: n/a") + HEADER + ROW1, "Last:"),
        ("\n" + HEAD.replace("Last: 4697.2402", "Last: 0") + HEADER + ROW1, "spot"),
        ("\n" + HEAD.replace("January 7, 2024", "Smarch 7, 2024") + HEADER + ROW1, "date"),
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


async def test_feed_on_a_synthetic_file(tmp_path: Path) -> None:
    """What `gextui --file` needs from CboeFileFeed, on a file the test writes: open by
    ticker or root, one batch then the end, the file's time in the status, close."""
    synth = synth_chain()
    feed = CboeFileFeed(write(tmp_path, cboe_csv(synth)))
    with pytest.raises(UnknownTickerError, match="SPX"):
        await feed.open("QQQ")
    session = await feed.open("spxw")
    assert session.chain.ticker == "SPX" and session.chain.source is Source.FILE
    assert "as of 2024-01-08 10:00 EST" in session.status.reason
    book = session.chain.new_book()
    batches = [b async for b in session.events()]
    assert len(batches) == 1 and [b async for b in session.events()] == []
    book.apply(batches[0])
    assert book.spot == synth.spot and len(book) == synth.options.height
    await feed.aclose()
    assert session.status.state.value == "closed"


# ---------------------------------------------------------------------------- locales
@pytest.mark.parametrize(
    ("text", "expected", "offset"),
    [
        ("9 June 2023, 1:40 PM EDT", datetime(2023, 6, 9, 13, 40), -4),  # en-GB
        ("12 de enero de 2026, 13:36 GMT-5", datetime(2026, 1, 12, 13, 36), -5),  # es
        ("23 de marzo de 2022, 10:11 GMT-4", datetime(2022, 3, 23, 10, 11), -4),
        ("12 de enero de 2026, 1:36 p. m. GMT-5", datetime(2026, 1, 12, 13, 36), -5),
        ("12. Januar 2026 um 13:36 GMT-5", datetime(2026, 1, 12, 13, 36), -5),  # de
        ("12 janvier 2026 à 13:36 UTC−5", datetime(2026, 1, 12, 13, 36), -5),  # fr
        ("12 de janeiro de 2026 13:36 GMT-5", datetime(2026, 1, 12, 13, 36), -5),  # pt
        ("12 gennaio 2026 alle ore 13:36 GMT+1", datetime(2026, 1, 12, 13, 36), 1),  # it
        ("12 januari 2026 om 13:36 GMT-5", datetime(2026, 1, 12, 13, 36), -5),  # nl
        ("12 stycznia 2026 13:36 GMT-5", datetime(2026, 1, 12, 13, 36), -5),  # pl
        ("12 января 2026 г., 13:36 GMT-5", datetime(2026, 1, 12, 13, 36), -5),  # ru
        ("2026年1月12日 13:36 GMT-5", datetime(2026, 1, 12, 13, 36), -5),  # ja / zh
        ("5 sept. 2025, 16:00 GMT-4:30", datetime(2025, 9, 5, 16, 0), -4.5),
        # no zone: New York (EST in January, EDT in July)
        ("12 de enero de 2026, 13:36", datetime(2026, 1, 12, 13, 36), -5),
        ("2025-07-03 09:30", datetime(2025, 7, 3, 9, 30), -4),
    ],
)
def test_locale_dates(text: str, expected: datetime, offset: float) -> None:
    got = parse_cboe_date(text)
    assert got.replace(tzinfo=None) == expected
    assert got.utcoffset() == timedelta(hours=offset)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("12 de enero de 2026, 25:36 GMT-5", "bad hour"),
        ("12 de enero de 2026, 13:36 PST", "not US Eastern"),
        ("12 de enero, 13:36", "4-digit year"),
        ("31 de febrero de 2026, 13:36", "impossible"),
        ("12 de enero de 2026, 13:36 GMT-19", "offset"),
    ],
)
def test_locale_dates_refused(text: str, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        parse_cboe_date(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("4697.2402", 4697.2402),
        ("71,039,449", 71_039_449.0),
        ("21.801.210", 21_801_210.0),
        ("4.697,24", 4697.24),
        ("4,697.24", 4697.24),
        ("627,99", 627.99),
        ("1,234", 1234.0),
        ("-0.65", -0.65),
        ("n/a", None),
    ],
)
def test_banner_numbers_in_any_locale(text: str, value: float | None) -> None:
    assert _locale_number(text) == value


@pytest.mark.parametrize("style", ["en-US", "en-US-old", "en-GB", "es", "de"])
def test_synthetic_file_in_every_date_style(tmp_path: Path, style: str) -> None:
    """The same chain written with each locale's Date: line (en-GB unquoted, es with a GMT
    offset and a 21.801.210 volume) reads to the same instant and the same book."""
    synth = synth_chain()
    volume = {"es": "21.801.210", "en-US": "1,234,567"}.get(style, "0")
    text = cboe_csv(synth, style=style, volume=volume)
    if style == "en-GB":
        assert f"\nDate: {date_text(MONDAY_10AM, 'en-GB')},Bid:" in text  # unquoted, split
    parsed = parse_cboe(write(tmp_path, text))
    assert parsed.as_of == MONDAY_10AM
    assert parsed.batch.time == MONDAY_10AM
    assert parsed.spot == synth.spot
    assert parsed.rows == synth.options.height // 2
    book = parsed.new_book()
    assert (book.underlying.bid, book.underlying.ask) == (synth.spot - 0.5, synth.spot + 0.5)
    assert book.underlying.prev_close == pytest.approx(synth.spot - synth.change)


# ---------------------------------------------------------------------------- engine, end to end
def test_synthetic_file_end_to_end_figures(tmp_path: Path) -> None:
    """Reader + engine on a file the test writes: totals equal the classic recipe summed over
    the chain frame the file was written from; expired rows are in the book, not the sums;
    the zero gamma is a sign change of an independent profile."""
    synth = synth_chain()
    book = read_cboe(write(tmp_path, cboe_csv(synth)))
    snap = exposure(book, "all")
    call_gex, put_gex = expected_gex(synth)
    assert snap.call_gex == pytest.approx(call_gex, rel=1e-12)
    assert snap.put_gex == pytest.approx(put_gex, rel=1e-12)
    assert snap.net_gex == pytest.approx(call_gex + put_gex, rel=1e-12)
    assert snap.expirations == (date(2024, 1, 8), date(2024, 1, 10), date(2024, 1, 19))
    assert snap.coverage.chain_total == synth.options.height
    assert snap.coverage.contracts == synth.live().height
    live = synth.live()
    per = (
        live.with_columns(
            (
                pl.when(pl.col("type") == "C").then(1.0).otherwise(-1.0)
                * pl.col("gamma")
                * pl.col("oi")
            ).alias("g")
        )
        .group_by("strike", "type")
        .agg(pl.col("g").sum())
    )
    assert snap.call_wall == per.filter(pl.col("type") == "C").sort("g")["strike"][-1]
    assert snap.put_wall == per.filter(pl.col("type") == "P").sort("g")["strike"][0]
    # independent BS profile (r = q = 0, T floored at one hour)
    f = live.filter(pl.col("iv") > 0)
    t = np.array(
        [max((s - MONDAY_10AM).total_seconds(), 3600.0) / (365 * 86400) for s in f["settles"]]
    )
    k, iv = f["strike"].to_numpy(), f["iv"].to_numpy()
    w = np.where(f["type"].to_numpy() == "C", 1.0, -1.0) * f["oi"].to_numpy() * 100

    def profile(x: float) -> float:
        d1 = (np.log(x / k) + 0.5 * iv * iv * t) / (iv * np.sqrt(t))
        return float((w * np.exp(-0.5 * d1 * d1) / (iv * np.sqrt(t))).sum() * x)

    assert snap.zero_gamma_crossings
    for x in snap.zero_gamma_crossings:
        assert profile(x - 0.05) * profile(x + 0.05) < 0


def test_json_reads_like_the_csv(tmp_path: Path) -> None:
    """The CBOE JSON of a chain gives the same book and figures as its CSV; the reader decides
    by content (a .csv name holding JSON, a .json name holding CSV)."""
    synth = synth_chain()
    from_csv = read_cboe(write(tmp_path, cboe_csv(synth), "looks.json"))
    from_json = read_cboe(write(tmp_path, cboe_json(synth), "looks.csv"))
    assert from_json.as_of == MONDAY_10AM == from_csv.as_of
    assert from_json.ticker == "SPX" and from_json.source == "file"
    assert from_json.spot == synth.spot
    assert from_json.underlying.prev_close == pytest.approx(synth.spot - synth.change)
    cols = ["symbol", "root", "settlement", "gamma", "delta", "iv", "open_interest"]
    a = from_csv.frame().select(cols).sort("symbol")
    b = from_json.frame().select(cols).sort("symbol")
    assert a.equals(b)
    s1, s2 = exposure(from_csv), exposure(from_json)
    assert (s1.net_gex, s1.call_wall, s1.put_wall) == (s2.net_gex, s2.call_wall, s2.put_wall)
    assert s1.zero_gamma_crossings == s2.zero_gamma_crossings


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda o: o.update(data={"nothing": 1}), "data.options"),
        (lambda o: o["data"].update(options=[]), "no options"),
        (lambda o: o.pop("timestamp"), "timestamp"),
        (lambda o: o.update(timestamp="yesterday"), "unreadable timestamp"),
        (lambda o: o["data"].update(current_price=0), "current_price"),
        (lambda o: o["data"]["options"][3].update(option="XYZ"), "options[3]: bad option symbol"),
        (lambda o: o["data"]["options"][2].update(gamma="abc"), "options[2]: gamma is not"),
        (lambda o: o["data"]["options"][5].update(open_interest=-4), "options[5]: negative open"),
        (
            lambda o: o["data"]["options"][1].update(option=o["data"]["options"][0]["option"]),
            "more than once",
        ),
    ],
)
def test_bad_json_gives_one_line_errors(tmp_path: Path, mutate, needle: str) -> None:  # type: ignore[no-untyped-def]
    obj = json.loads(cboe_json(synth_chain()))
    mutate(obj)
    with pytest.raises(CboeFileError) as info:
        read_cboe(write(tmp_path, json.dumps(obj), "x.json"))
    assert needle in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("text", ["{not json", '["a", "b"]', "PK-ish text,with,commas\n1,2\n"])
def test_neither_format_names_the_supported_ones(tmp_path: Path, text: str) -> None:
    with pytest.raises(CboeFileError) as info:
        read_cboe(write(tmp_path, text, "x.json"))
    message = str(info.value)
    assert "CBOE delayed-quotes CSV" in message and "CBOE delayed-quotes JSON" in message
    assert "\n" not in message


# ------------------------------------------------------------------ bad values, second banner
@pytest.mark.parametrize(
    ("column", "value", "word"),
    [
        ("oi", -5.0, "negative open interest"),
        ("oi", math.inf, "infinite open interest"),
        ("gamma", -0.001, "negative gamma"),
        ("gamma", math.inf, "infinite gamma"),
        ("iv", -0.2, "negative IV"),
        ("volume", -1.0, "negative volume"),
    ],
)
def test_negative_or_infinite_values_are_refused_with_lines(
    tmp_path: Path, column: str, value: float, word: str
) -> None:
    """Never used silently: the file is refused, naming the first row's line and every line."""
    synth = synth_chain()
    opts = synth.options.with_row_index("i")
    hit = {7, 40}  # option rows; the CSV writes call/put pairs, sorted
    bad = opts.with_columns(
        pl.when(pl.col("i").is_in(list(hit))).then(value).otherwise(pl.col(column)).alias(column)
    ).drop("i")
    text = cboe_csv(synth, rows=bad).replace("inf", "inf")
    lines = [
        n
        for n, ln in enumerate(text.split("\n"), start=1)
        if any(sym in ln for sym in bad.filter(pl.col(column) == value)["occ"])
    ]
    with pytest.raises(CboeFileError) as info:
        read_cboe(write(tmp_path, text))
    message = str(info.value)
    assert f"line {lines[0]}: {word}" in message, message
    assert f"{len(lines)} rows" in message and ", ".join(map(str, lines)) in message
    assert "\n" not in message


def test_published_figures_need_no_value_dropped() -> None:
    """The real 2024-01-07 file has no such value: read whole, the published result stands."""
    book = read_cboe(data_file("spx_quotedata_2024-01-07.csv"))
    assert book.rejected_values == 0
    assert exposure(book).net_gex == pytest.approx(-10.9987e9, abs=1e5)


def test_two_downloads_concatenated_name_the_line(tmp_path: Path) -> None:
    synth = synth_chain()
    one = cboe_csv(synth)
    text = one + cboe_csv(synth, banner="---Example Data---")
    second_banner = one.count("\n") + 1  # the banner line of the second download
    with pytest.raises(CboeFileError) as info:
        read_cboe(write(tmp_path, text))
    message = str(info.value)
    assert "second CBOE download" in message and "truncated" not in message
    # the first line after the header block that belongs to the second file
    assert f"line {second_banner}:" in message or f"line {second_banner + 1}:" in message


# ---------------------------------------------------------------------------- holdout (real)
# file -> (ticker, spot, local as-of, UTC offset hours, rows, roots)
HOLDOUT: dict[str, tuple[str, float, datetime, float, int, tuple[str, ...]]] = {
    "rut_quotedata_2022-12-12.csv": (
        "RUT",
        1817.4937,
        datetime(2022, 12, 12, 20, 30),
        -5,
        3667,
        ("RUT", "RUTW"),
    ),
    "rut_quotedata_2023-09-21.json": (
        "RUT",
        1806.1193,
        datetime(2023, 9, 21, 3, 17, 42),
        -4,
        6680,
        ("RUT", "RUTW"),
    ),
    "spy_quotedata_2023-09-14.csv": (
        "SPY",
        450.81,
        datetime(2023, 9, 14, 16, 31),
        -4,
        3646,
        ("SPY",),
    ),
    "spx_quotedata_2023-08-20.csv": (
        "SPX",
        4369.71,
        datetime(2023, 8, 20, 22, 42),
        -4,
        10171,
        ("SPX", "SPXW"),
    ),
    "spx_quotedata_2023-06-09_intraday_en-GB.csv": (
        "SPX",
        4300.0098,
        datetime(2023, 6, 9, 13, 40),
        -4,
        8894,
        ("SPX", "SPXW"),
    ),
    "spy_quotedata_2025-05-16.csv": (
        "SPY",
        589.25,
        datetime(2025, 5, 16, 19, 23),
        -4,
        1580,
        ("SPY",),
    ),
    "nvda_quotedata_2025-01-06.csv": (
        "NVDA",
        150.2802,
        datetime(2025, 1, 6, 21, 30),
        -5,
        543,
        ("NVDA",),
    ),
    "qqq_quotedata_2026-01-12_es_0dte-excerpt.csv": (
        "QQQ",
        627.99,
        datetime(2026, 1, 12, 13, 36),
        -5,
        100,
        ("QQQ",),
    ),
}


@pytest.mark.parametrize("name", sorted(HOLDOUT))
def test_holdout_file_reads(name: str) -> None:
    """Each real format: en-GB unquoted date, Spanish GMT-5 date with 21.801.210, the JSON,
    RUT/RUTW, SPY just after expiry, a weekend after OPEX, filtered exports, a single stock."""
    ticker, spot, local, offset_h, rows, roots = HOLDOUT[name]
    parsed = parse_cboe(holdout_file(name))
    assert (parsed.ticker, parsed.spot, parsed.rows, parsed.roots) == (ticker, spot, rows, roots)
    assert parsed.as_of.replace(tzinfo=None) == local
    assert parsed.as_of.utcoffset() == timedelta(hours=offset_h)
    book = parsed.new_book()
    assert book.unknown_symbols == 0
    # only IVs above the book's 1000 % bound (deep OTM, hours to expiry) are set aside
    assert set(book.rejected_by_column) <= {"iv"}
    snap = exposure(book, "all")
    assert snap.coverage.with_both == snap.coverage.contracts > 0
    assert all(0.8 * spot <= x <= 1.2 * spot for x in snap.zero_gamma_crossings)


def test_holdout_json_values_and_settlement() -> None:
    """The JSON's OCC symbols: RUT monthlies AM-settled, RUTW PM; IV 0 is missing."""
    book = read_cboe(holdout_file("rut_quotedata_2023-09-21.json"))
    frame = book.frame()
    row = frame.filter(pl.col("symbol") == ".RUT231020P1000").row(0, named=True)
    assert (row["iv"], row["open_interest"], row["delta"], row["bid"], row["ask"]) == (
        0.6836,
        22.0,
        -0.0004,
        0.0,
        0.15,
    )
    assert frame.filter(pl.col("symbol") == ".RUT231020C1000")["iv"][0] is None
    local = frame.with_columns(
        pl.col("settlement").dt.convert_time_zone("America/New_York").dt.time().alias("t")
    )
    assert {str(t) for t in local.filter(pl.col("root") == "RUT")["t"]} == {"09:30:00"}
    assert {str(t) for t in local.filter(pl.col("root") == "RUTW")["t"]} == {"16:00:00"}
    assert book.underlying.prev_close == 1827.0


def test_holdout_rut_has_nine_crossings() -> None:
    """RUT 2022-12-12 (`all`): 1.8-day contracts make narrow dips; the profile crosses zero 9
    times (a brute-force scan at 0.002 points agrees), the deepest point −12.2 bn near 1,950."""
    snap = exposure(read_cboe(holdout_file("rut_quotedata_2022-12-12.csv")), "all")
    expected = [1889.18, 1939.83, 1940.17, 1949.47, 1950.53, 2048.99, 2051.01, 2098.24, 2101.76]
    assert len(snap.zero_gamma_crossings) == 9
    for got, want in zip(snap.zero_gamma_crossings, expected, strict=True):
        assert abs(got - want) < 0.05
    assert snap.zero_gamma == pytest.approx(1889.18, abs=0.05)
    assert snap.profile["net_gex"].min() < -10e9  # type: ignore[operator]
