"""`gextui levels`: the level series from recordings equals `snapshot --replay --at` at every
sample time, in one process or several; readable table, CSV, Parquet; one-line errors."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from cli_run import clean_environment, run

from gextui.store import levels

START = "2026-11-24 10:00"  # a Tuesday, New York


@pytest.fixture(autouse=True)
def _no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_environment(monkeypatch, tmp_path)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SPY and QQQ, 10:00–10:13 New York of a simulated session (10 market minutes a second)."""
    rec = tmp_path_factory.mktemp("levels") / "rec"
    with pytest.MonkeyPatch.context() as mp:
        clean_environment(mp, rec.parent)
        code, _, err = run(
            _Quiet(),  # type: ignore[arg-type]
            "record", "SPY", "QQQ", "--dir", str(rec), "--source", "simulated", "--seed", "5",
            "--start", START, "--speed", "600", "--until", "10:13", "--status-every", "100",
        )  # fmt: skip
    assert code == 0, err
    return rec


class _Quiet:
    """Stands in for capsys in a module fixture: stdout/stderr were not captured."""

    def readouterr(self) -> tuple[str, str]:
        return "", ""


def snapshot_at(capsys: pytest.CaptureFixture[str], rec: Path, ticker: str, at: datetime) -> dict:
    ny = at.astimezone(levels.NEW_YORK).strftime("%Y-%m-%d %H:%M:%S")
    code, out, err = run(capsys, "snapshot", "--replay", str(rec), ticker,
                         "--at", ny, "--json")  # fmt: skip
    assert code == 0, err
    doc: dict = json.loads(out)
    return doc


def assert_equal_to_snapshots(
    capsys: pytest.CaptureFixture[str], rec: Path, series: pl.DataFrame
) -> None:
    for row in series.iter_rows(named=True):
        doc = snapshot_at(capsys, rec, row["ticker"], row["time"])
        cov = doc["coverage"]
        assert row["spot"] == doc["spot"]
        assert row["net_gex"] == doc["net_gex"]
        assert row["zero_gamma"] == doc["zero_gamma"]
        assert row["call_wall"] == doc["call_wall"]
        assert row["put_wall"] == doc["put_wall"]
        assert row["max_pain"] == doc["max_pain"]
        assert row["regime"] == doc["gamma_regime"]
        assert row["coverage"] == cov["with_both"] / cov["contracts"]


def test_series_equals_snapshots(
    capsys: pytest.CaptureFixture[str], recorded: Path, tmp_path: Path
) -> None:
    out = tmp_path / "spy.parquet"
    code, stdout, err = run(
        capsys, "levels", str(recorded), "--ticker", "spy", "--every", "3m",
        "--parquet", str(out), "--workers", "1",
    )  # fmt: skip
    assert code == 0, err
    assert stdout == ""
    assert err.strip().splitlines()[-1] == "levels: 5/5 samples (100%)"  # not a tty: plain
    series = pl.read_parquet(out)
    assert series.columns == list(levels.COLUMNS)
    minutes = [t.astimezone(levels.NEW_YORK).strftime("%H:%M") for t in series["time"]]
    assert minutes == ["10:00", "10:03", "10:06", "10:09", "10:12"]
    assert series["ticker"].unique().to_list() == ["SPY"]
    assert series["coverage"][-1] == 1.0 and series["spot"].is_not_null().all()
    assert series["net_gex"].n_unique() == 5  # the book moves: five different figures
    assert_equal_to_snapshots(capsys, recorded, series)


def test_processes_give_the_same_series(recorded: Path) -> None:
    one = levels.level_series(levels.plan_tasks(recorded, every=240.0, workers=1), workers=1)
    tasks = levels.plan_tasks(recorded, every=240.0, workers=2)
    assert len(tasks) >= 2
    seen: list[int] = []
    two = levels.level_series(tasks, workers=2, progress=seen.append)
    assert sum(seen) == one.height == 8  # SPY and QQQ at 10:00, 10:04, 10:08, 10:12
    for col in one.columns:
        assert two[col].to_list() == one[col].to_list(), col
    assert one["ticker"].to_list() == ["QQQ"] * 4 + ["SPY"] * 4


def test_table_and_csv(capsys: pytest.CaptureFixture[str], recorded: Path) -> None:
    code, table, err = run(capsys, "levels", str(recorded), "--ticker", "QQQ", "--every", "6m")
    assert code == 0, err
    lines = table.splitlines()
    assert lines[0].split() == [
        "ticker", "time", "(ET)", "spot", "net", "GEX", "zero", "gamma", "call", "wall",
        "put", "wall", "max", "pain", "regime", "coverage",
    ]  # fmt: skip
    assert [ln.split()[2] for ln in lines[1:]] == ["10:00:00", "10:06:00", "10:12:00"]
    assert all(ln.split()[0] == "QQQ" and " bn " in ln for ln in lines[1:])
    code, csv, err = run(capsys, "levels", str(recorded), "--ticker", "QQQ", "--every", "6m",
                         "--csv", "--expiry", "0dte")  # fmt: skip
    assert code == 0, err
    frame = pl.read_csv(io.StringIO(csv))
    assert frame.columns == list(levels.COLUMNS) and frame.height == 3
    assert frame["regime"].is_in(["positive", "negative"]).all()


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--ticker", "IWM"], "no IWM in the recordings at"),
        (["--from", "2026-12-01"], "no recording between the dates given"),
        (["--from", "2026-11-25", "--to", "2026-11-24"], "--from 2026-11-25 is after --to"),
        (["--from", "24/11/2026"], "not a date YYYY-MM-DD"),
        (["--every", "soon"], "not a duration"),
        (["--expiry", "someday"], "--expiry"),
        (["--workers", "0"], "--workers: expected 1 to"),
    ],
)
def test_bad_input_is_one_line(
    capsys: pytest.CaptureFixture[str], recorded: Path, extra: list[str], needle: str
) -> None:
    code, out, err = run(capsys, "levels", str(recorded), *extra)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and needle in err, err


def test_no_recordings(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, _, err = run(capsys, "levels", str(tmp_path / "empty"))
    assert code == 2 and "no recording under" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "levels", str(tmp_path / "nowhere"))
    assert code == 2 and "the path does not exist" in err


def test_sample_grid_and_progress_bar() -> None:
    first = datetime(2026, 11, 24, 14, 31, 7, tzinfo=UTC)  # 09:31:07 New York
    last = datetime(2026, 11, 24, 14, 45, 0, tzinfo=UTC)
    got = levels.sample_times(first, last, 300.0)
    assert [t.astimezone(levels.NEW_YORK).strftime("%H:%M") for t in got] == [
        "09:35",
        "09:40",
        "09:45",
    ]

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    bar = levels.Progress(4, out, clock=lambda: 0.0)
    bar.advance(1)
    bar.advance(3)
    assert out.getvalue() == (
        "\rlevels ████████░░░░░░░░░░░░░░░░░░░░░░ 1/4 samples 25%"
        "\rlevels ██████████████████████████████ 4/4 samples 100%\n"
    )
    now = [0.0]
    plain = io.StringIO()
    bar = levels.Progress(10, plain, interval=5.0, clock=lambda: now[0])
    for t in (0.0, 1.0, 6.0, 7.0):
        now[0] = t
        bar.advance(1)
    assert plain.getvalue().splitlines() == [
        "levels: 1/10 samples (10%)",
        "levels: 3/10 samples (30%)",
    ]
