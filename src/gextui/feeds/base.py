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

import enum
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
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
        """Read the source again now; the next batch (``meta["reset"] == "1"``) carries it."""
        ...


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
