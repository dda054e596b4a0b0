"""The resilient DXLink streaming loop behind :class:`~gextui.feeds.tastytrade.TastytradeFeed`.

The SDK's :class:`tastytrade.DXLinkStreamer` is one connection: it fetches a quote token
(``GET /api-quote-tokens``), connects, authorises, and parses ``FEED_DATA`` into event objects.
It does not reconnect, has no liveness check, keeps its token for the connection's life, opens
the websocket with a 64 KiB incoming-message limit and lets one malformed frame tear the
connection down. :class:`WatchedStreamer` (own connect and reader) and :class:`LiveStream`
(the loop) fix all of that:

* **Reconnect.** Each connection runs in its own task with a fresh :class:`WatchedStreamer`
  (so a fresh quote token). When it ends – a drop (an ``ExceptionGroup`` out of the SDK's
  ``async with``), a server ``ERROR``, a silent server, a failed token request – the status
  turns ``RECONNECTING`` with the reason, the number of failed tries and the time of the next
  one (New York time). The delay is ``min(backoff_max, backoff_initial · 2^n)`` ± ``jitter``
  (at least a server's Retry-After), n = consecutive failures: it starts over only after a
  connection that delivered data *and* failed differently from the one before, or that
  streamed for ``backoff_reset_after`` seconds – the same failure after some data grows it.
  Credentials rejected after a forced token refresh are fatal: status ``CLOSED`` and
  :attr:`LiveStream.fatal` is set (the feed decides, see ``fatal_from``).
* **Silence.** Every frame the websocket receives (data, ``KEEPALIVE``, anything) stamps
  :attr:`WatchedStreamer.last_frame`. A connection that receives nothing for
  ``silence_timeout`` seconds – including while connecting – is cancelled and replaced.
  The SDK asks the server (``acceptKeepaliveTimeout: 60``) to speak at least once a minute,
  so the default (75 s) leaves a 15 s margin above that. A connection that hears keepalives
  but no market data for ``stale_after`` seconds is kept and shown ``STALE`` (a quiet market
  is not a dead link).
* **Resubscribe.** A new connection subscribes everything wanted: the underlying's
  Trade / Quote / Summary, then the options' Greeks / Summary / Trade. Selection changes
  (:meth:`LiveStream.set_options`) subscribe what is new and unsubscribe what is gone.
* **Coverage.** Until every wanted symbol has answered on the connection (options: Greeks
  and Summary; the underlying: a Trade or Quote) the status is ``subscribing n/N contracts``
  or ``waiting for data`` with the fraction in ``progress``, state ``CONNECTING`` (first
  connection) or ``RECONNECTING``; ``LIVE`` only when the whole wanted set streams.
  :meth:`LiveStream.readiness` tells a snapshot the same.
* **Chunking.** See :data:`DEFAULT_CHUNK_SIZE`.
* **Token age.** A connection older than ``token_max_age`` (default 23 h; quote tokens live
  24 h) is replaced before its token expires.
* **Words.** :func:`describe` turns an ending into a reason in gextui's words; the text of an
  unknown exception is never shown (a failed send reads "connection lost"), and every reason
  is scrubbed of the secrets (:func:`redact`).

``FEED_DATA`` COMPACT frames are decoded by :mod:`gextui.feeds.tt_wire` straight into
columns (no pydantic object per event), the frames between two drains as one
:class:`~gextui.core.events.EventBatch`; :meth:`LiveStream.drain` takes them (retired
connections first, so nothing received before a drop is lost). FULL-format frames still go
through the SDK's parser.

Private SDK surface relied on (tastytrade 13.2.3, :data:`SDK_VERSION`, pinned by a test): the
``DXLinkStreamer`` slots (``_websocket``, ``_wss_url``, ``_auth_token``, ``_channels``,
``_channels_reversed``, ``_subscription_state``), ``_heartbeat``, ``_map_message``,
``Session._get`` / ``client_kwargs``, ``tastytrade.streamer.MAP_EVENTS`` and
``DXLINK_VERSION``. The feed tests run the real SDK against a fake server, so a change there
shows up as a failing test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Self
from zoneinfo import ZoneInfo

import polars as pl
from anyio import TASK_STATUS_IGNORED, create_task_group
from anyio.abc import TaskStatus
from httpx2 import AsyncClient, HTTPError
from httpx2.websockets import (
    WebSocketDisconnect,
    WebSocketInvalidTypeReceived,
    WebSocketNetworkError,
)
from pydantic import ValidationError
from tastytrade import DXLinkStreamer, Session
from tastytrade.dxfeed import Event, Greeks, Quote, Summary, Trade
from tastytrade.streamer import DXLINK_VERSION, MAP_EVENTS
from tastytrade.utils import TastytradeError
from wsproto.utilities import LocalProtocolError

from gextui.core.events import EventBatch
from gextui.feeds.base import FeedError, FeedState, FeedStatus
from gextui.feeds.tt_convert import KIND_OF
from gextui.feeds.tt_wire import (
    LAYOUTS,
    Decoded,
    JsonConstant,
    MalformedPayload,
    NeedsJson,
    decode,
    decode_tokens,
    split_frame,
)

NEW_YORK: Final = ZoneInfo("America/New_York")


class TransientError(FeedError):
    """A REST failure worth retrying (HTTP 5xx / 429, a network error); ``retry_after`` is
    the server's Retry-After in seconds, when it gave one."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


