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

The reader's usual way in skips ``json.loads`` altogether (:func:`split_frame` +
:func:`decode_tokens`, the *text path*): the payload text is split on commas and checked and
parsed a category of fields at a time (numbers: one polars Float64 cast for all the number
fields' tokens; integers: one Int64 cast; symbols: on their joined text; other strings and
booleans: by their distinct values), with no polars expression (each costs tens of µs to set
up, more than a small frame's whole decode). It gives what ``decode(layout, json.loads(…))``
gives on any frame that is valid JSON; what it cannot decide (a value that is not plain JSON,
a string holding commas) it hands back to ``json.loads``.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import chain
from typing import Any, Final, get_args

import numpy as np
import numpy.typing as npt
import polars as pl
from pydantic_core import PydanticUndefined
from tastytrade.dxfeed import Event
from tastytrade.dxfeed.event import NAN_VALUES

from gextui.feeds.tt_convert import FIELD_MAP, events_frame

__all__ = [
    "LAYOUTS",
    "Decoded",
    "JsonConstant",
    "Layout",
    "MalformedPayload",
    "NeedsJson",
    "decode",
    "decode_tokens",
    "split_frame",
]


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
    return symbols.to_frame().hstack(columns)  # pl.DataFrame([symbols, *columns]), cheaper


# ---------------------------------------------------------------------- the text path
#: the exact start of a compact FEED_DATA frame with one (type, values) pair, as DXLink sends it
_FEED_DATA: Final = re.compile(r'\{"type":"FEED_DATA","channel":(\d+),"data":\["([A-Za-z]+)",\[')
_NAN_QUOTED: Final = frozenset(f'"{v}"' for v in NAN_VALUES)
_BOOLS: Final = frozenset({"true", "false"})


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


@dataclass(frozen=True, slots=True)
class _TextPlan:
    """How :func:`decode_tokens` reads a layout: its fields by category (numbers, integers,
    strings but the symbol, booleans, others) and where each output column sits in its
    category ((column, category, position of the field in it, default))."""

    groups: tuple[tuple[_Cat, tuple[_Field, ...]], ...]
    outputs: tuple[tuple[str, _Cat, int, float | None], ...]


def _text_plan(layout: Layout) -> _TextPlan:
    symbol, *rest = layout.fields
    if symbol.cat is not _Cat.STR:
        raise TypeError(f"{layout.cls.__name__}: the first field must be the symbol")
    by_cat: dict[_Cat, list[_Field]] = {}
    for f in rest:
        by_cat.setdefault(f.cat, []).append(f)
    outputs = []
    for dst, idx in layout.outputs:
        f = layout.fields[idx]
        if f.cat not in (_Cat.DEC, _Cat.INT):
            raise TypeError(f"{layout.cls.__name__}.{f.name}: an output must be a number")
        outputs.append((dst, f.cat, by_cat[f.cat].index(f), f.default))
    return _TextPlan(tuple((c, tuple(fs)) for c, fs in by_cat.items()), tuple(outputs))


_PLANS: Final[dict[int, tuple[Layout, _TextPlan]]] = {}  # id(layout) → (layout, plan)


def _plan(layout: Layout) -> _TextPlan:
    got = _PLANS.get(id(layout))
    if got is None:
        got = _PLANS[id(layout)] = (layout, _text_plan(layout))
    return got[1]


def _quoted_strings(col: list[str]) -> list[str] | None:
    """The contents of ``col`` when every token is a quoted string without a quote inside
    (``"…"``), found on the joined text at C speed; ``None`` when one is not (the caller
    looks at each token then)."""
    m = len(col)
    joined = ",".join(col)
    if (
        joined.count('"') != 2 * m
        or joined.count('","') != m - 1
        or len(joined) < 2
        or joined[0] != '"'
        or joined[-1] != '"'
        or joined.startswith('",')
        or joined.endswith(',"')
        or ',",' in joined
    ):
        return None
    # every separator sits between two quotes: each token starts and ends with one; none is
    # a lone quote, so (2·m quotes in all) each holds exactly two: "…"
    return joined[1:-1].split('","')


def decode_tokens(layout: Layout, tokens: list[str]) -> Decoded:
    """:func:`decode` for the comma-split text of a payload (:func:`split_frame`): the same
    result as ``decode(layout, json.loads(payload))`` without a JSON parse.

    Checks and number parses are made per category of fields, not per value: the number
    fields' tokens go to polars as one String column, cast to Float64 in one call (a token
    that does not come out finite is looked at alone), the integer fields' likewise to
    Int64; the symbols are checked and unquoted on their joined text, the other strings and
    booleans by their (few) distinct values. No polars expression runs (each costs tens of
    µs of set-up), so a frame of a few events is cheap too. A token that fails its check is
    a ``"NaN"`` string (dropped event or null, as the SDK does) or goes to the SDK's parser
    (:func:`decode`'s rules). Raises :class:`MalformedPayload` (wrong arity) or
    :class:`NeedsJson` (a value that is not plain JSON: let ``json.loads`` decide)."""
    size = layout.size
    n = len(tokens)
    if n % size:
        raise MalformedPayload(f"{n} values are not a multiple of {size}")
    m = n // size
    if not m:
        return decode(layout, [])
    plan = _plan(layout)
    drop: set[int] = set()  # rows the SDK drops ("NaN" in a required field)
    slow: set[int] = set()  # rows for the SDK's parser

    def mark(f: _Field, rows: Iterable[int], col: list[str]) -> None:
        """Rows whose token of ``f`` failed its check: a "NaN" string or the SDK's call."""
        for r in rows:
            if col[r] in _NAN_QUOTED:
                if f.required:
                    drop.add(r)
            else:
                slow.add(r)

    # the symbol: quoted, not "NaN" (the SDK drops the event)
    col = tokens[0::size]
    symbols = _quoted_strings(col)
    if symbols is None:
        ok = [len(t) > 1 and t[0] == '"' and t[-1] == '"' for t in col]
        slow.update(r for r, good in enumerate(ok) if not good)
        symbols = [t[1:-1] if good else "" for t, good in zip(col, ok, strict=True)]
    if not _NAN_QUOTED.isdisjoint(col):
        drop.update(r for r, t in enumerate(col) if t in _NAN_QUOTED)
    numbers: dict[_Cat, pl.Series] = {}
    for cat, fields in plan.groups:
        cols = [tokens[f.index :: size] for f in fields]
        if cat is _Cat.DEC or cat is _Cat.INT:
            flat = cols[0] if len(cols) == 1 else list(chain.from_iterable(cols))
            text = pl.Series(None, flat, dtype=pl.String)
            if cat is _Cat.DEC:  # finite (1e400 is inf for json: the SDK decides)
                values = text.cast(pl.Float64, strict=False)
                as_float = values
            else:  # an integer within int64 (beyond: let the SDK decide)
                values = text.cast(pl.Int64, strict=False)
                as_float = values.cast(pl.Float64) if values.null_count() else values
            numbers[cat] = values
            if values.null_count() or cat is _Cat.DEC:
                bad = ~np.isfinite(as_float.to_numpy()) if cat is _Cat.DEC else None
                if bad is None:
                    bad = np.isnan(as_float.to_numpy())
                if bad.any():
                    at = np.flatnonzero(bad)
                    for j, f in enumerate(fields):
                        lo = j * m
                        hit = at[(at >= lo) & (at < lo + m)] - lo
                        if hit.size:
                            mark(f, hit.tolist(), cols[j])
            continue
        for f, col in zip(fields, cols, strict=True):
            distinct = set(col)
            if cat is _Cat.STR:  # quoted ("NaN" is a quoted string: dropped if required)
                odd = {t for t in distinct if not (len(t) > 1 and t[0] == '"' and t[-1] == '"')}
                if f.required:
                    odd |= distinct & _NAN_QUOTED
            elif cat is _Cat.BOOL:
                odd = distinct - _BOOLS
            else:  # never clean: every row to the SDK
                odd = distinct
            if odd:
                mark(f, [r for r, t in enumerate(col) if t in odd], col)
    slow -= drop
    keep: pl.Series | None = None
    if drop or slow:
        mask = np.ones(m, dtype=bool)
        mask[list(drop | slow)] = False
        keep = pl.Series(None, mask)
    columns = [pl.Series("symbol", symbols, dtype=pl.String)]
    for dst, cat, j, default in plan.outputs:
        out = numbers[cat].slice(j * m, m)
        if cat is _Cat.INT:
            out = out.cast(pl.Float64)
        if default is not None and out.null_count():  # only "NaN" of an optional field left
            out = out.fill_null(default)
        columns.append(out.alias(dst))
    if keep is not None:
        columns = [c.filter(keep) for c in columns]
    frame = columns[0].to_frame().hstack(columns[1:])  # DataFrame(columns), cheaper

    def row_values(r: int) -> list[Any]:
        try:
            row = json.loads(
                "[" + ",".join(tokens[r * size : (r + 1) * size]) + "]",
                parse_constant=JsonConstant,
            )
        except ValueError:
            raise NeedsJson from None
        return list(row)

    for r in slow:  # invalid JSON anywhere: json.loads decides (the frame is dropped)
        row_values(r)
    return _with_slow_rows(layout, frame, m, drop, slow, row_values)
