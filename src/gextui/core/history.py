"""Intraday history of the key levels of one ticker, sampled by event time.

A :class:`LevelHistory` keeps a bounded time series of :class:`LevelSample` (spot, net GEX,
volume GEX, gross GEX, zero gamma, call wall, put wall) taken from the
:class:`~gextui.core.exposure.ExposureSnapshot` stream of one ticker.

Sampling uses the snapshot's **event time** (``as_of``), never the wall clock: a sample is
recorded when ``as_of`` has advanced by at least ``sample_every`` since the last recorded
sample (the first snapshot is always recorded). Live, simulated (at any ``--speed``) and
replayed data therefore give the same series for the same events, and a replay rebuilds it:
call :meth:`LevelHistory.reset` after a seek. A snapshot whose ``as_of`` is earlier than the
last sample is ignored (out of order, or a seek without a reset).

Missing values (no spot yet, no gamma flip, no wall; NaN) are ``None`` in a sample and null in
:meth:`LevelHistory.frame`. Pure: no UI, no I/O.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import polars as pl

from gextui.core.exposure import ExposureSnapshot

DEFAULT_SAMPLE_EVERY: Final = timedelta(seconds=5)
# 24 hours at one sample every 5 s: a whole extended trading day and then some
DEFAULT_MAX_POINTS: Final = 17_280

HISTORY_SCHEMA: Final[Mapping[str, pl.DataType]] = {
    "time": pl.Datetime("us", "UTC"),
    "spot": pl.Float64(),
    "net_gex": pl.Float64(),
    "net_gex_volume": pl.Float64(),
    "abs_gex": pl.Float64(),
    "zero_gamma": pl.Float64(),
    "call_wall": pl.Float64(),
    "put_wall": pl.Float64(),
}
"""Columns of :meth:`LevelHistory.frame` (dollars for the GEX figures, index points for the
levels; ``time`` is the event time in UTC)."""


def finite_or_none(value: float | None) -> float | None:
    """``value`` as a float, or ``None`` when it is missing, NaN or infinite."""
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


@dataclass(frozen=True, slots=True)
class LevelSample:
    """The key levels of one ticker at one event time (``None`` = not available).

    ``abs_gex`` (gross GEX, Σ |GEX|) scales the net-GEX sign hysteresis of the alert rules.
    """

    time: datetime
    spot: float | None
    net_gex: float | None
    net_gex_volume: float | None = None
    zero_gamma: float | None = None
    call_wall: float | None = None
    put_wall: float | None = None
    abs_gex: float | None = None

    def __post_init__(self) -> None:
        if self.time.tzinfo is None:
            raise ValueError("LevelSample.time must be timezone-aware")

    @classmethod
    def from_snapshot(cls, snapshot: ExposureSnapshot) -> LevelSample:
        """The levels of ``snapshot`` at its ``as_of`` time (NaN becomes ``None``)."""
        return cls(
            time=snapshot.as_of.astimezone(UTC),
            spot=finite_or_none(snapshot.spot),
            net_gex=finite_or_none(snapshot.net_gex),
            net_gex_volume=finite_or_none(snapshot.net_gex_volume),
            zero_gamma=finite_or_none(snapshot.zero_gamma),
            call_wall=finite_or_none(snapshot.call_wall),
            put_wall=finite_or_none(snapshot.put_wall),
            abs_gex=finite_or_none(snapshot.abs_gex),
        )

    def as_row(self) -> tuple[datetime, *tuple[float | None, ...]]:
        """The values in :data:`HISTORY_SCHEMA` column order (NaN becomes ``None``)."""
        return (
            self.time.astimezone(UTC),
            finite_or_none(self.spot),
            finite_or_none(self.net_gex),
            finite_or_none(self.net_gex_volume),
            finite_or_none(self.abs_gex),
            finite_or_none(self.zero_gamma),
            finite_or_none(self.call_wall),
            finite_or_none(self.put_wall),
        )


def samples_frame(samples: list[LevelSample] | tuple[LevelSample, ...]) -> pl.DataFrame:
    """A frame with :data:`HISTORY_SCHEMA` from samples (in the given order)."""
    return pl.DataFrame([s.as_row() for s in samples], schema=dict(HISTORY_SCHEMA), orient="row")


class LevelHistory:
    """Bounded intraday series of the key levels of one ticker, sampled by event time.

    ``max_points`` bounds memory: the oldest samples are dropped first. ``version`` increases
    with every change (a UI can redraw only when it moved).
    """

    def __init__(
        self,
        sample_every: timedelta = DEFAULT_SAMPLE_EVERY,
        max_points: int = DEFAULT_MAX_POINTS,
        *,
        ticker: str = "",
    ) -> None:
        if sample_every < timedelta(0):
            raise ValueError("sample_every must not be negative")
        if max_points < 1:
            raise ValueError("max_points must be at least 1")
        self.sample_every = sample_every
        self.max_points = max_points
        self.ticker = ticker.upper()
        self._samples: deque[LevelSample] = deque(maxlen=max_points)
        self._frame: pl.DataFrame | None = None
        self.version = 0

    # ------------------------------------------------------------------ recording
    def observe(self, snapshot: ExposureSnapshot) -> LevelSample | None:
        """Record ``snapshot`` if its event time is due; return the new sample or ``None``."""
        last = self.last
        moment = snapshot.as_of.astimezone(UTC)
        if last is not None and moment - last.time < self.sample_every:
            return None
        return self.append(LevelSample.from_snapshot(snapshot))

    def observe_sample(self, sample: LevelSample) -> LevelSample | None:
        """Like :meth:`observe` for a ready-made sample (tests, replays of a saved series)."""
        last = self.last
        if last is not None and sample.time - last.time < self.sample_every:
            return None
        return self.append(sample)

    def append(self, sample: LevelSample) -> LevelSample | None:
        """Record ``sample`` unconditionally unless it is earlier than the last one."""
        last = self.last
        if last is not None and sample.time < last.time:
            return None
        self._samples.append(sample)
        self._frame = None
        self.version += 1
        return sample

    def backfill(self, samples: Iterable[LevelSample]) -> int:
        """Put earlier ``samples`` (oldest first; e.g. rebuilt from a recording after a seek)
        before the ones held; those not earlier than the first held sample are ignored.
        Returns how many were added."""
        first = self._samples[0].time if self._samples else None
        older = [x for x in samples if first is None or x.time < first]
        if not older:
            return 0
        self._samples = deque([*older, *self._samples], maxlen=self._samples.maxlen)
        self._frame = None
        self.version += 1
        return len(older)

    def reset(self) -> None:
        """Forget every sample (after a replay seek, or a change of expiry selection)."""
        self._samples.clear()
        self._frame = None
        self.version += 1

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        return len(self._samples)

    def __iter__(self) -> Iterator[LevelSample]:
        return iter(tuple(self._samples))

    @property
    def last(self) -> LevelSample | None:
        return self._samples[-1] if self._samples else None

    @property
    def samples(self) -> tuple[LevelSample, ...]:
        return tuple(self._samples)

    def frame(self) -> pl.DataFrame:
        """The series as a polars frame (:data:`HISTORY_SCHEMA`, oldest first; cached until
        the next change, and immutable, so it can be handed to another thread)."""
        if self._frame is None:
            self._frame = samples_frame(tuple(self._samples))
        return self._frame
