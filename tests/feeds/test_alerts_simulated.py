"""Issue 7's end-to-end check: the simulated feed at high speed with a fixed seed, through
ChainBook → exposure → LevelHistory → AlertEngine; the alerts that fire are the ones
``predict_alerts`` computes directly over the same history."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

import polars as pl
import pytest

from gextui.core.alerts import Alert, AlertEngine, AlertRules, LevelMonitor, predict_alerts
from gextui.core.events import EventBatch
from gextui.core.exposure import compute_exposure
from gextui.core.history import LevelHistory
from gextui.feeds.simulated import SimulatedFeed

TICKER = "SPY"
SEED = 11  # fires every kind of alert (wall moves, near walls, zero-gamma and sign flips)
SPEED = 300.0  # 30 s of market time per 0.1 s batch
BATCHES = 300  # 2.5 hours of market time
EVERY = 1  # exposure after every batch (30 s of market time)
EXPIRY = "0dte"
START = datetime(2026, 1, 6, 10, 0)  # a Tuesday, New York time
SAMPLE_EVERY = timedelta(seconds=90)  # event time: a sample every third snapshot
RULES = AlertRules()


@dataclass
class Run:
    batches: list[EventBatch]
    history: LevelHistory
    alerts: list[Alert]
    monitor: LevelMonitor


async def _simulate() -> Run:
    feed = SimulatedFeed(seed=SEED, speed=SPEED, paced=False, start=START)
    session = await feed.open(TICKER)
    book = session.chain.new_book()
    history = LevelHistory(SAMPLE_EVERY)
    engine = AlertEngine(RULES)
    monitor = LevelMonitor(RULES, sample_every=SAMPLE_EVERY)  # what the app will use
    batches: list[EventBatch] = []
    alerts: list[Alert] = []
    async for batch in session.events():
        book.apply(batch)
        batches.append(batch)
        n = len(batches)
        if n >= session.warmup_batches and n % EVERY == 0:
            snapshot = compute_exposure(book, EXPIRY)
            sample = history.observe(snapshot)
            if sample is not None:
                alerts += engine.evaluate(sample, snapshot.ticker)
            monitor.observe(snapshot)
        if n >= BATCHES:
            break
    await feed.aclose()
    return Run(batches, history, alerts, monitor)


@pytest.fixture(scope="module")
def run() -> Run:
    return asyncio.run(_simulate())


def test_fired_alerts_are_the_predicted_ones(run: Run) -> None:
    frame = run.history.frame()
    predicted = predict_alerts(frame, RULES, TICKER)
    kinds = Counter(a.kind.value for a in run.alerts)
    assert run.alerts, f"no alert fired over {frame.height} samples; pick another seed"
    assert run.alerts == predicted, kinds
    # the monitor (history + engine + log, as the app wires them) agrees, and names the
    # selection the rules ran on
    assert list(run.monitor.log) == predict_alerts(frame, RULES, TICKER, EXPIRY)
    assert {a.selection for a in run.monitor.log} == {EXPIRY}
    assert run.monitor.history(TICKER).frame().equals(frame)


def test_history_is_sampled_by_event_time(run: Run) -> None:
    frame = run.history.frame()
    assert frame.height >= 50
    times: list[datetime] = frame["time"].to_list()
    assert min(b - a for a, b in pairwise(times)) >= SAMPLE_EVERY
    assert times[-1] - times[0] > timedelta(hours=2)  # market hours from a run of seconds
    assert frame["spot"].null_count() == 0
    assert frame.select(pl.col("call_wall", "put_wall").null_count()).row(0) == (0, 0)


def test_a_replay_rebuilds_the_same_history_and_alerts(run: Run) -> None:
    """Feeding the recorded batches again, after a reset, gives the same series and alerts."""
    monitor = run.monitor
    before_log = list(monitor.log)
    monitor.reset(TICKER)
    monitor.clear_log()
    feed = SimulatedFeed(seed=SEED, speed=SPEED, paced=False, start=START)
    session = asyncio.run(feed.open(TICKER))
    book = session.chain.new_book()
    warmup = session.warmup_batches
    for n, batch in enumerate(run.batches, start=1):
        book.apply(batch)
        if n >= warmup and n % EVERY == 0:
            monitor.observe(compute_exposure(book, EXPIRY))
    assert monitor.history(TICKER).frame().equals(run.history.frame())
    assert list(monitor.log) == before_log
