"""Command line: ``gextui [TICKER ...]``, ``gextui snapshot``, ``gextui replay``.

Every user-caused failure (bad file, bad credentials, unknown ticker, bad option) ends with a
one-line ``gextui: error: …`` on stderr and exit code 2 — never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from gextui import __version__

if TYPE_CHECKING:
    from gextui.core.chain import ChainBook
    from gextui.feeds.base import Feed
    from gextui.settings import Settings
    from gextui.store.reader import Recording

EXIT_USAGE = 2
SOURCES = ("auto", "simulated", "demo", "tastytrade")
THEMES = ("default", "colorblind")
SIM_SPEED = (0.1, 3600.0)  # simulated market clock: from a tenth of real time to an hour a second
REPLAY_SPEED = (0.25, 300.0)  # replay, as the +/- keys allow
REDRAW_HZ = (1.0, 30.0)
WAIT_SECONDS = (0.1, 3600.0)

MAIN_EPILOG = """\
subcommands:
  gextui snapshot ...   print one snapshot (text, --json or --csv) and exit;
                        see `gextui snapshot --help`
  gextui replay PATH    play a recording (made with --record) through the monitor;
                        see `gextui replay --help`
  gextui record T ...   record tickers headless (cron, systemd) until a time, a duration
                        or SIGTERM; see `gextui record --help`
  gextui levels DIR     the levels over time from recordings (table, CSV, Parquet);
                        see `gextui levels --help`
  gextui compact DIR --date D
                        merge a day's minute segments into few large files

sources:
  auto        tastytrade when TT_SECRET and TT_REFRESH are set (environment, ./.env or
              ~/.config/gextui/.env), else the built-in SIMULATED market (the default)
  simulated   the built-in simulated market ("demo" is an alias); always labelled SIMULATED
  tastytrade  live data from tastytrade (TT_SANDBOX=true: the sandbox, 15-minute delayed)

conventions: dealers are assumed long calls and short puts; GEX per contract is
sign · gamma · open interest · 100 · spot² · 0.01, in dollars per 1 % move of the underlying.

examples:
  gextui SPX                       SPX monitor (simulated market without credentials)
  gextui SPX SPY QQQ --expiry 0dte a watchlist, 0DTE expirations only
  gextui SPX --speed 60 --seed 7   a simulated day in minutes, reproducible
  gextui SPX --record              record every event to Parquet while watching
  gextui --file spx_quotedata.csv  the monitor on a CBOE download (r re-reads it)
  gextui snapshot --file spx_quotedata.csv --json
"""


class UsageError(Exception):
    """A user mistake detected by gextui itself: printed as one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``gextui: error: … (see gextui --help)``, exit 2."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    print(f"gextui: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def _warn(message: str) -> None:
    print(f"gextui: {message}", file=sys.stderr)


def _between(low: float, high: float) -> Callable[[str], float]:
    """An argparse type: a finite number from ``low`` to ``high`` (nan, inf refused)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"expected a number from {low:g} to {high:g}, not {text!r}"
            )
        return value

    return parse


def _start(text: str) -> datetime:
    """``YYYY-MM-DD HH:MM[:SS]`` (or with a ``T``), New York time, as an aware datetime."""
    from gextui.core.expiry import NEW_YORK

    cleaned = text.strip().replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(cleaned, fmt).replace(tzinfo=NEW_YORK)
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(
        f"not a start time 'YYYY-MM-DD HH:MM' (New York time): {text!r}"
    )


def _expiry(text: str) -> str:
    from gextui.core.expiry import ExpirySelectionError, parse_selection

    try:
        return parse_selection(text)
    except ExpirySelectionError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _ticker(text: str) -> str:
    from gextui.core.symbols import TickerError, ticker_name

    try:
        return ticker_name(text)
    except TickerError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _clock(text: str) -> time:
    for fmt in ("%H:%M:%S", "%H:%M"):
        try:
            return datetime.strptime(text, fmt).time()
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"not a time HH:MM[:SS]: {text!r}")


def _moment(text: str) -> time | datetime:
    """``HH:MM[:SS]`` on the recording's date, or ``YYYY-MM-DD HH:MM[:SS]``; New York time."""
    if "-" in text:
        return _start(text)
    return _clock(text)


