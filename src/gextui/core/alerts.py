"""Alerts on the key levels: rules, a per-ticker engine, and an independent predictor.

Rules (each can be switched off; ``d`` is a distance in % of spot):

``zero_gamma_cross``
    Spot crosses zero gamma: the side of spot relative to the zero-gamma level changes from one
    sample to the next. The first sample only sets the side.
``near_call_wall`` / ``near_put_wall``
    Spot comes within ``wall_distance_pct`` % of the call (put) wall:
    ``|spot − wall| / spot · 100 ≤ wall_distance_pct``. Fires on the first sample too if spot
    is already that near.
``net_gex_sign``
    Net GEX changes sign (positive ↔ negative gamma regime). The first sample only sets the sign.
``wall_moved``
    The call or put wall moved to another strike. With ``wall_confirm_samples = n`` a new
    strike must be the wall for ``n`` consecutive samples before the move counts (``n = 1``:
    any change between samples). The first wall seen is only recorded.

Hysteresis — no alert repeats while its condition holds:

* near a wall: after firing, the rule re-arms only once spot is farther than
  ``wall_distance_pct + rearm_pct`` % from that wall (a Schmitt trigger);
* crossings (zero gamma, net GEX sign): a crossing fires at once if the rule is armed; it is
  armed once the value is *clear* of the line on the current side — spot at least ``rearm_pct``
  % of spot away from zero gamma, or |net GEX| at least ``net_gex_rearm_pct`` % of gross GEX
  (Σ |GEX|). A crossing while not armed (a wiggle around the line just after an alert) fires
  only when the value is clear on the new side. So noise around the line gives one alert, and
  a decisive move back gives the next one.

Samples with a missing value (no spot, no zero gamma, no wall) leave the state of the rules
that need it untouched. Disabled rules keep tracking their state (so switching one on does not
fire on an old condition); they only stay silent.

:class:`AlertEngine` evaluates samples one at a time (state per ticker). :func:`predict_alerts`
computes the same alerts over a whole history frame, written independently (vectorised polars:
segments, run lengths and forward fills instead of a state machine) so each checks the other.
:class:`LevelMonitor` bundles the per-ticker histories, the engine and the alert log for the UI.
Pure: no UI, no I/O (running ``--alert-cmd`` is :mod:`gextui.alert_cmd`).
"""

from __future__ import annotations

import enum
import json
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import polars as pl

from gextui.core.expiry import ExpirySelectionError, parse_selection
from gextui.core.exposure import ExposureSnapshot
from gextui.core.history import (
    DEFAULT_MAX_POINTS,
    DEFAULT_SAMPLE_EVERY,
    LevelHistory,
    LevelSample,
    finite_or_none,
)


class AlertKind(enum.StrEnum):
    ZERO_GAMMA_CROSS = "zero_gamma_cross"
    NEAR_CALL_WALL = "near_call_wall"
    NEAR_PUT_WALL = "near_put_wall"
    NET_GEX_SIGN = "net_gex_sign"
    WALL_MOVED = "wall_moved"

    @property
    def label(self) -> str:
        """Plain words (command palette, alerts log)."""
        return RULE_LABELS[self]


RULE_KINDS: Final[tuple[AlertKind, ...]] = tuple(AlertKind)
RULE_LABELS: Final[Mapping[AlertKind, str]] = {
    AlertKind.ZERO_GAMMA_CROSS: "Spot crosses zero gamma",
    AlertKind.NEAR_CALL_WALL: "Spot near the call wall",
    AlertKind.NEAR_PUT_WALL: "Spot near the put wall",
    AlertKind.NET_GEX_SIGN: "Net GEX changes sign",
    AlertKind.WALL_MOVED: "Call or put wall moves",
}
# order of the alerts one sample can raise
_RANK: Final[Mapping[tuple[AlertKind, str], int]] = {
    (AlertKind.ZERO_GAMMA_CROSS, ""): 0,
    (AlertKind.NEAR_CALL_WALL, "call"): 1,
    (AlertKind.NEAR_PUT_WALL, "put"): 2,
    (AlertKind.NET_GEX_SIGN, ""): 3,
    (AlertKind.WALL_MOVED, "call"): 4,
    (AlertKind.WALL_MOVED, "put"): 5,
}


# =========================================================================== rules
class AlertRulesError(ValueError):
    """A bad ``[alerts]`` table; ``str(err)`` is one line naming every bad key."""


