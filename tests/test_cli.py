"""The command line as a user runs it: `gextui snapshot ...`, errors, help."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import json
import math
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from cboe_synth import cboe_csv, expected_gex, synth_chain, write
from cli_run import clean_environment, run
from realdata import cboe_file
from snapshot_keys import REQUIRED_KEYS

from gextui.core.exposure import compute_exposure
from gextui.feeds.cboe_file import read_cboe
from gextui.feeds.simulated import SimulatedFeed
from gextui.store.recorder import Recorder

SPX_2024_NAME = "spx_quotedata_2024-01-07.csv"
START = "2026-11-24 10:00"  # a Tuesday, New York time: every simulated run here is pinned


@pytest.fixture(autouse=True)
def _no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_environment(monkeypatch, tmp_path)


@pytest.fixture
def spx_2024() -> Path:
    """The real CBOE SPX chain of 2024-01-07 (published result); skipped when absent."""
    return cboe_file(SPX_2024_NAME)


def test_snapshot_file_json_matches_published_result(
    capsys: pytest.CaptureFixture[str], spx_2024: Path
) -> None:
    code, out, err = run(capsys, "snapshot", "--file", str(spx_2024), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) >= set(REQUIRED_KEYS)
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


def test_snapshot_file_expiry_selection(capsys: pytest.CaptureFixture[str], spx_2024: Path) -> None:
    code, out, _ = run(capsys, "snapshot", "--file", str(spx_2024), "--json", "--expiry", "next")
    assert code == 0
    doc = json.loads(out)
    assert doc["expiry"] == "next"
    assert doc["expirations"] == ["2024-01-08"]
    book = read_cboe(spx_2024)
    assert doc["net_gex"] == pytest.approx(compute_exposure(book, "next").net_gex, rel=1e-12)


def test_snapshot_file_csv(capsys: pytest.CaptureFixture[str], spx_2024: Path) -> None:
    code, out, _ = run(capsys, "snapshot", "--file", str(spx_2024), "--csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {"strike", "call_gex", "put_gex", "net_gex", "call_oi", "put_oi"} <= set(rows[0])
    total = sum(float(r["net_gex"]) for r in rows)
    assert total == pytest.approx(-11.0e9, rel=0.005)


def test_snapshot_file_text(capsys: pytest.CaptureFixture[str], spx_2024: Path) -> None:
    code, out, _ = run(capsys, "snapshot", "--file", str(spx_2024))
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


def demo_snapshot(capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, object]:
    code, out, err = run(capsys, "snapshot", "SPY", "--source", "demo", "--json", *extra)
    assert code == 0, err
    doc: dict[str, object] = json.loads(out)
    return doc


def test_snapshot_demo_is_labelled_simulated(capsys: pytest.CaptureFixture[str]) -> None:
    doc = demo_snapshot(capsys, "--seed", "4", "--start", START)
    assert doc["source"] == "simulated"
    assert doc["ticker"] == "SPY"
    cov = doc["coverage"]
    assert isinstance(cov, dict) and cov["with_both"] >= 0.95 * cov["contracts"]
    assert doc["call_wall"] is not None and doc["put_wall"] is not None
    assert isinstance(doc["spot"], float) and doc["spot"] > 0


def test_seed_and_start_are_bit_reproducible(capsys: pytest.CaptureFixture[str]) -> None:
    """Same --seed and --start: the same snapshot to the last bit, whatever the hour the test
    runs at; another start gives another market time."""
    first = demo_snapshot(capsys, "--seed", "4", "--start", START)
    again = demo_snapshot(capsys, "--seed", "4", "--start", START)
    assert again == first
    as_of = datetime.fromisoformat(str(first["as_of"])).astimezone(ZoneInfo("America/New_York"))
    assert as_of.date().isoformat() == "2026-11-24"
    assert 10 <= as_of.hour < 11
    later = demo_snapshot(capsys, "--seed", "4", "--start", "2026-11-24 14:30")
    assert datetime.fromisoformat(str(later["as_of"])) > datetime.fromisoformat(str(first["as_of"]))
    assert later["net_gex"] != first["net_gex"]  # 0DTE gamma at 14:30 is not 10:00's


def test_expiry_matching_nothing_warns(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "snapshot", "SPY", "--source", "demo", "--start", START, "--seed", "1",
        "--json", "--expiry", "2020-01-01",
    )  # fmt: skip
    assert code == 0
    doc = json.loads(out)
    assert doc["expirations"] == [] and doc["net_gex"] == 0.0
    (note,) = [w for w in doc["warnings"] if "matches no live expiration" in w]
    assert "expiry 2020-01-01" in note and "Nearest: 2026-11-24" in note
    assert note in err
    # the text report says it too
    code, out, _ = run(
        capsys, "snapshot", "SPY", "--source", "demo", "--start", START, "--expiry", "2020-01-01"
    )
    assert code == 0 and "matches no live expiration" in out


def test_auto_without_credentials_says_simulated(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "snapshot", "QQQ", "--json", "--start", START)
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


# --------------------------------------------------------------------------- bad input
def one_line_error(code: int, out: str, err: str) -> str:
    """exit 2, nothing on stdout, one line on stderr (no usage block, no traceback)."""
    assert code == 2, err
    assert out == ""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "error:" in lines[0] and "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["SPX", "--speed", "nan"], "--speed: expected a number from 0.1 to 3600, not 'nan'"),
        (["SPX", "--speed", "inf"], "not 'inf'"),
        (["SPX", "--speed", "1e9"], "not '1e9'"),
        (["SPX", "--speed", "0"], "not '0'"),
        (["snapshot", "SPX", "--speed", "nan"], "not 'nan'"),
        (["snapshot", "SPX", "--speed", "1e9"], "not '1e9'"),
        (["snapshot", "SPX", "--wait", "inf"], "--wait"),
        (["replay", "somewhere", "--speed", "1000"], "from 0.25 to 300, not '1000'"),
        (["replay", "somewhere", "--speed", "0.1"], "from 0.25 to 300"),
        (["SPX", "--theme", "neon"], "choose from 'default', 'colorblind'"),
        (["SPX", "--redraw", "0"], "--redraw: expected a number from 1 to 30"),
        (["SPX", "--redraw", "nan"], "--redraw"),
        (["SPX", "--start", "2026-13-01 10:00"], "--start: not a start time"),
        (["SPX", "--start", "10:00"], "'YYYY-MM-DD HH:MM'"),
        (["SPX", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_options_are_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    line = one_line_error(*run(capsys, *argv))
    assert needle in line
    assert "--help" in line


def test_record_dir_must_be_writable(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Checked before the monitor (and before the no-terminal check)."""
    a_file = tmp_path / "plain.txt"
    a_file.write_text("x")
    line = one_line_error(*run(capsys, "SPX", "--record", str(a_file)))
    assert "is a file, not a directory" in line and str(a_file) in line
    line = one_line_error(*run(capsys, "SPX", "--record", "/proc/forbidden/rec"))
    assert "--record /proc/forbidden/rec: cannot write there" in line
    # a good directory is created and the next complaint is about the terminal
    good = tmp_path / "new" / "rec"
    line = one_line_error(*run(capsys, "SPX", "--record", str(good)))
    assert "needs a terminal" in line and good.is_dir()


