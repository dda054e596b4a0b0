"""Pure domain core of gextui: symbols, chain book, greeks, exposure, expiry selection.

Nothing in this package imports Textual, tastytrade or any feed; an import-linter contract in
``pyproject.toml`` (and ``tests/unit/test_layering.py``) keeps it so.
"""
