"""`gextui --file`: the monitor on CBOE downloads, a tab per file, re-read when the file
changes on disk or on `r`; a bad re-download keeps what is on screen."""

from __future__ import annotations

import os
from pathlib import Path

from gextui.core.exposure import compute_exposure
from gextui.feeds.cboe_file import read_cboe
from gextui.feeds.file_watch import CboeFilesFeed
from gextui.settings import Settings
from gextui.ui.app import GexApp
from gextui.ui.widgets import LevelsPanel, StatusLine, TickerTabs

from .helpers import frozen_clock, text_of

HEADER = (
    "Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest,Strike,"
    "Puts,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest"
)


def write_cboe(
    path: Path, *, name: str, root: str, spot: float, oi_scale: float, minute: int
) -> None:
    """A small real-shaped CBOE quotedata CSV: one expiration, nine strikes around spot."""
    step = 5.0 if spot > 1000 else 1.0
    rows = []
    for k in range(-4, 5):
        strike = round(spot / step) * step + k * step
        c_oi = int(oi_scale * (1000 + 400 * (k == 2)))
        p_oi = int(oi_scale * (900 + 500 * (k == -2)))
        gamma = 0.004 * (1 - abs(k) / 6)
        sym = f"{root}261211{{}}{int(strike * 1000):08d}"
        rows.append(
            f"Fri Dec 11 2026,{sym.format('C')},10,0,9.5,10.5,100,0.18,0.5,{gamma:.4f},{c_oi},"
            f"{strike:.2f},{sym.format('P')},9,0,8.5,9.5,90,0.19,-0.5,{gamma:.4f},{p_oi}"
        )
    path.write_text(
        f"\n{name},Last: {spot:.2f},Change: 1.0\n"
        f'"Date: December 8, 2026 at 10:{minute:02d} AM EST",Bid: {spot - 1:.2f},'
        f"Ask: {spot + 1:.2f},Size: 1*1,Volume: 0\n" + HEADER + "\n" + "\n".join(rows) + "\n"
    )


async def wait_for(pilot: object, cond: object, tries: int = 300) -> None:
    for _ in range(tries):
        await pilot.pause(0.02)  # type: ignore[attr-defined]
        if cond():  # type: ignore[operator]
            return
    raise AssertionError("condition not reached")


async def test_files_open_as_tabs_reload_on_change_and_on_r(tmp_path: Path) -> None:
    spx, spy = tmp_path / "spx_quotedata.csv", tmp_path / "spy_quotedata.csv"
    write_cboe(spx, name="S&P 500 INDEX", root="SPXW", spot=6800.0, oi_scale=1.0, minute=15)
    write_cboe(spy, name="SPDR S&P 500 ETF TRUST", root="SPY", spot=680.0, oi_scale=2.0, minute=15)
    feed = CboeFilesFeed([spx, spy], poll=0.05)
    tickers = feed.load()
    assert tickers == ["SPX", "SPY"]
    app = GexApp(feed, tickers, settings=Settings(), clock=frozen_clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.ticker == "SPX")
        first = compute_exposure(read_cboe(spx))
        assert app.snapshot.net_gex == first.net_gex
        top = text_of(app.query_one(StatusLine), 200)
        assert "file" in top and "spx_quotedata.csv, as of 2026-12-08 10:15" in top
        assert "SIMULATED" not in top
        tabs = text_of(app.query_one(TickerTabs))
        assert "1 SPX" in tabs and "2 SPY" in tabs

        # a new download lands: the screen follows by itself
        write_cboe(spx, name="S&P 500 INDEX", root="SPXW", spot=6810.0, oi_scale=3.0, minute=30)
        os.utime(spx, ns=(10**18, 10**18))  # a different mtime even on coarse clocks
        second = compute_exposure(read_cboe(spx))
        assert second.net_gex != first.net_gex
        await wait_for(pilot, lambda: app.snapshot.net_gex == second.net_gex)
        await wait_for(
            pilot, lambda: "as of 2026-12-08 10:30" in text_of(app.query_one(StatusLine), 200)
        )
        assert f"{second.call_wall:,.0f}" in text_of(app.query_one(LevelsPanel))

        # a broken re-download keeps the chain on screen and says why
        spx.write_text("half a file,\n")
        os.utime(spx, ns=(2 * 10**18, 2 * 10**18))
        await wait_for(pilot, lambda: "reload failed" in text_of(app.query_one(StatusLine), 300))
        assert app.snapshot.net_gex == second.net_gex

        # r re-reads on request (same file content back: the first figures again)
        write_cboe(spx, name="S&P 500 INDEX", root="SPXW", spot=6800.0, oi_scale=1.0, minute=15)
        await pilot.press("r")
        await wait_for(pilot, lambda: app.snapshot.net_gex == first.net_gex)

        await pilot.press("tab")
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.ticker == "SPY")
        assert app.snapshot.net_gex == compute_exposure(read_cboe(spy)).net_gex


def test_r_is_only_for_files() -> None:
    app = GexApp(CboeFilesFeed(["x.csv"]), ["SPX"], settings=Settings(), clock=frozen_clock)
    assert app.check_action("reload", ()) is True
    specs = {s.id: s for s in GexApp.keymap_specs()}
    assert specs["file.reload"].keys == ("r",)


async def test_a_value_left_out_is_shown_in_the_levels_panel(tmp_path: Path) -> None:
    """An open interest of 1e300 (finite, absurd) is left out of the book: the panel says how
    many values were rejected under the coverage, and the figures are those without it."""
    spx = tmp_path / "spx_quotedata.csv"
    write_cboe(spx, name="S&P 500 INDEX", root="SPXW", spot=6800.0, oi_scale=1.0, minute=15)
    good = compute_exposure(read_cboe(spx))
    lines = spx.read_text().split("\n")
    cells = lines[4].split(",")  # the first strike's row: its call OI -> 1e300
    cells[10] = "1e300"
    lines[4] = ",".join(cells)
    spx.write_text("\n".join(lines))
    feed = CboeFilesFeed([spx], poll=0.05)
    app = GexApp(feed, feed.load(), settings=Settings(), clock=frozen_clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        snap = app.snapshot
        assert snap.coverage.rejected == 1 and snap.coverage.with_oi == good.coverage.with_oi - 1
        assert snap.call_gex < good.call_gex  # that call's OI counts as missing
        panel = text_of(app.query_one(LevelsPanel), 40)
        assert "rejected" in panel and "1 value" in panel
