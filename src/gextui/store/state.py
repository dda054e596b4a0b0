"""Book state of a recording at a point in time, without replaying every batch.

:class:`ChainBook` keeps, per option symbol, the last good (non-null, non-NaN) value of each
column and the time of the last batch that brought a good value for that symbol. So the
option state after a prefix of the event log is a *last value per symbol per column*
reduction, which polars computes in one ``group_by`` over a segment (:func:`advance`). The
underlying's few rows (spot, prev_close, bid/ask, day volume) are applied batch by batch
through a scratch ChainBook, so the book's own rules (spot = quote mid until a trade) decide.
The recorder folds each segment it writes into a running state and saves it as a checkpoint
(``state-<stamp>.parquet``); the state at any time t is then the checkpoint of the last
segment before t plus one partial segment.

:func:`reset_batches` turns a state back into a few EventBatches that bring a *fresh*
ChainBook to exactly that state (values and the per-symbol ``updated`` time): symbols are
grouped by their last-update time, one batch per distinct time, in time order; the last batch
(at the state's as-of time) also carries the underlying. Counters (events_applied, version,
nan_values) are not reproduced.

KEY_COLUMNS is derived from ``gextui.core.chain.ROUTES`` (which columns of which kind mark a
row updated), so the two cannot drift apart.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, datetime
from typing import Final

import polars as pl

from gextui.core.chain import ROUTES, VALUE_BOUNDS, ChainBook, UnderlyingState
from gextui.core.events import KINDS, SCHEMAS, EventBatch, Reset
from gextui.store.schema import (
    RECORD_SCHEMA,
    TIME_DTYPE,
    UNDERLYING_KIND,
    VALUE_COLUMNS,
)

# columns whose good value marks an option row as updated (the sources of ChainBook's ROUTES)
KEY_COLUMNS: Final[Mapping[str, tuple[str, ...]]] = {
    kind: tuple(src for src, _ in routes) for kind, routes in ROUTES.items()
}
OPTION_STATE_SCHEMA: Final[Mapping[str, pl.DataType]] = {
    "time": TIME_DTYPE,
    "batch": pl.Int64(),
    "kind": pl.String(),
    "symbol": pl.String(),
    **{c: pl.Float64() for c in VALUE_COLUMNS},
}


def _empty_options() -> pl.DataFrame:
    return pl.DataFrame(schema=dict(OPTION_STATE_SCHEMA))


@dataclass(frozen=True, slots=True)
class RecordedState:
    """State after a prefix of a recording.

    ``options``: one row per (symbol, kind) in OPTION_STATE_SCHEMA: the last good value of each
    column, ``time``/``batch`` of the last event with a good key value (null if none).
    """

    underlying_symbol: str
    options: pl.DataFrame = field(default_factory=_empty_options)
    underlying: UnderlyingState | None = None
    as_of: datetime | None = None
    last_batch: int = -1

    def spot_state(self) -> UnderlyingState:
        return (
            replace(self.underlying) if self.underlying else UnderlyingState(self.underlying_symbol)
        )


def _sane_values() -> list[pl.Expr]:
    """Each value column, null where the ChainBook would not apply it (NaN, infinite or out of
    :data:`~gextui.core.chain.VALUE_BOUNDS`): the rebuilt state keeps exactly what the live
    book kept, a rejected value never replaces a good one."""
    out = []
    for c in VALUE_COLUMNS:
        lo, hi, lo_open, hi_open = VALUE_BOUNDS[c]
        col = pl.col(c)
        ok = (col > lo) if lo_open else (col >= lo)
        ok = ok & ((col < hi) if hi_open else (col <= hi))
        out.append(pl.when(ok).then(col).otherwise(None).alias(c))
    return out


def _good_expr() -> pl.Expr:
    """True where an option row brings a good value in one of its kind's key columns."""
    terms = [
        (pl.col("kind") == kind) & pl.any_horizontal([pl.col(c).is_not_null() for c in cols])
        for kind, cols in KEY_COLUMNS.items()
    ]
    return pl.any_horizontal(terms).alias("_good")


def _last_values(frame: pl.DataFrame) -> pl.DataFrame:
    """Reduce rows (in order) to the last good value per (symbol, kind)."""
    return (
        frame.group_by("symbol", "kind", maintain_order=True)
        .agg(
            pl.col("time").drop_nulls().last(),
            pl.col("batch").drop_nulls().last(),
            *[pl.col(c).drop_nulls().last() for c in VALUE_COLUMNS],
        )
        .select(list(OPTION_STATE_SCHEMA))
    )


