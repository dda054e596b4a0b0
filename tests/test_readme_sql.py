"""Every ```sql block of README.md runs on a recorded simulated session (SPX compacted, SPY in
minute segments) and gives what polars computes from the same files: the README stays true."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from cli_run import clean_environment, run

duckdb = pytest.importorskip("duckdb", reason="duckdb is in the test extra (pip install .[test])")

README = Path(__file__).resolve().parents[1] / "README.md"
DAY = "2026-11-24"


class _Quiet:
    def readouterr(self) -> tuple[str, str]:
        return "", ""


def readme_queries() -> dict[str, str]:
    blocks = re.findall(r"```sql\n(.*?)```", README.read_text(), re.S)
    out = {}
    for block in blocks:
        m = re.match(r"-- (Q\d+):", block)
        assert m, f"a README sql block without a '-- Qn:' label: {block[:60]!r}"
        out[m.group(1)] = block
    return out


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``recordings/`` of SPX and SPY, 10:00–10:32 New York; SPX compacted."""
    base = tmp_path_factory.mktemp("sql")
    rec = base / "recordings"
    with pytest.MonkeyPatch.context() as mp:
        clean_environment(mp, base)
        code, _, _ = run(
            _Quiet(),  # type: ignore[arg-type]
            "record", "SPX", "SPY", "--dir", str(rec), "--source", "simulated", "--seed", "4",
            "--start", f"{DAY} 10:00", "--speed", "600", "--until", "10:32",
            "--status-every", "100",
        )  # fmt: skip
        assert code == 0
        code, _, _ = run(_Quiet(), "compact", str(rec), "--date", DAY, "--ticker", "SPX")  # type: ignore[arg-type]
        assert code == 0
    assert len(list((rec / "ticker=SPX" / f"date={DAY}").glob("events-*.parquet"))) == 1
    assert len(list((rec / "ticker=SPY" / f"date={DAY}").glob("events-*.parquet"))) > 30
    return base


@pytest.fixture
def sql(workdir: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(workdir)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # not the machine's zone (the answers are instants)

    def query(name: str) -> list[tuple[object, ...]]:
        rows: list[tuple[object, ...]] = con.execute(readme_queries()[name]).fetchall()
        return rows

    yield query
    con.close()


def events(workdir: Path) -> pl.DataFrame:
    frames = []
    for part in sorted((workdir / "recordings").glob("ticker=*/date=*")):
        ticker = part.parent.name.split("=")[1]
        day = part.name.split("=")[1]
        for f in sorted(part.glob("events-*.parquet")):
            frames.append(
                pl.read_parquet(f).with_columns(
                    pl.lit(ticker).alias("ticker"), pl.lit(day).str.to_date().alias("date")
                )
            )
    return pl.concat(frames, how="diagonal")


def test_every_block_is_labelled_and_five_questions() -> None:
    assert sorted(readme_queries()) == ["Q1", "Q2", "Q3", "Q4", "Q5"]


def test_q1_events_per_kind_per_minute(sql, workdir: Path) -> None:  # type: ignore[no-untyped-def]
    ev = events(workdir).filter(pl.col("ticker") == "SPX", pl.col("kind") != "batch")
    want = (
        ev.group_by(pl.col("time").dt.truncate("1m").alias("minute"), "kind")
        .len()
        .sort("minute", "kind")
        .rows()
    )
    got = sql("Q1")
    assert len(got) == len(want) > 60  # 32 minutes × several kinds
    assert got == [(m, k, n) for m, k, n in want]
    assert sum(n for *_, n in got) == ev.height


def test_q2_low_and_high(sql, workdir: Path) -> None:  # type: ignore[no-untyped-def]
    tr = events(workdir).filter(
        pl.col("kind") == "trades",
        pl.col("symbol") == pl.col("ticker"),
        pl.col("price") > 0,
        ~pl.col("price").is_nan(),
    )
    want = (
        tr.group_by("ticker", "date")
        .agg(pl.col("price").min(), pl.col("price").max().alias("high"), pl.len())
        .sort("ticker", "date")
        .rows()
    )
    got = sql("Q2")
    assert got == want and [r[0] for r in got] == ["SPX", "SPY"]
    assert all(lo < hi for _, _, lo, hi, _ in got)


def test_q3_open_interest_by_strike(sql, workdir: Path) -> None:  # type: ignore[no-untyped-def]
    part = workdir / "recordings" / "ticker=SPX" / f"date={DAY}"
    cut = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)  # 10:30 New York
    ev = pl.read_parquet(part / "events-*.parquet")
    last = (
        ev.filter(
            pl.col("kind") == "summary",
            pl.col("time") <= cut,
            ~pl.col("open_interest").is_nan(),
            pl.col("open_interest") >= 0,
        )
        .sort("batch", "row")
        .group_by("symbol")
        .agg(pl.col("open_interest").last().alias("oi"))
    )
    chain = pl.read_parquet(part / "chain.parquet")
    joined = last.join(chain, on="symbol")
    want = (
        joined.group_by("strike")
        .agg(
            pl.col("oi").filter(pl.col("type") == "C").sum().alias("call"),
            pl.col("oi").filter(pl.col("type") == "P").sum().alias("put"),
            (pl.col("type") == "C").any().alias("has_c"),
            (pl.col("type") == "P").any().alias("has_p"),
        )
        .sort("strike")
    )
    expect = [(k, c if hc else None, p if hp else None) for k, c, p, hc, hp in want.rows()]
    got = sql("Q3")
    assert len(got) == len(expect) > 50
    assert got == expect
    assert sum(r[1] or 0 for r in got) > 0 and sum(r[2] or 0 for r in got) > 0


def test_q4_busiest_contracts(sql, workdir: Path) -> None:  # type: ignore[no-untyped-def]
    ev = events(workdir).filter(pl.col("kind") == "greeks", pl.col("ticker") == "SPX")
    want = ev.group_by("symbol").len().sort(["len", "symbol"], descending=[True, False]).head(10)
    assert sql("Q4") == want.rows()


def test_q5_per_ticker_and_day(sql, workdir: Path) -> None:  # type: ignore[no-untyped-def]
    ev = events(workdir)
    want = (
        ev.group_by("ticker", "date")
        .agg(
            pl.col("batch").n_unique(),
            (pl.col("kind") != "batch").sum(),
            pl.col("time").min().alias("first"),
            pl.col("time").max().alias("last"),
        )
        .sort("ticker", "date")
        .rows()
    )
    got = sql("Q5")
    assert got == want
    from gextui.store.reader import open_recording

    for ticker, _, batches, n_events, first, last in got:
        rec = open_recording(workdir / "recordings", ticker)
        assert (n_events, first, last) == (rec.events, rec.start_time, rec.end_time)
        assert batches == sum(s.batches for s in rec.segments)


def test_the_monitor_does_not_import_duckdb(workdir: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys, gextui.cli, gextui.ui.app, gextui.store, gextui.store.levels, "
        "gextui.store.compact\n"
        "print('duckdb' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
