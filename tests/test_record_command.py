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


# ---------------------------------------------------------------- market hours (no wall clock)
def test_idles_outside_the_session_and_rolls_the_date(tmp_path: Path) -> None:
    """A feed that sends events around the clock (like pre-market quotes): only the regular
    session is written, the close flushes the day's last minute before the next batch comes,
    and the next session lands in its own date= folder. Times are the events' own."""
    import asyncio
    import io
    from collections.abc import AsyncIterator, Sequence
    from datetime import UTC, date, datetime, timedelta

    import polars as pl

    from gextui.core.chain import make_instruments
    from gextui.core.events import EventBatch
    from gextui.feeds.base import ChainInfo, FeedState, FeedStatus, Source
    from gextui.feeds.recording import RecordingFeed
    from gextui.record_service import RecordService, in_regular_session

    sym = ".SPXW261127C6500"
    inst = make_instruments(
        pl.DataFrame(
            {"symbol": [sym], "root": ["SPXW"], "expiration": [date(2026, 11, 27)],
             "type": ["C"], "strike": [6500.0]}
        )
    )  # fmt: skip

    def batch(t: datetime, i: int) -> EventBatch:
        return EventBatch(
            time=t,
            greeks=pl.DataFrame({"symbol": [sym], "gamma": [0.001 + i * 1e-6], "iv": [0.2]}),
            quotes=pl.DataFrame({"symbol": ["SPX"], "bid": [6500.0 + i], "ask": [6501.0 + i]}),
        )

    tue_close = datetime(2026, 11, 24, 20, 58, 30, tzinfo=UTC)  # 15:58:30 New York
    wed_open = datetime(2026, 11, 25, 14, 28, 30, tzinfo=UTC)  # 09:28:30 New York, Wednesday
    times = [tue_close + timedelta(seconds=30 * k) for k in range(8)]  # to 16:02:00
    times += [wed_open + timedelta(seconds=30 * k) for k in range(8)]  # to 09:32:00
    seen_at_close: list[list[str]] = []
    statuses: list[str] = []

    class Session:
        chain = ChainInfo("SPX", "SPX", Source.TASTYTRADE, inst)
        status = FeedStatus(FeedState.LIVE)

        async def events(self) -> AsyncIterator[EventBatch]:
            for i, t in enumerate(times):
                if t == wed_open:  # the night: the 15:59 minute must be on disk already
                    rec = feed.recorders["SPX"]
                    await asyncio.to_thread(rec.join, 10)
                    seen_at_close.append([p.name for p in rec.segments_written])
                    statuses.append(service.status_line())
                yield batch(t, i)
                await asyncio.sleep(0)

        async def set_expirations(self, expirations: Sequence[date] | None) -> None:
            return None

        async def aclose(self) -> None:
            return None

    class Feed:
        source = Source.TASTYTRADE

        async def open(self, ticker: str) -> Session:
            return Session()

        async def aclose(self) -> None:
            return None

    feed = RecordingFeed(Feed(), tmp_path, skip_empty=True, in_session=in_regular_session)  # type: ignore[arg-type]
    service = RecordService(feed, ["SPX"], out=io.StringIO(), status_every=3600)
    assert asyncio.run(service.run()) == 0
    minutes = ["205800", "205900", "210000"]  # 15:58, 15:59 and the closing batch at 16:00:00
    assert seen_at_close == [[f"events-20261124T{m}Z.parquet" for m in minutes]]
    assert "idle (outside the session)" in statuses[0]
    days = {r.day: r for r in find_recordings(tmp_path)}
    assert sorted(days) == ["2026-11-24", "2026-11-25"]
    tue, wed = (
        open_recording(tmp_path, "SPX", "2026-11-24"),
        open_recording(tmp_path, "SPX", "2026-11-25"),
    )
    assert tue.describe_range().endswith("15:58:30–16:00:00 New York time")
    assert wed.describe_range().endswith("09:30:00–09:32:00 New York time")
    assert tue.events == 4 * 2 and wed.events == 5 * 2  # two events a batch, in session only
