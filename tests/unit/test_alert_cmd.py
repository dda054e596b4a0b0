"""--alert-cmd: the alert as JSON on stdin; failures become one-line messages."""

from __future__ import annotations

import asyncio
import json
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gextui.alert_cmd import run_alert_command, spawn_alert_command
from gextui.core.alerts import Alert, AlertKind

ALERT = Alert(
    AlertKind.NEAR_CALL_WALL,
    "SPX",
    datetime(2026, 1, 5, 15, 0, 5, tzinfo=UTC),
    "SPX: spot 6,090.00 within 0.16 % of the call wall 6,100.00 — ünïcode",
    6090.0,
    6100.0,
    {"wall": "call", "distance_pct": 0.164},
)


def py(code: str, *args: str) -> str:
    """A command line running ``code`` with this interpreter."""
    return shlex.join([sys.executable, "-c", code, *args])


def one_line(message: str | None) -> str:
    assert message is not None
    assert "\n" not in message and message.strip() == message
    return message


async def test_the_command_receives_the_alert_as_json_on_stdin(tmp_path: Path) -> None:
    out = tmp_path / "alert.json"
    cmd = py(
        "import sys, pathlib; pathlib.Path(sys.argv[1]).write_bytes(sys.stdin.buffer.read())",
        str(out),
    )
    assert await run_alert_command(cmd, ALERT) is None
    raw = out.read_bytes()
    assert raw.endswith(b"\n") and raw.count(b"\n") == 1
    data = json.loads(raw.decode("utf-8"))
    assert data == json.loads(ALERT.to_json())
    assert data["kind"] == "near_call_wall" and data["ticker"] == "SPX"
    assert data["time"] == "2026-01-05T15:00:05+00:00"
    assert data["details"] == {"wall": "call", "distance_pct": 0.164}


async def test_arguments_are_split_without_a_shell(tmp_path: Path) -> None:
    out = tmp_path / "args.json"
    cmd = py(
        "import sys, json, pathlib; pathlib.Path(sys.argv[1]).write_text(json.dumps(sys.argv[2:]))",
        str(out),
        "two words",
        "$HOME",
        ";",
        "echo",
    )
    assert await run_alert_command(cmd, ALERT) is None
    assert json.loads(out.read_text()) == ["two words", "$HOME", ";", "echo"]


async def test_a_command_that_ignores_stdin_is_fine() -> None:
    assert await run_alert_command(py("pass"), ALERT) is None


async def test_failing_command_gives_a_message_with_its_stderr() -> None:
    cmd = py("import sys; sys.stderr.write('first\\nno route to pager\\n'); sys.exit(3)")
    msg = one_line(await run_alert_command(cmd, ALERT))
    assert "exited 3" in msg and "no route to pager" in msg and "first" not in msg


async def test_missing_program_gives_a_message() -> None:
    msg = one_line(await run_alert_command("/nonexistent/gextui-notify --flag", ALERT))
    assert msg == "alert command not found: /nonexistent/gextui-notify"


async def test_not_executable_gives_a_message(tmp_path: Path) -> None:
    script = tmp_path / "notify.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o644)
    msg = one_line(await run_alert_command(str(script), ALERT))
    assert "not executable" in msg


@pytest.mark.parametrize(
    ("cmd", "text"), [("", "empty"), ("   ", "empty"), ("notify 'oops", "cannot be parsed")]
)
async def test_empty_or_malformed_command(cmd: str, text: str) -> None:
    assert text in one_line(await run_alert_command(cmd, ALERT))


async def test_timeout_stops_the_command_and_gives_a_message(tmp_path: Path) -> None:
    marker = tmp_path / "still-running"
    grandchild = tmp_path / "grandchild.py"
    grandchild.write_text(
        f"import time, pathlib\ntime.sleep(1)\npathlib.Path({str(marker)!r}).touch()\n"
    )
    # the command starts a grandchild in its process group: it must be stopped too
    code = (
        "import subprocess, sys, time; "
        "subprocess.Popen([sys.executable, sys.argv[1]]); time.sleep(60)"
    )
    started = time.monotonic()
    msg = one_line(await run_alert_command(py(code, str(grandchild)), ALERT, kill_after=0.5))
    assert time.monotonic() - started < 10
    assert msg == f"alert command {sys.executable} timed out after 0.5 s and was stopped"
    await asyncio.sleep(1.5)
    assert not marker.exists()


async def test_killed_by_a_signal() -> None:
    msg = one_line(
        await run_alert_command(
            py("import os, signal; os.kill(os.getpid(), signal.SIGTERM)"), ALERT
        )
    )
    assert "killed by signal 15" in msg


async def test_spawn_reports_errors_through_the_callback(tmp_path: Path) -> None:
    errors: list[str] = []
    ok = spawn_alert_command(py("import sys; sys.stdin.read()"), ALERT, on_error=errors.append)
    bad = spawn_alert_command(py("raise SystemExit(2)"), ALERT, on_error=errors.append)
    assert await ok is None
    assert (await bad or "").startswith("alert command")
    await asyncio.sleep(0)  # done callbacks run on the next loop turn
    assert len(errors) == 1 and "exited 2" in errors[0]


async def test_cancelling_stops_the_command() -> None:
    task = spawn_alert_command(py("import time; time.sleep(60)"), ALERT)
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