@dataclass(frozen=True, slots=True)
class AlertRules:
    """Which alerts are on and their thresholds (the settings file's ``[alerts]`` table).

    ``bell`` and ``command`` are delivery options for the app (ring the terminal bell; run a
    command with the alert as JSON on stdin, like ``--alert-cmd``); the engine ignores them.
    """

    zero_gamma_cross: bool = True
    near_call_wall: bool = True
    near_put_wall: bool = True
    net_gex_sign: bool = True
    wall_moved: bool = True
    wall_distance_pct: float = 0.25  # "near a wall": within this % of spot
    rearm_pct: float = 0.10  # hysteresis band, % of spot
    net_gex_rearm_pct: float = 2.0  # net-GEX sign hysteresis, % of gross GEX
    wall_confirm_samples: int = 1  # samples a new wall strike must hold before it counts
    bell: bool = True
    command: str | None = None
    # the one expiry selection the rules (and the history) follow for every ticker, whatever
    # the screen shows: stepping the view's expiry never fires or silences an alert
    expiry: str = "all"

    def __post_init__(self) -> None:
        errors = _rule_errors({f.name: getattr(self, f.name) for f in fields(self)})
        if errors:
            raise AlertRulesError("; ".join(errors))

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any]) -> AlertRules:
        """Rules from the ``[alerts]`` table of the settings file (missing keys keep their
        defaults). Raises :class:`AlertRulesError` naming every unknown key and bad value."""
        known = {f.name for f in fields(cls)}
        errors = [
            f"[alerts] unknown key {key!r} (known: {', '.join(sorted(known))})"
            for key in table
            if key not in known
        ]
        values = {k: v for k, v in table.items() if k in known}
        errors += _rule_errors(values)
        if errors:
            raise AlertRulesError("; ".join(errors))
        if isinstance(values.get("command"), str) and not values["command"].strip():
            values["command"] = None
        for key in ("wall_distance_pct", "rearm_pct", "net_gex_rearm_pct"):
            if key in values:
                values[key] = float(values[key])
        if isinstance(values.get("expiry"), str):
            values["expiry"] = parse_selection(values["expiry"])
        return cls(**values)

    def to_mapping(self) -> dict[str, Any]:
        """The ``[alerts]`` table for these rules (``command`` left out when unset)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        if out["command"] is None:
            del out["command"]
        return out

    def is_enabled(self, kind: AlertKind | str) -> bool:
        return bool(getattr(self, AlertKind(kind).value))

    def with_enabled(self, kind: AlertKind | str, on: bool | None = None) -> AlertRules:
        """A copy with rule ``kind`` switched on/off (``on=None`` toggles it)."""
        k = AlertKind(kind)
        value = not self.is_enabled(k) if on is None else on
        changes: dict[str, Any] = {k.value: value}
        return replace(self, **changes)


_BOOL_KEYS: Final = (*(k.value for k in AlertKind), "bell")


def _rule_errors(values: Mapping[str, Any]) -> list[str]:
    errors: list[str] = []

    def number(key: str, low: float, high: float, low_open: bool) -> None:
        if key not in values:
            return
        v = values[key]
        ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        if ok:
            ok = (v > low if low_open else v >= low) and v <= high
        if not ok:
            bound = f"> {low:g}" if low_open else f"≥ {low:g}"
            errors.append(f"[alerts] {key} must be a number {bound} and ≤ {high:g}, got {v!r}")

    for key in _BOOL_KEYS:
        if key in values and not isinstance(values[key], bool):
            errors.append(f"[alerts] {key} must be true or false, got {values[key]!r}")
    number("wall_distance_pct", 0.0, 100.0, low_open=True)
    number("rearm_pct", 0.0, 100.0, low_open=False)
    number("net_gex_rearm_pct", 0.0, 100.0, low_open=False)
    if "wall_confirm_samples" in values:
        v = values["wall_confirm_samples"]
        if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 10_000:
            errors.append(
                f"[alerts] wall_confirm_samples must be a whole number from 1 to 10000, got {v!r}"
            )
    if "command" in values and not (
        values["command"] is None or isinstance(values["command"], str)
    ):
        errors.append(f"[alerts] command must be a string, got {values['command']!r}")
    if "expiry" in values:
        try:
            parse_selection(values["expiry"])
        except (ExpirySelectionError, AttributeError):
            errors.append(
                f"[alerts] expiry must be 0dte, next, week, month, all, ex-next or a date "
                f"YYYY-MM-DD, got {values['expiry']!r}"
            )
    return errors


# =========================================================================== alerts
@dataclass(frozen=True, slots=True)
class Alert:
    """One alert. ``message`` is one line fit for a notification; ``level`` is the price level
    involved (zero gamma, the wall strike — the new one for a move; ``None`` for net GEX);
    ``time`` is the event time of the sample that raised it."""

    kind: AlertKind
    ticker: str
    time: datetime
    message: str
    spot: float | None
    level: float | None
    details: Mapping[str, Any] = field(default_factory=dict)
    selection: str = ""  # the expiry selection the rule was evaluated on

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "ticker": self.ticker,
            "selection": self.selection,
            "time": self.time.astimezone(UTC).isoformat(),
            "message": self.message,
            "spot": self.spot,
            "level": self.level,
            "details": dict(self.details),
        }

    def to_json(self) -> str:
        """One JSON object (what ``--alert-cmd`` receives on stdin)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, allow_nan=False)


