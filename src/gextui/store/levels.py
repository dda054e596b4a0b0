"""Levels over time from recordings (``gextui levels DIR``).

For every recorded ticker-day and every sample time on an ``every``-second grid (aligned to
New York midnight: 09:30, 09:35, … for 5 minutes) inside the recording, the book is rebuilt
as ``gextui snapshot --replay DIR --at T`` has it (:meth:`Recording.book_at`: the nearest
state checkpoint, then the events after it) and the same core computes the figures
(:func:`~gextui.core.exposure.compute_exposure` with the same expiry selection). A task's
first sample starts from its checkpoint; each next one applies only the batches since the
previous sample to the same book (:func:`books_forward`), never re-reading the day. Each row
equals the snapshot at that time, number for number (tests/test_levels_command.py,
tests/feeds/test_levels_tastytrade.py).

Work is cut into tasks of consecutive samples of one day (a day is several tasks when there
are fewer days than processes) and run on a process pool of at most ``os.cpu_count()``
workers; results come back in (ticker, time) order.

Columns (:data:`COLUMNS`): ``ticker, time`` (New York), ``spot, net_gex`` (dollars per 1 %
move), ``zero_gamma, call_wall, put_wall, max_pain`` (prices; null when undefined),
``regime`` (``positive``/``negative``/``n/a``, the sign of net GEX) and ``coverage`` (the
fraction of the selected live contracts with greeks and open interest).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import sys
import time as _time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Final, TextIO

import polars as pl

from gextui.core.chain import ChainBook
from gextui.core.expiry import NEW_YORK
from gextui.core.exposure import ExposureSnapshot, compute_exposure
from gextui.store.reader import PartitionRef, Recording, RecordingTickerError, find_recordings
from gextui.store.schema import RecordingError, frame_to_batches

__all__ = [
    "COLUMNS",
    "LevelTask",
    "Progress",
    "books_forward",
    "level_row",
    "level_series",
    "plan_tasks",
    "sample_times",
    "to_table",
]

COLUMNS: Final[dict[str, pl.DataType]] = {
    "ticker": pl.String(),
    "time": pl.Datetime("us", "America/New_York"),
    "spot": pl.Float64(),
    "net_gex": pl.Float64(),
    "zero_gamma": pl.Float64(),
    "call_wall": pl.Float64(),
    "put_wall": pl.Float64(),
    "max_pain": pl.Float64(),
    "regime": pl.String(),
    "coverage": pl.Float64(),
}


@dataclass(frozen=True, slots=True)
class LevelTask:
    """Consecutive sample times of one recorded ticker-day."""

    path: Path
    ticker: str
    day: str
    times: tuple[datetime, ...]
    expiry: str


def _num(value: float | None) -> float | None:
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def level_row(snap: ExposureSnapshot, ticker: str, at: datetime) -> dict[str, object]:
    """One row of the series from a snapshot (the snapshot JSON's numbers, same rounding)."""
    cov = snap.coverage
    return {
        "ticker": ticker,
        "time": at.astimezone(NEW_YORK),
        "spot": _num(snap.spot),
        "net_gex": _num(snap.net_gex),
        "zero_gamma": _num(snap.zero_gamma),
        "call_wall": _num(snap.call_wall),
        "put_wall": _num(snap.put_wall),
        "max_pain": _num(snap.max_pain),
        "regime": snap.gamma_regime,
        "coverage": cov.with_both / cov.contracts if cov.contracts else 0.0,
    }


def sample_times(first: datetime, last: datetime, every: float) -> list[datetime]:
    """Grid times t (multiples of ``every`` seconds since New York midnight) with
    ``first ≤ t ≤ last``, as UTC datetimes."""
    step = timedelta(seconds=every)
    local = first.astimezone(NEW_YORK)
    midnight = datetime.combine(local.date(), datetime.min.time(), tzinfo=NEW_YORK)
    n = math.ceil((local - midnight) / step)
    out: list[datetime] = []
    t = midnight + n * step
    while t <= last:
        out.append(t.astimezone(UTC))
        t += step
    return out


def _select(
    root: Path, ticker: str | None, first: date | None, last: date | None
) -> list[PartitionRef]:
    refs = find_recordings(root)
    if not refs:
        raise RecordingError(f"no recording under {root}: no events-*.parquet / chain.parquet")
    if ticker is not None:
        tickers = sorted({r.ticker for r in refs})
        refs = [r for r in refs if r.ticker == ticker.upper()]
        if not refs:
            raise RecordingTickerError(
                f"no {ticker.upper()} in the recordings at {root} (they have {', '.join(tickers)})",
                tickers,
            )
    days = sorted({r.day for r in refs})
    picked = [
        r
        for r in refs
        if (first is None or r.day >= first.isoformat())
        and (last is None or r.day <= last.isoformat())
    ]
    if not picked:
        span = f"{days[0]} to {days[-1]}" if len(days) > 1 else days[0]
        raise RecordingError(f"no recording between the dates given at {root} (it has {span})")
    return picked


def plan_tasks(
    root: str | Path,
    *,
    ticker: str | None = None,
    first: date | None = None,
    last: date | None = None,
    every: float = 300.0,
    expiry: str = "all",
    workers: int = 1,
) -> list[LevelTask]:
    """The sample times of every selected ticker-day, cut into tasks (see module doc)."""
    refs = _select(Path(root).expanduser(), ticker, first, last)
    per_day: list[tuple[PartitionRef, list[datetime]]] = []
    for ref in refs:
        rec = Recording(ref.path)
        if rec.start_time is None or rec.end_time is None:
            continue
        times = sample_times(rec.start_time, rec.end_time, every)
        if times:
            per_day.append((ref, times))
    total = sum(len(t) for _, t in per_day)
    if not total:
        raise RecordingError(
            f"the recordings at {root} hold no sample time on the {every:g} s grid"
        )
    # enough tasks to keep every worker busy, few enough that each reuses its recording
    size = max(4, math.ceil(total / max(1, workers)))
    tasks: list[LevelTask] = []
    for ref, times in per_day:
        for i in range(0, len(times), size):
            chunk = tuple(times[i : i + size])
            tasks.append(LevelTask(ref.path, ref.ticker, ref.day, chunk, expiry))
    return tasks


def books_forward(rec: Recording, times: Sequence[datetime]) -> Iterator[ChainBook]:
    """The book at each of the increasing ``times``, as :meth:`Recording.book_at` gives it:
    the first from the nearest checkpoint (``book_at``), each next one by applying to the
    same book only the recorded batches between the two times, in write order — what the
    live book did, which ``book_at`` reproduces exactly. Across a gap, or should time go
    back, it starts over from ``book_at`` (which knows the bridges). The book is reused:
    read it before the next step."""
    book: ChainBook | None = None
    prev: datetime | None = None
    for t in times:
        crosses_gap = prev is not None and any(g.after < t and prev < g.before for g in rec.gaps)
        if book is None or prev is None or crosses_gap or t < prev:
            book = rec.book_at(t)
        else:
            for seg in rec.segments:
                if seg.last_time <= prev or seg.first_time > t:
                    continue
                # the rows state_at reads (private to the store: one package)
                after = prev if seg.first_time <= prev else None  # whole minutes: no filter
                frame = rec._read(seg, None, after, t if seg.last_time > t else None)
                if frame is not None:
                    for batch in frame_to_batches(frame):
                        book.apply(batch)
        prev = t
        yield book


def run_task(task: LevelTask) -> list[dict[str, object]]:
    """The rows of one task (runs in a worker process), from :func:`books_forward`."""
    rec = Recording(task.path)
    rows = []
    for at, book in zip(task.times, books_forward(rec, task.times), strict=True):
        book.source = rec.source or "replay"
        rows.append(level_row(compute_exposure(book, task.expiry), task.ticker, at))
    return rows


class Progress:
    """A progress bar on ``out`` (stderr): redrawn in place on a terminal, else a plain line
    at most every ``interval`` seconds (and at the end). ``clock`` is injectable."""

    def __init__(
        self,
        total: int,
        out: TextIO | None = None,
        *,
        label: str = "levels",
        interval: float = 5.0,
        clock: Callable[[], float] = _time.monotonic,
    ) -> None:
        self.total = max(1, total)
        self.out = out if out is not None else sys.stderr
        self.label = label
        self.interval = interval
        self.clock = clock
        self.done = 0
        self.tty = bool(getattr(self.out, "isatty", lambda: False)())
        self._last = -math.inf

    def text(self) -> str:
        frac = self.done / self.total
        if self.tty:
            width = 30
            full = round(frac * width)
            bar = "█" * full + "░" * (width - full)
            return f"{self.label} {bar} {self.done}/{self.total} samples {frac:.0%}"
        return f"{self.label}: {self.done}/{self.total} samples ({frac:.0%})"

    def advance(self, n: int) -> None:
        self.done += n
        now = self.clock()
        finished = self.done >= self.total
        if self.tty:
            end = "\n" if finished else ""
            print("\r" + self.text(), end=end, file=self.out, flush=True)
        elif finished or now - self._last >= self.interval:
            self._last = now
            print(self.text(), file=self.out, flush=True)


def level_series(
    tasks: Sequence[LevelTask],
    *,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> pl.DataFrame:
    """Run ``tasks`` (in ``workers`` processes when > 1) and gather the series, sorted by
    ticker and time."""
    rows: list[dict[str, object]] = []
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            rows.extend(run_task(task))
            if progress is not None:
                progress(len(task.times))
    else:
        ctx = multiprocessing.get_context("spawn")  # polars' threads do not survive a fork
        with ProcessPoolExecutor(min(workers, len(tasks)), mp_context=ctx) as pool:
            futures = {pool.submit(run_task, t): t for t in tasks}
            for fut in as_completed(futures):
                rows.extend(fut.result())
                if progress is not None:
                    progress(len(futures[fut].times))
    return _frame(rows)


def _frame(rows: Iterable[dict[str, object]]) -> pl.DataFrame:
    frame = pl.DataFrame(list(rows), schema=dict(COLUMNS))
    return frame.sort("ticker", "time")


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def _fmt(value: object, kind: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    assert isinstance(value, int | float)
    if kind == "bn":
        return f"{value / 1e9:+,.2f} bn"
    if kind == "pct":
        return f"{value:.0%}"
    return f"{value:,.2f}"


def to_table(frame: pl.DataFrame) -> str:
    """A readable table (New York time; net GEX in $bn per 1 % move)."""
    head: tuple[str, ...] = ("ticker", "time (ET)", "spot", "net GEX", "zero gamma")
    head += ("call wall", "put wall", "max pain", "regime", "coverage")
    lines: list[tuple[str, ...]] = [head]
    for r in frame.iter_rows(named=True):
        moment = r["time"]
        assert isinstance(moment, datetime)
        lines.append(
            (
                str(r["ticker"]),
                moment.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M:%S"),
                _fmt(r["spot"], "px"),
                _fmt(r["net_gex"], "bn"),
                _fmt(r["zero_gamma"], "px"),
                _fmt(r["call_wall"], "px"),
                _fmt(r["put_wall"], "px"),
                _fmt(r["max_pain"], "px"),
                str(r["regime"]),
                _fmt(r["coverage"], "pct"),
            )
        )
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    left = {0, 1, 8}
    return "\n".join(
        "  ".join(
            c.ljust(w) if i in left else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in lines
    )
