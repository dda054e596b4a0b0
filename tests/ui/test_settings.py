"""Settings: TOML loading, validation messages, CLI merge."""

from __future__ import annotations

from pathlib import Path

import pytest

from gextui.settings import THEMES, Colors, Settings, SettingsError, default_path


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_when_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_path() == tmp_path / "gextui" / "config.toml"
    s = Settings.load()
    assert s == Settings()
    assert s.tickers == ("SPX",) and s.expiry == "all" and s.strikes == 0
    assert s.colors.theme == "default"


def test_default_path_without_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_path() == tmp_path / ".config" / "gextui" / "config.toml"


def test_full_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(
        tmp_path,
        """
tickers = ["spx", "SPY"]
expiry = "0DTE"
strikes = 60
strike_pct = 3
redraw_hz = 8
stale_seconds = 20
metric = "vex"
basis = "volume"

[colors]
theme = "colorblind"
spot = "#ffffff"

[keys]
"view.profile" = "F"
""",
    )
    s = Settings.load(path)
    assert s.tickers == ("SPX", "SPY")
    assert s.expiry == "0dte"
    assert s.strikes == 60 and s.strike_pct == 3.0
    assert s.redraw_hz == 8.0 and s.stale_seconds == 20.0
    assert s.metric == "vex" and s.basis == "volume"
    assert s.colors.theme == "colorblind"
    assert s.colors.positive == THEMES["colorblind"]["positive"]
    assert s.colors.spot == "#ffffff"
    assert s.keys == {"view.profile": "F"}
    assert s.path == path
    # the XDG location is used when no path is given
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / "xdg" / "gextui").mkdir(parents=True)
    (tmp_path / "xdg" / "gextui" / "config.toml").write_text('expiry = "week"\n')
    assert Settings.load().expiry == "week"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("tickers = [", "not valid TOML"),
        ('expiry = "soon"', "expiry: unknown expiry 'soon'"),
        ("strikes = 2", "strikes: expected 0 (as many as fit) or 4 to 2000, got 2"),
        ("strikes = 40.5", "strikes: expected a whole number"),
        ("redraw_hz = 0", "redraw_hz: expected 1 to 30, got 0"),
        ('stale_seconds = "x"', "stale_seconds: expected a number"),
        ("colour = 1", "unknown key 'colour'"),
        ('[colors]\ntheme = "neon"', "colors.theme: unknown theme 'neon'"),
        ('[colors]\npositive = "green"', "colors.positive: expected a colour '#rrggbb'"),
        ('[colors]\nbackground = "#000000"', "colors: unknown key(s) background"),
        ('metric = "gamma"', "metric: expected one of gex, dex, vex, cex"),
        ("tickers = []", "tickers: give at least one ticker"),
        ('tickers = ["S P X"]', "tickers: 'S P X' is not a ticker symbol"),
        ('[keys]\n"app.quit" = ""', "keys.app.quit"),
    ],
)
def test_bad_files_give_one_line_errors(tmp_path: Path, text: str, fragment: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SettingsError) as info:
        Settings.load(path)
    message = str(info.value)
    assert fragment in message
    assert str(path) in message
    assert "\n" not in message.strip() or "TOML" in message


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="no such settings file"):
        Settings.load(tmp_path / "nope.toml")


def test_merge_cli_overrides() -> None:
    s = Settings().merge(tickers=["spy", "qqq"], expiry="Week", strikes=None, theme="colorblind")
    assert s.tickers == ("SPY", "QQQ")
    assert s.expiry == "week"
    assert s.strikes == 0  # None: not given
    assert s.colors.theme == "colorblind"
    with pytest.raises(SettingsError, match="expiry"):
        Settings().merge(expiry="later")
    with pytest.raises(SettingsError, match="unknown setting"):
        Settings().merge(colour="red")


def _luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    channels = [int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("theme", ["default", "colorblind"])
def test_theme_colours_have_contrast_on_the_dark_background(theme: str) -> None:
    """Bars and text against Textual's dark background (#121212, the charts) and the top
    line's panel (#242f38, where the change arrow is coloured)."""
    from textual.theme import BUILTIN_THEMES

    system = BUILTIN_THEMES["textual-dark"].to_color_system().generate()
    background, panel = str(system["background"])[:7], str(system["panel"])[:7]
    colors = Colors.from_theme(theme)
    for name in ("positive", "negative", "spot", "zero_gamma"):
        assert contrast(getattr(colors, name), background) >= 4.5, (theme, name)
    if theme == "colorblind":
        for name in ("positive", "negative"):
            assert contrast(getattr(colors, name), panel) >= 4.5, name
