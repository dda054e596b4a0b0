"""Settlement times, time to expiry, and expiry selections.

* PM-settled options (SPXW, SPY, QQQ, NDXP, equities) settle 16:00 America/New_York on the
  expiration date; AM-settled index monthlies (roots ``SPX``, ``NDX``, ``RUT``) at 09:30.
* T in years = (settlement − as-of) / 365 days. T ≤ 0 means expired (excluded from exposure);
  live contracts are floored at one hour.
* Selections: ``0dte`` (expiring today, New York date), ``next`` (nearest live expiration),
  ``week`` (≤ 7 days), ``month`` (≤ 31 days), ``all``, ``ex-next`` (all but the nearest), or a
  date ``YYYY-MM-DD``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import polars as pl

NEW_YORK: Final = ZoneInfo("America/New_York")
AM_SETTLED_ROOTS: Final[frozenset[str]] = frozenset({"SPX", "NDX", "RUT"})
PM_CLOSE: Final = time(16, 0)
AM_OPEN: Final = time(9, 30)
YEAR_SECONDS: Final = 365.0 * 24 * 3600
MIN_T_YEARS: Final = 3600.0 / YEAR_SECONDS  # one hour
SELECTIONS: Final[tuple[str, ...]] = ("0dte", "next", "week", "month", "all", "ex-next")


class ExpirySelectionError(ValueError):
    """An expiry selection string that is not one of SELECTIONS nor a YYYY-MM-DD date."""


def settlement_time(root: str, expiration: date) -> datetime:
    """Settlement instant (aware, America/New_York) of an option of ``root``."""
    t = AM_OPEN if root.upper() in AM_SETTLED_ROOTS else PM_CLOSE
    return datetime.combine(expiration, t, tzinfo=NEW_YORK)


def settlement_expr(root: str = "root", expiration: str = "expiration") -> pl.Expr:
    """Polars expression for :func:`settlement_time` (Datetime[us, UTC])."""
    local = pl.col(expiration).cast(pl.Datetime("us")) + pl.when(
        pl.col(root).str.to_uppercase().is_in(list(AM_SETTLED_ROOTS))
    ).then(pl.duration(hours=9, minutes=30)).otherwise(pl.duration(hours=16))
    return local.dt.replace_time_zone("America/New_York").dt.convert_time_zone("UTC")


def years_to_settlement(
    settlement_us: npt.NDArray[np.int64], as_of: datetime, *, floor: bool = True
) -> npt.NDArray[np.float64]:
    """T in years from ``as_of`` to each settlement (epoch microseconds, UTC).

    Expired contracts (T ≤ 0) get NaN; live ones are floored at one hour when ``floor``.
    """
    now_us = as_of.timestamp() * 1e6
    t = (settlement_us.astype(np.float64) - now_us) / 1e6 / YEAR_SECONDS
    t = np.where(t > 0, t, np.nan)
    if floor:
        t = np.where(t < MIN_T_YEARS, MIN_T_YEARS, t)  # NaN stays NaN
    return t


def ny_date(moment: datetime) -> date:
    """The calendar date in New York at ``moment``."""
    return moment.astimezone(NEW_YORK).date()


def parse_selection(text: str) -> str:
    """Validate and normalise an expiry selection (case-insensitive)."""
    sel = text.strip().lower()
    if sel in SELECTIONS:
        return sel
    try:
        if len(sel) != 10 or sel[4] != "-" or sel[7] != "-":
            raise ValueError(sel)
        date.fromisoformat(sel)
    except ValueError:
        raise ExpirySelectionError(
            f"unknown expiry {text!r}: use one of {', '.join(SELECTIONS)} or a date YYYY-MM-DD"
        ) from None
    return sel


def live_expirations(settlements: Iterable[tuple[date, datetime]], as_of: datetime) -> list[date]:
    """Sorted expirations with at least one settlement after ``as_of``."""
    return sorted({exp for exp, settle in settlements if settle > as_of})


def select_expirations(expirations: Sequence[date], selection: str, as_of: datetime) -> list[date]:
    """The expirations (from the *live* ones given) that ``selection`` picks at ``as_of``."""
    sel = parse_selection(selection)
    exps = sorted(set(expirations))
    today = ny_date(as_of)
    if sel == "all":
        return exps
    if sel == "0dte":
        return [e for e in exps if e == today]
    if sel == "next":
        return exps[:1]
    if sel == "ex-next":
        return exps[1:]
    if sel == "week":
        return [e for e in exps if e <= today + timedelta(days=7)]
    if sel == "month":
        return [e for e in exps if e <= today + timedelta(days=31)]
    wanted = date.fromisoformat(sel)
    return [e for e in exps if e == wanted]


def selection_note(selection: str, live: Sequence[date], as_of: datetime) -> str | None:
    """A one-line warning when ``selection`` picks none of the ``live`` expirations at
    ``as_of`` (naming the nearest ones), else None."""
    if select_expirations(live, selection, as_of):
        return None
    today = ny_date(as_of)
    sel = parse_selection(selection)
    when = f"on {today:%a %Y-%m-%d} (New York)" if sel == "0dte" else f"at {today:%Y-%m-%d}"
    if not live:
        return f"expiry {sel} selects nothing: no expiration in the chain is live {when}"
    exps = sorted(set(live))
    if sel in SELECTIONS:
        nearest = exps[:3]
    else:
        wanted = date.fromisoformat(sel)
        nearest = sorted(sorted(exps, key=lambda e: (abs((e - wanted).days), e))[:3])
    listing = ", ".join(e.isoformat() for e in nearest)
    return (
        f"expiry {sel} matches no live expiration {when}; all figures are zero. "
        f"Nearest: {listing} (try --expiry next or --expiry {nearest[0].isoformat()})"
    )


def step_selection(selection: str, expirations: Sequence[date], step: int) -> str:
    """Move through the cycle SELECTIONS + each listed expiration by ``step`` (for ``[``/``]``)."""
    cycle = [*SELECTIONS, *(e.isoformat() for e in sorted(set(expirations)))]
    try:
        i = cycle.index(parse_selection(selection))
    except ValueError:
        i = 0
    return cycle[(i + step) % len(cycle)]
