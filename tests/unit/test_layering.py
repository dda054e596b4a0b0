"""Architecture: the core imports neither Textual nor tastytrade (import-linter + direct check)."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import gextui.core

ROOT = Path(__file__).resolve().parents[2]


def test_import_linter_contracts_hold() -> None:
    exe = Path(sys.executable).parent / "lint-imports"
    assert exe.exists(), f"import-linter not installed in the venv: {exe}"
    proc = subprocess.run(
        [str(exe), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]


def core_modules() -> list[str]:
    return sorted(
        m.name for m in pkgutil.walk_packages(gextui.core.__path__, prefix="gextui.core.")
    )


def test_core_modules_listed() -> None:
    mods = core_modules()
    for name in ("symbols", "events", "chain", "greeks", "expiry", "exposure"):
        assert f"gextui.core.{name}" in mods


def test_importing_the_core_loads_no_ui_or_sdk() -> None:
    code = (
        "import importlib, json, sys\n"
        "OUTSIDE = ('gextui.ui', 'gextui.feeds', 'gextui.store', 'gextui.cli')\n"
        f"for name in {core_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules\n"
        "             if m.split('.')[0] in ('textual', 'tastytrade', 'plotext')\n"
        "             or m.startswith(OUTSIDE))\n"
        "print(json.dumps({'bad': bad, 'core': sorted(m for m in sys.modules\n"
        "                  if m.startswith('gextui.core.'))}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["bad"] == []
    assert set(core_modules()) <= set(out["core"])  # the imports really happened
