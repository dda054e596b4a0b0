"""RecordingFeed: any :class:`~gextui.feeds.base.Feed`, recorded while it streams.

``gextui SPX --record [DIR]`` wraps the chosen feed: ``RecordingFeed(feed, root)`` is itself a
Feed whose sessions yield every batch of the inner session unchanged and also hand it to a
:class:`~gextui.store.recorder.Recorder` (format: :mod:`gextui.store.schema`). There is one
recorder per ticker, kept when the user switches away and reused when they come back (the
recording of a ticker-day simply continues).

* ``Recorder.write`` only appends to a buffer; compression and disk I/O happen on the
  recorder's background thread, so recording does not block the event loop (bench_store
  reports the slowest ``write`` call; ~1 ms for a 22k-event SPX batch).
* ``session.recorder`` is the Recorder (the UI shows ``● REC <size>`` from
  ``session.recorder.bytes_written``).
* A recording failure (disk full, permission denied, a directory removed) never stops the
  feed: streaming goes on, ``session.recorder_error`` holds a one-line message (None while all
  is well) and ``session.status.reason`` ends with it. The recorder keeps trying with the next
  segment, so a transient failure loses only the minutes that could not be written.
* An unwritable recordings directory is a :class:`~gextui.feeds.base.FeedError` at
  :meth:`RecordingFeed.open`, naming the directory.
* ``session.aclose()`` closes the inner session, then hands the recorder's buffer to its
  writer and waits for it off the event loop; :meth:`RecordingFeed.aclose` closes the inner
  feed and every recorder the same way.

Everything else a session has (``paused``, ``seek`` on a replay, ``market`` on the simulator…)
is forwarded to the inner session.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

from gextui.core.events import EventBatch
from gextui.feeds.base import ChainInfo, Feed, FeedError, FeedSession, FeedStatus, Source
from gextui.store.recorder import Recorder
from gextui.store.schema import default_recordings_dir

__all__ = ["RecordingFeed", "RecordingSession", "check_writable"]

_MAX_MESSAGE = 200


def _one_line(err: BaseException | str) -> str:
    text = str(err).strip()
    if not text:
        return type(err).__name__ if isinstance(err, BaseException) else ""
    return text.splitlines()[0][:_MAX_MESSAGE]


def check_writable(root: Path) -> None:
    """Create ``root`` if needed and prove a file can be made in it; :class:`FeedError`
    (one line, naming the directory) otherwise."""
    probe = root / f".gextui-write-test-{os.getpid()}"
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise FeedError(f"cannot record to {root}: {reason}") from err


class RecordingSession:
    """A FeedSession that records what it streams (see module docstring)."""

    def __init__(self, inner: FeedSession, recorder: Recorder, feed: RecordingFeed) -> None:
        self._inner = inner
        self._recorder = recorder
        self._feed = feed
        self._errors_seen = len(recorder.errors)
        self._error: str | None = None
        self._error_count = 0
        self._closed = False
        self.idle = False  # the last batch was outside the session (not recorded)
        self._was_idle = False

    # ------------------------------------------------------------------ recording
    @property
    def inner(self) -> FeedSession:
        return self._inner

    @property
    def recorder(self) -> Recorder:
        return self._recorder

    @property
    def recorded_bytes(self) -> int:
        """Bytes the recorder has written (segments and checkpoints)."""
        return int(self._recorder.bytes_written)

    @property
    def closed(self) -> bool:
        return self._closed

    def _switch_recorder(self, recorder: Recorder) -> None:
        self._recorder = recorder
        self._errors_seen = len(recorder.errors)

    @property
    def recorder_error(self) -> str | None:
        """One line about the latest recording failure (None while recording works)."""
        if self._error is None:
            return None
        count = f" ({self._error_count} failures)" if self._error_count > 1 else ""
        return f"recording failed{count}: {self._error}"

    def _note(self, err: BaseException | str) -> None:
        self._error = _one_line(err)
        self._error_count += 1

    def _collect_errors(self) -> None:
        errors = self._recorder.errors
        if len(errors) > self._errors_seen:
            for err in errors[self._errors_seen :]:
                self._note(err)
            self._errors_seen = len(errors)

    def _record(self, batch: EventBatch) -> None:
        in_session = self._feed.in_session
        if in_session is not None and not in_session(batch.time):
            self.idle = True
            if not self._was_idle:
                # the session just ended: its last minute goes to disk now, not when the
                # next session's first batch arrives
                self._was_idle = True
                with contextlib.suppress(Exception):
                    self._recorder.flush(wait=False)
            return
        self.idle = self._was_idle = False
        if self._feed.skip_empty and batch.n_events == 0:
            return  # a closed market's heartbeat: nothing to keep
        try:
            self._recorder.write(batch)
        except Exception as err:  # never let the recording stop the feed
            self._note(err)
        self._collect_errors()

    # ------------------------------------------------------------------ FeedSession
    @property
    def chain(self) -> ChainInfo:
        return self._inner.chain

    @property
    def status(self) -> FeedStatus:
        status = self._inner.status
        problem = self.recorder_error
        if problem is None:
            return status
        reason = f"{status.reason} · {problem}" if status.reason else problem
        return replace(status, reason=reason)

    async def events(self) -> AsyncIterator[EventBatch]:
        async for batch in self._inner.events():
            if not self._closed:
                self._record(batch)
            yield batch

    async def set_expirations(self, expirations: Sequence[date] | None) -> None:
        await self._inner.set_expirations(expirations)

    async def aclose(self) -> None:
        """Close the inner session, then flush the recorder off the event loop."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._inner.aclose()
        finally:
            problem = await self._feed.settle(self._recorder)
            self._collect_errors()
            if problem is not None and self._error_count == 0:
                self._note(problem)

    def __getattr__(self, name: str) -> object:
        if name.startswith("_"):  # private names and half-built objects: no forwarding
            raise AttributeError(name)
        return getattr(self._inner, name)


