"""`gextui record`: every ticker at once, headless, a status line, a clean stop at --until,
on SIGTERM and on Ctrl-C; nothing written outside market hours unless asked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_run import clean_environment, run

from gextui.store.reader import find_recordings, open_recording

START = "2026-11-24 15:58"  # a Tuesday, New York: two minutes before the close


@pytest.fixture(autouse=True)
def _no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_environment(monkeypatch, tmp_path)


def test_records_every_ticker_until_the_market_time(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rec = tmp_path / "rec"
    code, out, err = run(
        capsys, "record", "SPY", "QQQ", "--dir", str(rec), "--source", "simulated",
        "--seed", "2", "--start", START, "--speed", "60", "--until", "16:02",
        "--status-every", "0.5",
    )  # fmt: skip
    assert code == 0, err
    assert out == ""
    lines = [ln for ln in err.splitlines() if ln.startswith("gextui record:")]
    assert lines[0].startswith(f"gextui record: recording SPY, QQQ to {rec} until 16:02 ET")
    assert any("SPY" in ln and "QQQ" in ln and "written" in ln for ln in lines[1:-1])
    assert "stopped (reached 16:02 ET)" in lines[-1] and "0 B written" not in lines[-1]
    assert {r.ticker for r in find_recordings(rec)} == {"SPY", "QQQ"}
    for ticker in ("SPY", "QQQ"):
        recording = open_recording(rec, ticker)
        assert recording.source == "simulated" and recording.events > 0
        # the market closed at 16:00: the quiet minutes after it were not written
        assert recording.describe_range().endswith("15:58:00–16:00:00 New York time")


def test_quiet_hours_are_written_when_asked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rec = tmp_path / "rec"
    code, _, err = run(
        capsys, "record", "SPY", "--dir", str(rec), "--source", "simulated", "--seed", "2",
        "--start", START, "--speed", "60", "--until", "16:02", "--status-every", "5",
        "--quiet-hours",
    )  # fmt: skip
    assert code == 0, err
    assert open_recording(rec, "SPY").describe_range().endswith("–16:02:00 New York time")


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["record"], "the following arguments are required: TICKER"),
        (["record", "SPY", "--duration", "soon"], "not a duration"),
        (["record", "SPY", "--duration", "0s"], "from 1 s to 7 days"),
        (["record", "SPY", "--until", "25:00"], "not a time"),
        (["record", "FOOBAR", "--source", "simulated"], "no simulated chain for FOOBAR"),
    ],
)
def test_bad_input_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], needle: str
) -> None:
    code, out, err = run(capsys, *argv, "--dir", str(tmp_path / "r"))
    assert code == 2 and out == "", err
    lines = [ln for ln in err.splitlines() if ln.strip() and "SIMULATED" not in ln]
    assert len(lines) == 1 and needle in lines[0], err
    assert "Traceback" not in err


def test_a_file_as_dir_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "afile"
    f.write_text("x")
    code, _, err = run(capsys, "record", "SPY", "--dir", str(f))
    assert code == 2 and "is a file, not a directory" in err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    """As systemd stops it: SIGTERM (or Ctrl-C) → exit 0, every minute readable."""
    rec = tmp_path / "rec"
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    for var in ("TT_SECRET", "TT_REFRESH"):
        env.pop(var, None)
    cmd = [
        sys.executable, "-m", "gextui.cli", "record", "SPY", "--dir", str(rec),
        "--source", "simulated", "--seed", "3", "--start", "2026-11-24 10:00",
        "--speed", "60", "--status-every", "0.3",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    assert proc.stderr is not None
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline().decode()
        seen.append(line)
        if line.rstrip().endswith("written") and " 0 B written" not in line:
            break  # something is on disk
    proc.send_signal(sig)
    rest = proc.stderr.read().decode()
    code = proc.wait(timeout=60)
    assert code == 0, "".join(seen) + rest
    assert "stopped (asked to stop)" in rest
    recording = open_recording(rec, "SPY")
    assert recording.events > 0 and not recording.warnings
