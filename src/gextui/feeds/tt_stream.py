"""The resilient DXLink streaming loop behind :class:`~gextui.feeds.tastytrade.TastytradeFeed`.

The SDK's :class:`tastytrade.DXLinkStreamer` is one connection: it fetches a quote token
(``GET /api-quote-tokens``), connects, authorises, and parses ``FEED_DATA`` into event objects.
It does not reconnect, has no liveness check and keeps its token for the connection's life.
:class:`LiveStream` adds all of that:

* **Reconnect.** Each connection runs in its own task with a fresh
  :class:`WatchedStreamer` (so a fresh quote token). When it ends – a drop (an
  ``ExceptionGroup`` out of the SDK's ``async with``), a server ``ERROR``, a silent server,
  a failed token request – the status turns ``RECONNECTING`` with the reason, and the next
  attempt waits ``min(backoff_max, backoff_initial · 2^n)`` seconds ± ``jitter`` (n counts
  failed attempts since the last connection that delivered data). Credentials rejected
  (HTTP 401/403) are fatal: status ``CLOSED`` and :attr:`LiveStream.fatal` is set.
* **Silence.** Every frame the websocket receives (data, ``KEEPALIVE``, anything) stamps
  :attr:`WatchedStreamer.last_frame`. A connection that receives nothing for
  ``silence_timeout`` seconds – including while connecting – is cancelled and replaced.
  The SDK asks the server (``acceptKeepaliveTimeout: 60``) to speak at least once a minute,
  so the default (75 s) leaves a 15 s margin above that. A connection that hears keepalives
  but no market data for ``stale_after`` seconds is kept and shown ``STALE`` (a quiet market
  is not a dead link).
* **Resubscribe.** A new connection subscribes everything wanted: the underlying's
  Trade / Quote / Summary, then the options' Greeks / Summary. Selection changes
  (:meth:`LiveStream.set_options`) subscribe what is new and unsubscribe what is gone.
* **Chunking.** See :data:`DEFAULT_CHUNK_SIZE`.
* **Token age.** A connection older than ``token_max_age`` (default 23 h; quote tokens live
  24 h) is replaced before its token expires.

Events are parsed by the SDK's own parser (``Event.from_stream``) but kept in plain lists on
the :class:`WatchedStreamer` rather than the SDK's per-event memory streams;
:meth:`LiveStream.drain` takes them (retired connections first, so nothing received before a
drop is lost) and the feed session converts them to one columnar batch per tick.

Private SDK surface relied on (tastytrade 13.2): ``DXLinkStreamer._websocket`` (assigned once
per connection), ``_map_message(message, channel)``, ``_channels_reversed``, ``_recv``, and
``tastytrade.streamer.MAP_EVENTS``. The feed tests run the real SDK against a fake server, so a
change there shows up as a failing test.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from anyio import WouldBlock
from httpx2 import HTTPError
from httpx2.websockets import WebSocketDisconnect, WebSocketNetworkError
from tastytrade import DXLinkStreamer, Session
from tastytrade.dxfeed import Event, Greeks, Quote, Summary, Trade
from tastytrade.streamer import MAP_EVENTS
from tastytrade.utils import TastytradeError

from gextui.feeds.base import FeedError, FeedState, FeedStatus
from gextui.feeds.tt_convert import KIND_OF

log = logging.getLogger(__name__)

#: Options per subscription message (per event type).
#:
#: The limit that matters is on *incoming* frames: the SDK's websocket client (httpx-ws) has a
#: 64 KiB message limit and closes the connection (code 1009, which the SDK reports as
#: "Subscription message too long") when one ``FEED_DATA`` frame is larger. A subscription
#: for n symbols is answered with a snapshot of n events, which the server may pack into one
#: frame. In the COMPACT format the SDK requests, a Greeks event is 13 values (symbol, event
#: time, flags, a 19-digit index, a 13-digit time, sequence, and seven doubles printed with up
#: to 17 significant digits): ≈ 180 bytes typical, ≤ 270 bytes worst case; a Summary event
#: (13 values) is about the same. 100 symbols therefore make ≤ 27 KiB per frame – under half
#: the limit, so even when the server merges the snapshots of two consecutive chunks into one
#: aggregation period the frame stays below 64 KiB. Chunks are paced by ``subscribe_pause``
#: (default: the 0.1 s aggregation period the SDK asks for), so at most two chunks can share
#: a frame. Outgoing messages are small (≈ 45 bytes a symbol, ≈ 4.5 KiB a chunk).
DEFAULT_CHUNK_SIZE: Final = 100
DEFAULT_SILENCE_TIMEOUT: Final = 75.0
UNDERLYING_TYPES: Final[tuple[type[Event], ...]] = (Trade, Quote, Summary)
#: options: Greeks and Summary (open interest) for GEX, Trade for day volume (volume GEX)
OPTION_TYPES: Final[tuple[type[Event], ...]] = (Greeks, Summary, Trade)
DRAIN_TYPES: Final[tuple[type[Event], ...]] = (Greeks, Summary, Trade, Quote)


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


class _WatchedSocket:
    """Wraps the SDK's websocket to stamp the arrival time of every received frame."""

    def __init__(self, inner: Any, owner: WatchedStreamer) -> None:
        self._inner = inner
        self._owner = owner

    async def receive_json(self, *args: Any, **kwargs: Any) -> Any:
        message = await self._inner.receive_json(*args, **kwargs)
        self._owner.last_frame = time.monotonic()
        self._owner.frames += 1
        return message

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class WatchedStreamer(DXLinkStreamer):
    """A :class:`DXLinkStreamer` that knows when it last heard from the server.

    The SDK stores its websocket in ``self._websocket`` (a slot); this subclass intercepts
    that assignment to wrap the socket, so every received frame – data or ``KEEPALIVE`` –
    updates :attr:`last_frame`, and :attr:`last_data` tracks ``FEED_DATA`` frames.
    """

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        now = time.monotonic()
        self.created = now
        self.last_frame = now
        self.last_data: float | None = None
        self.frames = 0
        self.data_frames = 0
        self.subscribed = False  # everything wanted has been subscribed once
        self.pending: dict[type[Event], list[Event]] = {cls: [] for cls in DRAIN_TYPES}

    @property
    def _websocket(self) -> Any:
        return self.__dict__["_gex_websocket"]

    @_websocket.setter
    def _websocket(self, websocket: Any) -> None:
        self.__dict__["_gex_websocket"] = _WatchedSocket(websocket, self)

    def _map_message(self, message: list[Any], channel: int) -> None:
        """Parse one ``FEED_DATA`` payload with the SDK's own parser, but keep the events in
        plain lists instead of the SDK's per-event memory streams: a send + receive per event
        (≈ 1 µs together) is more than gextui's whole conversion budget per event."""
        self.last_data = time.monotonic()
        self.data_frames += 1
        cls = MAP_EVENTS.get(self._channels_reversed.get(channel, ""))
        if cls is None or cls not in self.pending or not message or isinstance(message[0], dict):
            super()._map_message(message, channel)  # FULL format / other types: SDK queues
            return
        # COMPACT format: ["Greeks", [v1, v2, ... flat]] – parsed exactly as the SDK does
        self.pending[cls].extend(cls.from_stream(message[1]))

    def drain_into(self, out: dict[str, list[Event]]) -> None:
        """Move every parsed event received so far into ``out`` (by batch kind)."""
        for cls in DRAIN_TYPES:
            bucket = out.setdefault(KIND_OF[cls], [])
            pending = self.pending[cls]
            if pending:
                bucket.extend(pending)
                pending.clear()
            recv = self._recv[cls]  # events the SDK queued itself (FULL format)
            append = bucket.append
            while True:
                try:
                    append(recv.receive_nowait())
                except WouldBlock:
                    break


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


