"""Run the user's alert command (``--alert-cmd`` / ``[alerts] command``) for one alert.

The command line is split with :func:`shlex.split` and started directly (no shell), with the
alert as one JSON object (:meth:`~gextui.core.alerts.Alert.to_json`) plus a newline on stdin.
Its stdout is discarded (the terminal belongs to the app); the tail of its stderr goes into
the error message. It runs as an asyncio subprocess in its own process group, and is killed
(with the whole group) after ``kill_after`` seconds.

Nothing here raises: a failure (empty or malformed command, program not found, non-zero exit,
timeout) is returned as a one-line message and logged, for the app to show as a notification.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import signal
from collections.abc import Callable
from typing import Final

from gextui.core.alerts import Alert

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT: Final = 10.0
_STDERR_TAIL: Final = 200  # characters of the command's stderr kept in an error message
_running: set[asyncio.Task[str | None]] = set()


def _one_line(text: str, limit: int = _STDERR_TAIL) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    tail = lines[-1] if lines else ""
    return tail if len(tail) <= limit else "…" + tail[-limit:]


def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: the whole group
        else:  # pragma: no cover - not POSIX
            proc.kill()


async def run_alert_command(
    cmd: str, alert: Alert, *, kill_after: float = DEFAULT_TIMEOUT
) -> str | None:
    """Run ``cmd`` with ``alert`` as JSON on stdin; ``None`` on success (exit status 0),
    otherwise a one-line error message (also logged). Never raises (except cancellation)."""
    error = await _run(cmd, alert, kill_after)
    if error is not None:
        log.warning("%s", error)
    return error


async def _run(cmd: str, alert: Alert, kill_after: float) -> str | None:
    try:
        argv = shlex.split(cmd)
    except ValueError as exc:
        return f"alert command {cmd!r} cannot be parsed: {exc}"
    if not argv:
        return "alert command is empty"
    name = argv[0]
    try:
        data = (alert.to_json() + "\n").encode()
    except (TypeError, ValueError) as exc:
        return f"alert command {name}: the alert cannot be written as JSON: {exc}"
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError:
        return f"alert command not found: {name}"
    except PermissionError:
        return f"alert command not executable: {name}"
    except OSError as exc:
        return f"alert command {name} could not start: {exc.strerror or exc}"
    try:
        _, err = await asyncio.wait_for(proc.communicate(data), kill_after)
    except TimeoutError:
        _kill(proc)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(proc.wait(), 5.0)
        return f"alert command {name} timed out after {kill_after:g} s and was stopped"
    except asyncio.CancelledError:
        _kill(proc)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(proc.wait(), 5.0)  # reap it before the loop goes away
        raise
    except OSError as exc:
        _kill(proc)
        return f"alert command {name} failed: {exc.strerror or exc}"
    if proc.returncode != 0:
        code = proc.returncode
        how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited {code}"
        tail = _one_line(err.decode(errors="replace")) if err else ""
        return f"alert command {name} {how}" + (f": {tail}" if tail else "")
    return None


def spawn_alert_command(
    cmd: str,
    alert: Alert,
    *,
    kill_after: float = DEFAULT_TIMEOUT,
    on_error: Callable[[str], None] | None = None,
) -> asyncio.Task[str | None]:
    """Start :func:`run_alert_command` in the background (call from the running event loop)
    and return its task; ``on_error`` receives the error message, if any. The task is kept
    referenced until it ends, so fire-and-forget is safe."""
    task = asyncio.get_running_loop().create_task(
        run_alert_command(cmd, alert, kill_after=kill_after), name=f"alert-cmd {alert.kind}"
    )
    _running.add(task)

    def done(t: asyncio.Task[str | None]) -> None:
        _running.discard(t)
        if on_error is None or t.cancelled():
            return
        exc = t.exception()
        message = f"alert command failed: {exc}" if exc is not None else t.result()
        if message is not None:
            with contextlib.suppress(Exception):
                on_error(message)

    task.add_done_callback(done)
    return task
