"""Where the monitor's exposure computations run: a thread, or a worker process.

A computation (:func:`compute_view`: the exposure of one ticker at one expiry selection, its
live expirations, the 0DTE levels) takes 5–20 ms of CPU for an SPX-sized chain, several
times a second per watchlist. In a thread it holds the GIL for much of that, and so does
everything else the monitor runs off the event loop (applying batches, the chart's text):
with four tickers streaming, the event loop waits for the GIL often enough that a screen
update of 10 ms takes 50 ms or more on a busy machine.

* :class:`ThreadCompute` computes in a thread on a frozen copy of the book (the default of a
  :class:`~gextui.monitor.controller.Monitor`, what tests use: no process to start).
* :class:`ProcessCompute` computes in **one worker process** (spawned, at a lower scheduling
  priority than the monitor, so the screen keeps its CPU on a loaded machine). It receives a
  chain's instruments once (:class:`~gextui.core.chain.BookSpec`) and then only the market
  state of each version (:class:`~gextui.core.chain.BookState`, ≈ 2 MB for SPX, well under a
  millisecond to pickle); the result (≈ 30 kB) comes back. Until the worker has started, and
  for good if it fails (it cannot start, it dies), the computations run in a thread, and
  :meth:`ProcessCompute.take_notice` says so once.

The monitor owns its compute: :meth:`Monitor.run` starts it and closes it when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import multiprocessing
import os
import pickle
import sys
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import date
from typing import Final, Protocol

from gextui.core.chain import BookSpec, BookState, ChainBook
from gextui.core.expiry import ny_date
from gextui.core.exposure import ExposureSnapshot, compute_exposure, live_expirations
from gextui.settings import COMPUTE_MODES as MODES

#: the worker's scheduling priority below the monitor's (``os.nice`` increment)
WORKER_NICE: Final = 5
#: chains the worker keeps the instruments of (a watchlist, plus books that a reset replaced)
WORKER_BOOKS: Final = 12


@dataclass(frozen=True, slots=True)
class ViewResult:
    """The exposure of one ticker at one expiry selection, for a screen."""

    ticker: str
    expiry: str
    book_id: int  # which book (a reset makes a new one)
    version: int  # the book's version it was computed from
    snapshot: ExposureSnapshot
    expirations: tuple[date, ...]  # the live expirations of the chain (for the expiry bar)
    zero_dte: ExposureSnapshot | None = None  # the 0DTE levels beside them (None: no 0DTE)


@dataclass(frozen=True, slots=True)
class ViewTask:
    """One computation: ``ticker``'s book (``book_id``: which one) at ``expiry``; ``also``: a
    second selection whose snapshot comes along (the alerts' one), None for none."""

    ticker: str
    expiry: str
    book_id: int
    also: str | None = None


#: a computation's outcome: the view, and the snapshot at ``ViewTask.also`` (None: not asked)
Outcome = tuple[ViewResult, ExposureSnapshot | None]


def compute_view(frozen: ChainBook, task: ViewTask) -> Outcome:
    """The exposure of a frozen book at ``task.expiry`` with the live expirations and, when
    one expires today, the 0DTE levels; and the snapshot at ``task.also``."""
    expiry = task.expiry
    snap = compute_exposure(frozen, expiry)
    live = live_expirations(frozen, snap.as_of)
    zero_dte = None
    today = ny_date(snap.as_of) if snap.as_of is not None else None
    if today is not None and live and live[0] == today:
        zero_dte = snap if expiry == "0dte" else compute_exposure(frozen, "0dte")
    version = frozen.version
    result = ViewResult(task.ticker, expiry, task.book_id, version, snap, tuple(live), zero_dte)
    also = None
    if task.also == expiry:
        also = snap
    elif task.also == "0dte" and zero_dte is not None:
        also = zero_dte  # computed just above
    elif task.also is not None:
        also = compute_exposure(frozen, task.also)
    return result, also


class Compute(Protocol):
    """Runs :func:`compute_view` off the event loop."""

    def start(self) -> None: ...

    async def view(self, book: ChainBook, lock: threading.Lock, task: ViewTask) -> Outcome:
        """``task`` on the current version of ``book`` (``lock``: held by whoever applies
        batches to it, so the state read is one version)."""
        ...

    def take_notice(self) -> str:
        """A line for a user, once (``""``: nothing to say)."""
        ...

    def close(self) -> None: ...


class ThreadCompute:
    """Computes in a thread, on a frozen copy of the book."""

    def start(self) -> None:
        pass

    async def view(self, book: ChainBook, lock: threading.Lock, task: ViewTask) -> Outcome:
        def job() -> Outcome:
            with lock:
                frozen = book.copy()  # later apply calls do not touch it
            return compute_view(frozen, task)

        return await asyncio.to_thread(job)

    def take_notice(self) -> str:
        return ""

    def close(self) -> None:
        pass


class MissingBookError(LookupError):
    """The worker does not hold that chain (it restarted, or dropped it): send its spec."""


# ---------------------------------------------------------------------- the worker process
_books: OrderedDict[int, ChainBook] = OrderedDict()


def _init_worker(nice: int) -> None:
    with contextlib.suppress(OSError):
        os.nice(nice)
    # the worker's stderr is the monitor's terminal: a warning printed there would land on
    # the screen. Its failures reach the monitor as exceptions (and a notice) instead.
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (the worker's for its lifetime)


@contextlib.contextmanager
def _real_stderr() -> Iterator[None]:
    """multiprocessing hands a new process ``sys.stderr``'s file descriptor; under Textual
    ``sys.stderr`` is a stand-in whose descriptor is -1, and starting the worker fails
    ("bad value(s) in fds_to_keep"). The real one, while the worker starts."""
    current = sys.stderr
    try:
        usable = current is not None and current.fileno() >= 0
    except (AttributeError, OSError, ValueError):
        usable = False
    if usable or sys.__stderr__ is None:
        yield
        return
    sys.stderr = sys.__stderr__
    try:
        yield
    finally:
        sys.stderr = current


def _ready() -> int:
    return os.getpid()


def _remote_view(token: int, spec: BookSpec | None, state: BookState, task: ViewTask) -> Outcome:
    """In the worker: ``task`` on the chain ``token`` at ``state``."""
    skeleton = _books.get(token)
    if skeleton is None:
        if spec is None:
            raise MissingBookError(token)
        skeleton = _books[token] = spec.build()
        while len(_books) > WORKER_BOOKS:
            _books.popitem(last=False)
    else:
        _books.move_to_end(token)
    return compute_view(skeleton.with_state(state), task)


# ---------------------------------------------------------------------- the monitor's side
_tokens = itertools.count(1)


class ProcessCompute:
    """Computes in one worker process (see the module docstring); a thread until it has
    started, and for good if it fails."""

    def __init__(self, *, nice: int = WORKER_NICE) -> None:
        self.nice = nice
        self._pool: ProcessPoolExecutor | None = None
        self._ready: Future[int] | None = None
        self._failed = ""
        self._closed = False
        self._told = False
        self._thread = ThreadCompute()
        self._token: weakref.WeakKeyDictionary[ChainBook, int] = weakref.WeakKeyDictionary()
        self._sent: set[int] = set()  # tokens whose spec the worker got
        self.remote = 0  # computations done in the worker (tests, the bench)

    @property
    def failed(self) -> str:
        """Why the worker is not used (``""``: it is, or it is starting)."""
        return self._failed

    @property
    def ready(self) -> bool:
        """Whether the worker has started and computes."""
        ready = self._ready
        return not self._failed and ready is not None and ready.done() and not ready.exception()

    @property
    def worker_pid(self) -> int | None:
        """The worker process's id once it has started (None: not started, or failed)."""
        return self._ready.result() if self.ready and self._ready is not None else None

    def start(self) -> None:
        """Start the worker (in the background: it imports polars and numpy)."""
        if self._pool is not None or self._failed:
            return
        self._closed = False
        try:
            with _real_stderr():  # the worker process starts here
                self._pool = ProcessPoolExecutor(
                    1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_worker,
                    initargs=(self.nice,),
                )
                self._ready = self._pool.submit(_ready)
        except Exception as exc:  # no processes here (a sandbox, a limit): threads it is
            self._fail(exc)

    async def view(self, book: ChainBook, lock: threading.Lock, task: ViewTask) -> Outcome:
        pool = self._pool
        if pool is None or not self.ready:
            if self._ready is not None and self._ready.done() and self._ready.exception():
                self._fail(self._ready.exception())
            return await self._thread.view(book, lock, task)

        def capture() -> BookState:
            with lock:
                return book.market_state()

        state = await asyncio.to_thread(capture)
        token = self._token.get(book)
        if token is None:
            token = self._token[book] = next(_tokens)
        try:
            spec = None if token in self._sent else book.spec()
            try:
                outcome = await self._submit(pool, token, spec, state, task)
            except MissingBookError:
                outcome = await self._submit(pool, token, book.spec(), state, task)
            self._sent.add(token)
        except (BrokenProcessPool, OSError, EOFError, pickle.PicklingError) as exc:
            self._fail(exc)  # the worker died (or cannot be reached): threads from now on
            return await self._thread.view(book, lock, task)
        self.remote += 1
        return outcome

    @staticmethod
    async def _submit(
        pool: ProcessPoolExecutor,
        token: int,
        spec: BookSpec | None,
        state: BookState,
        task: ViewTask,
    ) -> Outcome:
        try:
            future = pool.submit(_remote_view, token, spec, state, task)
        except RuntimeError as exc:  # shut down meanwhile (the monitor stopped)
            raise BrokenProcessPool(str(exc)) from exc
        return await asyncio.wrap_future(future)

    def _fail(self, exc: BaseException | None) -> None:
        if not self._failed and not self._closed:
            self._failed = f"computing in a thread: the worker process failed ({exc!r})"
        self.close()

    def take_notice(self) -> str:
        if self._failed and not self._told:
            self._told = True
            return self._failed
        return ""

    def close(self) -> None:
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def compute_for(mode: str) -> Compute:
    """The compute of the settings' ``compute`` value (``"process"`` or ``"thread"``)."""
    if mode == "process":
        return ProcessCompute()
    if mode == "thread":
        return ThreadCompute()
    raise ValueError(f"compute: expected one of {', '.join(MODES)}, got {mode!r}")


__all__ = [
    "MODES",
    "Compute",
    "MissingBookError",
    "Outcome",
    "ProcessCompute",
    "ThreadCompute",
    "ViewResult",
    "ViewTask",
    "compute_for",
    "compute_view",
]
