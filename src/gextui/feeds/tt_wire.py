"""DXLink ``FEED_DATA`` COMPACT payloads → columnar frames, without a pydantic object per event.

The SDK parses every event into a pydantic model (≈ 13 µs an event); gextui needs four or
five numbers of each. :func:`decode` takes one COMPACT payload (``[v1, v2, … flat]``, the
fields in the order the SDK requested them: the event class's ``model_fields``) and returns a
frame in the :mod:`gextui.feeds.tt_convert` shape with **the same rows and values as the SDK's
parse** (``Event.from_stream`` then :func:`~gextui.feeds.tt_convert.events_frame`):

* the payload length must be a multiple of the field count (else :class:`MalformedPayload`:
  the SDK raises there and tears the connection down; here the frame is dropped and counted);
* an event is dropped (as the SDK does) when a required field is ``"NaN"`` / ``"Infinity"`` /
  ``"-Infinity"``; such an optional field becomes null (or the field's default);
* clean columns (numbers where numbers belong, text where text belongs) are sliced out of
  the flat list (``values[k::n]``, C speed) and turned into float64 arrays in one call;
* any other value (a number sent as text such as ``"1e309"``, a float in an integer field,
  ``true`` where a number belongs, ``Infinity`` literals, …) sends just that event through
  the SDK's own parser, so the outcome is the SDK's by construction (an event the SDK cannot
  parse at all is dropped and counted).

Per event that is ≈ 0.3 µs of type checks and ≈ 0.1 µs of conversion on top of ``json.loads``.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, get_args

import numpy as np
import numpy.typing as npt
import polars as pl
from pydantic_core import PydanticUndefined
from tastytrade.dxfeed import Event
from tastytrade.dxfeed.event import NAN_VALUES

from gextui.feeds.tt_convert import FIELD_MAP, events_frame

__all__ = ["LAYOUTS", "Decoded", "JsonConstant", "Layout", "MalformedPayload", "decode"]


class MalformedPayload(ValueError):
    """A payload that cannot be events (wrong arity, not a list)."""


class JsonConstant(float):
    """``NaN`` / ``Infinity`` JSON literals (``json.loads(…, parse_constant=JsonConstant)``):
    a float the SDK would see as such, but a type the fast path does not take as clean."""


class _Cat(enum.Enum):
    DEC = "decimal"
    INT = "int"
    STR = "str"
    BOOL = "bool"
    OTHER = "other"


_CLEAN: Final[Mapping[_Cat, frozenset[type]]] = {
    _Cat.DEC: frozenset({float, int}),
    _Cat.INT: frozenset({int}),
    _Cat.STR: frozenset({str}),
    _Cat.BOOL: frozenset({bool}),
    _Cat.OTHER: frozenset(),
}


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    index: int
    cat: _Cat
    required: bool
    default: float | None  # the value NaN becomes when not required (None: null)


@dataclass(frozen=True, slots=True)
class Layout:
    """How one SDK event class sits on the wire and which columns gextui takes from it."""

    cls: type[Event]
    kind: str  # batch kind (greeks, summary, trades, quotes)
    size: int  # values per event
    fields: tuple[_Field, ...]
    outputs: tuple[tuple[str, int], ...]  # (batch column, field index)


def _category(annotation: Any) -> _Cat:
    args = [a for a in get_args(annotation) if a is not type(None)] or [annotation]
    if len(args) != 1:
        return _Cat.OTHER
    return {Decimal: _Cat.DEC, int: _Cat.INT, str: _Cat.STR, bool: _Cat.BOOL}.get(
        args[0], _Cat.OTHER
    )


def make_layout(kind: str) -> Layout:
    cls, columns = FIELD_MAP[kind]
    fields: list[_Field] = []
    for i, (name, info) in enumerate(cls.model_fields.items()):
        default = info.default
        fields.append(
            _Field(
                name,
                i,
                _category(info.annotation),
                info.is_required(),
                None if default is None or default is PydanticUndefined else float(default),
            )
        )
    index = {f.name: f.index for f in fields}
    return Layout(
        cls, kind, len(fields), tuple(fields), tuple((dst, index[src]) for dst, src in columns)
    )


#: DXLink event type name → layout
LAYOUTS: Final[Mapping[str, Layout]] = {
    cls.__name__: make_layout(kind) for kind, (cls, _) in FIELD_MAP.items()
}


@dataclass(frozen=True, slots=True)
class Decoded:
    frame: pl.DataFrame  # symbol + the kind's columns, in arrival order
    dropped: int  # events the SDK would have dropped too (or could not parse at all)
    slow: int  # events that went through the SDK's parser


_NAN = math.nan
_INF = math.inf


def _sdk_rows(
    layout: Layout, row_values: Callable[[int], list[Any]], rows: Sequence[int]
) -> tuple[list[int], list[Event]]:
    """Events ``rows`` (``row_values(r)``: the wire values of row r) parsed by the SDK itself
    (unparseable ones left out): (payload row of each event, events)."""
    at: list[int] = []
    out: list[Event] = []
    for r in rows:
        try:
            parsed = layout.cls.from_stream(list(row_values(r)))
        except Exception:
            continue
        at.extend([r] * len(parsed))
        out.extend(parsed)
    return at, out


def decode(layout: Layout, values: Any) -> Decoded:
    """One COMPACT payload of ``layout``'s event type → a columnar frame (see the module)."""
    if not isinstance(values, list):
        raise MalformedPayload("payload is not a list")
    size = layout.size
    n = len(values)
    if n % size:
        raise MalformedPayload(f"{n} values are not a multiple of {size}")
    m = n // size
    drop: set[int] = set()
    slow: set[int] = set()
    nulls: dict[int, list[int]] = {}  # field index → rows whose value becomes null/default
    cols: dict[int, list[Any]] = {}
    wanted = {i for _, i in layout.outputs}
    for f in layout.fields:
        col = values[f.index :: size]
        if f.index in wanted or f.index == 0:
            cols[f.index] = col
        types = set(map(type, col))
        clean = _CLEAN[f.cat]
        if types <= clean:
            if f.cat is _Cat.STR:
                if not NAN_VALUES.isdisjoint(col):
                    bad = [r for r, v in enumerate(col) if v in NAN_VALUES]
                    if f.required:
                        drop.update(bad)
                    else:
                        nulls.setdefault(f.index, []).extend(bad)
            elif float in types and (_INF in col or -_INF in col):
                slow.update(r for r, v in enumerate(col) if v == _INF or v == -_INF)
            continue
        for r, v in enumerate(col):
            t = type(v)
            if t is str and v in NAN_VALUES:  # → the default / None, in any field
                if f.required:
                    drop.add(r)
                else:
                    nulls.setdefault(f.index, []).append(r)
            elif t in clean:
                if t is float and (v == _INF or v == -_INF):
                    slow.add(r)
            else:
                slow.add(r)
    slow -= drop
    try:
        frame = _fast_frame(layout, cols, nulls, m, drop | slow)
    except (OverflowError, ValueError, TypeError):  # e.g. an integer beyond float range
        slow = set(range(m)) - drop
        frame = _fast_frame(layout, cols, nulls, m, set(range(m)))
    return _with_slow_rows(
        layout, frame, m, drop, slow, lambda r: values[r * size : (r + 1) * size]
    )


