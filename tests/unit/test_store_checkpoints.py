"""State checkpoints cost a fraction of the events: one is written once the events since the
previous reach CHECKPOINT_RATIO × the state's rows (every minute for a busy chain, every few
minutes for a sparse one); seeks stay exact and the history still has one state a minute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from _store_synth import UNDERLYING, make_chain, new_book
from polars.testing import assert_frame_equal

from gextui.core.events import EventBatch
from gextui.store import Recorder, open_recording
from gextui.store.recorder import CHECKPOINT_MIN_ROWS, CHECKPOINT_RATIO

T0 = datetime(2026, 11, 24, 15, 0, 3, tzinfo=UTC)  # 10:00:03 New York


def sparse_batches(inst: pl.DataFrame, minutes: int, per_batch: int, seed: int) -> list[EventBatch]:
    """Six batches a minute, each with greeks (and some open interest) for ``per_batch``
    random contracts, and an underlying trade."""
    rng = np.random.default_rng(seed)
    syms = inst["symbol"].to_list()
    out = []
    for i in range(minutes * 6):
        pick = [syms[j] for j in rng.integers(0, len(syms), per_batch)]
        out.append(
            EventBatch(
                time=T0 + timedelta(seconds=10 * i),
                greeks=pl.DataFrame(
                    {
                        "symbol": pick,
                        "gamma": rng.uniform(1e-4, 3e-3, per_batch),
                        "iv": rng.uniform(0.1, 0.4, per_batch),
                    }
                ),
                summary=pl.DataFrame(
                    {"symbol": pick[:5], "open_interest": rng.integers(0, 9000, 5).astype(float)}
                ),
                trades=pl.DataFrame({"symbol": [UNDERLYING], "price": [6500.0 + i * 0.25]}),
            )
        )
    return out


def record(root: Path, inst: pl.DataFrame, batches: list[EventBatch]) -> Path:
    rec = Recorder(root, "SPX", inst, "simulated", underlying_symbol=UNDERLYING, background=False)
    for b in batches:
        rec.write(b)
    rec.close()
    assert rec.partition is not None
    return rec.partition


def size(part: Path, pattern: str) -> int:
    return sum(p.stat().st_size for p in part.glob(pattern))


def live_frame(inst: pl.DataFrame, batches: list[EventBatch], t: datetime) -> pl.DataFrame:
    book = new_book(inst)
    for b in batches:
        if b.time <= t:
            book.apply(b)
    return book.frame()


def test_sparse_stream_checkpoints_every_few_minutes(tmp_path: Path) -> None:
    inst = make_chain(n_strikes=250)  # 1,500 contracts: more state rows than MIN_ROWS
    assert inst.height > CHECKPOINT_MIN_ROWS
    batches = sparse_batches(inst, minutes=30, per_batch=60, seed=1)
    part = record(tmp_path, inst, batches)
    segments = sorted(part.glob("events-*.parquet"))
    checkpoints = sorted(part.glob("state-*.parquet"))
    assert len(segments) == 30
    assert 2 <= len(checkpoints) <= 8  # one per ≥ 4 × (state rows) events, not per minute
    # events since the previous checkpoint ≥ ratio × rows: a small fraction of the bytes
    assert size(part, "state-*.parquet") < 0.5 * size(part, "events-*.parquet")

    rec = open_recording(part)
    minutes = [s.last_time for s in rec.segments]
    for t in [minutes[0], minutes[3], minutes[14], minutes[-1], T0 + timedelta(seconds=905)]:
        assert_frame_equal(rec.book_at(t).frame(), live_frame(inst, batches, t))
    history = list(rec.checkpoint_states(minutes[-1]))
    assert [t for t, _ in history] == minutes  # still one state a minute
    for t, state in history[::7]:
        want = rec.state_at(t)
        assert_frame_equal(state.options, want.options)
        assert state.underlying == want.underlying and state.last_batch == want.last_batch


def test_busy_stream_checkpoints_every_minute(tmp_path: Path) -> None:
    inst = make_chain(n_strikes=250)
    # ≥ ratio × rows events a minute: every minute gets its checkpoint
    per_batch = int(CHECKPOINT_RATIO * (inst.height * 2 + 1) / 6) + 1
    batches = sparse_batches(inst, minutes=5, per_batch=per_batch, seed=2)
    part = record(tmp_path, inst, batches)
    assert len(list(part.glob("state-*.parquet"))) == 5


@pytest.mark.parametrize("ratio", [0.0, 1e9])
def test_ratio_is_a_parameter(tmp_path: Path, ratio: float) -> None:
    inst = make_chain(n_strikes=250)
    batches = sparse_batches(inst, minutes=6, per_batch=400, seed=3)  # > MIN_ROWS at once
    rec = Recorder(
        tmp_path, "SPX", inst, "simulated", underlying_symbol=UNDERLYING, background=False,
        checkpoint_ratio=ratio,
    )  # fmt: skip
    for b in batches:
        rec.write(b)
    rec.close()
    n = len(list(tmp_path.rglob("state-*.parquet")))
    assert n == (6 if ratio == 0.0 else 0)
    recording = open_recording(tmp_path)
    t = batches[-1].time
    assert_frame_equal(recording.book_at(t).frame(), live_frame(inst, batches, t))
