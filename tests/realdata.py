"""Where the real, third-party CBOE chains are, and what a test does when they are not there.

The real chains (``../shared/data/cboe`` and ``../shared/holdout`` beside the checkout) are
downloads from third parties: they are read from where they lie and never copied into the
repository. ``GEXTUI_SHARED`` names another folder holding ``data/cboe`` and ``holdout``.

A fresh clone has no such folder: a test that needs one is skipped with a one-line reason. With
``GEXTUI_REQUIRE_REAL_DATA=1`` (set by ``.ci/run``, which has them) their absence is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    named = os.environ.get("GEXTUI_SHARED")
    return Path(named) if named else REPO.parent / "shared"


def _require(path: Path, what: str) -> Path:
    if path.exists():
        return path
    reason = f"real data: {what} not found at {path} (set GEXTUI_SHARED, or place ../shared)"
    if os.environ.get("GEXTUI_REQUIRE_REAL_DATA") == "1":
        pytest.fail(reason + "; GEXTUI_REQUIRE_REAL_DATA=1 makes this a failure")
    pytest.skip(reason)


def cboe_dir() -> Path:
    """``shared/data/cboe``, or skip (fail under GEXTUI_REQUIRE_REAL_DATA=1)."""
    return _require(shared_dir() / "data" / "cboe", "the CBOE chains (shared/data/cboe)")


def cboe_file(name: str) -> Path:
    """One file of ``shared/data/cboe``, or skip / fail as above."""
    return _require(cboe_dir() / name, f"shared/data/cboe/{name}")


def holdout_dir() -> Path:
    """``shared/holdout``, or skip / fail as above."""
    return _require(shared_dir() / "holdout", "the holdout chains (shared/holdout)")


def holdout_file(name: str) -> Path:
    return _require(holdout_dir() / name, f"shared/holdout/{name}")
