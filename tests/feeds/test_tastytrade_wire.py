"""The fast COMPACT decoder gives exactly what the SDK's own parse gives, on the same frames."""

from __future__ import annotations

import json
import random
import zlib
from typing import Any

import pytest
from polars.testing import assert_frame_equal

from gextui.feeds.tt_convert import events_frame
from gextui.feeds.tt_wire import (
    LAYOUTS,
    JsonConstant,
    MalformedPayload,
    NeedsJson,
    decode,
    decode_tokens,
    split_frame,
)

ODD: list[Any] = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e309",  # a number as text: the SDK makes it Decimal('1E+309') → inf
    "0.25",
    "abc",
    None,
    True,
    False,
    5.0,
    5.5,
    -0.0,
    0,
    10**30,
    "",
    [1],
    {"a": 1},
]


def normal(name: str, field: str, rng: random.Random, i: int) -> Any:
    """A realistic value for ``field`` of event type ``name``."""
    layout = LAYOUTS[name]
    cat = next(f.cat for f in layout.fields if f.name == field).value
    if field == "event_symbol":
        return f".SPXW310110C{5000 + i}"
    if cat == "int":
        return rng.randrange(0, 7 * 10**18)
    if cat == "str":
        return rng.choice(["Q", "REGULAR", "FINAL", "UP"])
    if cat == "bool":
        return rng.random() < 0.5
    return rng.choice([rng.uniform(-5, 300), rng.randrange(0, 10_000), rng.uniform(1e-7, 1e-3)])


def payload(name: str, n: int, rng: random.Random, odd_rate: float) -> list[Any]:
    layout = LAYOUTS[name]
    out: list[Any] = []
    for i in range(n):
        for f in layout.fields:
            if rng.random() < odd_rate:
                out.append(rng.choice(ODD))
            else:
                out.append(normal(name, f.name, rng, i % 7))  # repeated symbols: order matters
    return out


