"""Streaming soak: the tastytrade feed against the loopback fake server, for a long while.

    python bench/bench_soak.py                      # 20k contracts, 20k events/s, 10 minutes
    python bench/bench_soak.py --duration 60        # a shorter run first

The fake tastytrade (``tests/feeds/fake_tastytrade.py``: REST + DXLink on 127.0.0.1) runs in a
child process, so that its own work (making ~20 k events a second of JSON) does not count
against gextui's CPU and memory. It serves a ``--contracts`` chain and, after the subscription
snapshot, changes ``--rate`` random options' Greeks a second, aggregated into one FEED_DATA
frame per ``--period`` (default 0.05 s: ≈ 1,000 Greeks, ≈ 190 KiB), split at ``--frame-events``
(1,300 Greeks, ≈ 250 KiB: frames up to 256 KiB when the server's aggregation runs late).
This process runs the real feed (real SDK for OAuth, REST, the chain and the DXLink protocol;
gextui's own reader and COMPACT decoder) and applies every batch to a ChainBook, as the
monitor does.

Prints one JSON object: connections (must be 1), events served vs applied (every update
applied), RSS at start of the streaming phase and at the end (growth < 10 MB), the book's
figures vs the served ones at the end (``mismatched_contracts`` must be 0), CPU per event of
this whole process (httpx2 / wsproto frame handling and asyncio included) and gextui's own
part: frame text → columns (``gextui_decode_us_per_event``) and batch → book (``…apply…``);
budget ≤ 3 µs together. Nothing is asserted; ``ok`` sums up the checks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import random
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "feeds"))


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# ---------------------------------------------------------------------- the server (child)
def serve(
    pipe: Connection, contracts: int, rate: int, period: float, seed: int, max_frame_events: int
) -> None:
    from fake_tastytrade import FakeTastytrade, big_chain

    async def main() -> None:
        fake = FakeTastytrade(agg_period=period, keepalive_interval=1.0)
        fake.max_frame_events = max_frame_events
        items = big_chain("SPX", contracts)
        fake.add_chain("SPX", items)
        fake.market.trade["SPX"] = {"price": 6000.0, "day_volume": 1.0}
        await fake.start()
        pipe.send(fake.rest_url)
        symbols = [i["streamer-symbol"] for i in items]
        rng = random.Random(seed)
        pushing = False
        updates = 0
        loop = asyncio.get_running_loop()
        next_tick = loop.time()
        while True:
            if pipe.poll():
                cmd = pipe.recv()
                if cmd == "push":
                    pushing = True
                    next_tick = loop.time()
                elif cmd == "halt":
                    pushing = False
                    await asyncio.sleep(5 * period)  # the last aggregation goes out
                    pipe.send(
                        {
                            "gamma": {s: fake.market.greeks[s]["gamma"] for s in symbols},
                            "delta": {s: fake.market.greeks[s]["delta"] for s in symbols},
                            "oi": {s: fake.market.summary[s]["open_interest"] for s in symbols},
                            "connections": fake.connections,
                            "events_sent": fake.events_sent,
                            "frames_sent": fake.frames_sent,
                            "max_frame_sent": fake.max_frame_sent,
                            "updates": updates,
                        }
                    )
                elif cmd == "stop":
                    await fake.stop()
                    return
            if pushing:
                n = int(rate * period)
                changes = {
                    s: {
                        "gamma": rng.uniform(1e-5, 4e-3),
                        "delta": rng.uniform(-1.0, 1.0),
                        "volatility": rng.uniform(0.08, 0.6),
                        "price": round(rng.uniform(0.05, 300.0), 2),
                    }
                    for s in rng.sample(symbols, n)
                }
                fake.update_many("Greeks", changes)
                updates += n
                next_tick += period
                await asyncio.sleep(max(0.0, next_tick - loop.time()))
            else:
                await asyncio.sleep(0.02)

    asyncio.run(main())


# ---------------------------------------------------------------------- the client (here)
async def soak(url: str, pipe: Connection, args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    from gextui.credentials import Credentials
    from gextui.feeds.tastytrade import TastytradeFeed

    feed = TastytradeFeed(
        Credentials("soak-secret-0123", "soak-refresh-4567", api_url=url),
        silence_timeout=10.0,
        batch_interval=0.1,
    )
    session = await feed.open("SPX")
    book = session.chain.new_book()
    applied = 0
    batches = 0
    stop = asyncio.Event()

    apply_cpu = 0.0

    async def consume() -> None:
        nonlocal applied, batches, apply_cpu
        async for batch in session.events():
            c0 = time.process_time()
            book.apply(batch)
            apply_cpu += time.process_time() - c0
            applied += batch.n_events
            batches += 1
            if stop.is_set():
                return

    task = asyncio.create_task(consume())
    t0 = time.monotonic()
    while session.status.state.value != "live":  # the whole chain subscribed and answered
        await asyncio.sleep(0.1)
        if time.monotonic() - t0 > 120:
            raise SystemExit("the feed never became live")
    snapshot_s = time.monotonic() - t0
    await asyncio.sleep(1.0)
    pipe.send("push")
    warm = min(30.0, args.duration / 10)
    await asyncio.sleep(warm)
    rss0 = rss_mb()
    cpu0 = time.process_time()
    applied0 = applied
    stream = session.stream
    streamer = stream.streamer
    decode0 = streamer.decode_cpu if streamer is not None else 0.0
    apply0 = apply_cpu
    samples: list[tuple[float, float]] = []
    end = time.monotonic() + args.duration
    while time.monotonic() < end:
        await asyncio.sleep(min(10.0, max(0.0, end - time.monotonic())))
        samples.append((round(time.monotonic() - t0, 1), round(rss_mb(), 1)))
    cpu = time.process_time() - cpu0
    streamed = applied - applied0
    decode_s = (streamer.decode_cpu if streamer is not None else 0.0) - decode0
    apply_s = apply_cpu - apply0
    rss1 = rss_mb()
    pipe.send("halt")
    served = await asyncio.to_thread(pipe.recv)
    await asyncio.sleep(1.0)  # the last frames into the book
    stop.set()
    await asyncio.sleep(0.3)
    task.cancel()
    syms = book.symbols
    gamma = book.column("gamma")
    delta = book.column("delta")
    oi = book.column("open_interest")
    want_g = np.array([served["gamma"][s] for s in syms])
    want_d = np.array([served["delta"][s] for s in syms])
    want_oi = np.array([served["oi"][s] for s in syms], dtype=float)
    bad = int(((gamma != want_g) | (delta != want_d) | (oi != want_oi)).sum())
    reasons = list(stream.stats.reasons)
    connections = stream.stats.connections
    malformed = stream.malformed_frames
    dropped = stream.dropped_events
    received = stream.events_received
    await session.aclose()
    await feed.aclose()
    growth = rss1 - rss0
    applied_all = book.events_applied
    out = {
        "contracts": len(book),
        "duration_s": args.duration,
        "rate_events_per_s": args.rate,
        "period_s": args.period,
        "snapshot_s": round(snapshot_s, 2),
        "connections": connections,
        "server_connections": served["connections"],
        "reconnect_reasons": reasons,
        "server_events_sent": served["events_sent"],
        "client_events_received": received,
        "book_events_applied": applied_all,
        "every_update_applied": applied_all == served["events_sent"] == received,
        "streamed_events": streamed,
        "streamed_events_per_s": round(streamed / args.duration),
        "max_frame_bytes": served["max_frame_sent"],
        "frames_sent": served["frames_sent"],
        "malformed_frames": malformed,
        "dropped_events": dropped,
        "mismatched_contracts": bad,
        "rss_mb_start": round(rss0, 1),
        "rss_mb_end": round(rss1, 1),
        "rss_growth_mb": round(growth, 2),
        "rss_samples": samples,
        "cpu_us_per_event_whole_process": round(cpu / max(1, streamed) * 1e6, 3),
        # gextui's own work: frame text → columns (decode) and batch → book (apply)
        "gextui_us_per_event": round((decode_s + apply_s) / max(1, streamed) * 1e6, 3),
        "gextui_decode_us_per_event": round(decode_s / max(1, streamed) * 1e6, 3),
        "gextui_apply_us_per_event": round(apply_s / max(1, streamed) * 1e6, 3),
        "cpu_share_of_one_core": round(cpu / args.duration, 3),
    }
    out["ok"] = bool(
        connections == 1
        and out["every_update_applied"]
        and bad == 0
        and growth < 10.0
        and malformed == 0
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=600.0, help="seconds (default 600)")
    ap.add_argument("--contracts", type=int, default=20_000)
    ap.add_argument("--rate", type=int, default=20_000, help="Greeks updates a second")
    ap.add_argument("--period", type=float, default=0.05, help="server aggregation period")
    ap.add_argument(
        "--frame-events",
        type=int,
        default=1_300,
        help="most events in one FEED_DATA frame (1,300 Greeks ≈ 250 KiB)",
    )
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(
        target=serve,
        args=(child, args.contracts, args.rate, args.period, args.seed, args.frame_events),
        daemon=True,
    )
    proc.start()
    url = parent.recv()
    try:
        result = asyncio.run(soak(url, parent, args))
    finally:
        parent.send("stop")
        proc.join(timeout=10)
        if proc.is_alive():
            proc.terminate()
    result = {"benchmark": "soak", **result}
    result["env"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
