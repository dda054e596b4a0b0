"""`gextui levels` on a recording made from the real tastytrade SDK against the loopback fake
server: every sample equals `gextui snapshot --replay --at` at the same time."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from cli_run import clean_environment, run
from fake_tastytrade import FakeTastytrade

from gextui.core.expiry import NEW_YORK
from gextui.feeds.recording import RecordingFeed
from gextui.feeds.tastytrade import TastytradeFeed
from gextui.store import levels
from gextui.store.reader import open_recording

FeedFactory = Callable[..., TastytradeFeed]


async def record_a_few_seconds(
    fake: FakeTastytrade, feed: TastytradeFeed, root: Path
) -> tuple[int, datetime]:
    """Stream SPX into a recording while the fake moves spot and greeks every 0.2 s, until
    the recording spans at least 4 whole seconds of event time after the chain's greeks are
    in (on a loaded machine the subscription's first frames may take a while)."""
    rec_feed = RecordingFeed(feed, root)
    session = await rec_feed.open("SPX")
    options = sorted(i["streamer-symbol"] for i in fake.chains["SPX"])
    batches = 0
    first = None
    book = session.chain.new_book()

    async def consume() -> None:
        nonlocal batches, first
        async for batch in session.events():
            batches += 1
            book.apply(batch)
            with_greeks, _, total = book.coverage()
            if first is None and with_greeks >= 0.9 * total:
                first = batch.time
            if first is None:
                continue
            if (batch.time - first).total_seconds() >= 4.2:
                return

    async def move() -> None:
        for k in range(200):
            await asyncio.sleep(0.2)
            fake.update("Trade", "SPX", price=6012.25 + 1.5 * k, day_volume=1000.0 + k)
            sym = options[k % len(options)]
            fake.update("Greeks", sym, gamma=1e-4 * (k + 1), volatility=0.15 + 0.001 * k)

    mover = asyncio.create_task(move())
    try:
        await asyncio.wait_for(consume(), timeout=60)
    finally:
        mover.cancel()
        await session.aclose()
        await rec_feed.aclose()
    assert first is not None
    return batches, first


async def test_levels_equal_snapshots(
    fake_tt: FakeTastytrade,
    tt_feed_factory: FeedFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path / "rec"
    batches, complete_from = await record_a_few_seconds(fake_tt, tt_feed_factory(), root)
    assert batches > 10
    clean_environment(monkeypatch, tmp_path)
    recording = open_recording(root, "SPX")
    assert recording.source == "tastytrade" and recording.events > 0

    tasks = levels.plan_tasks(root, ticker="SPX", every=1.0)
    series = await asyncio.to_thread(levels.level_series, tasks)
    assert series.height >= 3
    assert series["spot"].n_unique() >= 3  # the spot moved between samples
    assert series["net_gex"].is_not_null().all()
    # samples before the subscription's greeks were in may show less; from then on, whole
    whole = series.filter(pl.col("time") >= complete_from.astimezone(NEW_YORK))
    assert whole.height >= 3 and whole["coverage"].min() > 0.9
    for row in series.iter_rows(named=True):
        at = row["time"].astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M:%S")
        code, out, err = await asyncio.to_thread(
            run, capsys, "snapshot", "--replay", str(root), "--at", at, "--json"
        )
        assert code == 0, err
        doc = json.loads(out)
        assert doc["source"] == "tastytrade"
        cov = doc["coverage"]
        assert (
            row["spot"], row["net_gex"], row["zero_gamma"], row["call_wall"], row["put_wall"],
            row["max_pain"], row["regime"], row["coverage"],
        ) == (
            doc["spot"], doc["net_gex"], doc["zero_gamma"], doc["call_wall"], doc["put_wall"],
            doc["max_pain"], doc["gamma_regime"], cov["with_both"] / cov["contracts"],
        )  # fmt: skip
