"""How the monitor runs Python's cyclic garbage collector, and C's allocator.

A live screen makes reference cycles all the time: Textual caches derived strips on the strip
they came from (``Strip.crop_extend``, ``divide``, …), and a strip of the right length caches
*itself*, so about every line painted is a small cycle — ≈ 4 000 strips, ≈ 25 000 objects a
second on a 160×48 screen with four tickers streaming. They live while on screen, long enough
to reach the oldest generation, and only a full pass frees them. With CPython's default
thresholds a full pass runs after ten middle passes, when the old generation has grown by a
quarter: on a frozen heap that is every ≈ 0.5 s, ≈ 15 000 objects at once, 15 ms typical and
40–60 ms at worst (the thread doing it holds the GIL; the event loop waits).

:func:`settle` (called once the first picture is on screen):

* freezes everything alive then (Textual, polars, the chains: it lives as long as the app) so
  no pass walks it again, and
* lets a full pass run after *every* middle pass (``threshold2 = 1``; it still waits for the
  quarter growth): five times as many, a fifth of the garbage each — measured 3.5 ms typical,
  14 ms p99 instead of 15 / 35 ms, and less CPU in all.

:func:`release_large_blocks` (at the app's mount, and in :func:`settle`): on glibc, memory
blocks of a MiB or more are mapped for themselves and given back to the system when freed.
glibc's default raises that threshold to the largest block freed so far, so the monitor's
2 MB market states (copied for every computation, pickled to the compute process) came from
the heap and stayed there: +16 MB of resident memory in the first minute, measured; 4.7 MB
with this.

:func:`restore` undoes the collector's part (the app's unmount: tests run many apps in one
process); the allocator keeps its fixed threshold.
"""

from __future__ import annotations

import ctypes
import gc
import sys
from typing import Final

#: middle-generation passes before a full pass is considered (CPython's default is 10)
FULL_PASS_AFTER: Final = 1


#: glibc's mallopt parameter for the size from which blocks are mapped on their own
_M_MMAP_THRESHOLD: Final = -3
#: blocks of this size or more go back to the system when freed (see the module docstring)
LARGE_BLOCK: Final = 1 << 20


def release_large_blocks() -> bool:
    """Have the C allocator give blocks of :data:`LARGE_BLOCK` or more back to the system
    when they are freed (glibc only; elsewhere nothing). Returns whether it was set."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, LARGE_BLOCK))


def settle() -> tuple[int, ...]:
    """Freeze what is alive now and make full passes small and frequent (and
    :func:`release_large_blocks`); returns the previous thresholds (for :func:`restore`)."""
    release_large_blocks()
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(previous[0], previous[1], FULL_PASS_AFTER)
    return previous


def restore(previous: tuple[int, ...]) -> None:
    """Undo :func:`settle`: the frozen objects are collectable again, the thresholds as before."""
    gc.unfreeze()
    gc.set_threshold(*previous)


__all__ = ["FULL_PASS_AFTER", "LARGE_BLOCK", "release_large_blocks", "restore", "settle"]
