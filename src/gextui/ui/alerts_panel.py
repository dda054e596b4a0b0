"""The alerts log panel (``a``): every alert of the session, newest first.

One row per alert: New York time of the data (``HH:MM:SS``; with the date when the log spans
several days), ticker, a short kind label and the message (without its ``TICKER:`` prefix,
which has its own column). :func:`alert_rows` gives the rows as plain tuples (easy to test),
:func:`alerts_text` the Rich text the :class:`AlertsPanel` shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from rich.text import Text
from textual.widgets import Static

from gextui.core.alerts import Alert, AlertKind, AlertRules
from gextui.core.expiry import NEW_YORK
from gextui.settings import Colors

KIND_LABELS: Final[Mapping[AlertKind, str]] = {
    AlertKind.ZERO_GAMMA_CROSS: "zero γ cross",
    AlertKind.NEAR_CALL_WALL: "near call wall",
    AlertKind.NEAR_PUT_WALL: "near put wall",
    AlertKind.NET_GEX_SIGN: "net GEX sign",
    AlertKind.WALL_MOVED: "wall moved",
}
KIND_WIDTH: Final = max(len(v) for v in KIND_LABELS.values())
EMPTY_TEXT: Final = "No alerts yet."


def kind_label(kind: AlertKind | str) -> str:
    """The short label of an alert kind (the log's kind column)."""
    return KIND_LABELS.get(AlertKind(kind), str(kind))


def _message_body(alert: Alert) -> str:
    prefix = f"{alert.ticker}: "
    return alert.message[len(prefix) :] if alert.message.startswith(prefix) else alert.message


def alert_rows(alerts: Sequence[Alert], limit: int | None = None) -> list[tuple[str, ...]]:
    """(time, ticker and selection, kind label, message) per alert, newest first (at most
    ``limit``).

    ``alerts`` is oldest first (:attr:`~gextui.core.alerts.LevelMonitor.log`). The time is
    New York time; it carries the date (``MM-DD HH:MM:SS``) when the alerts span days."""
    chosen = list(reversed(alerts))
    if limit is not None:
        chosen = chosen[: max(limit, 0)]
    days = {a.time.astimezone(NEW_YORK).date() for a in chosen}
    fmt = "%m-%d %H:%M:%S" if len(days) > 1 else "%H:%M:%S"
    return [
        (
            a.time.astimezone(NEW_YORK).strftime(fmt),
            f"{a.ticker} {a.selection}" if a.selection else a.ticker,
            kind_label(a.kind),
            _message_body(a),
        )
        for a in chosen
    ]


def _kind_style(kind: AlertKind, colors: Colors) -> str:
    return {
        AlertKind.ZERO_GAMMA_CROSS: f"bold {colors.zero_gamma}",
        AlertKind.NEAR_CALL_WALL: f"bold {colors.positive}",
        AlertKind.NEAR_PUT_WALL: f"bold {colors.negative}",
        AlertKind.NET_GEX_SIGN: "bold",
        AlertKind.WALL_MOVED: f"bold {colors.spot}",
    }.get(kind, "bold")


def rules_summary(rules: AlertRules) -> str:
    """Which rules are on, in one line (``zero γ cross on · near call wall off · …``)."""
    bits = [f"{kind_label(k)} {'on' if rules.is_enabled(k) else 'off'}" for k in AlertKind]
    return " · ".join(bits)


def alerts_text(
    alerts: Sequence[Alert],
    colors: Colors | None = None,
    *,
    rules: AlertRules | None = None,
    limit: int | None = 500,
) -> Text:
    """The log as Rich text, newest first, one line per alert (long messages are cut with
    an ellipsis by the widget's width); the empty state explains where rules are set."""
    colors = colors or Colors()
    if not alerts:
        t = Text(EMPTY_TEXT, style="dim", end="")
        if rules is not None:
            t.append(f"\nRules: {rules_summary(rules)}", style="dim")
            t.append(
                f"\nnear a wall: within {rules.wall_distance_pct:g} % of spot; "
                "toggle rules from the command palette (ctrl+p), set them in [alerts] "
                "of the settings file.",
                style="dim",
            )
        return t
    rows = alert_rows(alerts, limit)
    chosen = list(reversed(alerts))[: len(rows)]
    tick_w = max(len(r[1]) for r in rows)
    time_w = max(len(r[0]) for r in rows)
    out = Text(no_wrap=True, overflow="ellipsis", end="")
    for i, ((when, ticker, label, message), alert) in enumerate(zip(rows, chosen, strict=True)):
        if i:
            out.append("\n")
        out.append(f"{when:<{time_w}} ", style="dim")
        out.append(f"{ticker:<{tick_w}} ", style="bold")
        out.append(f"{label:<{KIND_WIDTH}} ", style=_kind_style(alert.kind, colors))
        out.append(message)
    if len(alerts) > len(rows):
        out.append(f"\n… {len(alerts) - len(rows)} older alerts not shown", style="dim")
    return out


class AlertsPanel(Static):
    """The alerts log (newest first). The app calls :meth:`show_alerts` after each alert;
    the text is rebuilt only when the log changed."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text(EMPTY_TEXT, style="dim"), id=id)
        self._alerts_key: tuple[object, ...] = ()

    def show_alerts(
        self,
        alerts: Sequence[Alert],
        colors: Colors | None = None,
        rules: AlertRules | None = None,
    ) -> None:
        last = alerts[-1] if alerts else None
        key = (len(alerts), id(last), colors, rules if not alerts else None)
        if key == self._alerts_key:
            return
        self._alerts_key = key
        self.update(alerts_text(alerts, colors, rules=rules))
        self.border_title = f"Alerts ({len(alerts)})" if alerts else "Alerts"


__all__ = ["AlertsPanel", "alert_rows", "alerts_text", "kind_label", "rules_summary"]
