"""Headless collection: open a feed, fill a ChainBook until the data covers the chain.

Used by ``gextui snapshot --source ...``: it opens a session for one ticker, tells the feed
which expirations matter, applies batches until Greeks *and* open interest cover at least
``min_coverage`` of the selected live contracts (or ``wait`` seconds pass), then closes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from gextui.core.chain import ChainBook
from gextui.core.expiry import select_expirations
from gextui.core.exposure import live_expirations, select_contracts
from gextui.feeds.base import Feed


@dataclass(frozen=True, slots=True)
class CollectResult:
    book: ChainBook
    coverage: float  # fraction of selected live contracts with greeks and OI
    timed_out: bool
    batches: int
    ended: bool  # the source ended by itself (a file, a replay)


def selected_coverage(book: ChainBook, expiry: str, as_of: datetime | None = None) -> float:
    """Fraction of the live contracts in ``expiry`` that have both gamma and open interest."""
    moment = (as_of or book.as_of or datetime.now(UTC)).astimezone(UTC)
    _, _, sel = select_contracts(book, expiry, moment)
    n = int(sel.sum())
    if not n:
        return 0.0
    state = book.arrays().state
    ok = sel & ~np.isnan(state["gamma"]) & ~np.isnan(state["open_interest"])
    return int(ok.sum()) / n


async def collect(
    feed: Feed,
    ticker: str,
    *,
    expiry: str = "all",
    wait: float = 30.0,
    min_coverage: float = 0.95,
    min_batches: int = 1,
    progress: Callable[[float, int], None] | None = None,
) -> CollectResult:
    """Fill a book for ``ticker`` from ``feed``; see the module docstring.

    Raises FeedError (from ``feed.open``) for user-facing failures.
    """
    session = await feed.open(ticker)
    book = session.chain.new_book()
    now = datetime.now(UTC)
    try:
        exps = select_expirations(live_expirations(book, now), expiry, now)
        await session.set_expirations(None if expiry == "all" else exps)
        deadline = time.monotonic() + wait
        batches = 0
        coverage = 0.0
        ended = True
        last_progress = 0.0
        iterator = session.events().__aiter__()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                ended = False
                break
            try:
                batch = await asyncio.wait_for(iterator.__anext__(), timeout=remaining)
            except StopAsyncIteration:
                break
            except TimeoutError:
                ended = False
                break
            book.apply(batch)
            batches += 1
            if batches == 1 and book.as_of is not None:
                # select by the feed's clock (simulated / replayed time), not the wall clock
                feed_exps = select_expirations(
                    live_expirations(book, book.as_of), expiry, book.as_of
                )
                if feed_exps != exps:
                    exps = feed_exps
                    await session.set_expirations(None if expiry == "all" else exps)
            coverage = selected_coverage(book, expiry)
            if progress is not None and time.monotonic() - last_progress > 0.5:
                last_progress = time.monotonic()
                progress(coverage, batches)
            if batches >= min_batches and coverage >= min_coverage:
                ended = False
                break
        timed_out = coverage < min_coverage and not ended
        return CollectResult(book, coverage, timed_out, batches, ended)
    finally:
        await session.aclose()
