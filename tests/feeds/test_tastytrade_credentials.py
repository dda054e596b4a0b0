"""Credentials: precedence (environment > ./.env > XDG .env), parsing, never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from gextui.credentials import Credentials, has_credentials, load_credentials, xdg_env_path

SECRET = "sek-ret-value-123"
REFRESH = "ref-resh-value-456"


def write(path: Path, **values: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return path


@pytest.fixture
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """An empty environment for the TT_* variables, a cwd and an XDG config dir."""
    for name in ("TT_SECRET", "TT_REFRESH", "TT_SANDBOX", "TT_API_URL"):
        monkeypatch.delenv(name, raising=False)
    cwd = tmp_path / "work"
    cwd.mkdir()
    xdg = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    monkeypatch.chdir(cwd)
    return cwd, xdg


def test_precedence_env_over_dotenv_over_xdg(
    dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd, xdg = dirs
    write(
        xdg / "gextui" / ".env",
        TT_SECRET="xdg-secret",
        TT_REFRESH="xdg-refresh",
        TT_SANDBOX="yes",
        TT_API_URL="http://127.0.0.1:9/xdg",
    )
    write(cwd / ".env", TT_SECRET="cwd-secret", TT_REFRESH="cwd-refresh")
    monkeypatch.setenv("TT_SECRET", "env-secret")

    creds = load_credentials()
    assert creds.secret == "env-secret"  # environment wins
    assert creds.refresh_token == "cwd-refresh"  # then ./.env
    assert creds.sandbox is True  # then the XDG file
    assert creds.api_url == "http://127.0.0.1:9/xdg"
    assert creds.origins == {
        "TT_SECRET": "environment",
        "TT_REFRESH": str(cwd / ".env"),
        "TT_SANDBOX": str(xdg / "gextui" / ".env"),
        "TT_API_URL": str(xdg / "gextui" / ".env"),
    }


def test_xdg_only(dirs: tuple[Path, Path]) -> None:
    _, xdg = dirs
    write(xdg / "gextui" / ".env", TT_SECRET=SECRET, TT_REFRESH=REFRESH)
    creds = load_credentials()
    assert (creds.secret, creds.refresh_token, creds.sandbox, creds.api_url) == (
        SECRET,
        REFRESH,
        False,
        None,
    )
    assert has_credentials()


def test_default_xdg_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert xdg_env_path() == tmp_path / ".config" / "gextui" / ".env"
    assert xdg_env_path({"XDG_CONFIG_HOME": "/x"}) == Path("/x/gextui/.env")


def test_empty_values_fall_through(
    dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd, _ = dirs
    write(cwd / ".env", TT_SECRET=SECRET, TT_REFRESH=REFRESH)
    monkeypatch.setenv("TT_SECRET", "")
    assert load_credentials().secret == SECRET


def test_missing(dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    creds = load_credentials()
    assert creds.missing() == ["TT_SECRET", "TT_REFRESH"]
    assert not creds.present
    assert not has_credentials()
    monkeypatch.setenv("TT_REFRESH", REFRESH)
    assert load_credentials().missing() == ["TT_SECRET"]


@pytest.mark.parametrize(
    ("text", "sandbox"),
    [("true", True), ("1", True), ("YES", True), ("0", False), ("no", False), ("", False)],
)
def test_sandbox_flag(text: str, sandbox: bool) -> None:
    env = {"TT_SECRET": SECRET, "TT_REFRESH": REFRESH, "TT_SANDBOX": text}
    nowhere = Path("/nonexistent-gextui-test")
    creds = load_credentials(environ=env, cwd=nowhere, config_file=nowhere / ".env")
    assert creds.sandbox is sandbox


def test_explicit_sources(tmp_path: Path) -> None:
    """load_credentials takes the environment, cwd and config file as arguments too."""
    cfg = write(tmp_path / "cfg.env", TT_SECRET="file-secret", TT_REFRESH="file-refresh")
    creds = load_credentials(environ={"TT_REFRESH": REFRESH}, cwd=tmp_path, config_file=cfg)
    assert (creds.secret, creds.refresh_token) == ("file-secret", REFRESH)


def test_does_not_touch_os_environ(dirs: tuple[Path, Path]) -> None:
    import os

    cwd, _ = dirs
    write(cwd / ".env", TT_SECRET=SECRET, TT_REFRESH=REFRESH)
    load_credentials()
    assert "TT_SECRET" not in os.environ


def test_repr_never_shows_secrets() -> None:
    creds = Credentials(secret=SECRET, refresh_token=REFRESH, sandbox=True)
    for text in (repr(creds), str(creds), f"{creds}", f"{creds!r}"):
        assert SECRET not in text and REFRESH not in text
        assert "<set>" in text
    assert "<missing>" in repr(Credentials())
    with pytest.raises(AttributeError):
        creds.secret = "x"  # type: ignore[misc]


def test_only_one_of_the_two_names_the_missing_one(tmp_path: Path) -> None:
    nowhere = tmp_path / "nowhere"
    only_secret = load_credentials(
        environ={"TT_SECRET": SECRET}, cwd=nowhere, config_file=nowhere / ".env"
    )
    msg = only_secret.describe_missing()
    assert (
        msg == "TT_REFRESH is missing: TT_SECRET is set (in environment) but tastytrade needs both"
    )
    assert "no tastytrade credentials" not in msg and SECRET not in msg
    write(tmp_path / ".env", TT_REFRESH=REFRESH)
    only_refresh = load_credentials(environ={}, cwd=tmp_path, config_file=nowhere / ".env")
    msg = only_refresh.describe_missing()
    assert msg.startswith("TT_SECRET is missing: TT_REFRESH is set (in ")
    assert str(tmp_path / ".env") in msg and REFRESH not in msg
    assert Credentials().describe_missing() == (
        "no tastytrade credentials: TT_SECRET and TT_REFRESH are not set"
    )
    assert Credentials(SECRET, REFRESH).describe_missing() == ""
