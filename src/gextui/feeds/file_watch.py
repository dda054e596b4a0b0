"""CBOE files in the monitor: ``gextui --file spx_quotedata.csv [--file ndx_quotedata.csv]``.

:class:`CboeFilesFeed` serves one or more CBOE delayed-quotes downloads (``Source.FILE``), one
ticker (tab) per file, each parsed once up front so a bad file is a one-line error before the
monitor opens. A session yields its file's chain, then watches the file: when it changes on
disk (a new download, checked every ``poll`` seconds by size and modification time) or when
:meth:`WatchedFileSession.request_reload` asks (the monitor's ``r``), it reads it again and
yields the new chain as a reset batch (``batch.reset``: the consumer starts a fresh
book from ``session.chain``, which already describes the new contracts). A file that has
become unreadable, or holds another ticker now, keeps the chain on screen and says why in the
status.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path

from gextui.core.events import EventBatch, Reset
from gextui.feeds.base import (
    ChainInfo,
    FeedError,
    FeedState,
    FeedStatus,
    Source,
    UnknownTickerError,
    wait_event,
)
from gextui.feeds.cboe_file import CboeFile, CboeFileError, parse_cboe

POLL_SECONDS = 2.0


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def _as_of_text(parsed: CboeFile) -> str:
    return f"file {parsed.path.name}, as of {parsed.as_of.strftime('%Y-%m-%d %H:%M %Z')}"


class WatchedFileSession:
    """A :class:`~gextui.feeds.base.FeedSession` over one CBOE file that follows it on disk."""

    def __init__(self, parsed: CboeFile, *, poll: float = POLL_SECONDS) -> None:
        self._parsed = parsed
        self._chain = parsed.chain_info()
        self._stamp = _stamp(parsed.path)
        self._status = FeedStatus(FeedState.LIVE, _as_of_text(parsed))
        self._poll = poll
        self._wake = asyncio.Event()
        self._forced = False
        self._closed = False
        self.reloads = 0  # successful re-reads

    @property
    def path(self) -> Path:
        return self._parsed.path

    @property
    def chain(self) -> ChainInfo:
        return self._chain

    @property
    def status(self) -> FeedStatus:
        return self._status

    def request_reload(self) -> None:
        self._forced = True
        self._wake.set()

    async def events(self) -> AsyncIterator[EventBatch]:
        """The file's chain, then a fresh one (a reset batch) each time the file changes."""
        if self._closed:
            return
        yield self._parsed.batch
        while not self._closed:
            self._wake.clear()
            await wait_event(self._wake, self._poll)
            if self._closed:
                return
            forced, self._forced = self._forced, False
            stamp = await asyncio.to_thread(_stamp, self.path)
            if not forced and stamp == self._stamp:
                continue
            batch = await self._reload(stamp)
            if batch is not None:
                yield batch

    async def _reload(self, stamp: tuple[int, int] | None) -> EventBatch | None:
        self._stamp = stamp
        try:
            parsed = await asyncio.to_thread(parse_cboe, self.path)
        except CboeFileError as exc:
            self._status = FeedStatus(
                FeedState.STALE, f"reload failed: {exc}; showing {_as_of_text(self._parsed)}"
            )
            return None
        if parsed.ticker != self._parsed.ticker:
            self._status = FeedStatus(
                FeedState.STALE,
                f"reload refused: {self.path.name} now holds {parsed.ticker}, "
                f"not {self._parsed.ticker}",
            )
            return None
        self._parsed = parsed
        self._chain = parsed.chain_info()
        self._status = FeedStatus(FeedState.LIVE, _as_of_text(parsed))
        self.reloads += 1
        batch = parsed.batch
        return replace(batch, reset=Reset())

    async def set_expirations(self, expirations: Sequence[date] | None) -> None:
        """The file holds every expiration already."""

    async def aclose(self) -> None:
        self._closed = True
        self._wake.set()
        self._status = FeedStatus(FeedState.CLOSED, "closed")


class CboeFilesFeed:
    """The :class:`~gextui.feeds.base.Feed` over one or more CBOE files (one ticker each)."""

    def __init__(self, paths: Sequence[str | Path], *, poll: float = POLL_SECONDS) -> None:
        if not paths:
            raise FeedError("no CBOE file given")
        self.paths = [Path(p).expanduser() for p in paths]
        self.poll = poll
        self._parsed: dict[str, CboeFile] = {}
        self._sessions: list[WatchedFileSession] = []

    @property
    def source(self) -> Source:
        return Source.FILE

    def load(self) -> list[str]:
        """Parse every file (raises :class:`CboeFileError` for the first bad one, or
        :class:`FeedError` when two files hold the same ticker); returns the tickers."""
        parsed: dict[str, CboeFile] = {}
        for path in self.paths:
            one = parse_cboe(path)
            if one.ticker in parsed:
                raise FeedError(
                    f"{parsed[one.ticker].path.name} and {path.name} both hold the "
                    f"{one.ticker} chain: give one file per ticker"
                )
            parsed[one.ticker] = one
        self._parsed = parsed
        return list(parsed)

    def tickers(self) -> list[str]:
        return list(self._parsed) if self._parsed else self.load()

    async def open(self, ticker: str) -> WatchedFileSession:
        if not self._parsed:
            await asyncio.to_thread(self.load)
        wanted = ticker.strip().upper()
        parsed = self._parsed.get(wanted) or next(
            (p for p in self._parsed.values() if wanted in p.roots), None
        )
        if parsed is None:
            names = ", ".join(f"{t} ({p.path.name})" for t, p in self._parsed.items())
            raise UnknownTickerError(f"no file for {wanted}: the files hold {names}")
        session = WatchedFileSession(parsed, poll=self.poll)
        self._sessions.append(session)
        return session

    async def aclose(self) -> None:
        for session in self._sessions:
            await session.aclose()
        self._sessions.clear()


__all__ = ["POLL_SECONDS", "CboeFilesFeed", "WatchedFileSession"]