log = logging.getLogger(__name__)

#: Options per subscription message (per event type).
#:
#: A subscription for n symbols is answered with a snapshot of n events, which the server may
#: pack into one frame. The SDK's websocket client had a 64 KiB incoming-message limit (close
#: code 1009, "Subscription message too long"); :class:`WatchedStreamer` raises it to
#: :data:`MAX_MESSAGE_BYTES`, but dxFeed's own client keeps subscriptions small too, and small
#: chunks keep snapshot frames small (a COMPACT Greeks event is ≈ 180–270 bytes: 100 symbols
#: make ≤ 27 KiB). Chunks are paced by ``subscribe_pause`` (default: the 0.1 s aggregation
#: period the SDK asks for). Outgoing messages are ≈ 45 bytes a symbol, ≈ 4.5 KiB a chunk.
DEFAULT_CHUNK_SIZE: Final = 100
DEFAULT_SILENCE_TIMEOUT: Final = 75.0
UNDERLYING_TYPES: Final[tuple[type[Event], ...]] = (Trade, Quote, Summary)
#: options: Greeks and Summary (open interest) for GEX, Trade for day volume (volume GEX)
OPTION_TYPES: Final[tuple[type[Event], ...]] = (Greeks, Summary, Trade)
DRAIN_TYPES: Final[tuple[type[Event], ...]] = (Greeks, Summary, Trade, Quote)


def utc_now() -> datetime:
    """The wall clock, UTC: what a received batch is stamped with unless a test pins it."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class StreamConfig:
    """Knobs of :class:`LiveStream` (defaults fit the real service; tests shrink them)."""

    silence_timeout: float = DEFAULT_SILENCE_TIMEOUT
    chunk_size: int = DEFAULT_CHUNK_SIZE
    subscribe_pause: float = 0.1
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    backoff_factor: float = 2.0
    jitter: float = 0.25
    stale_after: float = 30.0
    token_max_age: float = 23 * 3600.0
    seed: int | None = None
    #: a connection that streamed this long starts the backoff over even when it failed the
    #: same way as the one before (a failure a day is not a failing link)
    backoff_reset_after: float = 600.0
    #: cap on a server's Retry-After (seconds)
    retry_after_max: float = 300.0
    #: the time a received batch is stamped with (tests pin it; DXLink's events carry none
    #: that every event type shares)
    clock: Callable[[], datetime] = field(default=utc_now, compare=False)

    def __post_init__(self) -> None:
        if self.chunk_size < 1:
            raise ValueError("chunk_size must be ≥ 1")
        if self.silence_timeout <= 0:
            raise ValueError("silence_timeout must be > 0")

    @property
    def check_interval(self) -> float:
        return max(0.01, min(0.5, self.silence_timeout / 5))

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Delay before reconnect attempt ``attempt`` (0-based): exponential, capped, jittered."""
        base = min(self.backoff_max, self.backoff_initial * self.backoff_factor**attempt)
        return max(0.0, base * (1.0 + rng.uniform(-self.jitter, self.jitter)))


#: incoming websocket message limit (the SDK leaves httpx2's 64 KiB default, which one busy
#: FEED_DATA frame of a big chain exceeds; dxFeed servers can send several hundred KiB)
MAX_MESSAGE_BYTES: Final = 16 * 1024 * 1024
#: the SDK version whose private connect / reader this module replaces (a test pins it)
SDK_VERSION: Final = "13.2.3"


def failure_kind(reason: str | None) -> str:
    """What a failure is, without its details: ``connection lost (while sending)`` and
    ``connection lost`` are the same failure (which side noticed first is timing), so are
    two HTTP errors that differ only in a number."""
    if not reason:
        return ""
    text = re.sub(r"\s*\([^)]*\)", "", reason)
    return re.sub(r"\d+(\.\d+)?", "#", text).strip().lower()


