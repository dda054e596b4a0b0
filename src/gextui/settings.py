"""User settings of the terminal monitor, read from a TOML file.

Location: ``$XDG_CONFIG_HOME/gextui/config.toml`` (default ``~/.config/gextui/config.toml``).
A missing file means all defaults. Every key is optional::

    # tickers opened as tabs when none is given on the command line
    tickers = ["SPX", "SPY", "QQQ"]
    # expiry selection: 0dte, next, week, month, all, ex-next, or a date YYYY-MM-DD
    expiry = "all"
    # strike range of the chart: number of strikes shown, centred on spot (0: as many as
    # fit the chart at one strike per row) ...
    strikes = 0
    # ... or, when > 0, every strike within ± this percentage of spot (overrides strikes)
    strike_pct = 0.0
    # screen redraws per second (1–30); the chart is recomputed only when data changed
    redraw_hz = 5.0
    # seconds without any batch from the feed before the top line says STALE
    stale_seconds = 10.0
    # every watched ticker streams all its expirations (0); N > 0 limits the live
    # subscription to expirations within N days, to save bandwidth (views of later
    # expirations then show them without data)
    subscribe_days = 0
    # where the exposure is computed: "process" (a worker process at a lower priority, so
    # the screen keeps its CPU and never waits on a computation) or "thread" (no extra
    # process; the screen shares the interpreter with the computations)
    compute = "process"
    # first view: metric gex | dex | vex | cex, basis oi | volume
    metric = "gex"
    basis = "oi"

    [colors]
    # palette: "default" (green / red) or "colorblind" (blue / orange, safe for
    # red-green colour blindness); the keys below override single colours ("#rrggbb")
    theme = "default"
    positive = "#2ecc71"   # calls / positive exposure
    negative = "#e74c3c"   # puts / negative exposure
    spot = "#f1c40f"       # spot marker
    zero_gamma = "#d980fa" # zero-gamma marker

    [keys]
    # remap any key binding by its id (see the help screen, ``?``), e.g.
    "view.profile" = "f,F"
    "app.quit" = "q,ctrl+c"

    [alerts]
    # rules (each true / false): spot crosses zero gamma; spot near the call / put wall;
    # net GEX changes sign; the call or put wall moves to another strike
    zero_gamma_cross = true
    near_call_wall = true
    near_put_wall = true
    net_gex_sign = true
    wall_moved = true
    wall_distance_pct = 0.25     # "near a wall": within this % of spot
    rearm_pct = 0.10             # hysteresis: how far (% of spot) a level must be left to re-arm
    net_gex_rearm_pct = 2.0      # net GEX sign hysteresis, % of gross GEX
    wall_confirm_samples = 1     # samples a new wall strike must hold before a move counts
    bell = true                  # ring the terminal bell with each alert
    command = "notify-send gextui"  # run for each alert, the alert as JSON on stdin
                                    # (--alert-cmd overrides it)

:meth:`Settings.load` raises :class:`SettingsError` (a one-line message naming the file and
the key) for unreadable TOML, unknown keys or bad values. :meth:`Settings.merge` applies the
command line's overrides (``None`` means "not given").
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Final

from gextui.core.alerts import AlertRules, AlertRulesError
from gextui.core.expiry import ExpirySelectionError, parse_selection
from gextui.core.symbols import TickerError, ticker_name

METRICS: Final[tuple[str, ...]] = ("gex", "dex", "vex", "cex")
BASES: Final[tuple[str, ...]] = ("oi", "volume")
#: where the exposure is computed (see gextui.monitor.compute.compute_for)
COMPUTE_MODES: Final[tuple[str, ...]] = ("process", "thread")
THEMES: Final[Mapping[str, Mapping[str, str]]] = {
    "default": {
        "positive": "#2ecc71",
        "negative": "#e74c3c",
        "spot": "#f1c40f",
        "zero_gamma": "#d980fa",
    },
    # Okabe–Ito blue / orange: distinguishable with every common colour-vision deficiency
    "colorblind": {
        "positive": "#56b4e9",  # sky blue: ≥ 4.5:1 on the dark background (#0072b2 was 3.6)
        "negative": "#e69f00",
        "spot": "#f0e442",
        "zero_gamma": "#cc79a7",
    },
}
_HEX_RE: Final = re.compile(r"^#[0-9a-fA-F]{6}$")


def _ticker_names(values: Any) -> tuple[str, ...]:
    """The tickers by the one ticker rule (:func:`gextui.core.symbols.ticker_name`)."""
    out = []
    for t in values:
        try:
            out.append(ticker_name(str(t)))
        except TickerError:
            raise SettingsError(f"tickers: {t!r} is not a ticker symbol") from None
    return tuple(dict.fromkeys(out))


class SettingsError(ValueError):
    """Bad settings: unreadable TOML, an unknown key or a bad value. One line, fit to show."""


def default_path() -> Path:
    """``$XDG_CONFIG_HOME/gextui/config.toml``, default ``~/.config/gextui/config.toml``."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "gextui" / "config.toml"


