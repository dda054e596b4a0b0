"""Run every gextui benchmark and print one JSON object keyed by benchmark.

    python bench/run_all.py            # all of them (a few minutes)
    python bench/run_all.py core ui    # some of them

Each benchmark is its own script (``bench/bench_<name>.py``, runnable alone) that prints one
JSON object; this runs them one after another in fresh processes, so one's memory and threads
do not disturb the next. Budgets are in DESIGN.md and the README; nothing here asserts them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ALL = ("core", "ingest_sdk", "simulated", "store", "ui", "soak")
#: arguments for a benchmark inside this suite (the soak's own default is 10 minutes)
ARGS: dict[str, list[str]] = {"soak": ["--duration", "60"]}


def run(name: str) -> object:
    script = HERE / f"bench_{name}.py"
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(script), *ARGS.get(name, [])],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"error": f"exit {proc.returncode}: {tail}"}
    try:
        result = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return {"error": "did not print one JSON object"}
    print(f"bench {name}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return result


def main(argv: list[str]) -> int:
    names = argv or list(ALL)
    unknown = [n for n in names if n not in ALL]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(ALL)}")
        return 2
    print(json.dumps({name: run(name) for name in names}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
