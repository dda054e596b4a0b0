"""Running the command line in-process as a user would, for the CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from gextui.cli import main


def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No tastytrade credentials from the developer's environment or .env files; settings
    and data folders of the test's own."""
    for var in ("TT_SECRET", "TT_REFRESH", "TT_SANDBOX", "TT_API_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``gextui ARGV``."""
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