#: by event type, frames with fewer events go through ``json.loads``: the text path's fixed
#: set-up (a few polars Series a frame) costs more than json for a handful of events. Where
#: they cross, measured (CPU per frame to its batch): Greeks ≈ 3 events (seven long floats
#: an event make json slow), Summary and Trade ≈ 50
TEXT_PATH_MIN_EVENTS: Final[Mapping[str, int]] = {
    "Greeks": 4,
    "Summary": 48,
    "Trade": 48,
    "Quote": 48,
}

TokenSource = Callable[[], Awaitable[dict[str, Any]]]


class WatchedStreamer(DXLinkStreamer):
    """A :class:`DXLinkStreamer` with gextui's own connect and reader.

    * **Connect** (:meth:`__asynccontextmanager__`, the SDK's own code but for two things):
      the quote token comes from ``token_source`` (the feed's retrying REST call), and the
      websocket accepts messages up to :data:`MAX_MESSAGE_BYTES`.
    * **Reader** (:meth:`_reader`): the SDK's protocol handling, plus: every frame stamps
      :attr:`last_frame`; a frame that is not valid JSON, has an unknown channel, an unknown
      event type or a payload of the wrong arity is dropped and counted
      (:attr:`malformed_frames`), never fatal; COMPACT ``FEED_DATA`` is decoded straight into
      columns (:mod:`gextui.feeds.tt_wire`, one frame per frame and event type, one
      :class:`EventBatch` per drain: :func:`merge_batches`) instead of one pydantic object
      per event.
    * **Coverage**: :attr:`missing` holds the wanted symbols that have not sent their first
      events on this connection yet (options: Greeks and Summary; the underlying: a Trade or
      a Quote).
    """

    def __init__(
        self,
        session: Session,
        *,
        token_source: TokenSource | None = None,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        meta: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(session)
        self._clock = clock
        now = time.monotonic()
        self.created = now
        self.last_frame = now
        self.last_data: float | None = None
        self.frames = 0
        self.data_frames = 0
        self.malformed_frames = 0
        self.dropped_events = 0
        self.slow_events = 0
        self.events = 0
        self.decode_cpu = 0.0  # CPU seconds from a FEED_DATA frame's text to its batches
        self.subscribed = False  # everything wanted has been subscribed once
        self.last_subscribe: float | None = None  # when the last chunk was sent
        #: wanted symbols whose first event of a kind has not arrived on this connection:
        #: options need greeks and summary, the underlying a trade or a quote ("spot")
        self.waiting: dict[str, set[str]] = {"greeks": set(), "summary": set(), "spot": set()}
        self.batches: list[EventBatch] = []
        self.pending: dict[type[Event], list[Event]] = {cls: [] for cls in DRAIN_TYPES}
        self._token_source = token_source
        self._max_message_bytes = max_message_bytes
        self._meta = dict(meta or {})
        self._authorized = False

    @asynccontextmanager
    async def __asynccontextmanager__(self) -> AsyncGenerator[Self]:
        if self._token_source is not None:
            data = await self._token_source()
        else:
            data = await self.session._get("/api-quote-tokens")
        self._wss_url = data["dxlink-url"]
        self._auth_token = data["token"]
        async with AsyncClient(**self.session.client_kwargs) as client:
            try:
                async with (
                    client.websocket(
                        self._wss_url,
                        keepalive_ping_interval_seconds=None,
                        max_message_size_bytes=self._max_message_bytes,
                    ) as self._websocket,
                    create_task_group() as tg,
                ):
                    await tg.start(self._reader)
                    tg.start_soon(self._heartbeat)
                    yield self
                    tg.cancel_scope.cancel()
            except* WebSocketDisconnect as eg:
                if eg.subgroup(lambda e: getattr(e, "code", None) == 1009):
                    raise TastytradeError("Subscription message too long!") from eg
                raise

    async def _reader(self, *, task_status: TaskStatus[None] = TASK_STATUS_IGNORED) -> None:
        ws = self._websocket
        await ws.send_json(
            {
                "type": "SETUP",
                "channel": 0,
                "keepaliveTimeout": 60,
                "acceptKeepaliveTimeout": 60,
                "version": DXLINK_VERSION,
            }
        )
        while True:
            try:
                text = await ws.receive_text()
            except WebSocketInvalidTypeReceived:
                self.frames += 1
                self.last_frame = time.monotonic()
                self.malformed_frames += 1
                continue
            self.frames += 1
            self.last_frame = now = time.monotonic()
            cpu = time.process_time()
            split = split_frame(text)
            if split is not None and self._feed_tokens(*split, now):
                self.decode_cpu += time.process_time() - cpu
                continue
            try:
                message = json.loads(text, parse_constant=JsonConstant)
            except (ValueError, RecursionError):
                self.malformed_frames += 1
                continue
            if not isinstance(message, dict):
                self.malformed_frames += 1
                continue
            kind = message.get("type")
            if kind == "FEED_DATA":
                self._feed_data(message, now)
                self.decode_cpu += time.process_time() - cpu
            elif kind in ("SETUP", "KEEPALIVE", "FEED_CONFIG"):
                pass
            elif kind == "AUTH_STATE":
                state = message.get("state")
                if state == "UNAUTHORIZED":
                    await ws.send_json({"type": "AUTH", "channel": 0, "token": self._auth_token})
                elif state == "AUTHORIZED" and not self._authorized:
                    self._authorized = True
                    task_status.started()
            elif kind == "CHANNEL_OPENED":
                key = self._channels_reversed.get(message.get("channel"))  # type: ignore[arg-type]
                opened = self._subscription_state.get(key) if key is not None else None
                if opened is None:
                    self.malformed_frames += 1
                else:
                    opened.set()
            elif kind == "CHANNEL_CLOSED":
                key = self._channels_reversed.get(message.get("channel"))  # type: ignore[arg-type]
                if key is None or self._subscription_state.pop(key, None) is None:
                    self.malformed_frames += 1
            elif kind == "ERROR":
                raise TastytradeError(f"Fatal streamer error: {message.get('message')}")
            else:
                self.malformed_frames += 1
                log.debug("unknown DXLink message type %.40r", kind)

    def _feed_tokens(self, channel: int, etype: str, tokens: list[str], now: float) -> bool:
        """The text path for a compact one-type FEED_DATA frame (no ``json.loads``);
        False when the frame needs the JSON path after all."""
        name = self._channels_reversed.get(channel)
        layout = LAYOUTS.get(etype) if etype == name else None
        if layout is None:
            self.malformed_frames += 1
            return True
        if len(tokens) < TEXT_PATH_MIN_EVENTS.get(etype, 48) * layout.size:
            return False  # a small frame: json.loads is cheaper than the column set-up
        try:
            decoded = decode_tokens(layout, tokens)
        except MalformedPayload:
            self.malformed_frames += 1
            return True
        except NeedsJson:
            return False
        self._decoded(layout.kind, decoded, now)
        self.data_frames += 1
        return True

    def _decoded(self, kind: str, decoded: Decoded, now: float) -> None:
        self.dropped_events += decoded.dropped
        self.slow_events += decoded.slow
        frame = decoded.frame
        if frame.height:
            self.events += frame.height
            self.batches.append(
                EventBatch.from_frames(self._clock(), {kind: frame}, meta=self._meta)
            )
            self._data_arrived(now, kind, frame["symbol"])

    def _feed_data(self, message: Mapping[str, Any], now: float) -> None:
        channel = message.get("channel")
        data = message.get("data")
        name = self._channels_reversed.get(channel) if type(channel) is int else None
        if name is None or not isinstance(data, list) or not data:
            self.malformed_frames += 1
            return
        if isinstance(data[0], dict):  # FULL format: the SDK's parser, queued for drain
            try:
                self._map_message(data, channel)  # type: ignore[arg-type]
            except Exception:
                self.malformed_frames += 1
                return
            kind = KIND_OF.get(MAP_EVENTS.get(name, Event), "")
            self._data_arrived(now, kind, [str(d.get("eventSymbol")) for d in data])
            return
        good = False
        for i in range(0, len(data) - 1, 2):
            etype, values = data[i], data[i + 1]
            layout = LAYOUTS.get(etype) if etype == name else None
            if layout is None:
                self.malformed_frames += 1
                continue
            try:
                decoded = decode(layout, values)
            except MalformedPayload:
                self.malformed_frames += 1
                continue
            good = True
            self._decoded(layout.kind, decoded, now)
        if len(data) % 2:
            self.malformed_frames += 1
        if good:
            self.data_frames += 1

    def _data_arrived(self, now: float, kind: str, symbols: pl.Series | list[str]) -> None:
        self.last_data = now
        waiting = self.waiting.get("spot" if kind in ("trades", "quotes") else kind)
        if waiting:  # only until everything has answered once: then this costs nothing
            waiting.difference_update(
                symbols.to_list() if isinstance(symbols, pl.Series) else symbols
            )

    @property
    def missing(self) -> set[str]:
        """Wanted symbols that have not sent everything they should yet."""
        w = self.waiting
        if not (w["greeks"] or w["summary"] or w["spot"]):
            return set()
        return w["greeks"] | w["summary"] | w["spot"]

    def want(self, options: Iterable[str] = (), underlying: str | None = None) -> None:
        """Wait for these symbols' first events (see :attr:`waiting`)."""
        opts = set(options)
        self.waiting["greeks"].update(opts)
        self.waiting["summary"].update(opts)
        if underlying is not None:
            self.waiting["spot"].add(underlying)

    def unwant(self, symbols: Iterable[str]) -> None:
        gone = set(symbols)
        for waiting in self.waiting.values():
            waiting.difference_update(gone)

    def _map_message(self, message: list[Any], channel: int) -> None:
        """The SDK's FULL-format parse (COMPACT frames never get here): events are kept in
        plain lists for :meth:`drain_into` rather than the SDK's memory streams."""
        cls = MAP_EVENTS.get(self._channels_reversed.get(channel, ""))
        if cls is None or cls not in self.pending:
            super()._map_message(message, channel)
            return
        for event_dict in message:
            with contextlib.suppress(ValidationError):
                self.pending[cls].append(cls.model_validate(event_dict))

    def drain_into(self, out: dict[str, list[Event]], batches: list[EventBatch]) -> None:
        """Move everything received so far: decoded batches into ``batches`` (the frames
        received since the last drain as one batch, see :func:`merge_batches`), SDK event
        objects (FULL format only) into ``out`` (by batch kind)."""
        if self.batches:
            batches.extend(merge_batches(self.batches))
            self.batches.clear()
        for cls in DRAIN_TYPES:
            pending = self.pending[cls]
            if pending:
                out.setdefault(KIND_OF[cls], []).extend(pending)
                pending.clear()


def merge_batches(batches: Sequence[EventBatch]) -> list[EventBatch]:
    """Decoded frames' batches as one: each kind's frames concatenated in arrival order (the
    ChainBook keeps the last value of a symbol, and the kinds write disjoint columns), the
    time of the last. A batch costs the book and the routing a fixed amount however small it
    is, and a quiet feed sends many frames of a few events. Batches that cannot merge (other
    meta, a reset, frames of different columns) stay as they are."""
    if len(batches) < 2:
        return list(batches)
    first = batches[0]
    if any(b.reset is not None or b.meta != first.meta for b in batches):
        return list(batches)
    frames: dict[str, list[pl.DataFrame]] = {}
    for b in batches:
        for kind, frame in b.frames().items():
            frames.setdefault(kind, []).append(frame)
    try:
        merged = {k: fs[0] if len(fs) == 1 else pl.concat(fs) for k, fs in frames.items()}
    except (pl.exceptions.PolarsError, ValueError):
        return list(batches)
    return [EventBatch.from_frames(batches[-1].time, merged, meta=first.meta)]


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def leaves(exc: BaseException) -> list[BaseException]:
    """The non-group exceptions inside ``exc`` (itself when it is not a group)."""
    if isinstance(exc, BaseExceptionGroup):
        out: list[BaseException] = []
        for sub in exc.exceptions:
            out.extend(leaves(sub))
        return out
    return [exc]


def _one_line(text: str, limit: int = 160) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (longer than 3 characters) replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) > 3 and secret in text:
            text = text.replace(secret, "***")
    return text