def _price(x: float) -> str:
    return f"{x:,.2f}"


def _dollars(x: float) -> str:
    sign = "-" if x < 0 else "+"
    a = abs(x)
    for scale, unit in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
        if a >= scale:
            return f"{sign}${a / scale:,.2f}{unit}"
    return f"{sign}${a:,.0f}"


def _pct_from_spot(spot: float, level: float) -> float:
    """Signed distance of spot from ``level`` in % of spot (positive: spot above)."""
    return (spot - level) / spot * 100.0


def _utc(t: datetime) -> datetime:
    return t.astimezone(UTC)


def zero_gamma_alert(
    ticker: str, time: datetime, spot: float, zero_gamma: float, side: int
) -> Alert:
    where = "above" if side > 0 else "below"
    return Alert(
        AlertKind.ZERO_GAMMA_CROSS,
        ticker,
        _utc(time),
        f"{ticker}: spot {_price(spot)} crossed {where} zero gamma {_price(zero_gamma)}",
        spot,
        zero_gamma,
        {"direction": where, "distance_pct": _pct_from_spot(spot, zero_gamma)},
    )


def near_wall_alert(ticker: str, time: datetime, spot: float, wall: float, which: str) -> Alert:
    kind = AlertKind.NEAR_CALL_WALL if which == "call" else AlertKind.NEAR_PUT_WALL
    dist = abs(_pct_from_spot(spot, wall))
    return Alert(
        kind,
        ticker,
        _utc(time),
        f"{ticker}: spot {_price(spot)} within {dist:.2f} % of the {which} wall {_price(wall)}",
        spot,
        wall,
        {"wall": which, "distance_pct": dist},
    )


def net_gex_alert(
    ticker: str, time: datetime, spot: float | None, net_gex: float, abs_gex: float | None
) -> Alert:
    regime = "positive" if net_gex > 0 else "negative"
    return Alert(
        AlertKind.NET_GEX_SIGN,
        ticker,
        _utc(time),
        f"{ticker}: net GEX turned {regime} ({_dollars(net_gex)} per 1 % move)",
        spot,
        None,
        {"sign": regime, "net_gex": net_gex, "abs_gex": abs_gex},
    )


def wall_moved_alert(
    ticker: str, time: datetime, spot: float | None, which: str, old: float, new: float
) -> Alert:
    return Alert(
        AlertKind.WALL_MOVED,
        ticker,
        _utc(time),
        f"{ticker}: {which} wall moved {_price(old)} → {_price(new)}",
        spot,
        new,
        {"wall": which, "from": old, "to": new},
    )


# =========================================================================== engine
@dataclass(slots=True)
class _Crossing:
    side: int = 0  # side last reported (or first seen); 0 = nothing seen yet
    armed: bool = False

    def step(self, raw: int, clear: bool) -> bool:
        """Advance with a sample on side ``raw`` (±1); True when a crossing fires."""
        if self.side == 0:
            self.side, self.armed = raw, clear
            return False
        if raw == self.side:
            self.armed = self.armed or clear
            return False
        if self.armed or clear:
            self.side, self.armed = raw, clear
            return True
        return False


@dataclass(slots=True)
class _Near:
    inside: bool = False  # reported near and not yet cleared by the re-arm margin

    def step(self, dist: float, near: float, rearm: float) -> bool:
        if self.inside:
            if dist > rearm:
                self.inside = False
            return False
        if dist <= near:
            self.inside = True
            return True
        return False


