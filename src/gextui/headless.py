"""Headless collection: open a feed, fill a ChainBook until the data covers the chain.

Used by ``gextui snapshot --source ...``: it opens a session for one ticker, tells the feed
which expirations matter, applies batches, then closes:

* a live session that can tell its readiness (``session.readiness()``, the tastytrade feed):
  when every wanted contract has been subscribed and has sent its first data, plus a short
  ``settle`` so that the last frames reach the book – never earlier (a chain still being
  subscribed in chunks is not a snapshot);
* any other feed (simulated, replay): when Greeks *and* open interest cover at least
  ``min_coverage`` of the selected live contracts;
* at the latest after ``wait`` seconds: then :attr:`CollectResult.warnings` says so and names
  what is missing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

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
    missing: list[str] = field(default_factory=list)  # wanted contracts without full data
    warnings: list[str] = field(default_factory=list)  # one line each, for stderr / JSON


def missing_contracts(book: ChainBook, expiry: str, as_of: datetime | None = None) -> list[str]:
    """Symbols of the selected live contracts that lack gamma or open interest."""
    moment = (as_of or book.as_of or datetime.now(UTC)).astimezone(UTC)
    _, _, sel = select_contracts(book, expiry, moment)
    state = book.arrays().state
    lacking = sel & (np.isnan(state["gamma"]) | np.isnan(state["open_interest"]))
    return book.instruments["symbol"].filter(lacking).to_list()


def _name_some(symbols: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(symbols[:limit])
    more = len(symbols) - limit
    return f"{shown} (+{more:,} more)" if more > 0 else shown


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
    settle: float = 0.3,
    progress: Callable[[float, int], None] | None = None,
) -> CollectResult:
    """Fill a book for ``ticker`` from ``feed``; see the module docstring.

    Raises FeedError (from ``feed.open``) for user-facing failures.
    """
    session = await feed.open(ticker)
    book = session.chain.new_book()
    now = datetime.now(UTC)
    readiness: Callable[[], tuple[bool, float | None, list[str]]] | None = getattr(
        session, "readiness", None
    )
    try:
        exps = select_expirations(live_expirations(book, now), expiry, now)
        await session.set_expirations(None if expiry == "all" else exps)
        start = time.monotonic()
        deadline = start + wait
        batches = 0
        coverage = 0.0
        ended = True
        complete_at: float | None = None
        last_progress = 0.0
        iterator: Any = session.events().__aiter__()
        while True:
            now_m = time.monotonic()
            if complete_at is not None and now_m - complete_at >= settle:
                ended = False
                break
            remaining = deadline - now_m
            if remaining <= 0:
                ended = False
                break
            timeout = remaining
            if complete_at is not None:
                timeout = min(remaining, max(0.0, complete_at + settle - now_m))
            try:
                batch = await asyncio.wait_for(iterator.__anext__(), timeout=timeout)
            except StopAsyncIteration:
                break
            except TimeoutError:
                continue  # the loop head decides (settled, or out of time)
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
            if complete_at is not None or batches < min_batches:
                continue
            if readiness is not None:
                subscribed, _, waiting = readiness()
                if subscribed and not waiting:
                    complete_at = time.monotonic()  # all answered: let the last frames land
            elif coverage >= min_coverage:
                ended = False
                break
        if readiness is not None:
            timed_out = complete_at is None and not ended
        else:
            timed_out = coverage < min_coverage and not ended
        missing = missing_contracts(book, expiry)
        warnings: list[str] = []
        if timed_out:
            what = "contracts still missing data" if missing else "the stream was not complete"
            warnings.append(
                f"timed out after {wait:g} s with {coverage:.1%} of the selected contracts "
                f"covered by greeks and open interest; {len(missing):,} {what}"
                + (f": {_name_some(missing)}" if missing else "")
            )
        elif missing and not ended:
            warnings.append(
                f"{len(missing):,} selected contracts have no greeks or no open interest "
                f"(the server sent none): {_name_some(missing)}"
            )
        if note := book.rejection_note():
            warnings.append(note)
        return CollectResult(book, coverage, timed_out, batches, ended, missing, warnings)
    finally:
        await session.aclose()
