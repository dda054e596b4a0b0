"""The ``Date:`` of a CBOE delayed-quotes download, in whatever locale the browser wrote it.

cboe.com writes the quote time with the browser's locale, so real files carry, e.g.::

    January 7, 2024 at 10:52 AM EST      (en-US)
    February 5 2022, 8:09 PM EST
    9 June 2023, 1:40 PM EDT             (en-GB; unquoted, so the CSV comma splits it)
    12 de enero de 2026, 13:36 GMT-5     (es: month name, 24-hour clock, GMT offset)
    12. Januar 2026 um 13:36 GMT-5       (de), 12 janvier 2026 à 13:36 UTC−5 (fr), …
    2026年1月12日 13:36 GMT-5             (ja / zh), 2026-01-12 13:36

:func:`parse_cboe_date` reads all of them: day, month (a name from :data:`MONTHS`, in English,
Spanish, Portuguese, French, German, Italian, Dutch, Swedish, Danish/Norwegian, Polish, Russian;
or a number in the year-first forms) and year in any order, a 12-hour clock with AM/PM
(``p. m.`` too) or a 24-hour clock, and the zone: ``EST`` / ``EDT`` / ``ET``, or ``GMT±N`` /
``UTC±N[:MM]`` (a fixed offset). **A date without a zone is read in America/New_York** (the
exchange's time, which is what the page shows in the US). Any other named zone is refused:
guessing it would shift every time to expiry.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Final

from gextui.core.expiry import NEW_YORK

__all__ = ["MONTHS", "parse_cboe_date"]


def _fold(word: str) -> str:
    """Lower case, accents removed (février → fevrier, März → marz), trailing dot dropped."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).rstrip(".")


_NAMES: Final[Mapping[str, list[str]]] = {
    "en": [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ],
    "es": [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ],
    "pt": [
        "janeiro",
        "fevereiro",
        "marco",
        "abril",
        "maio",
        "junho",
        "julho",
        "agosto",
        "setembro",
        "outubro",
        "novembro",
        "dezembro",
    ],
    "fr": [
        "janvier",
        "fevrier",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "aout",
        "septembre",
        "octobre",
        "novembre",
        "decembre",
    ],
    "de": [
        "januar",
        "februar",
        "marz",
        "april",
        "mai",
        "juni",
        "juli",
        "august",
        "september",
        "oktober",
        "november",
        "dezember",
    ],
    "it": [
        "gennaio",
        "febbraio",
        "marzo",
        "aprile",
        "maggio",
        "giugno",
        "luglio",
        "agosto",
        "settembre",
        "ottobre",
        "novembre",
        "dicembre",
    ],
    "nl": [
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ],
    "sv": [
        "januari",
        "februari",
        "mars",
        "april",
        "maj",
        "juni",
        "juli",
        "augusti",
        "september",
        "oktober",
        "november",
        "december",
    ],
    "da": [
        "januar",
        "februar",
        "marts",
        "april",
        "maj",
        "juni",
        "juli",
        "august",
        "september",
        "oktober",
        "november",
        "december",
    ],
    # Polish and Russian dates use the genitive ("12 stycznia 2026", "12 января 2026")
    "pl": [
        "stycznia",
        "lutego",
        "marca",
        "kwietnia",
        "maja",
        "czerwca",
        "lipca",
        "sierpnia",
        "wrzesnia",
        "pazdziernika",
        "listopada",
        "grudnia",
    ],
    "ru": [
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ],
}


def _month_table() -> dict[str, int]:
    table: dict[str, int] = {}
    clashes: set[str] = set()
    for names in _NAMES.values():
        for i, name in enumerate(names, start=1):
            table[_fold(name)] = i
    # abbreviations (first 3 or 4 letters) of the Latin-script languages, unless two
    # months would share one
    abbrev: dict[str, int] = {}
    for lang, names in _NAMES.items():
        if lang in ("pl", "ru"):
            continue
        for i, name in enumerate(names, start=1):
            for n in (3, 4):
                key = _fold(name)[:n]
                if abbrev.get(key, i) != i:
                    clashes.add(key)
                abbrev[key] = i
    for key, i in abbrev.items():
        if key not in clashes:
            table.setdefault(key, i)
    table["sept"] = 9
    return table


#: Month name or abbreviation (lower case, accents removed) → month number.
MONTHS: Final[Mapping[str, int]] = _month_table()

# words that join the parts of a date in the languages above
_FILLERS: Final[frozenset[str]] = frozenset(
    [
        "at",
        "on",
        "the",
        "of",
        "de",
        "del",
        "do",
        "da",
        "um",
        "om",
        "a",
        "à",
        "alle",
        "ore",
        "le",
        "el",
        "kl",
        "klo",
        "o",
        "w",
        "в",
        "г",
        "года",
    ]
)
_EASTERN: Final[Mapping[str, timedelta | None]] = {
    "EST": timedelta(hours=-5),
    "EDT": timedelta(hours=-4),
    "ET": None,
}
_OFFSET_RE: Final = re.compile(
    r"\b(?:GMT|UTC)\s*(?:(?P<sign>[+\-−])\s*(?P<h>\d{1,2})(?::?(?P<m>\d{2}))?)?(?![\w])",
    re.IGNORECASE,
)
_TIME_RE: Final = re.compile(r"(?<![\d:])(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?(?![\d:])")
_AMPM_RE: Final = re.compile(r"(?<![^\W\d_])(?P<x>[ap])\.?\s?m\.?(?![^\W\d_])", re.IGNORECASE)
_CJK_AMPM: Final[Mapping[str, str]] = {"上午": "a", "午前": "a", "下午": "p", "午後": "p"}
_ISO_RE: Final = re.compile(r"(?<!\d)(?P<y>\d{4})[-/.](?P<mo>\d{1,2})[-/.](?P<d>\d{1,2})(?!\d)")
_CJK_RE: Final = re.compile(r"(?P<y>\d{4})\s*年\s*(?P<mo>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日")
_ZONE_WORD_RE: Final = re.compile(r"(?<![^\W\d_])(?P<z>[A-Z]{2,5})(?![^\W\d_])")


