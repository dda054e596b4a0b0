"""The previous session's closing levels, from a recording of it.

``previous_close(root, "SPX", date(2026, 11, 24), "all")`` finds the latest recorded day of SPX
before 2026-11-24 under ``root`` (the hive layout ``ticker=SPX/date=YYYY-MM-DD``), brings a
book to its last recorded moment (the last state checkpoint plus what follows it: cheap even
for a 16 GB day) and computes its exposure with the same core as the live app. None when there
is no earlier day, or it cannot be read (the monitor then shows nothing for it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from gextui.core.exposure import ExposureSnapshot, compute_exposure
from gextui.store.reader import open_recording
from gextui.store.schema import RecordingError


@dataclass(frozen=True, slots=True)
class PreviousClose:
    day: date
    snapshot: ExposureSnapshot


def previous_day(root: Path, ticker: str, before: date) -> date | None:
    """The latest recorded day of ``ticker`` before ``before`` (None: none)."""
    days: list[date] = []
    for part in (root / f"ticker={ticker.upper()}").glob("date=*"):
        try:
            day = date.fromisoformat(part.name.removeprefix("date="))
        except ValueError:
            continue
        if day < before and part.is_dir():
            days.append(day)
    return max(days) if days else None


def previous_close(root: Path, ticker: str, before: date, expiry: str) -> PreviousClose | None:
    """The closing levels of ``ticker``'s latest recorded day before ``before`` at the expiry
    selection ``expiry`` (see the module docstring)."""
    day = previous_day(root, ticker, before)
    if day is None:
        return None
    try:
        rec = open_recording(root, ticker, day)
        end = rec.end_time
        if end is None:
            return None
        book = rec.book_at(end)
    except (RecordingError, OSError, ValueError):
        return None
    return PreviousClose(day, compute_exposure(book, expiry))