def describe(exc: BaseException) -> str:
    """A one-line reason for a connection that ended with ``exc``.

    Only errors gextui knows get words of their own; the text of any other exception is
    never shown (it may hold anything: wsproto's send errors hold the whole outgoing
    message, AUTH token included) – just its type.
    """
    found = [e for e in leaves(exc) if not isinstance(e, asyncio.CancelledError)] or [exc]
    first = found[0]
    for e in found:  # the SDK's and the feed's own messages are the most telling
        if isinstance(e, TastytradeError | FeedError):
            first = e
            break
    if isinstance(first, FeedError):
        return _one_line(str(first))
    if isinstance(first, TastytradeError):
        text = str(first)
        if text.startswith("Fatal streamer error:"):
            return _one_line("server error: " + text.removeprefix("Fatal streamer error:").strip())
        if "too long" in text:
            return (
                f"server frame over the {MAX_MESSAGE_BYTES // 2**20} MiB limit (connection closed)"
            )
        return _one_line(f"tastytrade error: {text}")
    if isinstance(first, WebSocketDisconnect):
        why = f": {first.reason}" if getattr(first, "reason", None) else ""
        return _one_line(f"connection closed by the server (code {first.code}{why})")
    if isinstance(first, WebSocketNetworkError):
        return "connection lost (network error)"
    if isinstance(first, LocalProtocolError):
        return "connection lost (while sending)"
    if isinstance(first, HTTPError):
        return _one_line(f"cannot reach the stream ({type(first).__name__})")
    if isinstance(first, TimeoutError):
        return "timed out"
    if isinstance(first, OSError):
        return _one_line(f"network error ({type(first).__name__})")
    return f"unexpected error ({type(first).__name__})"