class RecordingFeed:
    """Wrap ``feed`` so every session is recorded under ``root`` (default
    :func:`~gextui.store.schema.default_recordings_dir`)."""

    def __init__(
        self,
        feed: Feed,
        root: str | Path | None = None,
        *,
        skip_empty: bool = False,
        in_session: Callable[[datetime], bool] | None = None,
    ) -> None:
        """``skip_empty``: batches without events (outside market hours) are not written.
        ``in_session``: when given, only batches whose (event) time it accepts are written
        (``gextui record``: the regular session, :func:`~gextui.record_service.
        in_regular_session`); the first batch after the session flushes the recorder."""
        self.inner = feed
        self.skip_empty = skip_empty
        self.in_session = in_session
        self.root = Path(root).expanduser() if root else default_recordings_dir()
        self._recorders: dict[str, Recorder] = {}
        self._sessions: list[RecordingSession] = []

    @property
    def source(self) -> Source:
        return self.inner.source

    @property
    def recorders(self) -> dict[str, Recorder]:
        """The recorder of each ticker opened so far (by upper-case ticker)."""
        return dict(self._recorders)

    async def open(self, ticker: str) -> RecordingSession:
        await asyncio.to_thread(check_writable, self.root)
        session = await self.inner.open(ticker)
        try:
            recorder = await self._recorder_for(session.chain)
        except Exception as err:
            await session.aclose()
            raise FeedError(f"cannot record to {self.root}: {_one_line(err)}") from err
        wrapped = RecordingSession(session, recorder, self)
        self._sessions = [s for s in self._sessions if not s.closed]
        self._sessions.append(wrapped)
        return wrapped

    async def _recorder_for(self, chain: ChainInfo) -> Recorder:
        key = chain.ticker.upper()
        recorder = self._recorders.get(key)
        if recorder is not None and not recorder.closed:
            known = recorder.instruments["symbol"]
            if chain.instruments["symbol"].is_in(known.implode()).all():
                return recorder
            # the chain grew (new expirations listed): a new recorder continues the
            # recording with the merged instrument list
            old = recorder
            await self.settle(old, close=True)
        else:
            old = None
        recorder = await asyncio.to_thread(
            Recorder, self.root, key, chain, self.inner.source, background=True
        )
        self._recorders[key] = recorder
        for session in self._sessions:  # an older session of this ticker still streaming
            if old is not None and session.recorder is old and not session.closed:
                session._switch_recorder(recorder)
        return recorder

    async def settle(self, recorder: Recorder, *, close: bool = False) -> str | None:
        """Hand ``recorder``'s buffer to its writer, wait for the writes off the event loop,
        optionally close it. Returns a one-line error instead of raising."""
        try:
            recorder.flush(wait=False)
            await asyncio.to_thread(recorder.join)
            if close:
                recorder.close()
            else:
                recorder.wait()
        except Exception as err:
            return _one_line(err)
        return None

    async def aclose(self) -> None:
        """Close the inner feed (and with it its sessions), then every recorder."""
        try:
            for session in list(self._sessions):
                await session.aclose()
            self._sessions.clear()
            await self.inner.aclose()
        finally:
            recorders = list(self._recorders.values())
            self._recorders.clear()
            for recorder in recorders:
                await self.settle(recorder, close=True)

    def __getattr__(self, name: str) -> object:
        if name.startswith("_") or name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)