def via_sdk(name: str, values: list[Any]) -> Any:
    layout = LAYOUTS[name]
    events = []
    size = layout.size
    for r in range(len(values) // size):  # the SDK crashes on a few odd values; skip those
        try:
            events.extend(layout.cls.from_stream(values[r * size : (r + 1) * size]))
        except Exception:
            continue
    return events_frame(layout.kind, events)


@pytest.mark.parametrize("name", sorted(LAYOUTS))
@pytest.mark.parametrize("odd_rate", [0.0, 0.01, 0.1, 0.5])
def test_same_as_the_sdk(name: str, odd_rate: float) -> None:
    rng = random.Random(zlib.crc32(f"{name}{odd_rate}".encode()))
    for _ in range(40):
        values = payload(name, 20, rng, odd_rate)
        # through the wire: the JSON text, parsed as the reader parses it
        wire = json.loads(json.dumps(values), parse_constant=JsonConstant)
        got = decode(LAYOUTS[name], wire)
        want = via_sdk(name, wire)
        assert_frame_equal(got.frame, want)
        assert got.frame.height + got.dropped == 20
        if odd_rate == 0.0:
            assert got.slow == 0 and got.dropped == 0
        # the text path (no json.loads) on the same frame as DXLink sends it
        text = json.dumps(
            {"type": "FEED_DATA", "channel": 3, "data": [name, values]}, separators=(",", ":")
        )
        split = split_frame(text)
        if split is None:  # nested values ([1], {"a": 1}): the JSON path
            assert any(isinstance(v, list | dict) for v in values)
            continue
        assert split[:2] == (3, name)
        try:
            by_text = decode_tokens(LAYOUTS[name], split[2])
        except NeedsJson:
            continue
        assert_frame_equal(by_text.frame, want)
        assert by_text.dropped == got.dropped


def test_text_path_on_clean_frames_needs_no_json() -> None:
    rng = random.Random(5)
    for name in sorted(LAYOUTS):
        values = payload(name, 200, rng, 0.0)
        if name == "Summary":
            for i in range(10, len(values), 13):  # optional prices "NaN", as dxFeed sends
                values[i] = "NaN"
        text = json.dumps(
            {"type": "FEED_DATA", "channel": 7, "data": [name, values]}, separators=(",", ":")
        )
        split = split_frame(text)
        assert split is not None
        got = decode_tokens(LAYOUTS[name], split[2])
        assert got.slow == 0 and got.dropped == 0
        assert_frame_equal(got.frame, via_sdk(name, values))


def test_text_path_declines_what_it_cannot_split() -> None:
    assert split_frame('{"type":"KEEPALIVE","channel":0}') is None
    assert split_frame('{"type": "FEED_DATA", "channel": 3, "data": ["Greeks", []]}') is None
    two = '{"type":"FEED_DATA","channel":3,"data":["Greeks",[".A"],"Quote",[".B"]]}'
    assert split_frame(two) is None
    escaped = '{"type":"FEED_DATA","channel":3,"data":["Trade",["\\u0041"]]}'
    assert split_frame(escaped) is None
    comma = '{"type":"FEED_DATA","channel":3,"data":["Trade",["a,b"]]}'
    split = split_frame(comma)
    assert split is not None
    with pytest.raises((MalformedPayload, NeedsJson)):
        decode_tokens(LAYOUTS["Trade"], split[2])


def test_nan_literals_and_optional_nan() -> None:
    g = LAYOUTS["Greeks"]
    row = [".A", 0, 0, 1, 2, 3, 1.5, 0.2, 0.5, 0.001, -0.1, 0.01, 0.3]
    text = json.dumps([*row, ".B", 0, 0, 1, 2, 3, "NaN", *row[7:]])  # price NaN: dropped
    text = text.replace('"NaN"', "NaN")  # as a JSON literal
    wire = json.loads(text, parse_constant=JsonConstant)
    got = decode(g, wire)
    assert got.frame["symbol"].to_list() == [".A"]
    assert got.dropped == 1
    s = LAYOUTS["Summary"]
    summary = [".A", 0, 20400, "REGULAR", 20399, "FINAL", 1234, "NaN", 1.0, 1.0, "NaN", "NaN", 5]
    got = decode(s, summary)
    assert got.frame.to_dicts() == [{"symbol": ".A", "open_interest": 1234.0, "prev_close": None}]
    assert_frame_equal(got.frame, via_sdk("Summary", summary))


def test_wrong_arity_and_non_list() -> None:
    with pytest.raises(MalformedPayload):
        decode(LAYOUTS["Greeks"], [".A", 1, 2])
    with pytest.raises(MalformedPayload):
        decode(LAYOUTS["Greeks"], {"a": 1})
    assert decode(LAYOUTS["Trade"], []).frame.height == 0


@pytest.mark.parametrize("name", sorted(LAYOUTS))
@pytest.mark.parametrize("events", [1, 2, 3, 33, 250])
def test_text_path_any_frame_size(name: str, events: int) -> None:
    """Tiny and large frames, clean or with odd values, through the text path: the SDK's."""
    rng = random.Random(zlib.crc32(f"{name}{events}".encode()))
    for odd_rate in (0.0, 0.02, 0.3):
        for _ in range(3 if events > 100 else 12):
            values = payload(name, events, rng, odd_rate)
            values = [v for v in values if not isinstance(v, list | dict)] + [0] * sum(
                isinstance(v, list | dict) for v in values
            )  # flat values only: this test is about the text path
            text = json.dumps(
                {"type": "FEED_DATA", "channel": 1, "data": [name, values]}, separators=(",", ":")
            )
            split = split_frame(text)
            assert split is not None
            want = via_sdk(name, json.loads(json.dumps(values), parse_constant=JsonConstant))
            try:
                got = decode_tokens(LAYOUTS[name], split[2])
            except NeedsJson:
                continue
            assert_frame_equal(got.frame, want)
            assert got.frame.height + got.dropped == events
            if odd_rate == 0.0:
                assert got.slow == 0 and got.dropped == 0


def test_strings_with_commas_never_decode_wrong() -> None:
    """A symbol holding commas can make the token count a multiple of the field count
    again: the text path must then give the SDK's result or hand the frame to json."""
    g = LAYOUTS["Greeks"]
    row = [".A", 0, 0, 1, 2, 3, 1.5, 0.2, 0.5, 0.001, -0.1, 0.01, 0.3]
    symbols = [".B" + "," * 13, "," * 13 + ".B", ".B,1,2,3,4,5,6,7,8,9,0,1,2,", "," * 26]
    for symbol in symbols:
        assert symbol.count(",") % g.size == 0
        values = [*row, symbol, *row[1:], *row]
        text = json.dumps(
            {"type": "FEED_DATA", "channel": 1, "data": ["Greeks", values]},
            separators=(",", ":"),
        )
        split = split_frame(text)
        assert split is not None
        try:
            got = decode_tokens(g, split[2])
        except (NeedsJson, MalformedPayload):
            continue
        assert_frame_equal(got.frame, via_sdk("Greeks", values))


def test_quoted_strings_check_is_exact() -> None:
    """The joined-text check of the symbol column says yes exactly when every token is a
    ``"…"`` without a quote inside, and then unquotes each."""
    from gextui.feeds.tt_wire import _quoted_strings

    rng = random.Random(11)
    for _ in range(20_000):
        col = ["".join(rng.choice('"a"') for _ in range(rng.randrange(0, 5))) for _ in range(3)]
        col = col[: rng.randrange(1, 4)]
        got = _quoted_strings(col)
        clean = all(len(t) >= 2 and t[0] == t[-1] == '"' and '"' not in t[1:-1] for t in col)
        assert got == ([t[1:-1] for t in col] if clean else None), col


def test_reader_text_and_json_paths_agree() -> None:
    """The reader's two ways in (text path above :data:`TEXT_PATH_MIN_EVENTS`, json below)
    give the same batches for frames of any size."""
    from tastytrade import Session

    from gextui.core.events import EventBatch
    from gextui.feeds.tt_stream import WatchedStreamer

    streamer = WatchedStreamer(Session("test-secret", "test-refresh"))
    rng = random.Random(3)
    for name in sorted(LAYOUTS):
        for events in (1, 4, 47, 48, 120):
            values = [v for v in payload(name, events, rng, 0.02) if not isinstance(v, list | dict)]
            values += [0] * (-len(values) % LAYOUTS[name].size)
            channel = streamer._channels[name]
            text = json.dumps(
                {"type": "FEED_DATA", "channel": channel, "data": [name, values]},
                separators=(",", ":"),
            )
            runs: list[list[EventBatch]] = []
            for text_path in (True, False):
                split = split_frame(text) if text_path else None
                if split is None or not streamer._feed_tokens(*split, 0.0):
                    streamer._feed_data(json.loads(text, parse_constant=JsonConstant), 0.0)
                batches: list[EventBatch] = []
                streamer.drain_into({}, batches)
                runs.append(batches)
            by_text, by_json = runs
            assert len(by_text) == len(by_json) <= 1
            for a, b in zip(by_text, by_json, strict=True):
                assert a.frames().keys() == b.frames().keys()
                for kind, frame in a.frames().items():
                    assert_frame_equal(frame, b.frames()[kind])
    assert streamer.malformed_frames == 0


def test_drain_merges_the_frames_of_a_tick_in_arrival_order() -> None:
    """Frames received between two drains come out as one batch: each kind's rows in
    arrival order (the book keeps the last value of a symbol), the last frame's time."""
    from datetime import UTC, datetime, timedelta

    import polars as pl

    from gextui.core.events import EventBatch
    from gextui.feeds.tt_stream import merge_batches

    t0 = datetime(2031, 1, 3, 15, tzinfo=UTC)

    def batch(kind: str, rows: list[tuple[str, float]], at: int, **kw: Any) -> EventBatch:
        column = {"greeks": "gamma", "trades": "price"}[kind]
        frame = pl.DataFrame(
            {"symbol": [s for s, _ in rows], column: [v for _, v in rows]},
            schema={"symbol": pl.String, column: pl.Float64},
        )
        meta = kw.pop("meta", {"source": "t"})
        return EventBatch.from_frames(t0 + timedelta(seconds=at), {kind: frame}, meta=meta, **kw)

    parts = [
        batch("greeks", [(".A", 1.0), (".B", 2.0)], 0),
        batch("trades", [("SPX", 6000.0)], 1),
        batch("greeks", [(".A", 3.0)], 2),
    ]
    (merged,) = merge_batches(parts)
    assert merged.time == t0 + timedelta(seconds=2) and merged.meta == {"source": "t"}
    assert merged.frames()["greeks"].rows() == [(".A", 1.0), (".B", 2.0), (".A", 3.0)]
    assert merged.frames()["trades"].rows() == [("SPX", 6000.0)]
    assert merge_batches(parts[:1]) == parts[:1]
    other = batch("greeks", [(".C", 4.0)], 3, meta={"source": "u"})
    assert merge_batches([*parts, other]) == [*parts, other]  # other meta: left alone
