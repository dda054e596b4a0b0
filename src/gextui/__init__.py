"""gextui — live dealer gamma exposure (GEX) for option chains, in the terminal.

The library side in two calls::

    import gextui

    chain = gextui.read_cboe("spx_quotedata.csv")   # a ChainBook (CBOE delayed-quotes CSV)
    snap = gextui.exposure(chain, expiry="all")      # an ExposureSnapshot
    snap.net_gex, snap.zero_gamma, snap.call_wall, snap.put_wall
    snap.to_dict()                                   # the JSON object of `gextui snapshot`

Conventions (see :mod:`gextui.core.exposure`): dealers long calls and short puts; GEX per
contract = sign · Γ · OI · multiplier · S² · 0.01 dollars per 1 % move (Γ from the data);
zero gamma is the sign change of the Black–Scholes gamma profile over spots 0.8 S … 1.2 S.

Imports are lazy: ``import gextui`` loads neither polars nor the feeds until first use.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gextui.core.chain import ChainBook
    from gextui.core.exposure import ExposureSnapshot

__all__ = ["__version__", "exposure", "read_cboe"]

try:
    __version__: str = metadata.version("gextui")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0.0.0+unknown"


def read_cboe(path: str | Path) -> ChainBook:
    """Read a CBOE delayed-quotes option-chain CSV into a :class:`~gextui.core.chain.ChainBook`.

    The book holds every contract of the file with the file's gamma, delta, IV, open interest,
    volume and quotes, spot from the ``Last:`` line and ``as_of`` from the ``Date:`` line.
    Raises :class:`gextui.feeds.cboe_file.CboeFileError` (one-line message) for anything that
    is not such a file. See :mod:`gextui.feeds.cboe_file`.
    """
    from gextui.feeds.cboe_file import read_cboe as _read_cboe

    return _read_cboe(path)


def exposure(chain: ChainBook, expiry: str = "all") -> ExposureSnapshot:
    """Dealer exposure of ``chain`` for the expirations ``expiry`` selects, at the chain's as-of
    time: ``0dte``, ``next``, ``week``, ``month``, ``all`` (default), ``ex-next`` or a date
    ``YYYY-MM-DD``. Expired contracts are left out. Returns an immutable
    :class:`~gextui.core.exposure.ExposureSnapshot` (dollars; ``to_dict()`` for JSON).
    A wrapper of :func:`gextui.core.exposure.compute_exposure` with r = q = 0.
    """
    from gextui.core.exposure import compute_exposure

    return compute_exposure(chain, expiry)
