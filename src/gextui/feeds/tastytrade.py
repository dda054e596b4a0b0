"""Live option-chain data from tastytrade (REST for the chain, dxFeed DXLink for the stream).

Usage::

    feed = TastytradeFeed(load_credentials())
    session = await feed.open("SPX")          # FeedError / UnknownTickerError on failure
    await session.set_expirations([date(2026, 1, 16)])
    async for batch in session.events():      # columnar EventBatches, ~10 a second
        book.apply(batch)

* **Session.** ``tastytrade.Session(TT_SECRET, TT_REFRESH, is_test=TT_SANDBOX)`` (its
  constructor makes no network call); ``TT_API_URL`` repoints its REST client. The access
  token is fetched once in :meth:`TastytradeFeed.open` so that bad credentials fail there,
  as a :class:`FeedError` with one line ("tastytrade rejected the credentials (HTTP 401) —
  check TT_SECRET / TT_REFRESH"); the secret never appears in a message or a log.
* **Chain.** ``get_option_chain`` (SPX gives the SPX and SPXW roots) becomes the
  instrument frame (symbol = the option's streamer symbol, root, expiration, type, strike,
  multiplier = shares per contract); cached per ticker for ``chain_ttl`` seconds.
* **Stream.** :class:`~gextui.feeds.tt_stream.LiveStream`: the underlying's Trade / Quote /
  Summary and, for the selected expirations, the options' Greeks / Summary, subscribed in
  chunks; reconnect with backoff, silence detection, resubscription (see that module).
  Options are subscribed once the consumer calls :meth:`set_expirations` or starts reading
  :meth:`TastytradeFeedSession.events` (so a selection made right after ``open`` does not
  first subscribe the whole chain); ``None`` (the default) means every expiration.
* **Batches.** Each ``FEED_DATA`` frame is decoded straight into columns (one EventBatch per
  frame and event type, :mod:`gextui.feeds.tt_wire`, equal to the SDK's own parse); the
  session yields them every ``batch_interval`` seconds. NaN fields arrive as null and never
  overwrite good data; a contract whose Summary never arrives has no open interest (missing
  coverage, not zero).
* **REST retries** (:meth:`TastytradeFeed._call`, for login, chains and quote tokens alike):
  HTTP 5xx, 429 (at least its Retry-After) and network errors are retried with backoff;
  a 401/403 forces a token refresh and one retry; only credentials rejected again after a
  forced refresh are fatal (:data:`AUTH_MESSAGE`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Final, TypeVar

import numpy as np
import polars as pl
from httpx2 import HTTPError, Response
from pydantic import ValidationError
from tastytrade import Session
from tastytrade.instruments import Option, get_option_chain
from tastytrade.utils import TastytradeError

from gextui.core.chain import make_instruments
from gextui.core.events import EventBatch
from gextui.core.symbols import TickerError, ticker_name
from gextui.credentials import Credentials
from gextui.feeds.base import (
    ChainInfo,
    FeedError,
    FeedState,
    FeedStatus,
    Source,
    UnknownTickerError,
    wait_event,
)
from gextui.feeds.tt_convert import to_batch
from gextui.feeds.tt_stream import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_SILENCE_TIMEOUT,
    LiveStream,
    StreamConfig,
    TransientError,
    leaves,
    redact,
    utc_now,
)

__all__ = [
    "TastytradeFeed",
    "TastytradeFeedSession",
    "instruments_from_chain",
    "normalise_ticker",
]

log = logging.getLogger(__name__)

AUTH_MESSAGE: Final = (
    "tastytrade rejected the credentials (HTTP {status}) — check TT_SECRET / TT_REFRESH"
)


class _HttpLog:
    """httpx response hook: remembers the last HTTP status (and Retry-After) the SDK saw.

    The SDK's :class:`TastytradeError` carries only the server's text, not the status; this
    tells a rejected token (401/403) from an unknown symbol (404) from an outage.
    """

    def __init__(self) -> None:
        self.status: int | None = None
        self.path = ""
        self.retry_after: float | None = None

    def reset(self) -> None:
        self.status, self.path, self.retry_after = None, "", None

    async def __call__(self, response: Response) -> None:
        self.status = response.status_code
        self.path = response.request.url.path
        self.retry_after = _retry_after(response.headers.get("retry-after"))


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds; an HTTP date is ignored)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if 0 <= seconds < 86_400 else None


class _Rejected(FeedError):
    """HTTP 401/403 from tastytrade (internal: :meth:`TastytradeFeed._call` decides)."""


T = TypeVar("T")


def normalise_ticker(ticker: str) -> str:
    """``" spx"`` → ``"SPX"``; ``"^SPX"`` / ``"$SPX"`` → ``"SPX"`` (the core's ticker rule,
    :func:`~gextui.core.symbols.ticker_name`; a name that cannot be a ticker is
    :class:`UnknownTickerError`)."""
    try:
        return ticker_name(ticker)
    except TickerError as exc:
        raise UnknownTickerError(str(exc)) from None


def _one_line(text: str, limit: int = 160) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def instruments_from_chain(
    chain: Mapping[date, Sequence[Option]],
) -> tuple[str | None, pl.DataFrame]:
    """(underlying streamer symbol, instrument frame) from ``get_option_chain``'s result.

    Inactive options are left out. The frame is empty when the chain is.
    """
    options = [o for opts in chain.values() for o in opts if o.active]
    if not options:
        return None, make_instruments(
            pl.DataFrame(
                schema={
                    "symbol": pl.String,
                    "root": pl.String,
                    "expiration": pl.Date,
                    "type": pl.String,
                    "strike": pl.Float64,
                    "multiplier": pl.Float64,
                }
            )
        )
    frame = pl.DataFrame(
        {
            "symbol": [o.streamer_symbol for o in options],
            "root": [o.root_symbol for o in options],
            "expiration": [o.expiration_date for o in options],
            "type": [o.option_type.value for o in options],
            "strike": [str(o.strike_price) for o in options],
            "multiplier": [float(o.shares_per_contract) for o in options],
        },
        schema={
            "symbol": pl.String,
            "root": pl.String,
            "expiration": pl.Date,
            "type": pl.String,
            "strike": pl.String,
            "multiplier": pl.Float64,
        },
    ).with_columns(pl.col("strike").cast(pl.Float64))
    frame = frame.unique("symbol", keep="last", maintain_order=True)
    underlying = options[0].underlying_symbol
    return underlying, make_instruments(frame)


class TastytradeFeedSession:
    """One ticker's live data (implements :class:`~gextui.feeds.base.FeedSession`), on the
    feed's shared connection (:class:`SharedStream`)."""

    def __init__(
        self,
        chain: ChainInfo,
        hub: SharedStream,
        *,
        batch_interval: float,
        on_close: Any = None,
    ) -> None:
        self._chain = chain
        self._hub = hub
        self._batch_interval = batch_interval
        self._on_close = on_close
        self._closed = False
        self._meta: Mapping[str, str] = {"source": chain.source.value}
        by_exp = chain.instruments.group_by("expiration").agg(pl.col("symbol"))
        self._symbols_by_expiration: dict[date, list[str]] = dict(
            zip(by_exp["expiration"].to_list(), by_exp["symbol"].to_list(), strict=True)
        )
        self._all_symbols: list[str] = chain.instruments["symbol"].to_list()
        #: the options this session wants streamed (all until set_expirations says otherwise)
        self.wanted: frozenset[str] = frozenset(self._all_symbols)
        #: options are subscribed once set_expirations is called or events() starts reading
        #: (so a selection made right after open does not first subscribe the whole chain)
        self.enabled = False
        self.inbox: list[EventBatch] = []
        self.arrived = asyncio.Event()
        self._status_key: tuple[object, ...] = ()
        self._status = FeedStatus(FeedState.CONNECTING, "connecting to tastytrade")
        hub.attach(self)

    @property
    def chain(self) -> ChainInfo:
        return self._chain

    @property
    def underlying(self) -> str:
        return self._chain.underlying_symbol

    @property
    def symbols(self) -> list[str]:
        """Every option symbol of the chain (routing: the hub sends these here)."""
        return self._all_symbols

    @property
    def status(self) -> FeedStatus:
        """The connection's state, with this ticker's own progress: ``subscribing n/N``
        until its contracts are subscribed, ``waiting for data`` until each answered, then
        the connection's live / stale."""
        stream = self._hub.stream
        if self._closed and stream.fatal is None:
            return FeedStatus(FeedState.CLOSED, "closed")
        st = stream.status
        cur = stream.streamer
        if st.state is FeedState.CLOSED or cur is None:
            return st
        own_total = (len(self.wanted) if self.enabled else 0) + 1
        key = (id(cur), len(stream.subscribed), st, len(cur.missing) if st.progress else 0)
        if key == self._status_key:
            return self._status
        base = FeedState.CONNECTING if stream.stats.connections <= 1 else FeedState.RECONNECTING
        wanted = self.wanted if self.enabled else frozenset()
        done = len(wanted & stream.subscribed)
        if self.underlying not in stream.subscribed or (wanted and not done):
            status = st  # connecting, setting up: the connection's own words
        elif done < len(wanted):
            status = FeedStatus(
                base,
                f"subscribing {done:,}/{len(wanted):,} contracts",
                progress=done / len(wanted),
            )
        else:
            missing = cur.missing
            waiting = len(wanted & missing) + (self.underlying in missing) if missing else 0
            if waiting:
                answered = own_total - waiting
                status = FeedStatus(base, "waiting for data", progress=answered / own_total)
            elif st.state in (FeedState.LIVE, FeedState.STALE):
                status = st
            else:  # the connection still fills other tickers in: this one is complete
                status = FeedStatus(FeedState.LIVE, "")
        self._status_key, self._status = key, status
        return status

    def readiness(self) -> tuple[bool, float | None, list[str]]:
        """(this ticker's wanted set is subscribed on the current connection, monotonic time
        of the last data after the last subscription chunk or None, its symbols that have
        not answered yet) – used by ``snapshot``."""
        stream = self._hub.stream
        _, after, missing = stream.readiness()
        own = (self.wanted if self.enabled else frozenset()) | {self.underlying}
        subscribed = own <= stream.subscribed and stream.streamer is not None
        return subscribed, after, sorted(own.intersection(missing))

    @property
    def stream(self) -> LiveStream:
        """The shared streaming loop (stats, wanted symbols) – for diagnostics and tests."""
        return self._hub.stream

    async def set_expirations(self, expirations: Sequence[date] | None) -> None:
        """Stream the options of these expirations only (``None``: all of them)."""
        if expirations is None:
            self.wanted = frozenset(self._all_symbols)
        else:
            symbols: list[str] = []
            for exp in set(expirations):
                symbols.extend(self._symbols_by_expiration.get(exp, ()))
            self.wanted = frozenset(symbols)
        self.enabled = True
        self._hub.update()

    async def events(self) -> AsyncIterator[EventBatch]:
        """Columnar batches of everything received for this ticker, every
        ``batch_interval`` seconds with data.

        Keeps going through reconnects; ends when the session is closed; raises
        :class:`FeedError` when the stream cannot go on (credentials rejected).
        """
        if not self.enabled:
            self.enabled = True
            self._hub.update()
        while not self._closed:
            await wait_event(self.arrived, self._batch_interval * 5)
            self.arrived.clear()
            batches, self.inbox = self.inbox, []
            for batch in batches:  # one per FEED_DATA frame and event type
                yield batch
            if self._hub.stream.fatal is not None:
                raise self._hub.stream.fatal

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.arrived.set()
        await self._hub.detach(self)
        if self._on_close is not None:
            self._on_close(self)


