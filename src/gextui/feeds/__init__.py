"""Market-data sources. Every source speaks :mod:`gextui.feeds.base`; none imports the UI."""