def _add_feed_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data source")
    g.add_argument(
        "--source",
        choices=SOURCES,
        default="auto",
        help="where data comes from (default: auto — tastytrade with credentials, else simulated)",
    )
    g.add_argument(
        "--seed", type=int, default=None, help="simulated market: random seed (reproducible)"
    )
    g.add_argument(
        "--speed",
        type=_between(*SIM_SPEED),
        default=1.0,
        metavar="X",
        help=f"simulated market: clock speed, {SIM_SPEED[0]:g} to {SIM_SPEED[1]:g} "
        "(60 = an hour a minute; default 1)",
    )
    g.add_argument(
        "--start",
        type=_start,
        default=None,
        metavar="'YYYY-MM-DD HH:MM'",
        help="simulated market: start the clock here, New York time (default: now); "
        "with --seed the run is reproducible",
    )


def monitor_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="gextui",
        description="Live dealer gamma exposure (GEX) of an option chain in the terminal.",
        epilog=MAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "tickers",
        nargs="*",
        type=_ticker,
        metavar="TICKER",
        help="tickers to watch, e.g. SPX SPY QQQ (default: the settings file's, else SPX)",
    )
    p.add_argument("--version", action="version", version=f"gextui {__version__}")
    p.add_argument(
        "--expiry",
        type=_expiry,
        default=None,
        help="expirations: 0dte, next, week, month, all, ex-next or YYYY-MM-DD (default: all)",
    )
    _add_feed_options(p)
    p.add_argument(
        "--file",
        type=Path,
        action="append",
        default=None,
        metavar="CBOE_FILE",
        help="open the monitor on a CBOE delayed-quotes download (CSV or JSON) instead of a "
        "feed; repeat for more tabs; re-read when it changes on disk, or with r",
    )
    p.add_argument(
        "--record",
        nargs="?",
        const="",
        default=None,
        metavar="DIR",
        help="record every event to Parquet (default DIR: ~/.local/share/gextui/recordings)",
    )
    p.add_argument("--config", type=Path, default=None, help="settings file (TOML)")
    p.add_argument(
        "--alert-cmd",
        default=None,
        metavar="CMD",
        help="run CMD for every alert, with the alert as JSON on its stdin",
    )
    p.add_argument(
        "--theme",
        choices=THEMES,
        default=None,
        help="colours: default or colorblind (blue/orange instead of green/red)",
    )
    p.add_argument(
        "--redraw",
        type=_between(*REDRAW_HZ),
        default=None,
        metavar="HZ",
        help=f"screen redraws per second, {REDRAW_HZ[0]:g} to {REDRAW_HZ[1]:g} (default 5)",
    )
    return p


def snapshot_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="gextui snapshot",
        description=(
            "Print one exposure snapshot and exit: from a CBOE delayed-quotes CSV (--file), "
            "from a recording at a moment (--replay PATH --at HH:MM:SS), or from a live or "
            "simulated feed after a warm-up (TICKER --source ...)."
        ),
        epilog=(
            "examples:\n"
            "  gextui snapshot --file spx_quotedata.csv --json\n"
            "  gextui snapshot SPX --source demo --json\n"
            "  gextui snapshot SPX --source tastytrade --expiry 0dte --json --wait 60\n"
            "  gextui snapshot --replay ~/.local/share/gextui/recordings --at 10:30:00\n"
            "  gextui snapshot --file spx_quotedata.csv --levels --csv   (price,label lines)\n"
            "  gextui snapshot --replay DIR --at 11:00 --since 15m --json\n\n"
            "JSON figures are dollars (not billions) per 1 % move; null when undefined."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("ticker", nargs="?", type=_ticker, help="ticker for a feed (default SPX)")
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--file", type=Path, help="a CBOE delayed-quotes download (quotedata CSV or JSON)"
    )
    src.add_argument("--replay", type=Path, metavar="PATH", help="a recording (see --record)")
    p.add_argument(
        "--at",
        type=_moment,
        metavar="HH:MM[:SS]",
        help="with --replay: the moment, New York time (or 'YYYY-MM-DD HH:MM'); "
        "must lie within the recording",
    )
    p.add_argument("--expiry", type=_expiry, default="all", help="expiry selection (default all)")
    p.add_argument(
        "--since",
        type=_duration,
        metavar="DURATION",
        help="with --replay --at T: changes since T − DURATION (15m, 1h, 90s): per-strike "
        "net_gex_change and the object's changes (JSON), a net_gex_change column (CSV)",
    )
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="one JSON object")
    fmt.add_argument("--csv", action="store_true", help="the per-strike table as CSV")
    p.add_argument(
        "--levels",
        action="store_true",
        help="the key levels only: a table, or with --csv one 'price,label' line each "
        "(zero gamma, call/put walls 1-3, abs gamma strike, expected move, max pain, spot)",
    )
    _add_feed_options(p)
    p.add_argument(
        "--wait",
        type=_between(*WAIT_SECONDS),
        default=None,
        metavar="SECONDS",
        help="feeds: wait at most this long for 95 %% coverage (default 30 live, 10 simulated)",
    )
    return p