@dataclass(slots=True)
class _Wall:
    reported: float | None = None
    run_value: float | None = None
    run_len: int = 0

    def step(self, wall: float, confirm: int) -> float | None:
        """Advance with the current wall; the previous wall when a move fires."""
        if wall == self.run_value:
            self.run_len += 1
        else:
            self.run_value, self.run_len = wall, 1
        if self.run_len != confirm:
            return None
        old, self.reported = self.reported, wall
        return old if old is not None and old != wall else None


@dataclass(slots=True)
class _TickerState:
    zero_gamma: _Crossing = field(default_factory=_Crossing)
    net_gex: _Crossing = field(default_factory=_Crossing)
    near_call: _Near = field(default_factory=_Near)
    near_put: _Near = field(default_factory=_Near)
    call_wall: _Wall = field(default_factory=_Wall)
    put_wall: _Wall = field(default_factory=_Wall)


class AlertEngine:
    """Evaluates :class:`AlertRules` on each new sample, with state per ticker.

    ``rules`` may be replaced at any time (command palette toggles); the state is kept.
    """

    def __init__(self, rules: AlertRules | None = None) -> None:
        self.rules = rules or AlertRules()
        self._state: dict[str, _TickerState] = {}

    def reset(self, ticker: str | None = None) -> None:
        """Forget the state of ``ticker`` (all tickers when ``None``)."""
        if ticker is None:
            self._state.clear()
        else:
            self._state.pop(ticker.upper(), None)

    def evaluate(self, sample: LevelSample, ticker: str) -> list[Alert]:
        """The alerts ``sample`` raises for ``ticker`` (in rule order)."""
        r = self.rules
        tk = ticker.upper()
        st = self._state.setdefault(tk, _TickerState())
        out: list[Alert] = []
        spot = finite_or_none(sample.spot)
        if spot is not None and spot <= 0:
            spot = None
        zg = finite_or_none(sample.zero_gamma)
        call_w = finite_or_none(sample.call_wall)
        put_w = finite_or_none(sample.put_wall)
        net = finite_or_none(sample.net_gex)
        gross = finite_or_none(sample.abs_gex)

        if spot is not None and zg is not None:
            d = _pct_from_spot(spot, zg)
            if d != 0.0:
                raw = 1 if d > 0 else -1
                fired = st.zero_gamma.step(raw, abs(d) >= r.rearm_pct)
                if fired and r.zero_gamma_cross:
                    out.append(zero_gamma_alert(tk, sample.time, spot, zg, raw))

        rearm = r.wall_distance_pct + r.rearm_pct
        for wall, near_state, which, enabled in (
            (call_w, st.near_call, "call", r.near_call_wall),
            (put_w, st.near_put, "put", r.near_put_wall),
        ):
            if spot is None or wall is None:
                continue
            dist = abs(_pct_from_spot(spot, wall))
            if near_state.step(dist, r.wall_distance_pct, rearm) and enabled:
                out.append(near_wall_alert(tk, sample.time, spot, wall, which))

        if net is not None and net != 0.0:
            raw = 1 if net > 0 else -1
            band = r.net_gex_rearm_pct / 100.0 * (gross if gross is not None else 0.0)
            if st.net_gex.step(raw, abs(net) >= band) and r.net_gex_sign:
                out.append(net_gex_alert(tk, sample.time, spot, net, gross))

        for wall, wall_state, which in (
            (call_w, st.call_wall, "call"),
            (put_w, st.put_wall, "put"),
        ):
            if wall is None:
                continue
            old = wall_state.step(wall, r.wall_confirm_samples)
            if old is not None and r.wall_moved:
                out.append(wall_moved_alert(tk, sample.time, spot, which, old, wall))
        return out


# =========================================================================== predictor
_LEVEL_COLUMNS: Final = ("spot", "net_gex", "abs_gex", "zero_gamma", "call_wall", "put_wall")


