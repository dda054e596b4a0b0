"""``book_at``: a recording's ChainBook as it was at a moment (``gextui snapshot --replay``)."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

from gextui.core.chain import ChainBook
from gextui.store.reader import open_recording


def book_at(
    path: str | Path, ticker: str | None, at: datetime | time, *, day: date | str | None = None
) -> ChainBook:
    """The book exactly as it was after applying every recorded batch with time ≤ ``at``.

    ``path`` is a recording partition or a root holding it (``ticker``/``day`` choose; see
    :func:`~gextui.store.reader.open_recording`). A bare ``time`` (``HH:MM:SS``) is
    America/New_York on the recording's date; a datetime is taken as is (naive = UTC).
    Raises :class:`~gextui.store.schema.RecordingError` (one line, names the path). Damaged
    segments are skipped; open the recording with ``open_recording`` to see the warnings.
    """
    return open_recording(path, ticker, day).book_at(at)
