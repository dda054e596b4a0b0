"""The command line as a user runs it: `gextui snapshot ...`, errors, help."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import math
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gextui.cli import main
from gextui.core.exposure import compute_exposure
from gextui.feeds.cboe_file import read_cboe
from gextui.feeds.simulated import SimulatedFeed
from gextui.store.recorder import Recorder

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cboe"
SPX_2024 = DATA / "spx_quotedata_2024-01-07.csv"
REQUIRED_KEYS = {
    "ticker",
    "source",
    "as_of",
    "spot",
    "expiry",
    "expirations",
    "net_gex",
    "call_gex",
    "put_gex",
    "abs_gex",
    "net_gex_volume",
    "net_dex",
    "net_vex",
    "net_cex",
    "zero_gamma",
    "zero_gamma_crossings",
    "call_wall",
    "put_wall",
    "max_pain",
    "put_call_oi_ratio",
    "strikes",
}


@pytest.fixture(autouse=True)
def _no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No tastytrade credentials from the developer's environment or .env files."""
    for var in ("TT_SECRET", "TT_REFRESH", "TT_SANDBOX", "TT_API_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_data_is_there() -> None:
    assert SPX_2024.is_file(), f"missing test data: {SPX_2024} (shared/data/cboe)"


def test_snapshot_file_json_matches_published_result(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "snapshot", "--file", str(SPX_2024), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) >= REQUIRED_KEYS
    assert doc["ticker"] == "SPX"
    assert doc["source"] == "file"
    assert doc["as_of"] == "2024-01-07T15:52:00+00:00"
    assert abs(doc["net_gex"] - (-11.00e9)) <= 0.005 * 11.00e9
    assert abs(doc["zero_gamma"] - 4734) <= 0.005 * 4697.24
    assert doc["call_wall"] == 4800.0
    assert doc["put_wall"] == 4600.0
    row = next(r for r in doc["strikes"] if r["strike"] == 4800.0)
    assert set(row) >= {"strike", "call_gex", "put_gex", "net_gex", "call_oi", "put_oi"}
    assert math.isclose(row["net_gex"], row["call_gex"] + row["put_gex"], rel_tol=1e-12)
    assert math.isclose(sum(r["net_gex"] for r in doc["strikes"]), doc["net_gex"], rel_tol=1e-9)


def test_snapshot_file_expiry_selection(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "snapshot", "--file", str(SPX_2024), "--json", "--expiry", "next")
    assert code == 0
    doc = json.loads(out)
    assert doc["expiry"] == "next"
    assert doc["expirations"] == ["2024-01-08"]
    book = read_cboe(SPX_2024)
    assert doc["net_gex"] == pytest.approx(compute_exposure(book, "next").net_gex, rel=1e-12)


def test_snapshot_file_csv(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "snapshot", "--file", str(SPX_2024), "--csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {"strike", "call_gex", "put_gex", "net_gex", "call_oi", "put_oi"} <= set(rows[0])
    total = sum(float(r["net_gex"]) for r in rows)
    assert total == pytest.approx(-11.0e9, rel=0.005)


def test_snapshot_file_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "snapshot", "--file", str(SPX_2024))
    assert code == 0
    assert "-11.00 bn" in out
    assert "4,734" in out
    assert "call wall" in out and "4,800" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["snapshot", "--file", "nope.csv"], "file not found"),
        (["snapshot", "--expiry", "someday"], "unknown expiry"),
        (["snapshot", "SPX", "--source", "tastytrade"], "TT_SECRET"),
        (["snapshot", "--replay", "nowhere"], "--at"),
        (["snapshot", "--at", "10:00"], "--replay"),
        (["SPX", "--source", "tastytrade"], "TT_REFRESH"),
    ],
)
def test_user_errors_are_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert needle in err
    assert "Traceback" not in err
    assert out == ""


def test_bad_csv_file_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("hello,world\n1,2\n")
    code, _, err = run(capsys, "snapshot", "--file", str(bad))
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("gextui: error: ")
    assert "bad.csv" in lines[0]


def test_snapshot_demo_is_labelled_simulated(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "snapshot", "SPY", "--source", "demo", "--json", "--seed", "4")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["source"] == "simulated"
    assert doc["ticker"] == "SPY"
    assert doc["coverage"]["with_both"] >= 0.95 * doc["coverage"]["contracts"]
    assert doc["spot"] > 0 and doc["call_wall"] is not None and doc["put_wall"] is not None
    # same seed, same snapshot
    code2, out2, _ = run(capsys, "snapshot", "SPY", "--source", "demo", "--json", "--seed", "4")
    assert code2 == 0
    assert json.loads(out2)["net_gex"] == doc["net_gex"]


def test_auto_without_credentials_says_simulated(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "snapshot", "QQQ", "--json")
    assert code == 0
    assert "SIMULATED" in err
    assert json.loads(out)["source"] == "simulated"


def test_monitor_without_terminal_explains(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "SPX")
    assert code == 2
    assert "needs a terminal" in err and "snapshot --json" in err


def test_help_explains(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for needle in ("snapshot", "replay", "--record", "SIMULATED", "long calls and short puts"):
        assert needle in out
    code, out, _ = run(capsys, "snapshot", "--help")
    assert code == 0 and "--json" in out and "--replay" in out


def test_snapshot_replay_equals_live(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Record a simulated session; `snapshot --replay --at` equals the live snapshot then."""
    root = tmp_path / "rec"
    ny = ZoneInfo("America/New_York")
    start = datetime(2026, 11, 24, 10, 0, tzinfo=ny)
    live: dict[datetime, dict[str, object]] = {}

    async def record() -> None:
        feed = SimulatedFeed(seed=5, paced=False, start=start, speed=20.0)
        session = await feed.open("SPY")
        book = session.chain.new_book()
        rec = Recorder(root, "SPY", session.chain, "simulated", background=False)
        n = 0
        async for batch in session.events():
            book.apply(batch)
            rec.write(batch)
            n += 1
            if n in (15, 40, 70):
                live[batch.time] = compute_exposure(book).to_dict()
            if n >= 80:
                break
        rec.close()
        await session.aclose()
        await feed.aclose()

    asyncio.run(record())
    assert len(live) == 3
    for moment, expected in live.items():
        at = moment.astimezone(ny)
        assert at.microsecond == 0  # speed 20 × 0.1 s batches: whole simulated seconds
        code, out, err = run(
            capsys,
            "snapshot",
            "SPY",
            "--replay",
            str(root),
            "--at",
            at.strftime("%H:%M:%S"),
            "--json",
        )
        assert code == 0, err
        assert json.loads(out) == expected


def test_snapshot_replay_missing_recording(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "snapshot", "--replay", "no-such-dir", "--at", "10:00")
    assert code == 2
    assert "no-such-dir" in err and "Traceback" not in err