def predict_alerts(
    frame: pl.DataFrame, rules: AlertRules, ticker: str, selection: str = ""
) -> list[Alert]:
    """The alerts :class:`AlertEngine` would raise for the samples of ``frame`` (a
    :meth:`LevelHistory.frame`, oldest first, fed from a fresh state), computed over the whole
    series at once; ``selection`` is the expiry selection the samples were taken on.
    Independent of the engine's code: it is the reference the tests compare
    the engine with, and it can re-derive the alerts of a saved history."""
    tk = ticker.upper()
    df = frame.with_row_index("i")
    for name in _LEVEL_COLUMNS:
        if name not in df.columns:
            df = df.with_columns(pl.lit(None, pl.Float64).alias(name))
    df = df.with_columns(pl.col(*_LEVEL_COLUMNS).cast(pl.Float64).fill_nan(None)).with_columns(
        pl.when(pl.col("spot") > 0).then(pl.col("spot")).alias("spot")
    )
    # (row, rank, alert) triples, sorted at the end
    found: list[tuple[int, int, Alert]] = []

    # ---- spot vs zero gamma
    zg = df.select(
        "i",
        "time",
        "spot",
        "zero_gamma",
        ((pl.col("spot") - pl.col("zero_gamma")) / pl.col("spot") * 100.0).alias("d"),
    ).filter(pl.col("d").is_not_null() & (pl.col("d") != 0.0))
    zg = zg.with_columns(clear=pl.col("d").abs() >= rules.rearm_pct)
    for row in _crossings(zg).iter_rows(named=True):
        alert = zero_gamma_alert(tk, row["time"], row["spot"], row["zero_gamma"], row["raw"])
        found.append((row["i"], _RANK[AlertKind.ZERO_GAMMA_CROSS, ""], alert))

    # ---- net GEX sign
    k = rules.net_gex_rearm_pct / 100.0
    ng = df.select("i", "time", "spot", "abs_gex", pl.col("net_gex").alias("d")).filter(
        pl.col("d").is_not_null() & (pl.col("d") != 0.0)
    )
    ng = ng.with_columns(clear=pl.col("d").abs() >= k * pl.col("abs_gex").fill_null(0.0))
    for row in _crossings(ng).iter_rows(named=True):
        alert = net_gex_alert(tk, row["time"], row["spot"], row["d"], row["abs_gex"])
        found.append((row["i"], _RANK[AlertKind.NET_GEX_SIGN, ""], alert))

    for which, kind in (("call", AlertKind.NEAR_CALL_WALL), ("put", AlertKind.NEAR_PUT_WALL)):
        wall = f"{which}_wall"
        # ---- near a wall: a Schmitt trigger as a forward fill of enter/leave events
        near = (
            df.select(
                "i",
                "time",
                "spot",
                pl.col(wall).alias("wall"),
                ((pl.col("spot") - pl.col(wall)) / pl.col("spot") * 100.0).abs().alias("dist"),
            )
            .with_columns(
                pl.when(pl.col("dist") <= rules.wall_distance_pct)
                .then(True)
                .when(pl.col("dist") > rules.wall_distance_pct + rules.rearm_pct)
                .then(False)
                .forward_fill()
                .fill_null(False)
                .alias("inside")
            )
            .filter(pl.col("inside") & ~pl.col("inside").shift(1, fill_value=False))
        )
        for row in near.iter_rows(named=True):
            alert = near_wall_alert(tk, row["time"], row["spot"], row["wall"], which)
            found.append((row["i"], _RANK[kind, which], alert))

        # ---- wall moved: runs of equal strikes, confirmed at their n-th sample
        moves = (
            df.select("i", "time", "spot", pl.col(wall).alias("wall"))
            .filter(pl.col("wall").is_not_null())
            .with_columns(run=pl.col("wall").rle_id())
            .with_columns(pos=pl.int_range(1, pl.len() + 1).over("run"))
            .filter(pl.col("pos") == rules.wall_confirm_samples)
            .with_columns(old=pl.col("wall").shift(1))
            .filter(pl.col("old").is_not_null() & (pl.col("old") != pl.col("wall")))
        )
        for row in moves.iter_rows(named=True):
            alert = wall_moved_alert(tk, row["time"], row["spot"], which, row["old"], row["wall"])
            found.append((row["i"], _RANK[AlertKind.WALL_MOVED, which], alert))

    found.sort(key=lambda t: (t[0], t[1]))
    chosen = [a for _, _, a in found if rules.is_enabled(a.kind)]
    return [replace(a, selection=selection) for a in chosen] if selection else chosen