def _scratch_book(underlying_symbol: str) -> ChainBook:
    dummy = pl.DataFrame(
        {
            "symbol": ["\x00scratch"],
            "root": ["X"],
            "expiration": [date(2000, 1, 3)],
            "type": ["C"],
            "strike": [1.0],
        }
    )
    return ChainBook("X", dummy, underlying_symbol=underlying_symbol)


def _advance_underlying(u: UnderlyingState, rows: pl.DataFrame) -> UnderlyingState:
    """Apply the underlying's rows (file order), batch by batch, through a scratch ChainBook:
    ChainBook's own rules (last good value, spot = quote mid until a trade) decide."""
    book = _scratch_book(u.symbol)
    book.underlying = replace(u)
    for part in rows.partition_by("batch", maintain_order=True):
        kinds = part["kind"]
        frames = {
            k: part.filter(kinds == k).select(list(SCHEMAS[k])) for k in KINDS if (kinds == k).any()
        }
        book.apply(EventBatch.from_frames(part["time"][0], frames))
    return book.underlying


def advance(state: RecordedState, frame: pl.DataFrame) -> RecordedState:
    """Fold a slice of the event log (RECORD_SCHEMA rows in write order) into ``state``."""
    if not frame.height:
        return state
    und = state.underlying_symbol
    events = (
        frame.filter(pl.col("kind").is_in(list(KINDS)) & pl.col("symbol").is_not_null())
        .with_columns([pl.col(c).fill_nan(None) for c in VALUE_COLUMNS])
        .with_columns(_sane_values())
    )
    is_und = pl.col("symbol") == und
    options = (
        events.filter(~is_und)
        .with_columns(_good_expr())
        .with_columns(
            pl.when(pl.col("_good")).then(pl.col("time")).alias("time"),
            pl.when(pl.col("_good")).then(pl.col("batch")).alias("batch"),
        )
    )
    reduced = _last_values(options)
    if state.options.height:
        reduced = _last_values(pl.concat([state.options, reduced], how="vertical"))
    u = state.spot_state()
    und_rows = events.filter(is_und)
    if und_rows.height:
        u = _advance_underlying(u, und_rows)
    t_max = frame["time"].max()
    b_max = frame["batch"].max()
    as_of = state.as_of
    if isinstance(t_max, datetime) and (as_of is None or t_max > as_of):
        as_of = t_max
    last_batch = max(state.last_batch, int(b_max)) if isinstance(b_max, int) else state.last_batch
    return RecordedState(und, reduced, u, as_of, last_batch)


# ---------------------------------------------------------------------------- checkpoints
def state_to_frame(state: RecordedState) -> pl.DataFrame:
    """A checkpoint table in RECORD_SCHEMA: the option rows plus one ``underlying`` row."""
    u = state.spot_state()
    und = pl.DataFrame(
        {
            "time": [state.as_of],
            "batch": [state.last_batch],
            "kind": [UNDERLYING_KIND],
            "symbol": [state.underlying_symbol],
            **{c: [None] for c in VALUE_COLUMNS},
        },
        schema=dict(OPTION_STATE_SCHEMA),
    ).with_columns(
        pl.lit(u.spot).alias("price"),
        pl.lit(u.prev_close).alias("prev_close"),
        pl.lit(u.day_volume).alias("day_volume"),
        pl.lit(u.bid).alias("bid"),
        pl.lit(u.ask).alias("ask"),
    )
    return (
        pl.concat([state.options, und], how="vertical")
        .with_columns(
            pl.when(pl.col("kind") == UNDERLYING_KIND)
            .then(pl.lit(json.dumps(asdict(u))))  # every UnderlyingState field, NaN included
            .otherwise(pl.lit(None, pl.String))
            .alias("meta")
        )
        .select(list(RECORD_SCHEMA))
    )


