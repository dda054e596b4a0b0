"""tastytrade credentials: where they come from, and never showing them.

Variables (OAuth only; tastytrade retired username/password logins):

* ``TT_SECRET``  – the OAuth provider (client) secret;
* ``TT_REFRESH`` – the user's refresh token;
* ``TT_SANDBOX`` – ``true`` / ``1`` / ``yes`` (any case) selects the sandbox (cert) environment,
  whose market data is 15 minutes delayed;
* ``TT_API_URL`` – overrides the REST base URL (tests point it at a loopback fake).

Each variable is looked up, first match wins, in

1. the real process environment;
2. ``.env`` in the current directory;
3. ``$XDG_CONFIG_HOME/gextui/.env`` (``~/.config/gextui/.env`` when ``XDG_CONFIG_HOME`` is unset).

An empty value counts as unset. ``.env`` files are read with python-dotenv's
:func:`dotenv.dotenv_values`; ``os.environ`` is never modified. The :class:`Credentials`
``repr`` / ``str`` never shows the secret or the refresh token.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from dotenv import dotenv_values

VARIABLES: Final[tuple[str, ...]] = ("TT_SECRET", "TT_REFRESH", "TT_SANDBOX", "TT_API_URL")
REQUIRED: Final[tuple[str, ...]] = ("TT_SECRET", "TT_REFRESH")
_TRUE: Final[frozenset[str]] = frozenset({"1", "true", "yes", "y", "on"})


@dataclass(frozen=True, slots=True, repr=False)
class Credentials:
    """tastytrade OAuth credentials plus the environment choice.

    ``origins`` tells, per variable found, where it came from (``"environment"`` or the path
    of the ``.env`` file) – never the value.
    """

    secret: str = ""
    refresh_token: str = ""
    sandbox: bool = False
    api_url: str | None = None
    origins: Mapping[str, str] | None = field(default=None, compare=False)

    def missing(self) -> list[str]:
        """Names of the required variables that are not set (empty list when complete)."""
        out: list[str] = []
        if not self.secret:
            out.append("TT_SECRET")
        if not self.refresh_token:
            out.append("TT_REFRESH")
        return out

    def describe_missing(self) -> str:
        """One line on what is missing ('' when complete): with only one of the two set, it
        names the one that is missing (and that the other is set), never "no credentials"."""
        missing = self.missing()
        if not missing:
            return ""
        if len(missing) == len(REQUIRED):
            return "no tastytrade credentials: TT_SECRET and TT_REFRESH are not set"
        have = next(n for n in REQUIRED if n not in missing)
        where = (self.origins or {}).get(have)
        origin = f" (in {where})" if where else ""
        return f"{missing[0]} is missing: {have} is set{origin} but tastytrade needs both"

    @property
    def present(self) -> bool:
        """True when both the secret and the refresh token are set."""
        return not self.missing()

    def __repr__(self) -> str:
        def shown(value: str) -> str:
            return "<set>" if value else "<missing>"

        return (
            f"Credentials(secret={shown(self.secret)}, refresh_token={shown(self.refresh_token)}, "
            f"sandbox={self.sandbox}, api_url={self.api_url!r})"
        )

    __str__ = __repr__


def xdg_env_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/gextui/.env`` (default ``~/.config/gextui/.env``)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if base else Path.home() / ".config"
    return root / "gextui" / ".env"


def _read_env_file(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    try:
        values = dotenv_values(path)
    except (OSError, UnicodeDecodeError):
        return {}
    return {k: v for k, v in values.items() if v}


def parse_bool(text: str | None) -> bool:
    """``true`` / ``1`` / ``yes`` / ``y`` / ``on`` (any case) are true; anything else false."""
    return (text or "").strip().lower() in _TRUE


def load_credentials(
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    config_file: Path | None = None,
) -> Credentials:
    """Load the credentials (see the module docstring for the precedence).

    ``environ`` defaults to ``os.environ``, ``cwd`` to the current directory and
    ``config_file`` to :func:`xdg_env_path`; tests pass their own.
    """
    env = os.environ if environ is None else environ
    here = (cwd if cwd is not None else Path.cwd()) / ".env"
    xdg = config_file if config_file is not None else xdg_env_path(env)
    layers: list[tuple[str, Mapping[str, str]]] = [
        ("environment", {k: v for k, v in env.items() if k in VARIABLES and v}),
        (str(here), _read_env_file(here)),
    ]
    if xdg.resolve() != here.resolve():
        layers.append((str(xdg), _read_env_file(xdg)))
    values: dict[str, str] = {}
    origins: dict[str, str] = {}
    for name in VARIABLES:
        for origin, layer in layers:
            value = layer.get(name)
            if value:
                values[name] = value.strip()
                origins[name] = origin
                break
    return Credentials(
        secret=values.get("TT_SECRET", ""),
        refresh_token=values.get("TT_REFRESH", ""),
        sandbox=parse_bool(values.get("TT_SANDBOX")),
        api_url=values.get("TT_API_URL") or None,
        origins=origins,
    )


def has_credentials(
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    config_file: Path | None = None,
) -> bool:
    """Whether both ``TT_SECRET`` and ``TT_REFRESH`` can be found (see :func:`load_credentials`)."""
    return load_credentials(environ=environ, cwd=cwd, config_file=config_file).present