def _crossings(df: pl.DataFrame) -> pl.DataFrame:
    """Rows where a hysteresis crossing fires; ``df`` has rows with a nonzero signed value
    ``d`` and a boolean ``clear`` (far enough from the line), in order. Adds ``raw`` (±1).

    Split the rows into segments, each starting at a *clear* row (segment 0: the rows before
    the first one). Within segment k ≥ 1, the side is the start row's side ("anchor") and the
    rule is armed; the first later row on the other side fires (and disarms until the next
    clear row). Segment 0 never fires (nothing is armed yet). The clear row starting segment
    k fires when its side differs from the side segment k − 1 ended on: the anchor's opposite
    if k − 1 had a firing row, else its anchor (segment 0 ends on its first row's side).
    """
    rows = df.with_columns(
        raw=pl.when(pl.col("d") > 0).then(1).otherwise(-1),
        seg=pl.col("clear").cast(pl.Int64).cum_sum(),
    ).with_columns(anchor=pl.col("raw").first().over("seg"))
    rows = rows.with_columns(
        other=(pl.col("seg") > 0) & (pl.col("raw") != pl.col("anchor")),
    ).with_columns(
        inner_fire=pl.col("other") & (pl.col("other").cast(pl.Int64).cum_sum().over("seg") == 1)
    )
    ends = (
        rows.group_by("seg")
        .agg(
            pl.col("anchor").first(),
            pl.col("other").any().alias("flipped"),
        )
        .with_columns(
            end_side=pl.when(pl.col("flipped")).then(-pl.col("anchor")).otherwise(pl.col("anchor"))
        )
        .select((pl.col("seg") + 1).alias("seg"), pl.col("end_side").alias("prev_end"))
    )
    rows = rows.join(ends, on="seg", how="left", maintain_order="left")
    start_fire = (
        pl.col("clear") & pl.col("prev_end").is_not_null() & (pl.col("raw") != pl.col("prev_end"))
    )
    return rows.filter(pl.col("inner_fire") | start_fire)


# =========================================================================== monitor
class LevelMonitor:
    """Per-ticker :class:`LevelHistory` + one :class:`AlertEngine` + the alerts log.

    The app calls :meth:`observe` with every new snapshot; it samples the history by event
    time and evaluates the rules on each new sample. The history panel reads
    ``history(ticker).frame()``; the alerts panel reads :attr:`log` (oldest first).
    """

    def __init__(
        self,
        rules: AlertRules | None = None,
        *,
        sample_every: timedelta = DEFAULT_SAMPLE_EVERY,
        max_points: int = DEFAULT_MAX_POINTS,
        log_size: int = 1000,
    ) -> None:
        self.engine = AlertEngine(rules)
        self.sample_every = sample_every
        self.max_points = max_points
        self._histories: dict[str, LevelHistory] = {}
        self._log: deque[Alert] = deque(maxlen=log_size)

    @property
    def rules(self) -> AlertRules:
        return self.engine.rules

    @rules.setter
    def rules(self, rules: AlertRules) -> None:
        self.engine.rules = rules

    def history(self, ticker: str) -> LevelHistory:
        """The history of ``ticker`` (created empty on first use)."""
        tk = ticker.upper()
        hist = self._histories.get(tk)
        if hist is None:
            hist = LevelHistory(self.sample_every, self.max_points, ticker=tk)
            self._histories[tk] = hist
        return hist

    @property
    def tickers(self) -> tuple[str, ...]:
        return tuple(self._histories)

    def observe(self, snapshot: ExposureSnapshot) -> list[Alert]:
        """Sample ``snapshot`` into its ticker's history; the alerts of the new sample (none
        when the sample was not due)."""
        sample = self.history(snapshot.ticker).observe(snapshot)
        if sample is None:
            return []
        return self._evaluate(sample, snapshot.ticker, snapshot.expiry)

    def observe_sample(self, sample: LevelSample, ticker: str) -> list[Alert]:
        """Like :meth:`observe` for a ready-made sample (recorded if due by event time)."""
        recorded = self.history(ticker).observe_sample(sample)
        return [] if recorded is None else self._evaluate(recorded, ticker)

    def _evaluate(self, sample: LevelSample, ticker: str, selection: str = "") -> list[Alert]:
        alerts = self.engine.evaluate(sample, ticker)
        if selection:
            alerts = [replace(a, selection=selection) for a in alerts]
        self._log.extend(alerts)
        return alerts

    def reset(self, ticker: str | None = None) -> None:
        """Forget the history and alert state of ``ticker`` (all when ``None``), e.g. after a
        replay seek; the alerts log is kept (see :meth:`clear_log`)."""
        targets = self._histories.values() if ticker is None else [self.history(ticker)]
        for hist in targets:
            hist.reset()
        self.engine.reset(ticker)

    @property
    def log(self) -> tuple[Alert, ...]:
        return tuple(self._log)

    def clear_log(self) -> None:
        self._log.clear()