@dataclass(frozen=True, slots=True)
class Colors:
    """The chart palette (``#rrggbb``)."""

    theme: str = "default"
    positive: str = THEMES["default"]["positive"]
    negative: str = THEMES["default"]["negative"]
    spot: str = THEMES["default"]["spot"]
    zero_gamma: str = THEMES["default"]["zero_gamma"]

    @classmethod
    def from_theme(cls, theme: str, **overrides: str) -> Colors:
        if theme not in THEMES:
            raise SettingsError(
                f"colors.theme: unknown theme {theme!r} (use one of {', '.join(THEMES)})"
            )
        values = dict(THEMES[theme]) | overrides
        for key, value in values.items():
            if not isinstance(value, str) or not _HEX_RE.match(value):
                raise SettingsError(f"colors.{key}: expected a colour '#rrggbb', got {value!r}")
        return cls(theme=theme, **values)


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting of the monitor (see the module docstring for the TOML keys)."""

    tickers: tuple[str, ...] = ("SPX",)
    expiry: str = "all"
    strikes: int = 0  # 0: as many as fit, one strike per row
    strike_pct: float = 0.0
    redraw_hz: float = 5.0
    stale_seconds: float = 10.0
    subscribe_days: int = 0  # 0: every expiration streams; N: those within N days
    compute: str = "process"  # where the exposure is computed: "process" or "thread"
    metric: str = "gex"
    basis: str = "oi"
    colors: Colors = field(default_factory=Colors)
    keys: Mapping[str, str] = field(default_factory=dict)
    alerts: AlertRules = field(default_factory=AlertRules)
    path: Path | None = None  # where they were read from (None: defaults only)

    def __post_init__(self) -> None:
        self.validate()

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        """Raise :class:`SettingsError` for the first bad value."""
        if not self.tickers:
            raise SettingsError("tickers: give at least one ticker")
        for t in self.tickers:
            try:
                if not isinstance(t, str) or ticker_name(t) != t:
                    raise TickerError(t)
            except TickerError:
                raise SettingsError(f"tickers: {t!r} is not a ticker symbol") from None
        try:
            parse_selection(self.expiry)
        except (ExpirySelectionError, AttributeError) as exc:
            raise SettingsError(f"expiry: {exc}") from None
        if isinstance(self.strikes, bool) or not isinstance(self.strikes, int):
            raise SettingsError(f"strikes: expected a whole number, got {self.strikes!r}")
        if self.strikes != 0 and not 4 <= self.strikes <= 2000:
            raise SettingsError(
                f"strikes: expected 0 (as many as fit) or 4 to 2000, got {self.strikes}"
            )
        _number("strike_pct", self.strike_pct, 0.0, 100.0)
        _number("redraw_hz", self.redraw_hz, 1.0, 30.0)
        _number("stale_seconds", self.stale_seconds, 1.0, 3600.0)
        days = self.subscribe_days
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 3650:
            raise SettingsError(
                f"subscribe_days: expected 0 (every expiration) to 3650 days, got {days!r}"
            )
        if self.compute not in COMPUTE_MODES:
            raise SettingsError(
                f"compute: expected one of {', '.join(COMPUTE_MODES)}, got {self.compute!r}"
            )
        if self.metric not in METRICS:
            raise SettingsError(
                f"metric: expected one of {', '.join(METRICS)}, got {self.metric!r}"
            )
        if self.basis not in BASES:
            raise SettingsError(f"basis: expected one of {', '.join(BASES)}, got {self.basis!r}")
        for binding_id, keys in self.keys.items():
            if not isinstance(keys, str) or not keys.strip():
                raise SettingsError(f"keys.{binding_id}: expected keys like 'f' or 'f,F'")

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> Settings:
        """Settings from ``path`` (default :func:`default_path`); defaults if the default file
        does not exist. Raises :class:`SettingsError` with a one-line message."""
        explicit = path is not None
        file = Path(path) if path is not None else default_path()
        try:
            raw = file.read_bytes()
        except FileNotFoundError:
            if explicit:
                raise SettingsError(f"{file}: no such settings file") from None
            return cls()
        except OSError as exc:
            raise SettingsError(f"{file}: cannot read settings ({exc.strerror})") from None
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{file}: not valid TOML: {exc}") from None
        try:
            return cls.from_mapping(data, path=file)
        except SettingsError as exc:
            raise SettingsError(f"{file}: {exc}") from None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, path: Path | None = None) -> Settings:
        """Settings from a parsed TOML document."""
        tables = {"colors", "keys", "alerts"}
        known = {f.name for f in fields(cls)} - {"path"} - tables
        kw: dict[str, Any] = {}
        for key, value in data.items():
            if key == "colors":
                kw["colors"] = _colors(value)
            elif key == "keys":
                if not isinstance(value, Mapping):
                    raise SettingsError("keys: expected a table of binding id = 'keys'")
                kw["keys"] = dict(value)
            elif key == "alerts":
                if not isinstance(value, Mapping):
                    raise SettingsError("alerts: expected a table of alert rules")
                try:
                    kw["alerts"] = AlertRules.from_mapping(value)
                except AlertRulesError as exc:
                    raise SettingsError(str(exc)) from None
            elif key in known:
                kw[key] = value
            else:
                raise SettingsError(
                    f"unknown key {key!r} (known: {', '.join(sorted(known | tables))})"
                )
        if "tickers" in kw:
            tickers = kw["tickers"]
            if isinstance(tickers, str):
                tickers = [tickers]
            if not isinstance(tickers, list):
                raise SettingsError("tickers: expected a list of ticker symbols")
            kw["tickers"] = _ticker_names(tickers)
        if isinstance(kw.get("expiry"), str):
            kw["expiry"] = kw["expiry"].strip().lower()
        for name in ("strike_pct", "redraw_hz", "stale_seconds"):
            value = kw.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                kw[name] = float(value)
        if not isinstance(kw.get("expiry", ""), str):
            raise SettingsError(f"expiry: expected a string, got {kw['expiry']!r}")
        return cls(path=path, **kw)

    def merge(self, **overrides: Any) -> Settings:
        """A copy with the given fields replaced; ``None`` values are ignored (CLI defaults).
        ``tickers`` may be a list; ``theme`` (a palette name) is accepted as a shortcut."""
        kw = {k: v for k, v in overrides.items() if v is not None}
        theme = kw.pop("theme", None)
        if theme is not None:
            kw["colors"] = Colors.from_theme(str(theme))
        unknown = set(kw) - {f.name for f in fields(self)}
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        if "tickers" in kw:
            kw["tickers"] = _ticker_names(kw["tickers"])
        if "expiry" in kw:
            kw["expiry"] = str(kw["expiry"]).strip().lower()
        return replace(self, **kw)


def _number(name: str, value: object, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SettingsError(f"{name}: expected a number, got {value!r}")
    if not low <= value <= high:
        raise SettingsError(f"{name}: expected {low:g} to {high:g}, got {value:g}")


def _colors(value: object) -> Colors:
    if not isinstance(value, Mapping):
        raise SettingsError("colors: expected a table")
    table = dict(value)
    theme = table.pop("theme", "default")
    allowed = {"positive", "negative", "spot", "zero_gamma"}
    unknown = set(table) - allowed
    if unknown:
        raise SettingsError(
            f"colors: unknown key(s) {', '.join(sorted(unknown))} "
            f"(known: theme, {', '.join(sorted(allowed))})"
        )
    if not isinstance(theme, str):
        raise SettingsError(f"colors.theme: expected a name, got {theme!r}")
    return Colors.from_theme(theme, **{k: v for k, v in table.items()})


# --------------------------------------------------------------------------- key bindings
# the characters a user may write for Textual's key names (so "+" and "plus" clash)
_KEY_ALIASES: Final = {
    "+": "plus",
    "-": "minus",
    ".": "full_stop",
    ",": "comma",
    "?": "question_mark",
    "[": "left_square_bracket",
    "]": "right_square_bracket",
    " ": "space",
    "/": "slash",
    "=": "equals_sign",
}


@dataclass(frozen=True)
class KeySpec:
    """One remappable binding: its id, its default keys and the modes it is active in
    (``"live"`` and/or ``"replay"``); two bindings may share a key only if no mode has both."""

    id: str
    keys: tuple[str, ...]
    modes: frozenset[str]


def _key_name(key: str) -> str:
    key = key.strip()
    return _KEY_ALIASES.get(key, key.lower() if len(key) > 1 else key)


def check_keymap(overrides: Mapping[str, str], specs: list[KeySpec]) -> None:
    """Raise :class:`SettingsError` naming the key for an unknown binding id or for two
    bindings that end up on the same key in the same mode (e.g. remapping a key onto ``q``
    would silently remove quit)."""
    known = {s.id: s for s in specs}
    for binding_id, keys in overrides.items():
        if binding_id not in known:
            raise SettingsError(
                f"keys.{binding_id}: no such binding id (known: {', '.join(sorted(known))})"
            )
        if not isinstance(keys, str) or not [k for k in keys.split(",") if k.strip()]:
            raise SettingsError(f"keys.{binding_id}: expected keys like 'f' or 'f,F'")
    owners: dict[str, list[KeySpec]] = {}
    for spec in specs:
        text = overrides.get(spec.id)
        chosen = [k for k in text.split(",") if k.strip()] if text is not None else spec.keys
        for name in dict.fromkeys(_key_name(k) for k in chosen):
            for other in owners.get(name, []):
                if other.modes & spec.modes:
                    changed = spec.id if spec.id in overrides else other.id
                    raise SettingsError(
                        f"keys.{changed}: key {name!r} is already bound to "
                        f"{other.id if changed == spec.id else spec.id}; remap that one too"
                    )
            owners.setdefault(name, []).append(spec)
