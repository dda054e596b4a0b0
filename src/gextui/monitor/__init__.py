"""The monitor: the Textual-free controller of a watchlist (see :mod:`.controller`)."""

from gextui.monitor.controller import Monitor, Notice, TickerPhase, TickerStatus, ViewResult

__all__ = ["Monitor", "Notice", "TickerPhase", "TickerStatus", "ViewResult"]
