"""Command palette (ctrl+p): every action, every ticker tab and every expiry selection."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Protocol, runtime_checkable

from textual.command import DiscoveryHit, Hit, Hits, Provider


@runtime_checkable
class PaletteSource(Protocol):
    def palette_commands(self) -> Sequence[tuple[str, str, Callable[[], object]]]:
        """(title, help, callback) for every command the palette offers."""
        ...


class GexCommands(Provider):
    """Lists the app's :meth:`PaletteSource.palette_commands`."""

    def _commands(self) -> Sequence[tuple[str, str, Callable[[], object]]]:
        app = self.app
        if isinstance(app, PaletteSource):
            return app.palette_commands()
        return []

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, partial(_call, callback), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(_call, callback), help=help_text)


def _call(callback: Callable[[], object]) -> None:
    callback()