def describe(exc: BaseException) -> str:
    """A one-line reason for a connection that ended with ``exc``."""
    found = [e for e in leaves(exc) if not isinstance(e, asyncio.CancelledError)] or [exc]
    first = found[0]
    for e in found:  # the SDK's own messages are the most telling
        if isinstance(e, TastytradeError):
            first = e
            break
    if isinstance(first, TastytradeError):
        text = str(first)
        if text.startswith("Fatal streamer error:"):
            return _one_line("server error: " + text.removeprefix("Fatal streamer error:").strip())
        if "too long" in text:
            return "server frame over the 64 KiB limit (connection closed)"
        return _one_line(f"tastytrade error: {text}")
    if isinstance(first, WebSocketDisconnect):
        why = f": {first.reason}" if getattr(first, "reason", None) else ""
        return _one_line(f"connection closed by the server (code {first.code}{why})")
    if isinstance(first, WebSocketNetworkError):
        return "connection lost (network error)"
    if isinstance(first, HTTPError):
        return _one_line(f"cannot reach the stream ({type(first).__name__})")
    if isinstance(first, TimeoutError):
        return "timed out"
    if isinstance(first, OSError):
        return _one_line(f"network error ({type(first).__name__})")
    return _one_line(f"{type(first).__name__}: {first}")