def replay_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="gextui replay",
        description="Play a recording through the monitor (keys: space pause, ←/→ ±1 min, "
        "shift+←/→ ±10 min, +/- speed; ticker and expiry keys as live).",
    )
    p.add_argument("path", type=Path, help="recording directory (made with gextui --record)")
    p.add_argument(
        "--speed",
        type=_between(*REPLAY_SPEED),
        default=1.0,
        metavar="X",
        help=f"playback speed, {REPLAY_SPEED[0]:g} to {REPLAY_SPEED[1]:g} (default 1)",
    )
    p.add_argument(
        "--start",
        type=_moment,
        default=None,
        metavar="HH:MM[:SS]",
        help="start at this moment, New York time (or 'YYYY-MM-DD HH:MM'); "
        "must lie within the recording",
    )
    p.add_argument("--ticker", type=_ticker, action="append", help="ticker(s) to show")
    p.add_argument("--expiry", type=_expiry, default=None, help="expiry selection")
    p.add_argument("--config", type=Path, default=None, help="settings file (TOML)")
    return p


def _duration(text: str) -> float:
    """``90s``, ``30m``, ``2h``, ``1h30m`` or plain seconds → seconds (> 0)."""
    import re

    t = text.strip().lower()
    m = re.fullmatch(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?", t)
    if not t or m is None:
        raise argparse.ArgumentTypeError(f"not a duration like 90s, 30m, 2h or 1h30m: {text!r}")
    h, mi, sec = (float(g) if g else 0.0 for g in m.groups())
    total = h * 3600 + mi * 60 + sec
    if not 0 < total <= 7 * 24 * 3600:
        raise argparse.ArgumentTypeError(f"expected a duration from 1 s to 7 days: {text!r}")
    return total


def record_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="gextui record",
        description=(
            "Record every event of the tickers to Parquet, headless (for cron or systemd): "
            "all tickers at once, the same format and crash safety as `gextui --record`, a "
            "status line on stderr every minute, a clean stop on Ctrl-C / SIGTERM."
        ),
        epilog=(
            "examples:\n"
            "  gextui record SPX SPY QQQ --until 16:15\n"
            "  gextui record SPX --duration 30m --dir /data/gextui\n"
            "  gextui record SPY --source simulated --start '2026-11-24 09:30' --speed 60 "
            "--until 16:00\n\n"
            "--until is market (event) time, New York; --duration is real time. Outside the "
            "regular session (09:30-16:00 New York on trading days, by the events' own time) "
            "nothing is written unless --quiet-hours is given; each session gets its own "
            "date= folder."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("tickers", nargs="+", type=_ticker, metavar="TICKER", help="tickers to record")
    p.add_argument(
        "--dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="recordings directory (default ~/.local/share/gextui/recordings)",
    )
    _add_feed_options(p)
    p.add_argument(
        "--until",
        type=_clock,
        default=None,
        metavar="HH:MM",
        help="stop when the market's clock reaches this New York time",
    )
    p.add_argument(
        "--duration", type=_duration, default=None, help="stop after this long (30m, 2h, …)"
    )
    p.add_argument(
        "--status-every",
        type=_between(0.1, 3600.0),
        default=60.0,
        metavar="SECONDS",
        help="seconds between status lines on stderr (default 60)",
    )
    p.add_argument(
        "--quiet-hours",
        action="store_true",
        help=(
            "also record outside the regular session (09:30-16:00 New York, NYSE trading "
            "days): pre-market and after-hours events, a closed market's empty batches; "
            "without it the recorder idles there"
        ),
    )
    return p


def run_record(argv: Sequence[str]) -> int:
    args = record_parser().parse_args(argv)
    import signal

    from gextui.feeds.base import FeedError
    from gextui.feeds.recording import RecordingFeed
    from gextui.record_service import RecordService
    from gextui.store.recorder import default_recordings_dir

    root = args.dir.expanduser() if args.dir else default_recordings_dir()
    _check_record_dir(root, "--dir")
    try:
        inner, notice = make_feed(
            args.source, seed=args.seed, speed=args.speed, paced=True, start=args.start
        )
    except FeedError as exc:
        _fail(str(exc))
    if notice:
        _warn(notice)
    from gextui.record_service import in_regular_session

    session = None if args.quiet_hours else in_regular_session
    feed = RecordingFeed(inner, root, skip_empty=not args.quiet_hours, in_session=session)

    async def go() -> int:
        until = None
        if args.until is not None:
            from gextui.core.expiry import NEW_YORK

            # the market's date: the simulated start, else today in New York
            day = (args.start or datetime.now(NEW_YORK)).astimezone(NEW_YORK).date()
            until = datetime.combine(day, args.until, tzinfo=NEW_YORK)
        service = RecordService(
            feed,
            args.tickers,
            out=sys.stderr,
            until=until,
            duration=args.duration,
            status_every=args.status_every,
        )
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, service.stop.set)
        return await service.run()

    return asyncio.run(go())


# --------------------------------------------------------------------------- levels
def _date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}") from None


