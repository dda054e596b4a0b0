"""Modal screens: help, add-a-ticker prompt, expiry picker."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Markdown, OptionList
from textual.widgets.option_list import Option

HELP_FIGURES = """\
## What the figures mean

Conventions (SqueezeMetrics 2017; Perfiliev 2022): **dealers are assumed long calls and short
puts**, so calls count +1 and puts −1. m = shares per contract (100), S = spot.

- **GEX** = Σ sign · Γ · OI · m · S² · 0.01: dollars of delta dealers must trade per
  **1 % move**. Positive: dealers sell rallies and buy dips (moves are damped); negative:
  they chase moves (moves are amplified). Γ is the feed's own gamma.
- **Calls / puts / absolute**: Σ over calls, Σ over puts (negative), Σ of absolute values.
- **Vol net GEX**: net GEX with today's volume instead of open interest (today's flow).
- **DEX** = Σ Δ · OI · m · S: dollar delta of open interest (puts carry negative Δ).
- **VEX** = Σ sign · vanna · OI · m · S · 0.01: dollars of delta per **1 vol point**.
- **CEX** = Σ sign · charm · OI · m · S / 365: dollars of delta per **day** of decay.
- **Zero γ** (gamma flip): the hypothetical spot where the net-GEX profile (Black–Scholes Γ
  recomputed with each contract's IV over 0.8–1.2 × spot) changes sign; the crossing nearest
  spot, with its distance from spot; "none" when the profile keeps one sign.
- **Call wall**: strike with the largest call GEX (selected expirations, all roots).
- **Put wall**: strike with the most negative put GEX.
- **Max pain**: for the nearest selected expiration, the strike minimising the value owed
  to option holders.
- **P/C OI**: put open interest ÷ call open interest.
- **Regime**: sign of net GEX: positive γ (damping) or negative γ (amplifying).
- **Covered**: contracts with both greeks and open interest / live contracts selected.
- **Events/s**: market events applied per second (all kinds).

Chart: one row per strike (or per bucket of strikes when the range is wider than the screen),
positive to the right, negative to the left. Labels: **S** spot, **Z** zero gamma,
**C** call wall, **P** put wall. Time to expiry counts to settlement (16:00 New York for PM
options, 09:30 for AM-settled SPX / NDX monthlies). STALE: no data for a while. All times are
New York (ET) market time of the data.
"""


class HelpScreen(ModalScreen[None]):
    """Keys and what each figure means (``?``)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="help.close"),
    ]

    def __init__(self, keys_markdown: str) -> None:
        super().__init__()
        self._keys = keys_markdown

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Markdown(f"# gextui help\n\n{self._keys}\n\n{HELP_FIGURES}")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)


class TickerPrompt(ModalScreen[str | None]):
    """Ask for a ticker symbol (``t``)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="prompt.cancel")
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-box"):
            yield Label("Add a ticker (Enter to open, Esc to cancel)")
            yield Input(placeholder="e.g. SPY", id="ticker-input", max_length=12)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        self.dismiss(value or None)  # the app applies the ticker rule (and says what is wrong)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ExpiryPicker(ModalScreen[str | None]):
    """Pick an expiry selection or one listed expiration (``e``)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="picker.cancel")
    ]

    def __init__(self, choices: Sequence[tuple[str, str]], current: str) -> None:
        """``choices``: (selection value, label) pairs."""
        super().__init__()
        self._choices = list(choices)
        self._current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box"):
            yield Label("Expiry selection (Enter to choose, Esc to cancel)")
            options = [Option(Text(label), id=value) for value, label in self._choices]
            yield OptionList(*options, id="expiry-options")

    def on_mount(self) -> None:
        ol = self.query_one(OptionList)
        for i, (value, _label) in enumerate(self._choices):
            if value == self._current:
                ol.highlighted = i
                break

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
