"""ChainBook: the in-memory state of one option chain, keyed by dxFeed streamer symbol.

The instrument list (symbol, root, expiration, settlement, type, strike, multiplier) is fixed
when the book is made; the market state (greeks, open interest, volume, quotes) is a polars
DataFrame keyed by option symbol (:attr:`ChainBook.state`: ``symbol``, the
:data:`STATE_COLUMNS`, ``updated_us``), whose float columns are numpy arrays shared with polars
(zero copy): :meth:`ChainBook.apply` upserts a columnar
:class:`~gextui.core.events.EventBatch` into them in place, and the analytics read them as
numpy views (:meth:`ChainBook.arrays`):

* rows for unknown symbols are counted and skipped;
* NaN / null values are counted (``nan_values``) and never overwrite a good value;
* only finite values within sane bounds are applied (:data:`VALUE_BOUNDS`: open interest,
  volume and prices in [0, 10⁹), IV in (0.01 %, 1000 %), |delta| ≤ 1, gamma in [0, 10⁶));
  anything else (``inf``, ``1e309``, ``1e300``, a negative open interest, …) is counted in
  ``rejected_values`` (per column in ``rejected_by_column``) and never applied: one bad value
  cannot poison the totals;
* rows for the underlying symbol set spot (trade price), prev_close, bid/ask.

:meth:`ChainBook.frame` gives a polars snapshot (a copy; missing values are null).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import repeat
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from gextui.core.events import EventBatch
from gextui.core.expiry import settlement_expr

INSTRUMENT_SCHEMA: Final[Mapping[str, pl.DataType]] = {
    "symbol": pl.String(),
    "root": pl.String(),
    "expiration": pl.Date(),
    "settlement": pl.Datetime("us", "UTC"),
    "type": pl.String(),
    "strike": pl.Float64(),
    "multiplier": pl.Float64(),
}
STATE_COLUMNS: Final[tuple[str, ...]] = (
    "gamma",
    "delta",
    "iv",
    "theta",
    "vega",
    "price",
    "open_interest",
    "day_volume",
    "bid",
    "ask",
    "last",
)
# which batch column feeds which state column, per event kind
ROUTES: Final[Mapping[str, tuple[tuple[str, str], ...]]] = {
    "greeks": (
        ("gamma", "gamma"),
        ("delta", "delta"),
        ("iv", "iv"),
        ("theta", "theta"),
        ("vega", "vega"),
        ("price", "price"),
    ),
    "summary": (("open_interest", "open_interest"),),
    "trades": (("price", "last"), ("day_volume", "day_volume")),
    "quotes": (("bid", "bid"), ("ask", "ask")),
}

#: state column → (low, high, low is exclusive, high is exclusive); a value is applied only when
#: it is finite and inside; NaN is "missing" (counted apart), everything else is rejected.
#: The upper bounds are far beyond any real market (an SPX contract's open interest is at most a
#: few 100 k; an IV of 0.01 % or a gamma of 10⁶ per share does not occur) yet keep every product
#: of the analytics (γ·OI·m·S², the profile's per-term weights in float32) finite.
VALUE_BOUNDS: Final[Mapping[str, tuple[float, float, bool, bool]]] = {
    "gamma": (0.0, 1e6, False, True),
    "delta": (-1.0, 1.0, False, False),
    "iv": (1e-4, 10.0, True, True),
    "theta": (-1e9, 1e9, True, True),
    "vega": (-1e9, 1e9, True, True),
    "price": (0.0, 1e9, False, True),
    "open_interest": (0.0, 1e9, False, True),
    "day_volume": (0.0, 1e10, False, True),
    "bid": (0.0, 1e9, False, True),
    "ask": (0.0, 1e9, False, True),
    "last": (0.0, 1e9, False, True),
    # the underlying's fields
    "spot": (0.0, 1e9, False, True),
    "prev_close": (0.0, 1e9, False, True),
}


def sane(column: str, vals: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Which of ``vals`` may be applied to ``column`` (finite and within
    :data:`VALUE_BOUNDS`); NaN is never sane."""
    lo, hi, lo_open, hi_open = VALUE_BOUNDS[column]
    ok: npt.NDArray[np.bool_] = (vals > lo) if lo_open else (vals >= lo)
    ok &= (vals < hi) if hi_open else (vals <= hi)
    return ok