def test_start_only_drives_the_simulated_market(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TT_SECRET", "s3cr3t-value")
    monkeypatch.setenv("TT_REFRESH", "r3fr3sh-value")
    line = one_line_error(*run(capsys, "snapshot", "SPX", "--start", START, "--source", "auto"))
    assert "--start and --speed drive the simulated market" in line
    assert "s3cr3t" not in line and "r3fr3sh" not in line


def _record_spy(root: Path) -> None:
    """A short simulated SPY recording, 10:00–10:00:40 New York time on 2026-11-24."""

    async def go() -> None:
        ny = ZoneInfo("America/New_York")
        feed = SimulatedFeed(seed=2, paced=False, start=datetime(2026, 11, 24, 10, 0, tzinfo=ny))
        session = await feed.open("SPY")
        rec = Recorder(root, "SPY", session.chain, "simulated", background=False)
        n = 0
        async for batch in session.events():
            rec.write(batch)
            n += 1
            if n >= 400:
                break
        rec.close()
        await feed.aclose()

    asyncio.run(go())


@pytest.fixture(scope="module")
def spy_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("rec")
    _record_spy(root)
    return root


def test_replay_bad_recordings_are_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, spy_recording: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    line = one_line_error(*run(capsys, "replay", str(empty)))
    assert f"no recording under {empty}" in line
    line = one_line_error(*run(capsys, "replay", str(spy_recording), "--ticker", "QQQ"))
    assert "QQQ not in the recording" in line and "(it has SPY)" in line
    line = one_line_error(*run(capsys, "replay", str(spy_recording), "--start", "09:00"))
    assert "--start 2026-11-24 09:00:00 is before the recording starts" in line
    assert "the SPY recording of 2026-11-24 covers 10:00:00–10:00:39 New York time" in line
    # a good start inside the range gets as far as the terminal check
    line = one_line_error(*run(capsys, "replay", str(spy_recording), "--start", "10:00:20"))
    assert "needs a terminal" in line


@pytest.mark.parametrize(
    ("at", "side"),
    [("09:59:59", "before the recording starts"), ("10:05", "after the recording ends")],
)
def test_snapshot_at_outside_the_recording(
    capsys: pytest.CaptureFixture[str], spy_recording: Path, at: str, side: str
) -> None:
    line = one_line_error(
        *run(capsys, "snapshot", "--replay", str(spy_recording), "--at", at, "--json")
    )
    assert side in line and "covers 10:00:00–10:00:39 New York time" in line


def test_snapshot_at_takes_a_date_too(
    capsys: pytest.CaptureFixture[str], spy_recording: Path
) -> None:
    a = run(capsys, "snapshot", "--replay", str(spy_recording), "--at", "10:00:30", "--json")
    b = run(
        capsys, "snapshot", "--replay", str(spy_recording), "--at", "2026-11-24 10:00:30", "--json"
    )
    assert a[0] == b[0] == 0
    assert json.loads(a[1]) == json.loads(b[1])
    assert json.loads(a[1])["as_of"].startswith("2026-11-24T15:00:3")


@pytest.mark.parametrize(
    ("keys", "needle"),
    [
        ('"view.nonsense" = "x"', "keys.view.nonsense: no such binding id"),
        ('"view.profile" = "q"', "keys.view.profile: key 'q' is already bound to app.quit"),
        ('"view.history" = "+"', "key 'plus' is already bound to range.widen"),
        ('"view.alerts" = " , "', "keys.view.alerts: expected keys like"),
    ],
)
def test_keys_in_settings_are_checked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, keys: str, needle: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"[keys]\n{keys}\n")
    line = one_line_error(*run(capsys, "SPX", "--config", str(config)))
    assert needle in line and str(config) in line


