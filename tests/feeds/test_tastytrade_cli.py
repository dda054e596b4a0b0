"""`gextui snapshot SPX --source tastytrade --json` as a user runs it: the installed console
script in a subprocess, credentials and TT_API_URL from the environment, the real SDK talking
to the fake tastytrade REST + DXLink servers on 127.0.0.1 (in a thread of this process)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TT_REFRESH, TT_SECRET, spx_items
from fake_tastytrade import FakeTastytrade

GEXTUI = shutil.which("gextui", path=str(Path(sys.executable).parent)) or "gextui"


@pytest.fixture
def fake_in_thread() -> Iterator[FakeTastytrade]:
    loop = asyncio.new_event_loop()
    fake = FakeTastytrade()
    fake.add_chain("SPX", spx_items())
    fake.market.trade["SPX"] = {"price": 6012.25, "day_volume": 1_000.0, "change": 12.5}
    fake.market.summary["SPX"] = {"open_interest": 0, "prev_day_close_price": 5999.75}
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(timeout=10)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)


def run_gextui(
    tmp_path: Path, env_extra: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TT_")}
    env |= {"XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_DATA_HOME": str(tmp_path / "data")}
    env |= env_extra
    return subprocess.run(
        [GEXTUI, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )


def test_snapshot_from_tastytrade(fake_in_thread: FakeTastytrade, tmp_path: Path) -> None:
    env = {"TT_SECRET": TT_SECRET, "TT_REFRESH": TT_REFRESH, "TT_API_URL": fake_in_thread.rest_url}
    proc = run_gextui(
        tmp_path, env, "snapshot", "SPX", "--source", "tastytrade", "--json", "--wait", "30"
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["source"] == "tastytrade"
    assert doc["spot"] == 6012.25
    assert doc["coverage"]["with_both"] >= 0.95 * doc["coverage"]["contracts"] > 0
    assert doc["call_wall"] is not None and doc["put_wall"] is not None
    assert TT_SECRET not in proc.stdout + proc.stderr
    assert TT_REFRESH not in proc.stdout + proc.stderr


def test_rejected_credentials_one_line_no_secret(
    fake_in_thread: FakeTastytrade, tmp_path: Path
) -> None:
    fake_in_thread.reject_token = True
    env = {"TT_SECRET": TT_SECRET, "TT_REFRESH": TT_REFRESH, "TT_API_URL": fake_in_thread.rest_url}
    proc = run_gextui(tmp_path, env, "snapshot", "SPX", "--source", "tastytrade", "--json")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "rejected the credentials" in proc.stderr and "Traceback" not in proc.stderr
    assert TT_SECRET not in proc.stderr and TT_REFRESH not in proc.stderr


def test_credentials_from_dotenv_in_cwd(fake_in_thread: FakeTastytrade, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        f"TT_SECRET={TT_SECRET}\nTT_REFRESH={TT_REFRESH}\nTT_API_URL={fake_in_thread.rest_url}\n"
    )
    proc = run_gextui(tmp_path, {}, "snapshot", "SPX", "--json", "--wait", "30")  # --source auto
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["source"] == "tastytrade"