def parse_cboe_date(text: str) -> datetime:
    """Parse the ``Date:`` cell of a CBOE download into an aware datetime (see the module
    docstring for the forms read). ``EST`` / ``EDT`` / ``GMT±N`` give the offset; ``ET`` or no
    zone use the America/New_York rules. Raises ValueError naming what is wrong.

    >>> parse_cboe_date("June 11, 2022, 8:47 PM EDT").isoformat()
    '2022-06-11T20:47:00-04:00'
    >>> parse_cboe_date("12 de enero de 2026, 13:36 GMT-5").isoformat()
    '2026-01-12T13:36:00-05:00'
    """
    cell = text.strip().strip('"').strip()
    if cell.lower().startswith("date:"):
        cell = cell[5:].strip()
    if not cell:
        raise ValueError("empty date")
    rest = cell
    # zone: GMT±N / UTC±N, or an Eastern name; any other zone word is refused
    offset: timedelta | None = None
    zone_name = ""
    m = _OFFSET_RE.search(rest)
    if m is not None:
        hours = int(m["h"] or 0)
        minutes = int(m["m"] or 0)
        if hours > 14 or minutes >= 60:
            raise ValueError(f"bad GMT offset in date {cell!r}")
        sign = -1 if m["sign"] in ("-", "−") else 1
        offset = sign * timedelta(hours=hours, minutes=minutes)
        zone_name = m.group(0).strip()
        rest = rest[: m.start()] + " " + rest[m.end() :]
    ampm = ""
    for word, x in _CJK_AMPM.items():
        if word in rest:
            ampm, rest = x, rest.replace(word, " ")
    m = _AMPM_RE.search(rest)
    if m is not None:
        ampm = m["x"].lower()
        rest = rest[: m.start()] + " " + rest[m.end() :]
    if offset is None:
        for z in _ZONE_WORD_RE.finditer(rest):
            word = z["z"]
            if word in _EASTERN:
                zone_name = word
                offset = _EASTERN[word]
                rest = rest[: z.start()] + " " + rest[z.end() :]
                break
            if _fold(word) not in MONTHS and _fold(word) not in _FILLERS:
                raise ValueError(f"time zone {word!r} is not US Eastern nor GMT±N in date {cell!r}")
    # time of day
    m = _TIME_RE.search(rest)
    if m is None:
        raise ValueError(f"unreadable date {cell!r} (no time of day)")
    hour, minute, second = int(m["h"]), int(m["m"]), int(m["s"] or 0)
    rest = rest[: m.start()] + " " + rest[m.end() :]
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError(f"bad hour in date {cell!r}")
        hour = hour % 12 + (12 if ampm == "p" else 0)
    elif hour > 23:
        raise ValueError(f"bad hour in date {cell!r}")
    year, month, day = _day(rest, cell)
    try:
        naive = datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        raise ValueError(f"impossible date {cell!r} ({exc})") from None
    if offset is None:
        return naive.replace(tzinfo=NEW_YORK)
    local = naive.replace(tzinfo=NEW_YORK)
    if zone_name.upper() in ("EST", "EDT") and local.utcoffset() == offset:
        return local  # the zone rules agree with the stated name
    return naive.replace(tzinfo=timezone(offset, zone_name) if zone_name else timezone(offset))


def _day(rest: str, cell: str) -> tuple[int, int, int]:
    """(year, month, day) from what is left of the cell once zone and time are out."""
    for regex in (_CJK_RE, _ISO_RE):
        m = regex.search(rest)
        if m is not None:
            return int(m["y"]), int(m["mo"]), int(m["d"])
    words = re.findall(r"[^\W\d_]+\.?|\d+", rest)
    month: int | None = None
    numbers: list[str] = []
    for word in words:
        if word.isdigit():
            numbers.append(word)
            continue
        folded = _fold(word)
        if folded in MONTHS and month is None:
            month = MONTHS[folded]
        elif folded in _FILLERS:
            continue
        else:
            raise ValueError(f"unreadable date {cell!r} (unknown word {word!r})")
    if month is None:
        raise ValueError(f"unknown month in date {cell!r}")
    years = [n for n in numbers if len(n) == 4]
    days = [n for n in numbers if len(n) <= 2]
    if len(years) != 1 or len(days) != 1 or len(numbers) != 2:
        raise ValueError(f"unreadable date {cell!r} (expected a day and a 4-digit year)")
    return int(years[0]), month, int(days[0])