class ChainError(ValueError):
    """An instrument list that cannot make a chain (missing columns, duplicate symbols)."""


def make_instruments(frame: pl.DataFrame, default_multiplier: float = 100.0) -> pl.DataFrame:
    """Normalise an instrument frame to INSTRUMENT_SCHEMA.

    Needs symbol, root, expiration, type, strike; adds ``settlement`` (from root and
    expiration, see :mod:`gextui.core.expiry`) and ``multiplier`` when absent. Sorted by
    strike, expiration, type, root (strike order lets exposure sum per strike without a
    permutation).
    """
    missing = {"symbol", "root", "expiration", "type", "strike"} - set(frame.columns)
    if missing:
        raise ChainError(f"instrument list lacks columns: {', '.join(sorted(missing))}")
    out = frame
    if "settlement" not in out.columns:
        out = out.with_columns(settlement_expr().alias("settlement"))
    if "multiplier" not in out.columns:
        out = out.with_columns(pl.lit(default_multiplier).alias("multiplier"))
    out = out.select([pl.col(name).cast(dtype) for name, dtype in INSTRUMENT_SCHEMA.items()]).sort(
        "strike", "expiration", "type", "root"
    )
    if out["symbol"].n_unique() != out.height:
        raise ChainError("instrument list has duplicate symbols")
    if out["type"].is_in(["C", "P"]).not_().any():
        raise ChainError("instrument type must be 'C' or 'P'")
    return out


@dataclass(frozen=True, slots=True)
class ApplyResult:
    events: int
    unknown: int
    nan_values: int
    rejected: int = 0  # values outside VALUE_BOUNDS (or infinite): counted, not applied


@dataclass(slots=True)
class UnderlyingState:
    symbol: str
    spot: float = float("nan")
    prev_close: float = float("nan")
    bid: float = float("nan")
    ask: float = float("nan")
    day_volume: float = float("nan")
    spot_from_trade: bool = False


@dataclass(frozen=True, slots=True)
class ChainArrays:
    """numpy views of a book (instrument columns are read-only; state columns are live views
    that the next :meth:`ChainBook.apply` changes — use them synchronously)."""

    strike: npt.NDArray[np.float64]
    is_call: npt.NDArray[np.bool_]
    multiplier: npt.NDArray[np.float64]
    settlement_us: npt.NDArray[np.int64]
    expiration_days: npt.NDArray[np.int32]  # days since 1970-01-01
    strikes: npt.NDArray[np.float64]  # sorted unique strikes of the whole chain
    strike_index: npt.NDArray[np.int64]  # position of each contract's strike in ``strikes``
    expiry_days: npt.NDArray[np.int32]  # sorted unique expirations (days since 1970-01-01)
    expiry_last_settlement_us: npt.NDArray[np.int64]  # latest settlement of each expiration
    expiry_index: npt.NDArray[np.int64]  # position of each contract's expiration
    state: Mapping[str, npt.NDArray[np.float64]]


@dataclass(frozen=True, slots=True)
class BookState:
    """The market state of one book version, apart from its instruments (picklable): see
    :meth:`ChainBook.market_state` and :meth:`ChainBook.with_state`."""

    state: dict[str, npt.NDArray[np.float64]]
    updated_us: npt.NDArray[np.int64]
    underlying: UnderlyingState
    as_of: datetime | None
    version: int
    events_applied: int
    unknown_symbols: int
    nan_values: int
    rejected_values: int
    rejected_by_column: dict[str, int]


