"""EventBatch: the columnar unit every feed delivers and the ChainBook applies.

A batch holds up to four polars frames, one per dxFeed event kind, each with a ``symbol``
column (dxFeed streamer symbols such as ``.SPXW240105C4700``; the underlying by its plain
symbol, e.g. ``SPX``) and float columns. Any column but ``symbol`` may be missing or null/NaN:
missing data never overwrites good data in the ChainBook.

* ``greeks``  – gamma, delta, iv (fraction, 0.18 = 18 %), theta, vega, price (option mark)
* ``summary`` – open_interest, prev_close (prior day close; for the underlying)
* ``trades``  – price, day_volume (for options and the underlying; the underlying's price is spot)
* ``quotes``  – bid, ask

``time`` is the event time of the batch (timezone-aware, UTC): it is the book's as-of time.

``reset`` (a :class:`Reset`, or None) marks a *reset group*: batches that together bring a
fresh book to a whole state (a replay seek, a file read again). The consumer starts a fresh
book on ``reset.first``, and should not show it before ``reset.last`` (half a state).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import polars as pl

F64 = pl.Float64
GREEKS_SCHEMA: Final[Mapping[str, pl.DataType]] = {
    "symbol": pl.String(),
    "gamma": F64(),
    "delta": F64(),
    "iv": F64(),
    "theta": F64(),
    "vega": F64(),
    "price": F64(),
}
SUMMARY_SCHEMA: Final[Mapping[str, pl.DataType]] = {
    "symbol": pl.String(),
    "open_interest": F64(),
    "prev_close": F64(),
}
TRADES_SCHEMA: Final[Mapping[str, pl.DataType]] = {
    "symbol": pl.String(),
    "price": F64(),
    "day_volume": F64(),
}
QUOTES_SCHEMA: Final[Mapping[str, pl.DataType]] = {
    "symbol": pl.String(),
    "bid": F64(),
    "ask": F64(),
}
SCHEMAS: Final[Mapping[str, Mapping[str, pl.DataType]]] = {
    "greeks": GREEKS_SCHEMA,
    "summary": SUMMARY_SCHEMA,
    "trades": TRADES_SCHEMA,
    "quotes": QUOTES_SCHEMA,
}
KINDS: Final[tuple[str, ...]] = ("greeks", "summary", "trades", "quotes")


def empty_frame(kind: str) -> pl.DataFrame:
    """An empty frame with the canonical schema of ``kind``."""
    return pl.DataFrame(schema=dict(SCHEMAS[kind]))


def conform(kind: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Cast ``frame`` to the canonical schema of ``kind``: missing columns become null,
    extra columns are dropped, numbers become Float64."""
    schema = SCHEMAS[kind]
    if "symbol" not in frame.columns:
        raise ValueError(f"{kind} frame has no 'symbol' column")
    exprs = [
        (pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype)).alias(name)
        for name, dtype in schema.items()
    ]
    return frame.select(exprs)


@dataclass(frozen=True, slots=True)
class Reset:
    """Part ``part`` (1-based) of a reset group of ``total`` batches; ``at`` is the moment the
    state belongs to (a replay seek's target), when there is one; ``gap`` says the group
    bridges a gap in a recording (the state after it, nothing before it is spliced in)."""

    part: int = 1
    total: int = 1
    at: datetime | None = None
    gap: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.part <= self.total:
            raise ValueError(f"reset part {self.part} of {self.total}")

    @property
    def first(self) -> bool:
        """The batch that starts the group: the consumer starts a fresh book here."""
        return self.part == 1

    @property
    def last(self) -> bool:
        """The batch that completes the group: the book is whole again."""
        return self.part == self.total


@dataclass(frozen=True, slots=True)
class EventBatch:
    """One aggregation period of events (see module docstring for the columns)."""

    time: datetime
    greeks: pl.DataFrame | None = None
    summary: pl.DataFrame | None = None
    trades: pl.DataFrame | None = None
    quotes: pl.DataFrame | None = None
    meta: Mapping[str, str] = field(default_factory=dict)
    reset: Reset | None = None

    @classmethod
    def from_frames(
        cls,
        time: datetime,
        frames: Mapping[str, pl.DataFrame],
        *,
        meta: Mapping[str, str] | None = None,
        reset: Reset | None = None,
    ) -> EventBatch:
        """A batch of ``frames`` by kind (keys from :data:`KINDS`; others are an error)."""
        unknown = set(frames) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown event kinds: {', '.join(sorted(unknown))}")
        return cls(
            time=time,
            greeks=frames.get("greeks"),
            summary=frames.get("summary"),
            trades=frames.get("trades"),
            quotes=frames.get("quotes"),
            meta=meta if meta is not None else {},
            reset=reset,
        )

    def frames(self) -> dict[str, pl.DataFrame]:
        """The non-empty frames of this batch by kind."""
        out: dict[str, pl.DataFrame] = {}
        for kind in KINDS:
            frame = getattr(self, kind)
            if frame is not None and frame.height:
                out[kind] = frame
        return out

    @property
    def n_events(self) -> int:
        """Number of events (rows) in the batch, all kinds together."""
        return sum(f.height for f in self.frames().values())

    def conformed(self) -> EventBatch:
        """A copy whose frames all have the canonical schemas (for storage)."""
        kw = {k: conform(k, f) for k, f in self.frames().items()}
        return EventBatch.from_frames(self.time, kw, meta=self.meta, reset=self.reset)