@dataclass(slots=True)
class StreamStats:
    connections: int = 0
    reconnects: int = 0
    subscribe_messages: int = 0
    last_reason: str = ""
    reasons: list[str] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)  # chosen reconnect delays, in order
    malformed_frames: int = 0  # of ended connections (see LiveStream.malformed_frames)
    dropped_events: int = 0
    events: int = 0


@dataclass(frozen=True, slots=True)
class RetryInfo:
    """The pending reconnect: consecutive failures so far, the delay, when (UTC)."""

    failures: int
    delay: float
    at: datetime


class LiveStream:
    """Keeps one DXLink feed alive for a changing set of underlyings and option symbols (a
    whole watchlist shares one: see :class:`~gextui.feeds.tastytrade.TastytradeFeed`).

    ``fatal_from(exc)`` turns an exception into a fatal :class:`FeedError` (bad credentials)
    or returns ``None`` (retry). ``token_source`` fetches a quote token (the feed's retrying
    REST call; default: the SDK's own request). ``secrets()`` lists strings never to show
    (they are replaced by ``***`` in every reason). ``on_status`` is called on every status
    change.
    """

    def __init__(
        self,
        session: Session,
        underlying: str,
        config: StreamConfig,
        *,
        fatal_from: Callable[[BaseException], FeedError | None] = lambda _e: None,
        on_status: Callable[[FeedStatus], None] | None = None,
        token_source: TokenSource | None = None,
        secrets: Callable[[], Iterable[str]] = tuple,
        meta: Mapping[str, str] | None = None,
    ) -> None:
        self._session = session
        self.underlying = underlying
        self._underlyings: frozenset[str] = frozenset([underlying]) if underlying else frozenset()
        #: what the current connection has subscribed so far (options and underlyings)
        self.subscribed: set[str] = set()
        self.config = config
        self._fatal_from = fatal_from
        self._on_status = on_status
        self._token_source = token_source
        self._secrets = secrets
        self._meta = dict(meta or {})
        self._rng = random.Random(config.seed)
        self._wanted: frozenset[str] = frozenset()
        self._options_enabled = False
        self._changed = asyncio.Event()
        self._streamer: WatchedStreamer | None = None
        self._retired: list[WatchedStreamer] = []
        self._task: asyncio.Task[None] | None = None
        self._subscribing = False
        self.fatal: FeedError | None = None
        self.retry: RetryInfo | None = None
        self.stats = StreamStats()
        self.status = FeedStatus(FeedState.CONNECTING, "connecting to tastytrade")

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="gextui-dxlink")

    def set_options(self, symbols: Iterable[str], *, enable: bool = True) -> None:
        """Stream these option symbols (and no others) from now on; with ``enable=False``
        only remember them until :meth:`enable_options`."""
        self._wanted = frozenset(symbols)
        if enable:
            self._options_enabled = True
        self._changed.set()

    @property
    def meta(self) -> Mapping[str, str]:
        """The ``meta`` every batch of this stream carries (the source)."""
        return self._meta

    def set_underlyings(self, symbols: Iterable[str]) -> None:
        """Stream the Trade / Quote / Summary of these underlyings (and no others)."""
        wanted = frozenset(symbols)
        if wanted != self._underlyings:
            self._underlyings = wanted
            self._changed.set()

    @property
    def underlyings(self) -> frozenset[str]:
        return self._underlyings

    def enable_options(self) -> None:
        """Start streaming the wanted options (called when the consumer starts reading)."""
        if not self._options_enabled:
            self._options_enabled = True
            self._changed.set()

    @property
    def wanted(self) -> frozenset[str]:
        return self._wanted

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def streamer(self) -> WatchedStreamer | None:
        """The current connection (None between connections)."""
        return self._streamer

    def _total(self, attr: str) -> int:
        cur = self._streamer
        return int(getattr(self.stats, attr)) + (int(getattr(cur, attr)) if cur else 0)

    @property
    def malformed_frames(self) -> int:
        """Frames dropped as malformed (broken JSON, unknown channel or event type, wrong
        arity), all connections together; each cost only itself, never the connection."""
        return self._total("malformed_frames")

    @property
    def dropped_events(self) -> int:
        """Events dropped as the SDK drops them (a required field NaN or unparseable)."""
        return self._total("dropped_events")

    @property
    def events_received(self) -> int:
        return self._total("events")

    def readiness(self) -> tuple[bool, float | None, list[str]]:
        """(everything wanted has been subscribed on the current connection, monotonic time
        of the last data after the last subscription chunk or None, wanted symbols that have
        not answered yet) – for a snapshot that must wait until the chain is complete."""
        cur = self._streamer
        if cur is None or self._subscribing or self._changed.is_set() or not self._options_enabled:
            # not connected, subscribing, or a selection change not picked up yet
            return False, None, sorted(self._wanted)
        last = cur.last_data
        after = (
            last
            if (last is not None and cur.last_subscribe is not None and last >= cur.last_subscribe)
            else None
        )
        return cur.subscribed, after, sorted(cur.missing)

    def drain(self) -> tuple[list[EventBatch], dict[str, list[Event]]]:
        """Everything received since the last drain: decoded batches (in arrival order) and
        SDK event objects (FULL-format frames only) by batch kind."""
        out: dict[str, list[Event]] = {}
        batches: list[EventBatch] = []
        retired, self._retired = self._retired, []
        for streamer in retired:
            streamer.drain_into(out, batches)
        if self._streamer is not None:
            self._streamer.drain_into(out, batches)
            if out or batches:  # data is flowing: say so now, not at the watchdog's next tick
                self._update_live(self._streamer, time.monotonic())
        return batches, out

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.fatal is None:
            self._set_status(FeedState.CLOSED, "closed")

    # ------------------------------------------------------------------ status
    def _set_status(
        self, state: FeedState, reason: str = "", progress: float | None = None
    ) -> None:
        cur = self.status
        reason = redact(reason, self._secret_list())
        if cur.state == state and cur.reason == reason and cur.progress == progress:
            return
        self.status = FeedStatus(state, reason, progress=progress)
        if self._on_status is not None:
            self._on_status(self.status)

    def _secret_list(self) -> list[str]:
        out = list(self._secrets())
        for st in (self._streamer, *self._retired):
            token = getattr(st, "_auth_token", None) if st is not None else None
            if token:
                out.append(token)
        return out

    def _base_state(self) -> FeedState:
        return FeedState.CONNECTING if self.stats.connections <= 1 else FeedState.RECONNECTING

    # ------------------------------------------------------------------ main loop
    async def _run(self) -> None:
        failures = 0
        previous = ""
        cfg = self.config
        while True:
            streamer = WatchedStreamer(
                self._session, token_source=self._token_source, meta=self._meta, clock=cfg.clock
            )
            self.stats.connections += 1
            if self.stats.connections > 1:
                self.stats.reconnects += 1
                self._set_status(FeedState.RECONNECTING, f"reconnecting: {previous}")
            else:
                self._set_status(FeedState.CONNECTING, "connecting to tastytrade")
            conn = asyncio.create_task(self._connection(streamer))
            retry_after: float | None = None
            try:
                reason, retry_after = await self._supervise(streamer, conn)
            except asyncio.CancelledError:
                conn.cancel()
                with contextlib.suppress(BaseException):
                    await conn
                raise
            finally:
                if self._streamer is streamer:
                    self._streamer = None
                    self._retired.append(streamer)
                for attr in ("malformed_frames", "dropped_events", "events"):
                    setattr(self.stats, attr, getattr(self.stats, attr) + getattr(streamer, attr))
            reason = redact(reason, self._secret_list())
            self.stats.last_reason = reason
            self.stats.reasons.append(reason)
            log.info("tastytrade stream ended: %s", reason)
            if self.fatal is not None:
                self._set_status(FeedState.CLOSED, str(self.fatal))
                return
            lived = time.monotonic() - streamer.created
            same = failure_kind(reason) == failure_kind(previous)
            if streamer.data_frames and (not same or lived >= cfg.backoff_reset_after):
                failures = 0  # a working connection that failed a new way: start over
            delay = cfg.backoff(failures, self._rng)
            if retry_after is not None:
                delay = max(delay, min(retry_after, cfg.retry_after_max))
            failures += 1
            previous = reason
            at = datetime.now(UTC) + timedelta(seconds=delay)
            self.retry = RetryInfo(failures, delay, at)
            self.stats.delays.append(delay)
            clock = at.astimezone(NEW_YORK).strftime("%H:%M:%S")
            self._set_status(
                FeedState.RECONNECTING,
                f"{reason}; {failures} {'try' if failures == 1 else 'tries'} failed, "
                f"next at {clock} ET (in {delay:.1f} s)",
            )
            await asyncio.sleep(delay)
            self.retry = None

    async def _supervise(
        self, streamer: WatchedStreamer, conn: asyncio.Task[None]
    ) -> tuple[str, float | None]:
        """Watch one connection; return why it ended (and a server's Retry-After)."""
        cfg = self.config
        while True:
            done, _ = await asyncio.wait({conn}, timeout=cfg.check_interval)
            if done:
                exc = conn.exception() if not conn.cancelled() else None
                if exc is None:
                    return "connection ended", None
                fatal = self._fatal_from(exc)
                if fatal is not None:
                    self.fatal = fatal
                    return str(fatal), None
                retry_after = max(
                    (
                        e.retry_after
                        for e in leaves(exc)
                        if isinstance(e, TransientError) and e.retry_after is not None
                    ),
                    default=None,
                )
                return describe(exc), retry_after
            now = time.monotonic()
            why = ""
            if now - streamer.last_frame > cfg.silence_timeout:
                why = f"no data or keepalive for {cfg.silence_timeout:g} s"
            elif now - streamer.created > cfg.token_max_age:
                why = "renewing the quote token"
            if why:
                conn.cancel()
                with contextlib.suppress(BaseException):
                    await conn
                return why, None
            self._update_live(streamer, now)

    def _update_live(self, streamer: WatchedStreamer, now: float) -> None:
        if self._streamer is not streamer or self._subscribing or not streamer.subscribed:
            return
        if streamer.missing:
            n_und = len(self._underlyings)
            total = len(self._wanted) + n_und if self._options_enabled else n_und
            total = max(total, 1)
            done = max(0, total - len(streamer.missing))
            self._set_status(self._base_state(), "waiting for data", progress=done / total)
            return
        last = streamer.last_data
        if last is not None and now - last > self.config.stale_after:
            self._set_status(
                FeedState.STALE, f"no market data for {self.config.stale_after:g} s (connected)"
            )
        else:
            self._set_status(FeedState.LIVE, "")

    async def _connection(self, streamer: WatchedStreamer) -> None:
        """One connection: connect, subscribe everything, follow selection changes."""
        async with streamer:
            self._streamer = streamer
            self.subscribed = set()
            subscribed: frozenset[str] = frozenset()
            underlyings: frozenset[str] = frozenset()
            while True:
                self._changed.clear()
                underlyings = await self._sync_underlyings(streamer, underlyings)
                if self._options_enabled:
                    subscribed = await self._sync(streamer, subscribed)
                streamer.subscribed = True
                self._update_live(streamer, time.monotonic())
                await self._changed.wait()

    async def _sync_underlyings(
        self, streamer: WatchedStreamer, have: frozenset[str]
    ) -> frozenset[str]:
        """Subscribe the underlyings wanted but not had; unsubscribe those gone."""
        wanted = self._underlyings
        add = sorted(wanted - have)
        remove = sorted(have - wanted)
        if remove:
            streamer.unwant(remove)
            for cls in UNDERLYING_TYPES:
                await streamer.unsubscribe(cls, remove)
                self.stats.subscribe_messages += 1
            self.subscribed.difference_update(remove)
        if add:
            for symbol in add:
                streamer.want(underlying=symbol)
            for cls in UNDERLYING_TYPES:
                await streamer.subscribe(cls, add)
                self.stats.subscribe_messages += 1
            self.subscribed.update(add)
            streamer.last_subscribe = time.monotonic()
        return wanted

    async def _sync(self, streamer: WatchedStreamer, have: frozenset[str]) -> frozenset[str]:
        """Subscribe what is wanted but not had, unsubscribe what is had but not wanted."""
        wanted = self._wanted
        add = sorted(wanted - have)
        remove = sorted(have - wanted)
        if not add and not remove:
            return have
        cfg = self.config
        state = self._base_state()
        self._subscribing = True
        streamer.unwant(remove)
        streamer.want(add)
        total = len(add)
        try:
            for chunk in _chunks(remove, cfg.chunk_size):
                for cls in OPTION_TYPES:
                    await streamer.unsubscribe(cls, chunk)
                    self.stats.subscribe_messages += 1
                self.subscribed.difference_update(chunk)
            done = 0
            for i, chunk in enumerate(_chunks(add, cfg.chunk_size)):
                if i:
                    # pace the chunks: one server aggregation period apart (see chunk size)
                    await asyncio.sleep(cfg.subscribe_pause)
                for cls in OPTION_TYPES:
                    await streamer.subscribe(cls, chunk)
                    self.stats.subscribe_messages += 1
                done += len(chunk)
                self.subscribed.update(chunk)
                streamer.last_subscribe = time.monotonic()
                self._set_status(
                    state, f"subscribing {done:,}/{total:,} contracts", progress=done / total
                )
        finally:
            self._subscribing = False
        return wanted