class SharedStream:
    """One DXLink connection (:class:`LiveStream`) for every open ticker of a feed.

    Sessions attach and detach; the wanted set of the connection is the union of theirs
    (an option subscribed once, whoever wants it; a closed ticker unsubscribed). Every
    ``batch_interval`` one pump drains the connection and routes each batch's rows to the
    session whose chain holds the symbol (a dict lookup per event, ≈ 0.1 µs), so a
    watchlist of SPX, SPY, QQQ and NDX costs one connection and one decode.
    """

    def __init__(self, stream: LiveStream, *, batch_interval: float) -> None:
        self.stream = stream
        self._batch_interval = batch_interval
        self._sessions: list[TastytradeFeedSession] = []
        self._owner: dict[str, int] = {}
        self._pump: asyncio.Task[None] | None = None

    @property
    def sessions(self) -> list[TastytradeFeedSession]:
        return list(self._sessions)

    def attach(self, session: TastytradeFeedSession) -> None:
        self._sessions.append(session)
        self._reindex()
        self.update()
        self.stream.start()
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._run(), name="gextui-dxlink-pump")

    async def detach(self, session: TastytradeFeedSession) -> None:
        with contextlib.suppress(ValueError):
            self._sessions.remove(session)
        self._reindex()
        if self._sessions:
            self.update()  # its symbols are unsubscribed
            return
        pump, self._pump = self._pump, None
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump
        await self.stream.aclose()

    def _reindex(self) -> None:
        owner: dict[str, int] = {}
        for i, s in enumerate(self._sessions):
            owner.update(dict.fromkeys(s.symbols, i))
            owner[s.underlying] = i
        self._owner = owner

    def update(self) -> None:
        """The connection streams the union of what the sessions want."""
        wanted: set[str] = set()
        enabled = False
        for s in self._sessions:
            if s.enabled:
                enabled = True
                wanted |= s.wanted
        self.stream.set_underlyings(s.underlying for s in self._sessions)
        self.stream.set_options(wanted, enable=enabled)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._batch_interval)
            self.pump()

    def pump(self) -> None:
        """Drain the connection and hand every session its rows."""
        batches, events = self.stream.drain()
        sdk_batch = to_batch(events, time=self.stream.config.clock(), meta=self.stream.meta)
        if sdk_batch is not None:
            batches.append(sdk_batch)
        if not batches and self.stream.fatal is None:
            return
        sessions = self._sessions
        for batch in batches:
            for i, part in self._route(batch):
                if i < len(sessions):
                    sessions[i].inbox.append(part)
        for s in sessions:
            if s.inbox or self.stream.fatal is not None:
                s.arrived.set()

    def _route(self, batch: EventBatch) -> list[tuple[int, EventBatch]]:
        """``batch`` split by owning session (rows of symbols nobody owns are dropped)."""
        if len(self._sessions) == 1:
            return [(0, batch)]
        owner = self._owner
        parts: dict[int, dict[str, pl.DataFrame]] = {}
        for kind, frame in batch.frames().items():
            owners = np.fromiter(
                (owner.get(sym, -1) for sym in frame["symbol"].to_list()), np.int64, frame.height
            )
            first = owners[0]
            if (owners == first).all():
                if first >= 0:
                    parts.setdefault(int(first), {})[kind] = frame
                continue
            for i in np.unique(owners):
                if i >= 0:
                    parts.setdefault(int(i), {})[kind] = frame.filter(pl.Series(owners == i))
        return [
            (i, EventBatch.from_frames(batch.time, frames, meta=batch.meta))
            for i, frames in parts.items()
        ]