def _with_slow_rows(
    layout: Layout,
    frame: pl.DataFrame,
    m: int,
    drop: set[int],
    slow: set[int],
    row_values: Callable[[int], list[Any]],
) -> Decoded:
    """``frame`` (the clean rows) plus the ``slow`` rows parsed by the SDK, in arrival order."""
    dropped = len(drop)
    if slow:
        at, events = _sdk_rows(layout, row_values, sorted(slow))
        dropped += len(slow) - len(set(at))
        if events:
            extra = events_frame(layout.kind, events)
            # keep the arrival order (the book keeps the last value of a symbol in a batch)
            kept = [r for r in range(m) if r not in drop and r not in slow]
            order = pl.Series("_row", kept + at, dtype=pl.Int64)
            frame = (
                pl.concat([frame, extra], how="vertical")
                .with_columns(order)
                .sort("_row", maintain_order=True)
                .drop("_row")
            )
    return Decoded(frame, dropped, len(slow))


def _fast_frame(
    layout: Layout,
    cols: Mapping[int, list[Any]],
    nulls: Mapping[int, list[int]],
    m: int,
    skip: set[int],
) -> pl.DataFrame:
    """The frame of the clean rows (all but ``skip``)."""
    keep: npt.NDArray[np.bool_] | None = None
    if skip:
        keep = np.ones(m, dtype=bool)
        keep[list(skip)] = False
    symbols = pl.Series("symbol", cols[0], dtype=pl.String, strict=False)
    columns = []
    for dst, idx in layout.outputs:
        col = cols[idx]
        rows_null = nulls.get(idx)
        if keep is not None or rows_null:  # skipped rows may hold anything: mask them first
            col = [v if type(v) is float or type(v) is int else _NAN for v in col]
        arr = np.array(col, dtype=np.float64) if m else np.empty(0, dtype=np.float64)
        if rows_null:
            default = layout.fields[idx].default
            arr[rows_null] = _NAN if default is None else default
        if keep is not None:
            arr = arr[keep]
        series = pl.Series(dst, arr, dtype=pl.Float64)
        if rows_null and default is None:
            series = series.fill_nan(None)  # null, as the SDK's None becomes in tt_convert
        columns.append(series)
    if keep is not None:
        symbols = symbols.filter(pl.Series(keep))
    return pl.DataFrame([symbols, *columns])