@dataclass(slots=True)
class StreamStats:
    connections: int = 0
    reconnects: int = 0
    subscribe_messages: int = 0
    last_reason: str = ""
    reasons: list[str] = field(default_factory=list)


class LiveStream:
    """Keeps one DXLink feed alive for an underlying and a changing set of option symbols.

    ``fatal_from(exc)`` turns an exception into a fatal :class:`FeedError` (bad credentials)
    or returns ``None`` (retry). ``on_status`` is called on every status change.
    """

    def __init__(
        self,
        session: Session,
        underlying: str,
        config: StreamConfig,
        *,
        fatal_from: Callable[[BaseException], FeedError | None] = lambda _e: None,
        on_status: Callable[[FeedStatus], None] | None = None,
    ) -> None:
        self._session = session
        self.underlying = underlying
        self.config = config
        self._fatal_from = fatal_from
        self._on_status = on_status
        self._rng = random.Random(config.seed)
        self._wanted: frozenset[str] = frozenset()
        self._options_enabled = False
        self._changed = asyncio.Event()
        self._streamer: WatchedStreamer | None = None
        self._retired: list[WatchedStreamer] = []
        self._task: asyncio.Task[None] | None = None
        self._subscribing = False
        self.fatal: FeedError | None = None
        self.stats = StreamStats()
        self.status = FeedStatus(FeedState.CONNECTING, "connecting to tastytrade")

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"gextui-dxlink-{self.underlying}")

    def set_options(self, symbols: Iterable[str], *, enable: bool = True) -> None:
        """Stream these option symbols (and no others) from now on; with ``enable=False``
        only remember them until :meth:`enable_options`."""
        self._wanted = frozenset(symbols)
        if enable:
            self._options_enabled = True
        self._changed.set()

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

    def drain(self) -> dict[str, list[Event]]:
        """All parsed events received since the last drain, by batch kind."""
        out: dict[str, list[Event]] = {}
        retired, self._retired = self._retired, []
        for streamer in retired:
            streamer.drain_into(out)
        if self._streamer is not None:
            self._streamer.drain_into(out)
            if out:  # data is flowing: say so now, not at the watchdog's next tick
                self._update_live(self._streamer, time.monotonic())
        return out

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
        if cur.state == state and cur.reason == reason and cur.progress == progress:
            return
        self.status = FeedStatus(state, reason, progress=progress)
        if self._on_status is not None:
            self._on_status(self.status)

    # ------------------------------------------------------------------ main loop
    async def _run(self) -> None:
        attempt = 0
        reason = ""
        while True:
            streamer = WatchedStreamer(self._session)
            self.stats.connections += 1
            if self.stats.connections > 1:
                self.stats.reconnects += 1
                self._set_status(FeedState.RECONNECTING, f"reconnecting: {reason}")
            else:
                self._set_status(FeedState.CONNECTING, "connecting to tastytrade")
            conn = asyncio.create_task(self._connection(streamer))
            try:
                reason = await self._supervise(streamer, conn)
            except asyncio.CancelledError:
                conn.cancel()
                with contextlib.suppress(BaseException):
                    await conn
                raise
            finally:
                if self._streamer is streamer:
                    self._streamer = None
                    self._retired.append(streamer)
            self.stats.last_reason = reason
            self.stats.reasons.append(reason)
            log.info("tastytrade stream ended: %s", reason)
            if self.fatal is not None:
                self._set_status(FeedState.CLOSED, str(self.fatal))
                return
            if streamer.data_frames:
                attempt = 0  # that connection worked: start the backoff over
            delay = self.config.backoff(attempt, self._rng)
            attempt += 1
            self._set_status(FeedState.RECONNECTING, f"{reason}; retrying in {delay:.1f} s")
            await asyncio.sleep(delay)

    async def _supervise(self, streamer: WatchedStreamer, conn: asyncio.Task[None]) -> str:
        """Watch one connection; return why it ended."""
        cfg = self.config
        while True:
            done, _ = await asyncio.wait({conn}, timeout=cfg.check_interval)
            if done:
                exc = conn.exception() if not conn.cancelled() else None
                if exc is None:
                    return "connection ended"
                fatal = self._fatal_from(exc)
                if fatal is not None:
                    self.fatal = fatal
                    return str(fatal)
                return describe(exc)
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
                return why
            self._update_live(streamer, now)

    def _update_live(self, streamer: WatchedStreamer, now: float) -> None:
        if self._streamer is not streamer or self._subscribing:
            return
        if streamer.last_data is None:
            state = self.status.state
            if streamer.subscribed and state in (FeedState.CONNECTING, FeedState.RECONNECTING):
                self._set_status(state, "subscribed; waiting for data")
            return
        if now - streamer.last_data > self.config.stale_after:
            self._set_status(
                FeedState.STALE, f"no market data for {self.config.stale_after:g} s (connected)"
            )
        else:
            self._set_status(FeedState.LIVE, "")

    async def _connection(self, streamer: WatchedStreamer) -> None:
        """One connection: connect, subscribe everything, follow selection changes."""
        async with streamer:
            self._streamer = streamer
            subscribed: frozenset[str] = frozenset()
            for cls in UNDERLYING_TYPES:
                await streamer.subscribe(cls, [self.underlying])
                self.stats.subscribe_messages += 1
            while True:
                self._changed.clear()
                if self._options_enabled:
                    subscribed = await self._sync(streamer, subscribed)
                streamer.subscribed = True
                self._update_live(streamer, time.monotonic())
                await self._changed.wait()

    async def _sync(self, streamer: WatchedStreamer, have: frozenset[str]) -> frozenset[str]:
        """Subscribe what is wanted but not had, unsubscribe what is had but not wanted."""
        wanted = self._wanted
        add = sorted(wanted - have)
        remove = sorted(have - wanted)
        if not add and not remove:
            return have
        cfg = self.config
        total = len(add) + len(remove)
        done = 0
        self._subscribing = True
        state = self.status.state
        if state not in (FeedState.CONNECTING, FeedState.RECONNECTING):
            state = FeedState.LIVE
        try:
            for chunk in _chunks(remove, cfg.chunk_size):
                for cls in OPTION_TYPES:
                    await streamer.unsubscribe(cls, chunk)
                    self.stats.subscribe_messages += 1
                done += len(chunk)
            for i, chunk in enumerate(_chunks(add, cfg.chunk_size)):
                if i:
                    # pace the chunks: one server aggregation period apart (see chunk size)
                    await asyncio.sleep(cfg.subscribe_pause)
                for cls in OPTION_TYPES:
                    await streamer.subscribe(cls, chunk)
                    self.stats.subscribe_messages += 1
                done += len(chunk)
                if total > cfg.chunk_size:
                    self._set_status(
                        state, f"subscribing {done:,}/{total:,} contracts", progress=done / total
                    )
        finally:
            self._subscribing = False
        return wanted