class TastytradeFeed:
    """tastytrade as a :class:`~gextui.feeds.base.Feed`.

    Parameters mostly exist for tests (short timeouts, fast backoff); the defaults suit the
    real service. ``silence_timeout``: seconds without any frame before a reconnect;
    ``chunk_size``: options per subscription message (see
    :data:`gextui.feeds.tt_stream.DEFAULT_CHUNK_SIZE`); ``subscribe_pause``: seconds between
    chunks; ``batch_interval``: seconds between batches; ``backoff_*`` / ``jitter``: reconnect
    delays; ``chain_ttl``: seconds a fetched chain is reused; ``http_timeout``: REST timeout;
    ``clock``: the time received batches are stamped with (default: now, UTC);
    ``sdk_debug_logs``: keep the SDK's per-frame DEBUG logging (off: its logger is set to INFO).
    """

    def __init__(
        self,
        credentials: Credentials,
        *,
        silence_timeout: float = DEFAULT_SILENCE_TIMEOUT,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        subscribe_pause: float = 0.1,
        batch_interval: float = 0.1,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        jitter: float = 0.25,
        stale_after: float = 30.0,
        token_max_age: float = 23 * 3600.0,
        chain_ttl: float = 3600.0,
        http_timeout: float = 15.0,
        seed: int | None = None,
        sdk_debug_logs: bool = False,
        rest_tries: int = 6,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        # The SDK sets its logger to DEBUG at import and logs every received frame (whole
        # FEED_DATA payloads): noise, and a LogRecord per frame. Quiet unless asked.
        logging.getLogger("tastytrade").setLevel(logging.DEBUG if sdk_debug_logs else logging.INFO)
        self._credentials = credentials
        self._config = StreamConfig(
            silence_timeout=silence_timeout,
            chunk_size=chunk_size,
            subscribe_pause=subscribe_pause,
            backoff_initial=backoff_initial,
            backoff_max=backoff_max,
            jitter=jitter,
            stale_after=stale_after,
            token_max_age=token_max_age,
            seed=seed,
            clock=clock or utc_now,
        )
        self._batch_interval = batch_interval
        self._chain_ttl = chain_ttl
        self._http_timeout = http_timeout
        self._http = _HttpLog()
        self._rest_tries = max(1, rest_tries)
        self._sleep = sleep
        self._rng = random.Random(seed)
        #: REST retries done: (what, reason, delay in seconds)
        self.rest_retries: list[tuple[str, str, float]] = []
        self._session: Session | None = None
        self._session_lock = asyncio.Lock()
        self._chains: dict[str, tuple[float, ChainInfo]] = {}
        self._open: list[TastytradeFeedSession] = []
        self._hub: SharedStream | None = None

    @property
    def source(self) -> Source:
        return Source.TASTYTRADE_SANDBOX if self._credentials.sandbox else Source.TASTYTRADE

    @property
    def config(self) -> StreamConfig:
        return self._config

    # ------------------------------------------------------------------ errors
    def _fatal_from(self, exc: BaseException) -> FeedError | None:
        """For the stream loop: credentials rejected (after a forced refresh) are fatal;
        everything else (transient REST errors included) is retried."""
        for e in leaves(exc):
            if isinstance(e, FeedError) and not isinstance(e, TransientError):
                return e
        return None

    def _secrets(self) -> list[str]:
        creds = self._credentials
        out = [creds.secret, creds.refresh_token]
        if self._session is not None:
            out.append(self._session.session_token)
        return out

    def _host(self) -> str:
        if self._session is None:
            return "tastytrade"
        url = self._session._client.base_url
        return f"{url.host}:{url.port}" if url.port else str(url.host)

    @contextlib.asynccontextmanager
    async def _rest(self, what: str) -> AsyncIterator[None]:
        """Map SDK / network failures of a REST call to one-line :class:`FeedError`s:
        :class:`_Rejected` (401/403), :class:`TransientError` (5xx, 429, network), plain
        :class:`FeedError` for the rest."""
        self._http.reset()
        try:
            yield
        except FeedError:
            raise
        except TastytradeError as exc:
            status = self._http.status
            if status in (401, 403):
                raise _Rejected(AUTH_MESSAGE.format(status=status)) from None
            code = f" (HTTP {status})" if status else ""
            text = redact(_one_line(f"tastytrade {what} failed{code}: {exc}"), self._secrets())
            if status is not None and (status >= 500 or status == 429):
                raise TransientError(text, self._http.retry_after) from None
            raise FeedError(text) from None
        except (HTTPError, OSError) as exc:
            raise TransientError(
                f"cannot reach tastytrade at {self._host()} for {what} ({type(exc).__name__})"
            ) from None
        except (ValidationError, KeyError, ValueError, TypeError) as exc:
            raise FeedError(
                f"unexpected {what} response from tastytrade ({type(exc).__name__})"
            ) from None

    async def _call(
        self, what: str, fn: Callable[[], Awaitable[T]], *, tries: int | None = None
    ) -> T:
        """One REST call with the retry policy:

        * 5xx, 429 and network errors: retried up to ``tries`` times in all (default
          ``rest_tries``) with the reconnect backoff, at least the server's Retry-After
          (capped); then the last :class:`TransientError` is raised;
        * 401/403 from a request: the access token is refreshed (forced) and the request
          retried once; 401/403 from the token refresh itself gets one more try;
        * only credentials rejected again after that are fatal (:data:`AUTH_MESSAGE`).
        """
        tries = self._rest_tries if tries is None else max(1, tries)
        cfg = self._config
        failures = 0
        refreshed = False
        rejected_refreshes = 0
        while True:
            try:
                async with self._rest(what):
                    return await fn()
            except _Rejected as exc:
                if self._http.path == "/oauth/token":
                    rejected_refreshes += 1
                    if rejected_refreshes >= 2:
                        raise FeedError(str(exc)) from None
                    reason = "token refresh rejected; trying once more"
                elif refreshed:
                    raise FeedError(str(exc)) from None
                else:
                    refreshed = True
                    reason = "access token rejected; refreshing it"
                    await self._refresh(tries)
                    self.rest_retries.append((what, reason, 0.0))
                    continue
                delay = cfg.backoff(0, self._rng)
            except TransientError as exc:
                failures += 1
                if failures >= tries:
                    raise
                reason = str(exc)
                delay = cfg.backoff(failures - 1, self._rng)
                if exc.retry_after is not None:
                    delay = max(delay, min(exc.retry_after, cfg.retry_after_max))
            self.rest_retries.append((what, reason, delay))
            log.info("tastytrade %s: %s; retrying in %.1f s", what, reason, delay)
            await self._sleep(delay)

    async def _refresh(self, tries: int) -> None:
        session = self._session
        if session is not None:
            await self._call("login", lambda: session.refresh(force=True), tries=tries)

    async def _quote_token(self) -> dict[str, Any]:
        """The DXLink quote token, for each new connection of a stream (one try for
        transient errors: the stream's own reconnect backoff follows)."""
        session = await self._ensure_session()
        return await self._call("quote token", lambda: session._get("/api-quote-tokens"), tries=1)

    # ------------------------------------------------------------------ session and chain
    async def _ensure_session(self) -> Session:
        async with self._session_lock:
            if self._session is not None:
                return self._session
            creds = self._credentials
            if not creds.present:
                raise FeedError(
                    "tastytrade credentials missing: set "
                    + ", ".join(creds.missing())
                    + f" (environment or .env) — {creds.describe_missing()}"
                )
            session = Session(
                creds.secret,
                creds.refresh_token,
                is_test=creds.sandbox,
                timeout=self._http_timeout,
                event_hooks={"response": [self._http]},
            )
            if creds.api_url:
                session._client.base_url = creds.api_url
            self._session = session
            try:
                await self._call("login", lambda: session.refresh(force=True))
            except FeedError:
                self._session = None
                await session._client.aclose()
                raise
            return session

    async def chain(self, ticker: str) -> ChainInfo:
        """The option chain of ``ticker`` (cached for ``chain_ttl`` seconds)."""
        ticker = normalise_ticker(ticker)
        if not ticker:
            raise UnknownTickerError("no ticker given")
        cached = self._chains.get(ticker)
        if cached is not None and time.monotonic() - cached[0] < self._chain_ttl:
            return cached[1]
        session = await self._ensure_session()

        async def fetch() -> tuple[str | None, pl.DataFrame]:
            return instruments_from_chain(await get_option_chain(session, ticker))

        try:
            underlying, instruments = await self._call(f"option chain for {ticker}", fetch)
        except FeedError as exc:
            if self._http.status in (400, 404):
                raise UnknownTickerError(f"tastytrade has no option chain for {ticker!r}") from None
            raise exc from None
        if underlying is None or not instruments.height:
            raise UnknownTickerError(f"tastytrade has no option chain for {ticker!r}")
        info = ChainInfo(ticker, underlying, self.source, instruments)
        self._chains[ticker] = (time.monotonic(), info)
        return info

    # ------------------------------------------------------------------ Feed protocol
    async def open(self, ticker: str) -> TastytradeFeedSession:
        """A session for ``ticker`` on the feed's one DXLink connection (made by the first
        open, closed with the last session)."""
        info = await self.chain(ticker)
        session = await self._ensure_session()
        for old in list(self._open):
            if old.chain.ticker == info.ticker:
                await old.aclose()  # one session per ticker
        hub = self._hub
        if hub is None or not hub.sessions:
            stream = LiveStream(
                session,
                "",
                self._config,
                fatal_from=self._fatal_from,
                token_source=self._quote_token,
                secrets=self._secrets,
                meta={"source": info.source.value},
            )
            hub = self._hub = SharedStream(stream, batch_interval=self._batch_interval)
        feed_session = TastytradeFeedSession(
            info, hub, batch_interval=self._batch_interval, on_close=self._forget
        )
        self._open.append(feed_session)
        return feed_session

    @property
    def connection(self) -> LiveStream | None:
        """The shared DXLink loop (None before the first open) – for diagnostics and tests."""
        return self._hub.stream if self._hub is not None else None

    def _forget(self, feed_session: TastytradeFeedSession) -> None:
        with contextlib.suppress(ValueError):
            self._open.remove(feed_session)

    async def aclose(self) -> None:
        for feed_session in list(self._open):
            await feed_session.aclose()
        self._open.clear()
        self._chains.clear()
        session, self._session = self._session, None
        if session is not None:
            await session._client.aclose()
