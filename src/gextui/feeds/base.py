"""The feed protocol: one interface for every market-data source.

A :class:`Feed` (simulated, tastytrade, CBOE file, replay) is opened for a ticker and gives a
:class:`FeedSession`:

1. ``session.chain`` – the :class:`ChainInfo`: ticker, underlying symbol, source label and the
   instrument frame (symbol, root, expiration, settlement, type, strike, multiplier), ready for
   :class:`~gextui.core.chain.ChainBook`;
2. ``session.events()`` – an async iterator of :class:`~gextui.core.events.EventBatch` in the
   columnar shape ChainBook applies, until the session is closed (or the source ends: a file or
   a replay reaching its end);
3. ``session.status`` – a :class:`FeedStatus` the UI shows (connecting / live / stale /
   reconnecting / closed / market closed, with a reason);
4. ``await session.set_expirations(dates | None)`` – a hint of which expirations the user looks
   at (a live source subscribes only those; ``None`` means all);
5. ``await session.aclose()``.

Switching ticker closes one session and opens another; a feed may keep a cache across them.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol, runtime_checkable

import polars as pl

from gextui.core.chain import ChainBook
from gextui.core.events import EventBatch


class Source(enum.StrEnum):
    """Where data comes from; the value is the ``source`` field of a JSON snapshot."""

    SIMULATED = "simulated"
    TASTYTRADE = "tastytrade"
    TASTYTRADE_SANDBOX = "tastytrade-sandbox"
    FILE = "file"
    REPLAY = "replay"

    @property
    def label(self) -> str:
        """Plain words for the screen."""
        return {
            Source.SIMULATED: "SIMULATED",
            Source.TASTYTRADE: "tastytrade live",
            Source.TASTYTRADE_SANDBOX: "tastytrade sandbox (15-min delayed)",
            Source.FILE: "file",
            Source.REPLAY: "replay",
        }[self]


class FeedState(enum.StrEnum):
    CONNECTING = "connecting"
    LIVE = "live"
    STALE = "stale"
    RECONNECTING = "reconnecting"
    CLOSED = "closed"
    MARKET_CLOSED = "market closed"  # connected, but outside the regular session: no updates


@dataclass(frozen=True, slots=True)
class FeedStatus:
    state: FeedState
    reason: str = ""
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    progress: float | None = None  # 0..1 while a slow step (subscribing) runs


async def wait_event(event: asyncio.Event, seconds: float) -> bool:
    """Wait until ``event`` is set or ``seconds`` pass; True when it was set.

    (Not ``asyncio.wait_for``: on Python 3.11 it can swallow a cancellation that arrives as
    the event is set, and a task that should stop then runs on — a hang at shutdown.)"""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True


class FeedError(Exception):
    """A user-facing feed failure (bad credentials, unknown ticker, unreadable file).

    ``str(err)`` is one line fit to show as is; it never holds a secret.
    """


class UnknownTickerError(FeedError):
    """The source has no option chain for this ticker."""


@dataclass(frozen=True, slots=True)
class ChainInfo:
    ticker: str
    underlying_symbol: str
    source: Source
    instruments: pl.DataFrame

    def new_book(self) -> ChainBook:
        return ChainBook(
            self.ticker,
            self.instruments,
            underlying_symbol=self.underlying_symbol,
            source=self.source.value,
        )


@runtime_checkable
class FeedSession(Protocol):
    @property
    def chain(self) -> ChainInfo: ...

    @property
    def status(self) -> FeedStatus: ...

    def events(self) -> AsyncIterator[EventBatch]: ...

    async def set_expirations(self, expirations: Sequence[date] | None) -> None: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class ReloadableSession(Protocol):
    """A session over data that can be read again on request (a CBOE file on disk)."""

    def request_reload(self) -> None:
        """Read the source again now; the next batch (``batch.reset`` set) carries it."""
        ...


@runtime_checkable
class ReplayControl(Protocol):
    """A session over a recording that the user can play, pause, seek and speed up."""

    @property
    def start_time(self) -> datetime: ...

    @property
    def end_time(self) -> datetime: ...

    @property
    def position(self) -> datetime:
        """Event time of the last batch yielded (or of a seek's target)."""
        ...

    @property
    def paused(self) -> bool: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    @property
    def speed(self) -> float: ...

    @speed.setter
    def speed(self, value: float) -> None: ...

    def seek(self, delta: timedelta) -> datetime | None:
        """Move by ``delta``; the next batches are a reset group (``batch.reset``)."""
        ...


@runtime_checkable
class RecordedHistory(Protocol):
    """A session that can rebuild the level history before a moment (a replay's recording:
    one book per recorded minute) and says where the recording came from."""

    @property
    def origin(self) -> str:
        """The recorded source ("simulated", "tastytrade", …)."""
        ...

    def books_before(self, until: datetime) -> Iterator[ChainBook]:
        """A book at each recorded checkpoint before ``until``, in time order."""
        ...


@runtime_checkable
class RecordingStatus(Protocol):
    """A session that records what it streams (``--record``)."""

    @property
    def recorded_bytes(self) -> int: ...

    @property
    def recorder_error(self) -> str | None:
        """One line about the latest recording failure (None while recording works)."""
        ...


@runtime_checkable
class SessionWarnings(Protocol):
    """A session with warnings to show once (damaged files skipped, …)."""

    @property
    def warnings(self) -> list[str]: ...


@runtime_checkable
class Feed(Protocol):
    @property
    def source(self) -> Source: ...

    async def open(self, ticker: str) -> FeedSession:
        """Open a session for ``ticker``; raises :class:`FeedError` for user-facing failures."""
        ...

    async def aclose(self) -> None:
        """Release everything (sessions, connections, caches)."""
        ...
