"""The monitor: the Textual-free controller of a watchlist (see :mod:`.controller`) and where
its computations run (:mod:`.compute`)."""

from gextui.monitor.compute import Compute, ProcessCompute, ThreadCompute, ViewResult
from gextui.monitor.controller import Monitor, Notice, TickerPhase, TickerStatus

__all__ = [
    "Compute",
    "Monitor",
    "Notice",
    "ProcessCompute",
    "ThreadCompute",
    "TickerPhase",
    "TickerStatus",
    "ViewResult",
]