# ---------------------------------------------------------------------- the text path
#: the exact start of a compact FEED_DATA frame with one (type, values) pair, as DXLink sends it
_FEED_DATA: Final = re.compile(r'\{"type":"FEED_DATA","channel":(\d+),"data":\["([A-Za-z]+)",\[')
_NAN_QUOTED: Final = [f'"{v}"' for v in sorted(NAN_VALUES)]


class NeedsJson(Exception):
    """The text path cannot decide a frame: parse it with ``json.loads`` instead."""


def split_frame(text: str) -> tuple[int, str, list[str]] | None:
    """(channel, event type, value tokens) of a compact one-type ``FEED_DATA`` frame, split
    on commas without a JSON parse; ``None`` for anything else (other messages, several
    types, nested values, escapes, other spacing: the caller uses ``json.loads``)."""
    m = _FEED_DATA.match(text)
    if m is None or not text.endswith("]]}"):
        return None
    inner = text[m.end() : -3]
    if "[" in inner or "]" in inner or "{" in inner or "}" in inner or "\\" in inner:
        return None
    return int(m.group(1)), m.group(2), inner.split(",") if inner else []


def decode_tokens(layout: Layout, tokens: list[str]) -> Decoded:
    """:func:`decode` for the comma-split text of a payload (:func:`split_frame`): the same
    result as ``decode(layout, json.loads(payload))``, with the checks and number parsing
    done column-wise by polars. Raises :class:`MalformedPayload` (wrong arity) or
    :class:`NeedsJson` (a value that is not plain JSON: let ``json.loads`` decide)."""
    size = layout.size
    n = len(tokens)
    if n % size:
        raise MalformedPayload(f"{n} values are not a multiple of {size}")
    m = n // size
    drop = np.zeros(m, dtype=bool)
    slow = np.zeros(m, dtype=bool)
    wanted = {i for _, i in layout.outputs}
    # one frame of the token columns, one select for every check and number (one collect)
    raw = pl.DataFrame(
        [pl.Series(f"c{f.index}", tokens[f.index :: size], dtype=pl.String) for f in layout.fields]
    )
    exprs: list[pl.Expr] = []
    for f in layout.fields:
        c = pl.col(f"c{f.index}")
        if f.cat is _Cat.STR:
            ok = c.str.starts_with('"') & c.str.ends_with('"') & (c.str.len_bytes() >= 2)
            exprs.append(c.is_in(_NAN_QUOTED).alias(f"nan{f.index}"))
        elif f.cat is _Cat.BOOL:
            ok = c.is_in(["true", "false"])
        elif f.cat is _Cat.DEC:  # a finite number (1e400 is inf for json: the SDK drops it)
            ok = c.cast(pl.Float64, strict=False).is_finite().fill_null(False)
        elif f.cat is _Cat.INT:  # an integer within int64 (beyond: let json decide)
            ok = c.cast(pl.Int64, strict=False).is_not_null()
        else:
            ok = c.is_null()  # never true for a token: every row to the SDK
        exprs.append(ok.alias(f"ok{f.index}"))
        if f.index in wanted:
            vals = c.cast(pl.Float64, strict=False)
            if not f.required and f.default is not None:
                vals = vals.fill_null(f.default)
            exprs.append(vals.alias(f"v{f.index}"))
    exprs.append(pl.col("c0").str.strip_chars('"').alias("symbol"))
    checked = raw.select(exprs)
    for f in layout.fields:
        ok_np = checked[f"ok{f.index}"].to_numpy()
        if f.cat is _Cat.STR:  # "NaN" is a clean string: always looked at
            nan_np = checked[f"nan{f.index}"].to_numpy()
        elif ok_np.all():
            continue
        else:  # "NaN" in a number field (the usual case of a not-ok token): rare, look now
            nan_np = raw[f"c{f.index}"].is_in(_NAN_QUOTED).to_numpy()
        if f.required:  # "NaN" in a required field: the SDK drops the event
            drop |= nan_np
        slow |= ~ok_np & ~nan_np
    slow &= ~drop
    keep = pl.Series(~(drop | slow))
    frame = checked.select(
        pl.col("symbol"), *(pl.col(f"v{idx}").alias(dst) for dst, idx in layout.outputs)
    ).filter(keep)

    def row_values(r: int) -> list[Any]:
        try:
            row = json.loads(
                "[" + ",".join(tokens[r * size : (r + 1) * size]) + "]",
                parse_constant=JsonConstant,
            )
        except ValueError:
            raise NeedsJson from None
        return list(row)

    slow_rows = set(np.flatnonzero(slow).tolist())
    drop_rows = set(np.flatnonzero(drop).tolist())
    for r in slow_rows:  # invalid JSON anywhere: json.loads decides (the frame is dropped)
        row_values(r)
    return _with_slow_rows(layout, frame, m, drop_rows, slow_rows, row_values)