@dataclass(frozen=True, slots=True)
class BookSpec:
    """A chain's identity and instruments (normalised): builds an empty book of it."""

    ticker: str
    instruments: pl.DataFrame
    underlying_symbol: str
    source: str

    def build(self) -> ChainBook:
        return ChainBook(
            self.ticker,
            self.instruments,
            underlying_symbol=self.underlying_symbol,
            source=self.source,
            normalized=True,
        )


class ChainBook:
    """Mutable state of one chain. Not thread-safe: apply on one thread, read copies."""

    def __init__(
        self,
        ticker: str,
        instruments: pl.DataFrame,
        *,
        underlying_symbol: str | None = None,
        source: str = "",
        normalized: bool = False,
    ) -> None:
        """``normalized``: ``instruments`` is already the output of :func:`make_instruments`
        (another book's, e.g. in a compute process): used as it is, in its order."""
        self.ticker = ticker.upper()
        self.source = source
        self.instruments = instruments if normalized else make_instruments(instruments)
        self.underlying = UnderlyingState(underlying_symbol or self.ticker)
        n = self.instruments.height
        self._state: dict[str, npt.NDArray[np.float64]] = {
            c: np.full(n, np.nan) for c in STATE_COLUMNS
        }
        self._updated_us = np.full(n, -1, dtype=np.int64)
        self._state_frame: pl.DataFrame | None = None
        self._state_frame_version = -1
        self._aliased = False
        self._index: dict[str, int] = {
            sym: i for i, sym in enumerate(self.instruments["symbol"].to_list())
        }
        ins = self.instruments
        self._static = (
            ins["strike"].to_numpy().astype(np.float64),
            (ins["type"] == "C").to_numpy(),
            ins["multiplier"].to_numpy().astype(np.float64),
            ins["settlement"].cast(pl.Int64).to_numpy().astype(np.int64),
            ins["expiration"].cast(pl.Int32).to_numpy().astype(np.int32),
        )
        for arr in self._static:
            arr.flags.writeable = False
        strikes_u, strike_idx = np.unique(self._static[0], return_inverse=True)
        self._strike_grid = (strikes_u, strike_idx.astype(np.int64))
        exp_u, exp_idx = np.unique(self._static[4], return_inverse=True)
        last_settle = np.full(exp_u.size, np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(last_settle, exp_idx, self._static[3])
        self._expiry_grid = (exp_u.astype(np.int32), last_settle, exp_idx.astype(np.int64))
        self.as_of: datetime | None = None
        self.version = 0
        self.events_applied = 0
        self.unknown_symbols = 0
        self.nan_values = 0
        self.rejected_values = 0
        self.rejected_by_column: dict[str, int] = {}
        self._unknown_seen: set[str] = set()

    # ------------------------------------------------------------------ size and lookups
    def __len__(self) -> int:
        return self.instruments.height

    @property
    def symbols(self) -> list[str]:
        return list(self.instruments["symbol"])

    @property
    def spot(self) -> float:
        return self.underlying.spot

    @property
    def state(self) -> pl.DataFrame:
        """The market state, keyed by option symbol: ``symbol``, the :data:`STATE_COLUMNS`
        (Float64, NaN = never received) and ``updated_us`` (event time of the last update,
        µs since the epoch; -1 = never), in instrument order. Its columns share memory with
        the numpy columns :meth:`apply` writes (zero copy): read it synchronously, or take
        :meth:`frame` for a copy. (A polars that copies numpy input gets a fresh frame per
        book version instead: same content.)"""
        frame = self._state_frame
        if frame is None or (not self._aliased and self._state_frame_version != self.version):
            frame = pl.DataFrame(
                [
                    self.instruments["symbol"],
                    *(pl.Series(c, self._state[c]) for c in STATE_COLUMNS),
                    pl.Series("updated_us", self._updated_us),
                ]
            )
            self._aliased = all(
                np.shares_memory(frame[c].to_numpy(), self._state[c]) for c in STATE_COLUMNS[:1]
            )
            self._state_frame, self._state_frame_version = frame, self.version
        return frame

    def column(self, name: str) -> npt.NDArray[np.float64]:
        """A copy of one state column (aligned with ``instruments``)."""
        return self._state[name].copy()

    def arrays(self) -> ChainArrays:
        """Zero-copy numpy views for vectorised analytics (see :class:`ChainArrays`)."""
        strike, is_call, mult, settle, exp_days = self._static
        return ChainArrays(
            strike,
            is_call,
            mult,
            settle,
            exp_days,
            *self._strike_grid,
            *self._expiry_grid,
            self._state,
        )

    def set_as_of(self, moment: datetime) -> None:
        self.as_of = moment.astimezone(UTC)

    # ------------------------------------------------------------------ apply
    def apply(self, batch: EventBatch) -> ApplyResult:
        """Upsert every frame of ``batch``. Returns counts for this batch."""
        events = unknown = nans = rejected = 0
        stamp = int(batch.time.timestamp() * 1e6)
        for kind, frame in batch.frames().items():
            events += frame.height
            is_und = frame["symbol"] == self.underlying.symbol
            if is_und.any():
                n_nan, n_bad = self._apply_underlying(kind, frame.filter(is_und))
                nans += n_nan
                rejected += n_bad
                frame = frame.filter(~is_und)
                if not frame.height:
                    continue
            syms = frame["symbol"].to_list()
            idx = np.fromiter(map(self._index.get, syms, repeat(-1)), np.int64, len(syms))
            known = idx >= 0
            n_unknown = idx.size - int(known.sum())
            if n_unknown:
                unknown += n_unknown
                if len(self._unknown_seen) < 1000:
                    self._unknown_seen.update(
                        [s for s, k in zip(syms, known, strict=True) if not k][:100]
                    )
                frame = frame.filter(pl.Series(known))
                idx = idx[known]
            if not frame.height:
                continue
            row_good = np.zeros(idx.size, dtype=bool)
            for src, dst in ROUTES[kind]:
                if src not in frame.columns:
                    continue
                vals = frame[src].cast(pl.Float64).to_numpy()
                good = sane(dst, vals)
                n_good = int(good.sum())
                if n_good != vals.size:
                    n_nan = int(np.isnan(vals).sum())
                    nans += n_nan
                    n_bad = vals.size - n_good - n_nan
                    if n_bad:
                        rejected += n_bad
                        self._reject(dst, n_bad)
                if n_good == vals.size:
                    self._state[dst][idx] = vals
                elif n_good:
                    self._state[dst][idx[good]] = vals[good]
                row_good |= good
            if row_good.any():
                self._updated_us[idx[row_good]] = stamp
        self.events_applied += events
        self.unknown_symbols += unknown
        self.nan_values += nans
        self.rejected_values += rejected
        if self.as_of is None or batch.time > self.as_of:
            self.set_as_of(batch.time)
        self.version += 1
        return ApplyResult(events, unknown, nans, rejected)

    def _reject(self, column: str, n: int) -> None:
        self.rejected_by_column[column] = self.rejected_by_column.get(column, 0) + n

    def _apply_underlying(self, kind: str, frame: pl.DataFrame) -> tuple[int, int]:
        """Returns (NaN values, rejected values)."""
        nans = rejected = 0
        u = self.underlying
        targets: Mapping[str, tuple[tuple[str, str], ...]] = {
            "trades": (("price", "spot"), ("day_volume", "day_volume")),
            "summary": (("prev_close", "prev_close"),),
            "quotes": (("bid", "bid"), ("ask", "ask")),
            "greeks": (),
        }
        for src, attr in targets[kind]:
            if src not in frame.columns:
                continue
            vals = frame[src].cast(pl.Float64).to_numpy()
            ok = sane(attr, vals)
            good = vals[ok]
            n_nan = int(np.isnan(vals).sum())
            nans += n_nan
            n_bad = vals.size - good.size - n_nan
            if n_bad:
                rejected += n_bad
                self._reject(attr, n_bad)
            if good.size:
                setattr(u, attr, float(good[-1]))
                if attr == "spot":
                    u.spot_from_trade = True
        if kind == "quotes" and not u.spot_from_trade and u.bid > 0 and u.ask > 0:
            u.spot = (u.bid + u.ask) / 2.0  # no trade yet: the mid, until one arrives
        return nans, rejected

    @property
    def unknown_examples(self) -> list[str]:
        return sorted(self._unknown_seen)[:20]

    def copy(self) -> ChainBook:
        """A snapshot of this book that later :meth:`apply` calls do not touch (for computing
        in a thread). Shares the read-only instrument arrays; copies the market state
        (≈ 2 MB for 22 k contracts)."""
        clone = self.with_state(self.market_state())
        clone._unknown_seen = set(self._unknown_seen)
        return clone

    def market_state(self) -> BookState:
        """A copy of the market state alone (≈ 2 MB for 22 k contracts; it pickles in well
        under a millisecond): what a process that holds this chain's instruments (see
        :meth:`spec`) needs to compute from this version (:meth:`with_state`)."""
        return BookState(
            {k: v.copy() for k, v in self._state.items()},
            self._updated_us.copy(),
            replace(self.underlying),
            self.as_of,
            self.version,
            self.events_applied,
            self.unknown_symbols,
            self.nan_values,
            self.rejected_values,
            dict(self.rejected_by_column),
        )

    def with_state(self, state: BookState) -> ChainBook:
        """A book of this chain (the instruments shared) holding ``state`` (taken over, not
        copied: give it a state no one else writes)."""
        clone = copy.copy(self)
        clone._state = dict(state.state)
        clone._updated_us = state.updated_us
        clone._state_frame = None  # its own columns: a frame over them when asked
        clone._state_frame_version = -1
        clone.underlying = replace(state.underlying)
        clone.as_of = state.as_of
        clone.version = state.version
        clone.events_applied = state.events_applied
        clone.unknown_symbols = state.unknown_symbols
        clone.nan_values = state.nan_values
        clone.rejected_values = state.rejected_values
        clone.rejected_by_column = dict(state.rejected_by_column)
        clone._unknown_seen = set()
        return clone

    def spec(self) -> BookSpec:
        """What builds an empty book of this chain elsewhere (:meth:`BookSpec.build`)."""
        return BookSpec(self.ticker, self.instruments, self.underlying.symbol, self.source)

    # ------------------------------------------------------------------ views
    def frame(self) -> pl.DataFrame:
        """Instruments + state as one polars frame (a copy; missing values are null)."""
        # copies of the numpy columns: polars may reuse a buffer it has nothing to change in
        # (no NaN to fill), and the live columns change with the next apply
        state = {
            c: pl.Series(c, self._state[c].copy(), dtype=pl.Float64).fill_nan(None)
            for c in STATE_COLUMNS
        }
        updated = pl.Series("updated", self._updated_us.copy()).cast(pl.Datetime("us", "UTC"))
        updated = pl.select(pl.when(updated.cast(pl.Int64) >= 0).then(updated)).to_series()
        return self.instruments.with_columns(*state.values(), updated.alias("updated"))

    def rejection_note(self) -> str:
        """One line on the values this book refused (``""`` when none): how many, per column,
        and the range each column accepts (:data:`VALUE_BOUNDS`)."""
        if not self.rejected_values:
            return ""

        def accepted(column: str) -> str:
            lo, hi, lo_open, hi_open = VALUE_BOUNDS[column]
            return f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"

        cols = ", ".join(
            f"{k} {v:,} outside {accepted(k)}" for k, v in sorted(self.rejected_by_column.items())
        )
        n = self.rejected_values
        return f"{n:,} value{'s' if n > 1 else ''} rejected as not sane and left out ({cols})"

    def coverage(self) -> tuple[int, int, int]:
        """(contracts with greeks (gamma), contracts with open interest, total)."""
        return (
            int((~np.isnan(self._state["gamma"])).sum()),
            int((~np.isnan(self._state["open_interest"])).sum()),
            len(self),
        )

    def expirations(self) -> list[datetime]:
        return sorted(self.instruments["expiration"].unique().to_list())
