"""One render loop for every picture drawn off the event loop (strike chart, profile,
history): "newest job wins".

``loop.submit(slot, render, done)`` replaces whatever job of that slot waits; one worker takes
the waiting jobs in turn (slots in submission order), runs ``render()`` in a thread and calls
``done(result)`` on the event loop. A slow picture therefore never queues up behind itself,
and a fast replay asking for a new picture at every redraw costs one render at a time.
``pause_factor`` (per slot) rests the loop after a render of that slot for that many times
its duration (capped at ``pause_max``) while more work waits: a long history is ≈ 0.1 s.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from textual.dom import DOMNode

PAUSE_MAX: Final = 0.5
#: how many of the last renders' timings are kept (:attr:`RenderLoop.timings`)
TIMINGS_KEPT: Final = 4096


def _timed(render: Callable[[], Any]) -> tuple[Any, float, float]:
    """``render()`` and its wall-clock and thread CPU seconds (in the render thread)."""
    wall, cpu = time.perf_counter(), time.thread_time()
    result = render()
    return result, time.perf_counter() - wall, time.thread_time() - cpu


@dataclass(slots=True)
class _Job:
    render: Callable[[], Any]
    done: Callable[[Any], None]
    failed: Callable[[BaseException], None] | None
    pause_factor: float


class RenderLoop:
    """See the module docstring; ``owner`` runs the worker (the app)."""

    def __init__(self, owner: DOMNode, *, group: str = "render") -> None:
        self._owner = owner
        self._group = group
        self._jobs: dict[str, _Job] = {}
        self._running = False
        self.renders = 0  # for tests and the bench
        #: (wall, CPU) seconds of the last renders: a picture that waits for the GIL or a CPU
        #: behind other work shows a wall time well above its CPU time (for the bench)
        self.timings: deque[tuple[float, float]] = deque(maxlen=TIMINGS_KEPT)

    @property
    def busy(self) -> bool:
        return self._running or bool(self._jobs)

    def submit(
        self,
        slot: str,
        render: Callable[[], Any],
        done: Callable[[Any], None],
        *,
        failed: Callable[[BaseException], None] | None = None,
        pause_factor: float = 0.0,
    ) -> None:
        """Render ``render()`` in a thread soon, then ``done(result)``; replaces a job of the
        same ``slot`` that has not started yet."""
        self._jobs.pop(slot, None)
        self._jobs[slot] = _Job(render, done, failed, pause_factor)
        if not self._running:
            self._running = True
            self._owner.run_worker(self._loop(), group=self._group, exit_on_error=False)

    def cancel(self, slot: str) -> None:
        """Drop the job of ``slot`` that has not started yet (if any)."""
        self._jobs.pop(slot, None)

    def pending(self, slot: str) -> bool:
        return slot in self._jobs

    async def _loop(self) -> None:
        try:
            while self._jobs:
                slot = next(iter(self._jobs))
                job = self._jobs.pop(slot)
                started = time.perf_counter()
                try:
                    result, wall, cpu = await asyncio.to_thread(_timed, job.render)
                except Exception as exc:
                    if job.failed is not None:
                        job.failed(exc)
                    continue
                self.timings.append((wall, cpu))
                job.done(result)
                self.renders += 1
                if job.pause_factor > 0 and self._jobs:
                    elapsed = time.perf_counter() - started
                    await asyncio.sleep(min(job.pause_factor * elapsed, PAUSE_MAX))
        finally:
            self._running = False