def state_from_frame(frame: pl.DataFrame, underlying_symbol: str) -> RecordedState:
    """Inverse of :func:`state_to_frame`."""
    und = frame.filter(pl.col("kind") == UNDERLYING_KIND)
    if und.height != 1:
        raise ValueError("checkpoint has no single underlying row")
    row = und.row(0, named=True)
    saved = json.loads(row["meta"])
    known = {f.name for f in fields(UnderlyingState)}
    u = UnderlyingState(**{k: v for k, v in saved.items() if k in known})
    u.symbol = underlying_symbol
    options = frame.filter(pl.col("kind") != UNDERLYING_KIND).select(list(OPTION_STATE_SCHEMA))
    as_of = row["time"]
    return RecordedState(
        underlying_symbol,
        options,
        u,
        as_of if isinstance(as_of, datetime) else None,
        int(row["batch"]) if row["batch"] is not None else -1,
    )


# ---------------------------------------------------------------------------- reset batches
def _underlying_frames(u: UnderlyingState) -> dict[str, pl.DataFrame]:
    """The underlying's final values; a trade price only if spot came from a trade (a quote
    mid is re-derived by the book from bid/ask, see :func:`reset_batches`)."""
    return {
        "summary": pl.DataFrame(
            {"symbol": [u.symbol], "open_interest": [None], "prev_close": [u.prev_close]},
            schema=dict(SCHEMAS["summary"]),
        ),
        "trades": pl.DataFrame(
            {
                "symbol": [u.symbol],
                "price": [u.spot if u.spot_from_trade else None],
                "day_volume": [u.day_volume],
            },
            schema=dict(SCHEMAS["trades"]),
        ),
        "quotes": pl.DataFrame(
            {"symbol": [u.symbol], "bid": [u.bid], "ask": [u.ask]},
            schema=dict(SCHEMAS["quotes"]),
        ),
    }


def _seed_mid(u: UnderlyingState) -> pl.DataFrame | None:
    """A quote bid = ask = spot, so a fresh book's spot is the recorded mid even when the last
    bid/ask no longer make one (a zero bid leaves the earlier mid in place)."""
    if u.spot_from_trade or math.isnan(u.spot) or not u.spot > 0:
        return None
    return pl.DataFrame(
        {"symbol": [u.symbol], "bid": [u.spot], "ask": [u.spot]}, schema=dict(SCHEMAS["quotes"])
    )


def reset_batches(
    state: RecordedState,
    *,
    when_empty: datetime,
    at: datetime | None = None,
    gap: bool = False,
    meta: Mapping[str, str] | None = None,
) -> list[EventBatch]:
    """EventBatches that bring a fresh ChainBook to ``state`` (see module docstring).

    Batch i of n carries ``reset=Reset(i, n, at=at, gap=gap)`` (see
    :class:`~gextui.core.events.Reset`) and the first one ``meta``. An empty state gives one
    empty batch at ``when_empty``.
    """
    head = dict(meta or {})
    if state.as_of is None:
        return [EventBatch(time=when_empty, meta=head, reset=Reset(1, 1, at=at, gap=gap))]
    as_of = state.as_of
    opts = state.options.with_columns(
        pl.col("time")
        .sort_by("batch", nulls_last=False)
        .last()
        .over("symbol")
        .fill_null(pl.lit(as_of, TIME_DTYPE))
        .alias("_upd")
    )
    groups: list[tuple[datetime, pl.DataFrame]] = []
    if opts.height:
        for part in opts.sort("_upd", maintain_order=True).partition_by(
            "_upd", maintain_order=True
        ):
            groups.append((part["_upd"][0], part))
    if not groups or groups[-1][0] != as_of:
        groups.append((as_of, opts.clear()))
    u = state.spot_state()
    seed = _seed_mid(u)
    if seed is not None and len(groups) == 1:
        groups.insert(0, (groups[0][0], opts.clear()))
    u_frames = _underlying_frames(u)
    n = len(groups)
    out: list[EventBatch] = []
    for i, (moment, part) in enumerate(groups):
        frames: dict[str, pl.DataFrame] = {}
        kinds = part["kind"]
        for kind in KINDS:
            mask = kinds == kind
            if mask.any():
                frames[kind] = part.filter(mask).select(list(SCHEMAS[kind]))
        if i == 0 and seed is not None:
            frames["quotes"] = pl.concat([frames["quotes"], seed]) if "quotes" in frames else seed
        if i == n - 1:
            for kind, uf in u_frames.items():
                frames[kind] = pl.concat([frames[kind], uf]) if kind in frames else uf
        reset = Reset(i + 1, n, at=at, gap=gap)
        out.append(EventBatch.from_frames(moment, frames, meta=head if i == 0 else {}, reset=reset))
    return out
