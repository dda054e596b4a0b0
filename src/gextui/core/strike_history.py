"""Per-strike net GEX over the session, one sample a minute (pure, Textual-free).

:class:`StrikeHistory` keeps, for one ticker, one :class:`StrikeSample` per minute of event
time (the snapshot's ``as_of``; the last snapshot seen in a minute is that minute's sample):
the per-strike net GEX on the snapshot's strikes (float32), spot and zero gamma, and the net
value of every other metric the strike chart can show (DEX, VEX, CEX; OI and volume basis:
:data:`NET_COLUMNS`) so that the Change view compares the shown metric. Memory is bounded: at
most ``capacity`` samples (default 390, a whole regular session; the oldest go first), so a
session of 390 minutes × 200 strikes holds ≈ 390 · 200 · (8 · 4 + 8) bytes ≈ 3 MB.

* :meth:`StrikeHistory.observe` – take a snapshot (live or replayed);
* :meth:`StrikeHistory.backfill` – take samples built elsewhere (e.g. from a recording's
  checkpoints with :func:`samples_from_snapshots`, after a replay seek);
* :meth:`StrikeHistory.at` – the sample at or before a moment (for change windows: 1 / 5 / 15
  / 30 minutes ago, since the open);
* :meth:`StrikeHistory.matrix` – a :class:`StrikeTimeMap` (strike × time heatmap data, with
  spot and zero gamma per column), optionally with at most ``max_rows`` rows.

Net GEX is dollars per 1 % move (see :mod:`gextui.core.exposure`); times are UTC.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

import numpy as np
import numpy.typing as npt

from gextui.core.exposure import METRICS, ExposureSnapshot

__all__ = [
    "NET_COLUMNS",
    "SESSION_MINUTES",
    "StrikeHistory",
    "StrikeSample",
    "StrikeTimeMap",
    "minute_of",
    "samples_from_snapshots",
]

SESSION_MINUTES: Final = 390  # 09:30–16:00 New York
#: the per-strike net columns of a snapshot a sample keeps besides ``net_gex``: every metric of
#: :data:`~gextui.core.exposure.METRICS` on open interest (``net_{metric}``) and on volume
#: (``net_{metric}_vol``), as the snapshot names them
NET_COLUMNS: Final[tuple[str, ...]] = tuple(
    c for m in METRICS for c in (f"net_{m}", f"net_{m}_vol") if c != "net_gex"
)


def minute_of(moment: datetime) -> datetime:
    """``moment`` in UTC, floored to the minute."""
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def _opt(value: float | None) -> float:
    return float("nan") if value is None or not math.isfinite(value) else float(value)


@dataclass(frozen=True, slots=True)
class StrikeSample:
    """One minute of a ticker: per-strike net GEX (on ``strikes``, ascending), spot, zero
    gamma (NaN when undefined)."""

    minute: datetime  # UTC, whole minute
    as_of: datetime  # the snapshot's own time (UTC)
    strikes: npt.NDArray[np.float64]
    net_gex: npt.NDArray[np.float32]
    spot: float
    zero_gamma: float
    #: the other per-strike net columns (:data:`NET_COLUMNS`), on ``strikes``
    others: Mapping[str, npt.NDArray[np.float32]] = field(default_factory=dict)

    def column(self, name: str) -> npt.NDArray[np.float32] | None:
        """The per-strike values of ``name`` (``net_gex`` or one of :data:`NET_COLUMNS`);
        None when this sample does not hold it."""
        return self.net_gex if name == "net_gex" else self.others.get(name)

    @classmethod
    def from_snapshot(cls, snap: ExposureSnapshot) -> StrikeSample:
        frame = snap.strikes
        k = frame["strike"].to_numpy().astype(np.float64) if frame.height else np.empty(0)
        order = None
        if k.size > 1 and not bool(np.all(k[1:] > k[:-1])):
            order = np.argsort(k, kind="stable")
            k = k[order]

        def values(name: str) -> npt.NDArray[np.float32]:
            if not frame.height:
                return np.empty(0, dtype=np.float32)
            v = frame[name].to_numpy().astype(np.float32)
            return v if order is None else v[order]

        as_of = snap.as_of.astimezone(UTC)
        others = {name: values(name) for name in NET_COLUMNS if name in frame.columns}
        return cls(
            minute_of(as_of),
            as_of,
            k,
            values("net_gex"),
            _opt(snap.spot),
            _opt(snap.zero_gamma),
            others,
        )


@dataclass(frozen=True, slots=True)
class StrikeTimeMap:
    """Strike × time data for a heatmap: ``values[i, j]`` is the net GEX of strike row i at
    time column j (NaN where that minute has no such strike). When rows were merged
    (``max_rows``), a row is the sum of consecutive strikes and ``strikes[i]`` is its lowest
    strike (``per_row`` strikes each)."""

    times: list[datetime]
    strikes: npt.NDArray[np.float64]  # ascending
    values: npt.NDArray[np.float64]  # (len(strikes), len(times))
    spot: npt.NDArray[np.float64]  # len(times), NaN when unknown
    zero_gamma: npt.NDArray[np.float64]  # len(times), NaN when undefined
    per_row: int = 1


class StrikeHistory:
    """One ticker's per-strike net GEX, one sample per minute of event time, at most
    ``capacity`` samples (the oldest are dropped)."""

    def __init__(self, capacity: int = SESSION_MINUTES) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._minutes: list[datetime] = []
        self._samples: list[StrikeSample] = []

    def __len__(self) -> int:
        return len(self._samples)

    @property
    def samples(self) -> list[StrikeSample]:
        return list(self._samples)

    def clear(self) -> None:
        self._minutes.clear()
        self._samples.clear()

    def _put(self, sample: StrikeSample) -> None:
        i = bisect.bisect_left(self._minutes, sample.minute)
        if i < len(self._minutes) and self._minutes[i] == sample.minute:
            if sample.as_of >= self._samples[i].as_of:  # the minute's latest snapshot
                self._samples[i] = sample
            return
        self._minutes.insert(i, sample.minute)
        self._samples.insert(i, sample)
        if len(self._samples) > self.capacity:
            del self._minutes[0]
            del self._samples[0]

    def observe(self, snap: ExposureSnapshot) -> StrikeSample:
        """Take ``snap`` as the sample of its minute (replacing an earlier one of the same
        minute); returns the sample."""
        sample = StrikeSample.from_snapshot(snap)
        self._put(sample)
        return sample

    def backfill(self, samples: Iterable[StrikeSample]) -> None:
        """Add samples (any order; a minute already held keeps the later of the two)."""
        for sample in samples:
            self._put(sample)

    def at(self, moment: datetime) -> StrikeSample | None:
        """The latest sample whose ``as_of`` is at or before ``moment``; None if none is."""
        i = bisect.bisect_right(self._minutes, minute_of(moment))
        while i > 0:
            sample = self._samples[i - 1]
            if sample.as_of <= moment:
                return sample
            i -= 1
        return None

    def matrix(
        self,
        lo: float,
        hi: float,
        start: datetime | None = None,
        end: datetime | None = None,
        max_rows: int | None = None,
    ) -> StrikeTimeMap:
        """The samples from ``start`` to ``end`` (minutes, inclusive; default all) on the
        strikes in [lo, hi] seen in any of them. With ``max_rows``, consecutive strikes are
        summed in groups of ``per_row`` = ⌈n / max_rows⌉ (a group with no value at a time is
        NaN there)."""
        i0 = 0 if start is None else bisect.bisect_left(self._minutes, minute_of(start))
        i1 = (
            len(self._minutes)
            if end is None
            else bisect.bisect_right(self._minutes, minute_of(end))
        )
        picked = self._samples[i0:i1]
        times = [s.minute for s in picked]
        spot = np.array([s.spot for s in picked], dtype=np.float64)
        zero = np.array([s.zero_gamma for s in picked], dtype=np.float64)
        parts = [
            (
                int(np.searchsorted(s.strikes, lo, side="left")),
                int(np.searchsorted(s.strikes, hi, side="right")),
            )
            for s in picked
        ]
        if picked:
            strikes = np.unique(
                np.concatenate([s.strikes[a:b] for s, (a, b) in zip(picked, parts, strict=True)])
            )
        else:
            strikes = np.empty(0)
        values = np.full((strikes.size, len(picked)), np.nan)
        for j, (s, (a, b)) in enumerate(zip(picked, parts, strict=True)):
            if b > a:
                values[np.searchsorted(strikes, s.strikes[a:b]), j] = s.net_gex[a:b]
        per_row = 1
        if max_rows is not None and max_rows >= 1 and strikes.size > max_rows:
            per_row = math.ceil(strikes.size / max_rows)
            starts = np.arange(0, strikes.size, per_row)
            seen = np.add.reduceat((~np.isnan(values)).astype(np.int64), starts, axis=0)
            summed = np.add.reduceat(np.nan_to_num(values), starts, axis=0)
            values = np.where(seen > 0, summed, np.nan)
            strikes = strikes[starts]
        return StrikeTimeMap(times, strikes, values, spot, zero, per_row)


def samples_from_snapshots(
    snapshots: Iterable[tuple[datetime, ExposureSnapshot]]
    | Callable[[], Iterable[tuple[datetime, ExposureSnapshot]]],
) -> list[StrikeSample]:
    """One sample per minute from (time, snapshot) pairs — or a callable yielding them —,
    e.g. a recording's checkpoints (``Recording.checkpoint_states``) folded into books and
    computed: the caller does that, the core never reads recordings. The time given is the
    sample's moment (it overrides the snapshot's ``as_of``); the last pair of a minute wins.
    Oldest first."""
    pairs = snapshots() if callable(snapshots) else snapshots
    history = StrikeHistory(capacity=10**9)
    for moment, snap in pairs:
        sample = StrikeSample.from_snapshot(snap)
        when = moment.astimezone(UTC)
        history.backfill(
            [
                StrikeSample(
                    minute_of(when),
                    when,
                    sample.strikes,
                    sample.net_gex,
                    sample.spot,
                    sample.zero_gamma,
                    sample.others,
                )
            ]
        )
    return history.samples