def levels_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="gextui levels",
        description=(
            "The key levels over time from recordings: spot, net GEX, zero gamma, call and "
            "put wall, max pain, gamma regime and coverage every --every, each computed "
            "exactly as `gextui snapshot --replay DIR --at T` computes it (same book, same "
            "core). Days run in parallel (one process per CPU); a progress bar goes to stderr."
        ),
        epilog=(
            "examples:\n"
            "  gextui levels ~/.local/share/gextui/recordings --ticker SPX\n"
            "  gextui levels DIR --ticker SPX --from 2026-11-02 --to 2026-11-27 --every 15m "
            "--csv > spx.csv\n"
            "  gextui levels DIR --expiry 0dte --every 1m --parquet spx-0dte.parquet\n\n"
            "Sample times are on the --every grid of New York time (09:30, 09:35, ...) inside "
            "each recording. Output: a table on stdout (net GEX in $bn per 1 % move), or "
            "--csv / --parquet (dollars; empty = undefined)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="a recordings directory or partition")
    p.add_argument("--ticker", type=_ticker, default=None, help="only this ticker")
    p.add_argument(
        "--from", dest="first", type=_date, default=None, metavar="DATE",
        help="first trading date, YYYY-MM-DD (default: the first recorded)",
    )  # fmt: skip
    p.add_argument(
        "--to", dest="last", type=_date, default=None, metavar="DATE",
        help="last trading date, YYYY-MM-DD, inclusive (default: the last recorded)",
    )  # fmt: skip
    p.add_argument(
        "--every", type=_duration, default=300.0, metavar="STEP",
        help="time between samples: 30s, 5m (default), 1h",
    )  # fmt: skip
    p.add_argument(
        "--expiry", type=_expiry, default="all", metavar="SEL",
        help="expirations: 0dte, next, week, month, all (default), ex-next or YYYY-MM-DD",
    )  # fmt: skip
    out = p.add_mutually_exclusive_group()
    out.add_argument("--csv", action="store_true", help="CSV on stdout instead of a table")
    out.add_argument("--parquet", type=Path, metavar="OUT", help="write a Parquet file")
    p.add_argument(
        "--workers", type=int, default=None, metavar="N",
        help="processes (default: one per CPU)",
    )  # fmt: skip
    return p


def run_levels(argv: Sequence[str]) -> int:
    args = levels_parser().parse_args(argv)
    from gextui.store import levels
    from gextui.store.schema import RecordingError

    if args.first and args.last and args.first > args.last:
        _fail(f"--from {args.first} is after --to {args.last}")
    cpus = levels.default_workers()
    if args.workers is not None and not 1 <= args.workers <= cpus:
        _fail(f"--workers: expected 1 to {cpus} (this machine's CPUs), not {args.workers}")
    workers = args.workers or cpus
    try:
        tasks = levels.plan_tasks(
            args.dir, ticker=args.ticker, first=args.first, last=args.last,
            every=args.every, expiry=args.expiry, workers=workers,
        )  # fmt: skip
        bar = levels.Progress(sum(len(t.times) for t in tasks), sys.stderr)
        series = levels.level_series(tasks, workers=workers, progress=bar.advance)
    except RecordingError as exc:
        _fail(str(exc))
    if args.parquet is not None:
        try:
            series.write_parquet(args.parquet)
        except OSError as exc:
            _fail(f"cannot write {args.parquet}: {exc.strerror or type(exc).__name__}")
    elif args.csv:
        sys.stdout.write(series.write_csv(float_precision=None))
    else:
        print(levels.to_table(series))
    return 0


# --------------------------------------------------------------------------- compact
def compact_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="gextui compact",
        description=(
            "Merge a recorded day's minute segments into a few large Parquet files (row groups "
            "of ~1M rows in time order, files up to ~1 GB), for object storage and query "
            "engines. Replay, seeks and `snapshot --replay --at` give exactly the same after; "
            "checkpoints stay. Crash safe: new files are written aside and swapped in, old "
            "ones removed last (run it again to finish an interrupted run)."
        ),
        epilog=(
            "examples:\n"
            "  gextui compact ~/.local/share/gextui/recordings --date 2026-11-24\n"
            "  gextui compact DIR --date 2026-11-24 --ticker SPX\n\n"
            "Compact finished days only: a recorder still writing the day adds minute "
            "segments beside the compacted files (they stay readable)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="a recordings directory or partition")
    p.add_argument("--date", type=_date, required=True, help="the trading date, YYYY-MM-DD")
    p.add_argument("--ticker", type=_ticker, default=None, help="only this ticker")
    return p


def run_compact(argv: Sequence[str]) -> int:
    args = compact_parser().parse_args(argv)
    import time as _time

    from gextui.formats import size as fmt_size
    from gextui.store.compact import compact_partition
    from gextui.store.reader import find_recordings
    from gextui.store.schema import RecordingError

    try:
        refs = find_recordings(args.dir)
        if args.ticker:
            refs = [r for r in refs if r.ticker == args.ticker] or _fail(
                f"no {args.ticker} in the recordings at {args.dir}"
            )
        days = sorted({r.day for r in refs})
        refs = [r for r in refs if r.day == args.date.isoformat()]
        if not refs:
            span = days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}"
            have = f" (it has {span})" if days else ""
            _fail(f"no recording of {args.date} at {args.dir}{have}")
        for ref in refs:
            t0 = _time.perf_counter()
            res = compact_partition(ref.path)
            secs = _time.perf_counter() - t0
            print(
                f"{ref.ticker} {ref.day}: {res.segments_before} segments → {res.files_after} "
                f"file{'s' if res.files_after != 1 else ''}, {res.events:,} events, "
                f"{fmt_size(res.bytes_before)} → {fmt_size(res.bytes_after)} in {secs:.1f} s",
                file=sys.stderr,
            )
    except RecordingError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot compact: {exc.strerror or type(exc).__name__} (nothing lost)")
    return 0


# --------------------------------------------------------------------------- feeds
def make_feed(
    source: str,
    *,
    seed: int | None,
    speed: float,
    paced: bool,
    start: datetime | None = None,
) -> tuple[Feed, str]:
    """Build the feed for ``source``; returns (feed, notice for the user or ''). ``speed`` and
    ``start`` are the simulated market's (given with tastytrade they are a usage error)."""
    from gextui.credentials import load_credentials
    from gextui.feeds.base import FeedError

    notice = ""
    if source == "demo":
        source = "simulated"
    creds = load_credentials()
    if source == "auto":
        if creds.present:
            source = "tastytrade"
        else:
            source = "simulated"
            notice = (
                f"{creds.describe_missing()}: showing the SIMULATED market — see SAMPLE.env "
                "to connect a real account"
            )
    if source == "tastytrade":
        if not creds.present:
            raise FeedError(f"--source tastytrade needs credentials; {creds.describe_missing()}")
        if start is not None or speed != 1.0:
            raise FeedError(
                "--start and --speed drive the simulated market; live tastytrade data runs "
                "at the market's own time (use --source simulated, or drop them)"
            )
        from gextui.feeds.tastytrade import TastytradeFeed

        return TastytradeFeed(creds), notice
    from gextui.feeds.simulated import SimulatedFeed

    return SimulatedFeed(seed=seed or 0, speed=speed, paced=paced, start=start), notice


# --------------------------------------------------------------------------- snapshot
def _print_snapshot(
    book: ChainBook,
    args: argparse.Namespace,
    warnings: list[str],
    since: ChainBook | None = None,
) -> None:
    from gextui import report
    from gextui.core.expiry import selection_note
    from gextui.core.exposure import compute_exposure

    snap = compute_exposure(book, args.expiry)
    then = compute_exposure(since, args.expiry) if since is not None else None
    if not snap.expirations:
        from gextui.core.exposure import live_expirations

        moment = snap.as_of
        note = selection_note(args.expiry, live_expirations(book, moment), moment)
        if note:
            warnings = [*warnings, note]
            _warn(f"warning: {note}")
    if args.levels:
        if args.csv:
            sys.stdout.write(report.levels_csv(snap))
        else:
            print(report.levels_text(snap))
            for w in warnings:
                print(f"warning: {w}")
    elif args.json:
        print(report.to_json(snap, warnings=warnings, since=then))
    elif args.csv:
        sys.stdout.write(report.to_csv(snap, then))
    else:
        print(report.to_text(snap))
        for w in warnings:
            print(f"warning: {w}")


def run_snapshot(argv: Sequence[str]) -> int:
    args = snapshot_parser().parse_args(argv)
    from gextui.feeds.base import FeedError
    from gextui.store.schema import RecordingError

    warnings: list[str] = []
    if args.levels and args.json:
        _fail(
            "--levels prints a table or, with --csv, price,label lines (the JSON already "
            "holds every level)"
        )
    if args.since is not None and (args.replay is None or args.at is None):
        _fail("--since goes with --replay PATH --at HH:MM[:SS]")
    since: ChainBook | None = None
    try:
        if args.file is not None:
            from gextui.feeds.cboe_file import read_cboe

            if args.ticker:
                _warn("a ticker is ignored with --file (the file names its own)")
            book = read_cboe(args.file)
            if note := book.rejection_note():
                warnings.append(note)
        elif args.replay is not None:
            if args.at is None:
                _fail("--replay needs --at HH:MM[:SS]")
            from gextui.store.reader import open_recording

            recording = open_recording(args.replay, args.ticker)
            _check_in_range(recording, args.at, "--at")
            book = recording.book_at(args.at)
            # replayed data keeps its origin's label: a simulated session stays "simulated"
            book.source = recording.source or "replay"
            if args.since is not None:
                from datetime import timedelta

                earlier = recording.to_utc(args.at) - timedelta(seconds=args.since)
                _check_in_range(recording, earlier, f"--since (T − {_span(args.since)})")
                since = recording.book_at(earlier)
                since.source = book.source
            warnings.extend(str(w) for w in recording.warnings)
            if note := book.rejection_note():
                warnings.append(note)
        else:
            if args.at is not None:
                _fail("--at goes with --replay")
            book, warnings = _collect_from_feed(args)
        _print_snapshot(book, args, warnings, since)
    except (FeedError, RecordingError) as exc:
        _fail(str(exc))
    return 0


def _span(seconds: float) -> str:
    """``15m``, ``1h30m``, ``90s``: a --since value as the user would write it."""
    s = round(seconds)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return "".join(f"{v}{u}" for v, u in ((h, "h"), (m, "m"), (sec, "s")) if v) or "0s"


def _collect_from_feed(args: argparse.Namespace) -> tuple[ChainBook, list[str]]:
    from gextui.headless import collect

    ticker = args.ticker or "SPX"
    feed, notice = make_feed(
        args.source, seed=args.seed, speed=args.speed, paced=False, start=args.start
    )
    if notice:
        _warn(notice)
    simulated = feed.source.value == "simulated"
    wait = args.wait if args.wait is not None else (10.0 if simulated else 30.0)
    show = sys.stderr.isatty()

    def progress(coverage: float, batches: int) -> None:
        if show:
            print(f"\rgextui: waiting for data: {coverage:6.1%} covered", end="", file=sys.stderr)

    async def go() -> tuple[ChainBook, list[str]]:
        try:
            result = await collect(
                feed,
                ticker,
                expiry=args.expiry,
                wait=wait,
                min_batches=12 if simulated else 1,
                progress=progress,
            )
        finally:
            await feed.aclose()
        if show:
            print("", file=sys.stderr)
        warns = list(result.warnings)  # e.g. timed out, naming the contracts still missing
        for w in warns:
            _warn(f"warning: {w}")
        return result.book, warns

    return asyncio.run(go())


# --------------------------------------------------------------------------- monitor
def _settings(args: argparse.Namespace) -> Settings:
    from gextui.settings import Settings, SettingsError, check_keymap
    from gextui.ui.app import GexApp

    try:
        settings = Settings.load(args.config)
    except SettingsError as exc:
        _fail(str(exc))
    try:
        check_keymap(settings.keys, GexApp.keymap_specs())
    except SettingsError as exc:
        _fail(f"{settings.path}: {exc}" if settings.path else str(exc))
    overrides = {
        k: v
        for k, v in {
            "theme": getattr(args, "theme", None),
            "redraw_hz": getattr(args, "redraw", None),
        }.items()
        if v is not None
    }
    try:
        return settings.merge(**overrides) if overrides else settings
    except SettingsError as exc:
        _fail(str(exc))


def run_monitor(argv: Sequence[str]) -> int:
    args = monitor_parser().parse_args(argv)
    from gextui.feeds.base import FeedError

    settings = _settings(args)
    if args.file:
        return _run_files(args, settings)
    tickers = list(args.tickers) or list(getattr(settings, "tickers", ["SPX"])) or ["SPX"]
    root: Path | None = None
    if args.record is not None:
        from gextui.store.recorder import default_recordings_dir

        root = Path(args.record).expanduser() if args.record else default_recordings_dir()
        _check_record_dir(root)
    try:
        feed, notice = make_feed(
            args.source, seed=args.seed, speed=args.speed, paced=True, start=args.start
        )
    except FeedError as exc:
        _fail(str(exc))
    if root is not None:
        from gextui.feeds.recording import RecordingFeed

        feed = RecordingFeed(feed, root)
    from gextui.store.schema import default_recordings_dir

    # the previous session's closing levels come from where sessions are recorded
    recordings = root if root is not None else default_recordings_dir()
    return _run_app(
        feed, tickers, settings, args.expiry, notice, args.alert_cmd, recordings=recordings
    )


def _run_files(args: argparse.Namespace, settings: Settings) -> int:
    """``gextui --file a.csv [--file b.json]``: the monitor on CBOE files, a tab per file."""
    from gextui.feeds.base import FeedError
    from gextui.feeds.file_watch import CboeFilesFeed

    if args.tickers:
        _fail("give tickers or --file, not both (each file names its own ticker)")
    clashing = [
        flag
        for flag, given in (
            ("--source", args.source != "auto"),
            ("--seed", args.seed is not None),
            ("--speed", args.speed != 1.0),
            ("--start", args.start is not None),
            ("--record", args.record is not None),
        )
        if given
    ]
    if clashing:
        _fail(f"{', '.join(clashing)} cannot be used with --file (the file is the data)")
    feed = CboeFilesFeed(args.file)
    try:
        tickers = feed.load()
    except FeedError as exc:
        _fail(str(exc))
    return _run_app(feed, tickers, settings, args.expiry, "", args.alert_cmd)


def _check_record_dir(root: Path, flag: str = "--record") -> None:
    """The recordings directory must be one gextui can write (created if missing), checked
    with the recorder's own probe before the monitor opens: a bad path is one line, not a
    monitor that records nothing."""
    from gextui.feeds.base import FeedError
    from gextui.feeds.recording import check_writable

    if root.exists() and not root.is_dir():
        _fail(f"{flag} {root}: is a file, not a directory")
    try:
        check_writable(root)
    except FeedError as exc:
        cause = exc.__cause__
        reason = cause.strerror if isinstance(cause, OSError) and cause.strerror else str(exc)
        _fail(f"{flag} {root}: cannot write there ({reason.lower()})")


def _run_app(
    feed: Feed,
    tickers: list[str],
    settings: Settings,
    expiry: str | None,
    notice: str,
    alert_cmd: str | None = None,
    recordings: Path | None = None,
) -> int:
    if not sys.stdout.isatty() or not sys.stdin.isatty():
        _fail(
            "the monitor needs a terminal; for scripts use `gextui snapshot --json` "
            "(see gextui snapshot --help)"
        )
    from gextui.monitor.compute import compute_for
    from gextui.ui.app import GexApp

    app = GexApp(
        feed,
        tickers,
        settings=settings,
        expiry=expiry,
        notice=notice or None,
        alert_cmd=alert_cmd,
        recordings=recordings,
        compute=compute_for(settings.compute),
    )
    app.run()
    return int(app.return_code or 0)


def run_replay(argv: Sequence[str]) -> int:
    args = replay_parser().parse_args(argv)
    from gextui.feeds.base import FeedError
    from gextui.feeds.replay import ReplayFeed

    settings = _settings(args)
    from gextui.store.schema import RecordingError

    try:
        feed = ReplayFeed(args.path, speed=args.speed, start=args.start)
        tickers = _replay_tickers(args)
    except (FeedError, RecordingError) as exc:
        _fail(str(exc))
    return _run_app(
        feed, tickers, settings, args.expiry, "", recordings=_recordings_root(Path(args.path))
    )


def _recordings_root(path: Path) -> Path:
    """The root of the hive layout a replay path is in (``…/ticker=X/date=D`` → ``…``)."""
    p = path.expanduser()
    if p.is_file():
        p = p.parent
    if p.name.startswith("date="):
        p = p.parent
    if p.name.startswith("ticker="):
        p = p.parent
    return p


def _replay_tickers(args: argparse.Namespace) -> list[str]:
    """The tickers to replay, checked against the recording before the monitor opens: an
    empty directory, a ticker it lacks, or a start outside it is a one-line error."""
    from gextui.store.reader import find_recordings, open_recording

    refs = find_recordings(args.path)
    recorded = sorted({r.ticker for r in refs})
    if not recorded:
        _fail(
            f"no recording under {args.path}: no ticker=<T>/date=<D> folders with "
            "events-*.parquet (record one with `gextui SPX --record DIR`)"
        )
    wanted = list(dict.fromkeys(args.ticker or recorded))
    missing = [t for t in wanted if t not in recorded]
    if missing:
        _fail(
            f"{', '.join(missing)} not in the recording at {args.path} "
            f"(it has {', '.join(recorded)})"
        )
    if args.start is not None:
        day = args.start.date() if isinstance(args.start, datetime) else None
        for ticker in wanted:
            if day is None and len({r.day for r in refs if r.ticker == ticker}) > 1:
                continue  # several days and a bare time: the replay asks for a date
            _check_in_range(open_recording(args.path, ticker, day), args.start, "--start")
    return wanted


def _check_in_range(recording: Recording, at: time | datetime, flag: str) -> None:
    """Exit 2 unless ``at`` lies within the recorded range (saying what that range is)."""
    first, last = recording.start_time, recording.end_time
    if first is None or last is None:
        _fail(f"{recording.path}: the recording holds no complete segment")
    moment = recording.to_utc(at)
    if first <= moment <= last:
        return
    span = recording.describe_range()
    side = "before the recording starts" if moment < first else "after the recording ends"
    _fail(f"{flag} {_ny(moment)} is {side}: {span}")


def _ny(moment: datetime) -> str:
    from gextui.core.expiry import NEW_YORK

    return moment.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M:%S")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("POLARS_MAX_THREADS", "2")
    try:
        if args and args[0] == "snapshot":
            return run_snapshot(args[1:])
        if args and args[0] == "replay":
            return run_replay(args[1:])
        if args and args[0] == "record":
            return run_record(args[1:])
        if args and args[0] == "levels":
            return run_levels(args[1:])
        if args and args[0] == "compact":
            return run_compact(args[1:])
        return run_monitor(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
