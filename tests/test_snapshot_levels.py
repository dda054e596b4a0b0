"""`gextui snapshot` on a recorded simulated session: the issue-13 JSON fields against sums
written here, `--since` against the difference of two `--at` snapshots, `--levels`."""

from __future__ import annotations

import csv
import io
import json
from datetime import time
from pathlib import Path
from typing import Any

import pytest
from cli_run import clean_environment, run

from gextui.core.exposure import compute_exposure
from gextui.report import levels_rows
from gextui.store.reader import open_recording

START = "2026-11-24 10:00"  # a Tuesday, New York time


@pytest.fixture(autouse=True)
def _no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_environment(monkeypatch, tmp_path)


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 simulated minutes of SPY (10:00–10:20 New York), recorded by `gextui record`."""
    rec = tmp_path_factory.mktemp("rec") / "rec"
    mp = pytest.MonkeyPatch()
    try:
        clean_environment(mp, rec.parent)
        from gextui.cli import main

        code = main(
            [
                "record", "SPY", "--dir", str(rec), "--source", "simulated", "--seed", "5",
                "--speed", "600", "--start", START, "--until", "10:20",
            ]
        )  # fmt: skip
        assert code == 0
    finally:
        mp.undo()
    return rec


def snapshot_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, err = run(capsys, "snapshot", *argv, "--json")
    assert code == 0, err
    doc: dict[str, Any] = json.loads(out)
    return doc


def test_json_fields_against_sums(capsys: pytest.CaptureFixture[str], recording: Path) -> None:
    doc = snapshot_json(capsys, "--replay", str(recording), "--at", "10:15")
    rows = doc["strikes"]
    by = doc["by_expiration"]
    assert [e["expiration"] for e in by] == doc["expirations"] and by
    for key in ("net_gex", "call_gex", "put_gex", "abs_gex"):
        assert sum(e[key] for e in by) == pytest.approx(doc[key], rel=1e-9, abs=1.0)
    assert sum(e["contracts"] for e in by) == doc["coverage"]["contracts"]
    # walls and the absolute gamma strike from the per-strike rows
    calls = sorted(
        (r for r in rows if r["call_gex"] > 0), key=lambda r: (-r["call_gex"], r["strike"])
    )
    puts = sorted((r for r in rows if r["put_gex"] < 0), key=lambda r: (r["put_gex"], r["strike"]))
    assert [w["strike"] for w in doc["call_walls"]] == [r["strike"] for r in calls[:3]]
    assert [w["gex"] for w in doc["call_walls"]] == [r["call_gex"] for r in calls[:3]]
    assert [w["strike"] for w in doc["put_walls"]] == [r["strike"] for r in puts[:3]]
    assert doc["call_wall"] == doc["call_walls"][0]["strike"]
    gross = max(rows, key=lambda r: (abs(r["call_gex"]) + abs(r["put_gex"]), -r["strike"]))
    assert doc["abs_gamma_strike"] == gross["strike"]
    # the expected move: the nearest expiration's ATM straddle from the recorded book
    rec = open_recording(recording, "SPY")
    book = rec.book_at(rec.to_utc(time(10, 15)))
    f = book.frame()
    near = f.filter(
        (f["expiration"].cast(str) == doc["expirations"][0])
        & (f["strike"] == doc["expected_move_strike"])
    )

    def price(r: dict[str, Any]) -> float:
        bid, ask = r["bid"], r["ask"]
        quoted = bid is not None and ask is not None and ask >= bid and ask > 0
        return float((bid + ask) / 2 if quoted else r["price"])

    legs = {r["type"]: price(r) for r in near.iter_rows(named=True)}
    assert doc["expected_move"] == pytest.approx(legs["C"] + legs["P"], rel=1e-12)
    spot = doc["spot"]
    assert min(abs(r["strike"] - spot) for r in rows) == pytest.approx(
        abs(doc["expected_move_strike"] - spot)
    )


def test_since_is_the_difference_of_two_at_snapshots(
    capsys: pytest.CaptureFixture[str], recording: Path
) -> None:
    now = snapshot_json(capsys, "--replay", str(recording), "--at", "10:18")
    then = snapshot_json(capsys, "--replay", str(recording), "--at", "10:03")
    both = snapshot_json(capsys, "--replay", str(recording), "--at", "10:18", "--since", "15m")
    old = {r["strike"]: r["net_gex"] for r in then["strikes"]}
    assert [r["strike"] for r in both["strikes"]] == [r["strike"] for r in now["strikes"]]
    for row, cur in zip(both["strikes"], now["strikes"], strict=True):
        assert row["net_gex"] == cur["net_gex"]
        want = cur["net_gex"] - old[cur["strike"]] if cur["strike"] in old else None
        assert row["net_gex_change"] == (pytest.approx(want) if want is not None else None)
    ch = both["changes"]
    assert ch["seconds"] == 900.0 and ch["since"] == then["as_of"]
    for key in ("net_gex", "call_gex", "put_gex", "abs_gex", "spot", "call_wall", "put_wall"):
        want = None if now[key] is None or then[key] is None else now[key] - then[key]
        assert ch[key] == (pytest.approx(want) if want is not None else None), key
    for key in ("zero_gamma", "max_pain", "abs_gamma_strike", "expected_move"):
        if now[key] is None or then[key] is None:
            assert ch[key] is None
        else:
            assert ch[key] == pytest.approx(now[key] - then[key])
    assert any(r["net_gex_change"] for r in both["strikes"])  # the market moved
    # the CSV carries the same change column
    code, out, _ = run(
        capsys, "snapshot", "--replay", str(recording), "--at", "10:18", "--since", "15m", "--csv"
    )
    assert code == 0
    table = list(csv.DictReader(io.StringIO(out)))
    assert [float(r["net_gex_change"]) for r in table if r["net_gex_change"]] == pytest.approx(
        [r["net_gex_change"] for r in both["strikes"] if r["net_gex_change"] is not None]
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--at", "10:10", "--since", "15m"], "is before the recording starts: the SPY recording"),
        (["--since", "15m"], "--since goes with --replay PATH --at"),
        (["--at", "10:10", "--since", "soon"], "not a duration"),
        (["--at", "10:10", "--levels", "--json"], "--levels prints a table"),
    ],
)
def test_since_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], recording: Path, argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, "snapshot", "--replay", str(recording), *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err, err


def test_since_needs_a_recording(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "snapshot", "--source", "demo", "--since", "5m")
    assert code == 2 and "--since goes with --replay" in err


def test_levels_csv_and_table(capsys: pytest.CaptureFixture[str], recording: Path) -> None:
    code, out, err = run(
        capsys, "snapshot", "--replay", str(recording), "--at", "10:15", "--levels", "--csv"
    )
    assert code == 0, err
    rec = open_recording(recording, "SPY")
    snap = compute_exposure(rec.book_at(rec.to_utc(time(10, 15))))
    want = levels_rows(snap)
    lines = out.splitlines()
    assert len(lines) == len(want)
    for line, (price, label) in zip(lines, want, strict=True):
        p, lab = line.split(",")
        assert lab == label and float(p) == pytest.approx(price, abs=0.005)
    labels = [lab for _, lab in want]
    assert labels[0] == "Zero Gamma" or snap.zero_gamma is None
    assert {"Call Wall 1", "Put Wall 1", "Max Pain", "Spot"} <= set(labels)
    code, out, _ = run(capsys, "snapshot", "--replay", str(recording), "--at", "10:15", "--levels")
    assert code == 0 and "SPY key levels" in out and "Call Wall 1" in out
