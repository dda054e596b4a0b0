"""The one set of number formatters."""

from __future__ import annotations

import math

import pytest

from gextui import formats


@pytest.mark.parametrize("bad", [None, math.nan, math.inf, -math.inf])
def test_missing_values(bad: float | None) -> None:
    for fn in (formats.price, formats.strike, formats.money, formats.pct, formats.count):
        assert fn(bad) == "—"  # type: ignore[operator]
    assert formats.price(bad, missing="n/a") == "n/a"


def test_numbers() -> None:
    assert formats.price(6012.345) == "6,012.35" and formats.price(5.0, 0) == "5"
    assert formats.strike(6050.0) == "6,050" and formats.strike(412.5) == "412.50"
    assert formats.money(1.234e9) == "+$1.23bn" and formats.money(-4.567e8) == "−$456.70M"
    assert formats.money(-2500.0, signed=False) == "−$2.50K"
    assert formats.money(12.0, signed=False) == "$12.00" and formats.money(0.0) == "$0.00"
    assert formats.pct(0.451) == "+0.45%" and formats.pct(-1.2) == "−1.20%"
    assert formats.pct(0.0) == "0.00%"
    assert formats.count(812) == "812" and formats.count(9_999) == "9,999"
    assert formats.count(23_400) == "23.4k" and formats.count(1_250_000) == "1.2M"
    assert formats.size(812) == "812 B" and formats.size(3.4 * 1024**2) == "3.4 MB"  # type: ignore[arg-type]
    assert formats.scale_for(-2e9) == (1e9, "bn")