def test_keys_remapped_cleanly_are_accepted(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[keys]\n"app.quit" = "ctrl+q"\n"view.profile" = "q"\n')
    line = one_line_error(*run(capsys, "SPX", "--config", str(config)))
    assert "needs a terminal" in line


def test_help_shows_allowed_values(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "{default,colorblind}" in out and "1 to 30" in out and "0.1 to 3600" in out
    assert "--start" in out and "New York time" in out
    code, out, _ = run(capsys, "replay", "--help")
    assert code == 0 and "0.25 to 300" in out and "--config" in out
    code, out, _ = run(capsys, "snapshot", "--help")
    assert code == 0 and "--speed" in out and "--start" in out


def test_monitor_on_files_checks_them_first(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("hello,world\n1,2\n")
    line = one_line_error(*run(capsys, "--file", str(bad)))
    assert "bad.csv" in line
    line = one_line_error(*run(capsys, "--file", str(tmp_path / "missing.csv")))
    assert "file not found" in line
    line = one_line_error(*run(capsys, "SPX", "--file", str(bad)))
    assert "give tickers or --file, not both" in line
    line = one_line_error(*run(capsys, "--file", str(bad), "--source", "simulated"))
    assert "--source cannot be used with --file" in line


def test_text_report_times_are_new_york(
    capsys: pytest.CaptureFixture[str], spy_recording: Path
) -> None:
    code, out, _ = run(capsys, "snapshot", "--replay", str(spy_recording), "--at", "10:00:30")
    assert code == 0
    (line,) = [ln for ln in out.splitlines() if ln.startswith("as of")]
    assert line.split(None, 2)[2].startswith("2026-11-24 10:00:3")
    assert line.endswith("EST (New York)") and "+00:00" not in line


def test_only_tt_secret_names_tt_refresh(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TT_SECRET", "only-the-s3cret")
    line = one_line_error(*run(capsys, "snapshot", "SPX", "--source", "tastytrade"))
    assert "TT_REFRESH is missing: TT_SECRET is set" in line
    assert "only-the-s3cret" not in line
    code, out, err = run(capsys, "snapshot", "SPY", "--json", "--start", START)  # auto
    assert code == 0 and json.loads(out)["source"] == "simulated"
    assert "TT_REFRESH is missing" in err and "SIMULATED" in err


def test_snapshot_file_leaves_out_values_beyond_the_bounds_and_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A finite but absurd open interest (1e300) and an IV above 10 (real CBOE files have
    1146 %): not refused (the rest of the file is good) but left out, said in the JSON's
    warnings and coverage, and in the text report; the figures are those without them."""
    synth = synth_chain()
    live = synth.live()["occ"].to_list()
    huge_oi, high_iv = live[3], live[11]
    o = synth.options
    bad = o.with_columns(
        pl.when(pl.col("occ") == huge_oi).then(1e300).otherwise(pl.col("oi")).alias("oi"),
        pl.when(pl.col("occ") == high_iv).then(12.0).otherwise(pl.col("iv")).alias("iv"),
    )
    path = write(tmp_path, cboe_csv(synth, rows=bad))
    code, out, err = run(capsys, "snapshot", "--file", str(path), "--json")
    assert code == 0, err
    doc = json.loads(out)
    note = (
        "2 values rejected as not sane and left out "
        "(iv 1 outside (0.0001, 10), open_interest 1 outside [0, 1e+09))"
    )
    assert doc["warnings"] == [note]
    assert doc["coverage"]["rejected_values"] == 2
    assert doc["coverage"]["with_oi"] == doc["coverage"]["contracts"] - 1
    # the contract with the absurd OI counts as without OI: the GEX of the others
    without = dataclasses.replace(synth, options=o.filter(pl.col("occ") != huge_oi))
    calls, puts = expected_gex(without)
    assert doc["call_gex"] == pytest.approx(calls, rel=1e-9)
    assert doc["put_gex"] == pytest.approx(puts, rel=1e-9)
    code, out, _ = run(capsys, "snapshot", "--file", str(path))
    assert code == 0 and f"warning: {note}" in out
