"""The built-in simulated market (gextui.feeds.simulated): chain shape, model sanity,
determinism, greeks consistency, 0DTE decay, event rate, ChainBook coverage, market hours,
the known universe and one coherent market on one clock.

All tests run unpaced (``paced=False``) with a pinned seed and market clock start; nothing
here reads the wall clock or asserts wall-clock timing.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from gextui.core.events import GREEKS_SCHEMA, SUMMARY_SCHEMA, TRADES_SCHEMA, EventBatch
from gextui.core.expiry import NEW_YORK, years_to_settlement
from gextui.core.greeks import delta as bs_delta
from gextui.core.greeks import gamma as bs_gamma
from gextui.core.symbols import parse_symbol, streamer_symbol
from gextui.feeds.base import Feed, FeedSession, FeedState, Source, UnknownTickerError
from gextui.feeds.sim_chain import (
    is_trading_day,
    monthly_expiration,
    nyse_holidays,
    third_friday,
)
from gextui.feeds.simulated import KNOWN_TICKERS, SimulatedFeed, SimulatedSession, default_start

MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=NEW_YORK)  # a Monday, in session
MONDAY = MONDAY_10.date()


def open_session(ticker: str = "SPX", **kw: object) -> SimulatedSession:
    params: dict[str, object] = {"seed": 7, "paced": False, "start": MONDAY_10, **kw}
    feed = SimulatedFeed(**params)  # type: ignore[arg-type]
    return asyncio.run(feed.open(ticker))


def state_of(session: SimulatedSession) -> FeedState:
    return session.status.state


def batches(session: SimulatedSession, n: int) -> Iterator[EventBatch]:
    for _ in range(n):
        yield session.step()


@pytest.fixture(scope="module")
def spx() -> SimulatedSession:
    """A fresh SPX session, read-only (tests that step must open their own)."""
    return open_session("SPX")


@pytest.fixture(scope="module")
def spx_warm() -> tuple[SimulatedSession, pl.DataFrame, float]:
    """SPX after one greeks cycle applied to a ChainBook: (session, book frame, spot)."""
    session = open_session("SPX")
    book = session.chain.new_book()
    for batch in batches(session, session.warmup_batches):
        book.apply(batch)
    return session, book.frame(), book.spot


# ---------------------------------------------------------------------- protocol / status
async def test_protocol_status_and_close() -> None:
    feed = SimulatedFeed(seed=1, paced=False, start=MONDAY_10)
    assert isinstance(feed, Feed)
    assert feed.source is Source.SIMULATED
    session = await feed.open("spx")
    assert isinstance(session, FeedSession)
    assert session.chain.ticker == "SPX"
    assert session.chain.underlying_symbol == "SPX"
    assert session.chain.source is Source.SIMULATED
    assert session.chain.new_book().source == "simulated"
    assert state_of(session) is FeedState.CONNECTING
    seen = 0
    async for batch in session.events():
        seen += 1
        assert batch.meta["source"] == "simulated"
        assert state_of(session) is FeedState.LIVE
        assert session.status.reason == "simulated market"
        if seen == 3:
            await session.aclose()
    assert seen == 3  # the iterator ends once the session is closed
    assert state_of(session) is FeedState.CLOSED
    await feed.aclose()


async def test_paced_and_unpaced_give_the_same_batches() -> None:
    paced = await SimulatedFeed(seed=3, start=MONDAY_10, paced=True).open("SPY")
    unpaced = await SimulatedFeed(seed=3, start=MONDAY_10, paced=False).open("SPY")
    got: list[EventBatch] = []
    async for batch in paced.events():
        got.append(batch)
        if len(got) == 3:
            break
    await paced.aclose()
    for a in got:
        assert_same_batch(a, unpaced.step())


def test_nyse_holidays() -> None:
    assert nyse_holidays(2026) == {
        date(2026, 1, 1),
        date(2026, 1, 19),
        date(2026, 2, 16),
        date(2026, 4, 3),  # Good Friday
        date(2026, 5, 25),
        date(2026, 6, 19),
        date(2026, 7, 3),  # July 4th on a Saturday
        date(2026, 9, 7),
        date(2026, 11, 26),
        date(2026, 12, 25),
    }
    assert date(2027, 12, 24) in nyse_holidays(2027)  # Christmas on a Saturday
    assert date(2027, 12, 31) not in nyse_holidays(2027)  # Saturday New Year: not observed
    thanksgiving_noon = datetime(2026, 11, 26, 12, 0, tzinfo=NEW_YORK)
    session = open_session("SPX", start=thanksgiving_noon)
    assert {b.meta["market"] for b in batches(session, 3)} == {"closed"}
    assert session.status.state is FeedState.MARKET_CLOSED
    assert session.status.reason == "opens Fri Nov 27 09:30 ET"


def test_default_start_is_now_in_new_york() -> None:
    """No start: the clock starts now (a closed market at night shows the last close)."""
    for now in (
        datetime(2026, 11, 22, 12, 0, tzinfo=NEW_YORK),  # Sunday
        datetime(2026, 11, 24, 20, 0, tzinfo=NEW_YORK),  # after hours
        datetime(2026, 11, 24, 15, 30, tzinfo=NEW_YORK).astimezone(),  # any zone in
    ):
        start = default_start(now)
        assert start == now and start.tzinfo is NEW_YORK
    naive = SimulatedFeed(paced=False, start=datetime(2026, 11, 24, 10, 0))  # naive = New York
    assert naive.start == datetime(2026, 11, 24, 10, 0, tzinfo=NEW_YORK)


@pytest.mark.parametrize("bad", ["", "   ", "SP-X", "$", "A B", "ÄBC", "X" * 13, "1ABC"])
async def test_invalid_tickers_are_rejected(bad: str) -> None:
    feed = SimulatedFeed(paced=False, start=MONDAY_10)
    with pytest.raises(UnknownTickerError):
        await feed.open(bad)


@pytest.mark.parametrize("name", ["FOOBAR", "foobar", "XYZ", "ES"])
async def test_unknown_ticker_is_refused_not_invented(name: str) -> None:
    feed = SimulatedFeed(paced=False, start=MONDAY_10)
    with pytest.raises(UnknownTickerError) as err:
        await feed.open(name)
    message = str(err.value)
    assert message.startswith(f"no simulated chain for {name.upper()}; known: SPX, SPY, ")
    assert "\n" not in message
    assert message.endswith(", ".join(KNOWN_TICKERS[-3:]))


def test_bad_parameters() -> None:
    with pytest.raises(ValueError):
        SimulatedFeed(speed=0)
    with pytest.raises(ValueError):
        SimulatedFeed(batch_period=-1)


# ---------------------------------------------------------------------- chain shape
def test_spx_expiration_calendar(spx: SimulatedSession) -> None:
    inst = spx.chain.instruments
    by_root = {
        root: set(inst.filter(pl.col("root") == root)["expiration"].to_list())
        for root in ("SPXW", "SPX")
    }
    assert set(inst["root"].unique()) == {"SPXW", "SPX"}
    # SPXW dailies Monday–Friday, starting with today's 0DTE; none on holidays
    thanksgiving = date(2026, 11, 26)
    for week in range(4):
        days = {MONDAY + timedelta(days=7 * week + i) for i in range(5)} - {thanksgiving}
        assert days <= by_root["SPXW"]
    assert MONDAY in by_root["SPXW"]
    assert all(is_trading_day(d) for d in by_root["SPXW"] | by_root["SPX"])
    assert thanksgiving not in by_root["SPXW"] and date(2026, 12, 25) not in by_root["SPXW"]
    assert date(2026, 12, 24) in by_root["SPXW"]
    # AM-settled root SPX only on third Fridays (the Thursday before when that Friday is a
    # holiday: 2027-06-18, Juneteenth observed), settling 09:30 New York
    assert by_root["SPX"]
    assert all(d == monthly_expiration(d.year, d.month) for d in by_root["SPX"])
    assert all(d == third_friday(d.year, d.month) for d in by_root["SPX"] - {date(2027, 6, 17)})
    am = inst.filter(pl.col("root") == "SPX")["settlement"].dt.convert_time_zone("America/New_York")
    assert set(am.dt.hour()) == {9} and set(am.dt.minute()) == {30}
    pm = inst.filter(pl.col("root") == "SPXW")["settlement"].dt.convert_time_zone(
        "America/New_York"
    )
    assert set(pm.dt.hour()) == {16}
    # quarter ends and LEAPS to about two years
    assert date(2027, 3, 31) in by_root["SPXW"]
    last = max(by_root["SPXW"] | by_root["SPX"])
    assert 1.8 <= (last - MONDAY).days / 365 <= 2.3
    # size, multiplier, symbols
    assert 18_000 <= inst.height <= 24_000
    assert set(inst["multiplier"].unique()) == {100.0}
    for row in inst.sample(50, seed=1).iter_rows(named=True):
        assert row["symbol"] == streamer_symbol(
            row["root"], row["expiration"], row["type"], row["strike"]
        )
        assert parse_symbol(row["symbol"]).strike == row["strike"]


def test_spx_strike_grid(spx: SimulatedSession) -> None:
    inst = spx.chain.instruments
    spot = spx.market.spot0
    assert 6700 < spot < 7100
    for exp in (MONDAY, third_friday(2026, 12)):
        ks = np.unique(
            inst.filter((pl.col("expiration") == exp) & (pl.col("root") == "SPXW"))["strike"]
        )
        near = ks[np.abs(ks - spot) <= 0.015 * spot]
        assert near.size > 30
        assert set(np.diff(near)) == {5.0}  # every 5 near the money
        far = ks[ks < 0.9 * spot]
        assert far.size and np.diff(far).min() >= 25.0  # wider further out
        # the same strikes for calls and puts
        e = inst.filter(pl.col("expiration") == exp)
        assert e.filter(pl.col("type") == "C").height == e.filter(pl.col("type") == "P").height


def test_other_tickers() -> None:
    for ticker, roots, lo, hi in (
        ("SPY", {"SPY"}, 670, 705),
        ("QQQ", {"QQQ"}, 610, 640),
        ("IWM", {"IWM"}, 240, 256),
        ("DIA", {"DIA"}, 465, 495),
        ("NDX", {"NDX", "NDXP"}, 25_000, 26_200),
        ("RUT", {"RUT", "RUTW"}, 2_420, 2_580),
    ):
        s = open_session(ticker)
        inst = s.chain.instruments
        assert set(inst["root"].unique()) == roots, ticker
        assert lo < s.market.spot0 < hi, ticker
        assert MONDAY in set(inst["expiration"])  # dailies incl. 0DTE
        assert inst.height > 2000
    ndx = open_session("NDX").chain.instruments
    ndx_am = set(ndx.filter(pl.col("root") == "NDX")["expiration"])
    assert all(d == monthly_expiration(d.year, d.month) for d in ndx_am)
    # large caps at plausible levels (not derived from the name: META is no $42 stock)
    for ticker, lo, hi in (("AAPL", 250, 310), ("META", 630, 770), ("NVDA", 170, 210)):
        s = open_session(ticker.lower())
        assert s.chain.ticker == ticker and s.chain.underlying_symbol == ticker
        assert lo < s.market.spot0 < hi, ticker
        assert MONDAY not in set(s.chain.instruments["expiration"])  # Friday weeklies
        assert s.chain.instruments.height > 500
    assert {"SPX", "SPY", "NDX", "QQQ", "IWM", "AAPL", "MSFT", "NVDA", "TSLA"} <= set(KNOWN_TICKERS)


# ---------------------------------------------------------------------- model sanity
def test_open_interest_concentration(spx: SimulatedSession) -> None:
    inst = spx.chain.instruments.with_columns(oi=pl.Series(spx.market.open_interest))
    spot = spx.market.spot0
    monthly = inst.filter(pl.col("expiration") == third_friday(2026, 12))
    near = monthly.filter((pl.col("strike") - spot).abs() <= 0.05 * spot)
    round_oi = near.filter(pl.col("strike") % 100 == 0)["oi"].mean()
    other_oi = near.filter(pl.col("strike") % 50 != 0)["oi"].mean()
    assert isinstance(round_oi, float) and isinstance(other_oi, float)
    assert round_oi > 2.5 * other_oi  # round strikes attract open interest
    # per expiration, near the money per strike ≫ far above it (below spot sits a broad hump
    # of protective puts, so "far" is measured on the upside)
    for exp, far in ((MONDAY, 0.05), (date(2026, 12, 4), 0.06), (third_friday(2026, 12), 0.10)):
        one = inst.filter(pl.col("expiration") == exp)
        near_oi = one.filter((pl.col("strike") / spot - 1).abs() <= 0.03)["oi"].mean()
        far_oi = one.filter((pl.col("strike") / spot - 1) >= far)["oi"].mean()
        assert isinstance(near_oi, float) and isinstance(far_oi, float)
        assert near_oi > 2 * far_oi, exp
    # heavier in puts below spot than in calls above it
    puts_below = float(inst.filter((pl.col("type") == "P") & (pl.col("strike") < spot))["oi"].sum())
    calls_above = float(
        inst.filter((pl.col("type") == "C") & (pl.col("strike") > spot))["oi"].sum()
    )
    assert puts_below > 1.1 * calls_above
    assert 10e6 < inst["oi"].sum() < 25e6
    assert (inst["oi"] >= 0).all()


def test_skew_puts_richer(spx_warm: tuple[SimulatedSession, pl.DataFrame, float]) -> None:
    _, frame, spot = spx_warm
    monthly = frame.filter(
        (pl.col("expiration") == third_friday(2026, 12)) & (pl.col("root") == "SPXW")
    )

    def iv_at(type_: str, strike: float) -> float:
        side = monthly.filter(pl.col("type") == type_)
        row = side.sort((pl.col("strike") - strike).abs()).row(0, named=True)
        return float(row["iv"])

    for pct in (0.01, 0.03, 0.05, 0.10):
        assert iv_at("P", spot * (1 - pct)) > iv_at("C", spot * (1 + pct)), pct
    # the smile falls from low strikes up to about the money
    put_ivs = [iv_at("P", spot * x) for x in (0.8, 0.85, 0.9, 0.95, 1.0)]
    assert all(a > b for a, b in itertools.pairwise(put_ivs)), put_ivs
    atm = iv_at("C", spot)
    assert 0.05 < atm < 0.35


def test_walls_and_zero_gamma_exist(spx_warm: tuple[SimulatedSession, pl.DataFrame, float]) -> None:
    _, frame, spot = spx_warm
    sign = np.where(frame["type"].to_numpy() == "C", 1.0, -1.0)
    t = years_to_settlement(frame["settlement"].dt.epoch("us").to_numpy(), MONDAY_10)
    strike = frame["strike"].to_numpy()
    iv = frame["iv"].to_numpy()
    oi = frame["open_interest"].to_numpy()
    xs = np.linspace(0.85 * spot, 1.15 * spot, 121)
    profile = np.array(
        [np.nansum(sign * bs_gamma(x, strike, iv, t) * oi * 100 * x * x * 0.01) for x in xs]
    )
    assert (np.diff(np.sign(profile)) != 0).any()  # a gamma flip inside ±15 %
    gex = sign * frame["gamma"].to_numpy() * oi * 100 * spot * spot * 0.01
    per_strike = pl.DataFrame({"strike": strike, "type": frame["type"], "gex": gex})
    call_wall = per_strike.filter(pl.col("type") == "C").group_by("strike").agg(pl.col("gex").sum())
    put_wall = per_strike.filter(pl.col("type") == "P").group_by("strike").agg(pl.col("gex").sum())
    cw = float(call_wall.sort("gex")["strike"][-1])
    pw = float(put_wall.sort("gex")["strike"][0])
    assert cw % 50 == 0 and pw % 50 == 0  # walls at round strikes
    assert abs(cw / spot - 1) < 0.05 and abs(pw / spot - 1) < 0.05


# ---------------------------------------------------------------------- determinism
def assert_same_batch(a: EventBatch, b: EventBatch) -> None:
    assert a.time == b.time
    assert a.meta == b.meta
    fa, fb = a.frames(), b.frames()
    assert fa.keys() == fb.keys()
    for kind in fa:
        assert fa[kind].equals(fb[kind]), kind


def test_same_seed_same_events() -> None:
    s1, s2 = open_session("SPX", seed=11), open_session("SPX", seed=11)
    for a, b in zip(batches(s1, 40), batches(s2, 40), strict=True):
        assert_same_batch(a, b)


def test_different_seed_different_events() -> None:
    s1, s2 = open_session("SPX", seed=11), open_session("SPX", seed=12)
    b1, b2 = list(batches(s1, 5)), list(batches(s2, 5))
    assert b1[-1].trades is not None and b2[-1].trades is not None
    assert not b1[-1].trades.equals(b2[-1].trades)
    assert not np.array_equal(s1.market.open_interest, s2.market.open_interest)


def test_same_seed_and_start_are_bit_reproducible() -> None:
    """Two feeds, same seed and start, same opens and steps: identical batches, for several
    tickers interleaved, across the 16:00 close and into the closed market."""
    start = datetime(2026, 11, 24, 15, 59, tzinfo=NEW_YORK)

    def run() -> list[EventBatch]:
        feed = SimulatedFeed(seed=21, paced=False, start=start, speed=60)
        spx = asyncio.run(feed.open("SPX"))
        out = [spx.step() for _ in range(5)]
        spy = asyncio.run(feed.open("SPY"))
        aapl = asyncio.run(feed.open("AAPL"))
        for _ in range(15):
            out += [spx.step(), spy.step(), aapl.step()]
        return out

    first, second = run(), run()
    assert len(first) == len(second) == 50
    for a, b in zip(first, second, strict=True):
        assert_same_batch(a, b)
    assert {b.meta["market"] for b in first} == {"open", "closed"}


def test_a_later_ticker_joins_at_the_shared_clock() -> None:
    """One clock: a ticker opened later starts where the market is, at the price the market
    has there, whenever it was opened."""
    feed = SimulatedFeed(seed=5, paced=False, start=MONDAY_10)
    spx = asyncio.run(feed.open("SPX"))
    spx_batches = list(batches(spx, 30))
    late = asyncio.run(feed.open("SPY"))
    assert late.market.start == spx_batches[-1].time + timedelta(seconds=0.1)
    joined = late.step()
    assert joined.meta["batch"] == "30" and joined.time > spx_batches[-1].time
    # the same SPY opened at the start of another feed has the same price at batch 30 …
    other = SimulatedFeed(seed=5, paced=False, start=MONDAY_10)
    early = asyncio.run(other.open("SPY"))
    early_batches = list(batches(early, 31))
    assert early_batches[-1].time == joined.time

    def spy_prices(batch: EventBatch) -> list[float]:
        assert batch.trades is not None
        return batch.trades.filter(pl.col("symbol") == "SPY")["price"].to_list()

    assert spy_prices(joined) == spy_prices(early_batches[-1])
    # … and SPY's clock follows the shared one: never behind SPX's newest batch
    assert int(late.step().meta["batch"]) == 31
    assert int(spx.step().meta["batch"]) == 30


def _last_underlying(batch: EventBatch, symbol: str) -> float | None:
    if batch.trades is None:
        return None
    prices = batch.trades.filter(pl.col("symbol") == symbol)["price"]
    return float(prices[-1]) if prices.len() else None


def test_one_coherent_market() -> None:
    """SPY ≈ SPX / 10 with a small basis, QQQ ≈ NDX / 41, IWM ≈ RUT / 10, print by print; large
    caps move with the index (correlated returns) but not in lockstep."""
    feed = SimulatedFeed(seed=8, paced=False, start=MONDAY_10, speed=600)
    names = ("SPX", "SPY", "NDX", "QQQ", "RUT", "IWM", "AAPL", "NVDA", "JPM")
    sessions = {n: asyncio.run(feed.open(n)) for n in names}
    paths: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(300):  # 10:00 → 15:00 market time, every minute
        for name, session in sessions.items():
            price = _last_underlying(session.step(), name)
            assert price is not None
            paths[name].append(price)
    p = {n: np.asarray(v) for n, v in paths.items()}
    for etf, index, ratio in (
        ("SPY", "SPX", 0.09965),
        ("QQQ", "NDX", 1 / 41),
        ("IWM", "RUT", 0.0992),
    ):
        basis = p[etf] / (p[index] * ratio) - 1
        assert np.abs(basis).max() < 2e-4, etf  # a few cents: one market on one clock
    returns = {n: np.diff(np.log(v)) for n, v in p.items()}
    assert returns["SPX"].std() > 0

    def corr(a: str, b: str) -> float:
        return float(np.corrcoef(returns[a], returns[b])[0, 1])

    assert corr("SPY", "SPX") > 0.99 and corr("QQQ", "NDX") > 0.99
    assert 0.6 < corr("NDX", "SPX") < 0.99
    assert 0.2 < corr("AAPL", "SPX") < 0.8 and 0.2 < corr("NVDA", "SPX") < 0.8
    assert corr("NVDA", "NDX") > corr("JPM", "NDX")  # tech moves with tech
    # each has its own chain around its own spot
    assert sessions["SPY"].chain.instruments["root"].unique().to_list() == ["SPY"]
    assert abs(sessions["QQQ"].market.spot0 * 41 / sessions["NDX"].market.spot0 - 1) < 1e-3


# ---------------------------------------------------------------------- greeks
def test_greeks_consistent_with_core() -> None:
    session = open_session("SPX", speed=60)
    settle = dict(
        zip(
            session.chain.instruments["symbol"],
            session.chain.instruments["settlement"].dt.epoch("us"),
            strict=True,
        )
    )
    info = {
        r["symbol"]: r
        for r in session.chain.instruments.select("symbol", "strike", "type").rows(named=True)
    }
    for batch in batches(session, 25):
        assert batch.trades is not None and batch.greeks is not None
        und = batch.trades.filter(pl.col("symbol") == "SPX")
        assert und.height >= 1
        spot = float(und["price"][-1])
        g = batch.greeks
        symbols = g["symbol"].to_list()
        t = years_to_settlement(np.array([settle[s] for s in symbols]), batch.time)
        strike = np.array([info[s]["strike"] for s in symbols])
        is_call = np.array([info[s]["type"] == "C" for s in symbols])
        iv = g["iv"].to_numpy()
        assert not np.isnan(t).any()
        np.testing.assert_allclose(g["gamma"].to_numpy(), bs_gamma(spot, strike, iv, t), rtol=1e-9)
        np.testing.assert_allclose(
            g["delta"].to_numpy(), bs_delta(spot, strike, iv, t, is_call), rtol=1e-9, atol=1e-15
        )
        price = g["price"].to_numpy()
        intrinsic = np.where(is_call, np.maximum(spot - strike, 0), np.maximum(strike - spot, 0))
        assert (price >= intrinsic - 1e-6).all()
        assert (g["vega"].to_numpy() >= 0).all() and (g["theta"].to_numpy() <= 0).all()
        assert ((iv > 0.02) & (iv < 5)).all()


def test_0dte_decays_and_atm_gamma_grows() -> None:
    session = open_session("SPX", speed=600)  # one market minute per batch
    inst = session.chain.instruments
    zero = inst.filter((pl.col("expiration") == MONDAY) & (pl.col("root") == "SPXW"))
    strikes = zero.filter(pl.col("type") == "C").select("symbol", "strike")
    prefix = f".SPXW{MONDAY:%y%m%d}C"
    settle_us = int(zero["settlement"].dt.epoch("us")[0])
    cycle = session.warmup_batches
    window: list[pl.DataFrame] = []  # 0DTE call greeks of the last greeks cycle
    seen: list[tuple[datetime, float, float]] = []
    after_close_0dte = 0
    for batch in batches(session, 420):  # 10:00 → 17:00
        local = batch.time.astimezone(NEW_YORK)
        if local.hour >= 16 and local.minute > 0:  # closed: no events at all
            assert batch.n_events == 0, local
            after_close_0dte += 0 if batch.greeks is None else batch.greeks.height
            continue
        assert batch.greeks is not None and batch.trades is not None
        spot = float(batch.trades.filter(pl.col("symbol") == "SPX")["price"][-1])
        zero_now = batch.greeks.filter(pl.col("symbol").str.starts_with(prefix))
        if local.hour >= 16:  # the 16:00 batch: the last prints, the 0DTE is settled
            after_close_0dte += zero_now.height
            continue
        window = [*window[1 - cycle :], zero_now.with_columns(spot=pl.lit(spot))]
        if local.minute == 0 and local.second == 0 and local.hour >= 11:
            recent = pl.concat(window).join(strikes, on="symbol")
            near = recent.filter((pl.col("strike") / pl.col("spot") - 1).abs() < 0.005)
            t = float(years_to_settlement(np.array([settle_us]), batch.time)[0])
            seen.append((local, t, float(near["gamma"].max())))  # type: ignore[arg-type]
    assert [s[0].hour for s in seen] == [11, 12, 13, 14, 15]
    ts = [s[1] for s in seen]
    gammas = [s[2] for s in seen]
    assert all(a > b for a, b in itertools.pairwise(ts))  # T shrinks with the clock
    assert ts[-1] == pytest.approx(1 / (365 * 24), rel=1e-6)  # one hour before 16:00
    assert gammas[-1] > 1.5 * gammas[0]  # near-ATM gamma grows toward expiry
    assert after_close_0dte == 0  # expired contracts are no longer emitted


# ---------------------------------------------------------------------- rate, coverage, flow
def test_batch_shape_and_rate() -> None:
    session = open_session("SPX")
    n = len(session.chain.instruments)
    cycle = session.warmup_batches
    assert cycle == 10
    first, *rest = list(batches(session, 25))
    assert first.time == MONDAY_10
    assert first.summary is not None and first.summary.height == n + 1  # all + underlying
    und_summary = first.summary.filter(pl.col("symbol") == "SPX")
    assert und_summary["prev_close"][0] is not None
    for i, batch in enumerate(rest, start=1):
        assert batch.time == MONDAY_10 + timedelta(seconds=0.1 * i)
        assert batch.summary is None  # Summary again only on change
        assert batch.greeks is not None and batch.trades is not None
        assert abs(batch.greeks.height - n / cycle) <= 1
        assert batch.trades.filter(pl.col("symbol") == "SPX").height >= 2
    for kind, schema in (("greeks", GREEKS_SCHEMA), ("trades", TRADES_SCHEMA)):
        frame = getattr(rest[0], kind)
        assert dict(frame.schema) == dict(schema)
    assert dict(first.summary.schema) == dict(SUMMARY_SCHEMA)


def test_book_coverage_after_one_greeks_interval() -> None:
    for kw in ({}, {"greeks_interval": 2.0, "batch_period": 0.25}):
        session = open_session("SPX", **kw)
        book = session.chain.new_book()
        for batch in batches(session, session.warmup_batches):
            result = book.apply(batch)
            assert result.unknown == 0
        with_greeks, with_oi, total = book.coverage()
        assert with_greeks >= 0.95 * total
        assert with_oi >= 0.95 * total
        assert 6700 < book.spot < 7100
        assert not np.isnan(book.underlying.prev_close)


def test_day_volume_accumulates() -> None:
    session = open_session("SPY", speed=60)
    book = session.chain.new_book()
    book.apply(session.step())
    start_total = np.nansum(book.column("day_volume"))
    previous = book.column("day_volume")
    for batch in batches(session, 200):  # 10:00 → 10:20 market time
        book.apply(batch)
        now = book.column("day_volume")
        both = ~np.isnan(previous)
        assert (now[both] >= previous[both]).all()
        previous = now
    assert np.nansum(previous) > start_total * 1.2
    assert book.underlying.day_volume > 0  # an ETF's own volume


def test_market_closed_price_stands_still() -> None:
    """A weekend: the snapshot (Summary, the last price, one Greeks cycle) fills the book at
    once, then batches carry no events; status "market closed" with the next open."""
    session = open_session("SPX", start=datetime(2026, 11, 21, 12, 0, tzinfo=NEW_YORK))  # Sat
    book = session.chain.new_book()
    got = list(batches(session, 50))
    cycle = session.warmup_batches
    for batch in got:
        assert batch.meta["market"] == "closed"
        book.apply(batch)
    assert got[0].summary is not None and _last_underlying(got[0], "SPX") is not None
    assert all(b.greeks is not None and b.greeks.height for b in got[:cycle])
    assert [b.n_events for b in got[cycle:]] == [0] * (50 - cycle)
    with_greeks, with_oi, total = book.coverage()
    assert with_greeks == with_oi == total  # the close state, complete
    assert book.spot == session.market.spot0
    assert session.status.state is FeedState.MARKET_CLOSED
    assert session.status.reason == "opens Mon Nov 23 09:30 ET"
    assert book.as_of == got[-1].time  # the clock moves on


def test_night_start_shows_the_last_close() -> None:
    """Started after the close (what "now" gives at night): the last session's close state,
    full at once — its day volume, no 0DTE of the day (settled) — then quiet until 09:30."""
    night = datetime(2026, 11, 24, 20, 0, tzinfo=NEW_YORK)  # Tuesday evening
    session = open_session("SPY", start=night, speed=3600)  # six market minutes per batch
    exps = set(session.chain.instruments["expiration"])
    assert night.date() not in exps and date(2026, 11, 25) in exps
    book = session.chain.new_book()
    for batch in batches(session, session.warmup_batches):
        book.apply(batch)
    assert book.coverage()[0] == book.coverage()[2]
    assert np.nansum(book.column("day_volume")) > 1e6  # the whole session's volume
    assert session.status.reason == "opens Wed Nov 25 09:30 ET"
    spot = book.spot
    quiet = list(batches(session, 140))  # past 09:30 Wednesday
    for batch in quiet:
        if batch.meta["market"] == "closed":
            assert batch.n_events == 0
    opened = [b for b in quiet if b.n_events]
    assert opened and opened[0].time.astimezone(NEW_YORK).strftime("%a %H:%M") == "Wed 09:36"
    assert opened[0].summary is not None  # a new session: prev close, rolled open interest
    prev = opened[0].summary.filter(pl.col("symbol") == "SPY")["prev_close"][0]
    assert prev == spot  # yesterday's close is what the closed market showed
    assert session.status.state is FeedState.LIVE


def test_the_clock_closes_the_market_at_16_and_reopens_next_trading_day() -> None:
    """A clock running across 16:00: the 0DTE stops, the spot freezes, no events, status
    "market closed"; Wednesday before Thanksgiving → Friday 09:30 opens a new session."""
    start = datetime(2026, 11, 25, 15, 50, tzinfo=NEW_YORK)  # Wednesday
    session = open_session("SPX", start=start, speed=3600)  # an hour per batch … six minutes
    zero = set(session.chain.instruments.filter(pl.col("expiration") == start.date())["symbol"])
    assert zero
    spots: list[tuple[datetime, float | None, int, str]] = []
    for batch in batches(session, 430):  # 43 hours … 2026-11-27 10:50
        greeks_0dte = 0
        if batch.greeks is not None:
            greeks_0dte = int(batch.greeks["symbol"].is_in(list(zero)).sum())
        spots.append(
            (batch.time.astimezone(NEW_YORK), _last_underlying(batch, "SPX"), greeks_0dte,
             batch.meta["market"])
        )  # fmt: skip
        local = batch.time.astimezone(NEW_YORK)
        if local.hour == 18 and local.minute == 0:
            assert session.status.state is FeedState.MARKET_CLOSED
            assert session.status.reason == "opens Fri Nov 27 09:30 ET"
    closed = [s for s in spots if s[3] == "closed"]
    after_close = [s for s in closed if s[0] > start.replace(hour=16)]
    assert after_close and all(s[1] is None and s[2] == 0 for s in after_close)
    assert not any(s[0].date() == date(2026, 11, 26) and s[3] == "open" for s in spots)
    reopened = [s for s in spots if s[3] == "open" and s[0].date() == date(2026, 11, 27)]
    assert reopened and reopened[0][0].strftime("%H:%M") == "09:32"  # 15:50 + 6 min steps
    assert all(s[2] == 0 for s in reopened)  # the expired 0DTE never comes back
    assert session.status.state is FeedState.LIVE


def test_new_session_rolls_over() -> None:
    session = open_session("SPX", speed=3600)  # six market minutes per batch
    rollovers = []
    for batch in batches(session, 240):  # one day
        if batch.summary is not None and batch.time > MONDAY_10:
            rollovers.append(batch)
    assert len(rollovers) == 1
    rb = rollovers[0]
    local = rb.time.astimezone(NEW_YORK)
    assert local.date() == MONDAY + timedelta(days=1) and local.hour == 9
    prev = rb.summary.filter(pl.col("symbol") == "SPX")["prev_close"][0]  # type: ignore[union-attr]
    assert prev is not None and abs(prev / session.market.spot0 - 1) < 0.1
    assert rb.trades is not None
    reset = rb.trades.filter((pl.col("symbol") != "SPX") & (pl.col("day_volume") == 0))
    assert reset.height > 100  # yesterday's volume goes back to zero


async def test_set_expirations_limits_greeks() -> None:
    feed = SimulatedFeed(seed=2, paced=False, start=MONDAY_10)
    session = await feed.open("SPX")
    session.step()
    await session.set_expirations([MONDAY])
    zero = set(session.chain.instruments.filter(pl.col("expiration") == MONDAY)["symbol"])
    got: set[str] = set()
    for batch in batches(session, 10):
        assert batch.greeks is not None
        assert set(batch.greeks["symbol"]) <= zero
        got |= set(batch.greeks["symbol"])
    assert got == zero
    await session.set_expirations(None)
    assert session.step().greeks is not None
    assert (await feed.open("SPX")).step().greeks is not None


async def test_switching_back_catches_up_with_the_shared_clock() -> None:
    feed = SimulatedFeed(seed=4, paced=False, start=MONDAY_10)
    spx = await feed.open("SPX")
    last = [spx.step() for _ in range(7)][-1]
    await spx.aclose()
    qqq = await feed.open("QQQ")
    qqq_batch = qqq.step()
    assert qqq_batch.meta["batch"] == "7"  # QQQ joined at the shared clock
    await qqq.aclose()
    again = await feed.open("SPX")
    assert again.chain.instruments.equals(spx.chain.instruments)
    batch = again.step()
    assert batch.time == last.time + timedelta(seconds=0.2)  # never behind QQQ's clock
    assert batch.meta["batch"] == "8"
    assert batch.summary is not None  # a fresh subscriber gets the snapshot
    assert batch.summary.height == len(again.chain.instruments) + 1
    book = again.chain.new_book()
    book.apply(batch)
    assert book.coverage()[1] == len(book)
    await feed.aclose()
    assert again.status.state is FeedState.CLOSED


async def test_a_new_subscription_gets_its_greeks_while_closed() -> None:
    """Closed: a changed subscription (the user picks other expirations) gets one Greeks
    cycle of its contracts, then the market is quiet again."""
    night = datetime(2026, 11, 24, 20, 0, tzinfo=NEW_YORK)
    feed = SimulatedFeed(seed=2, paced=False, start=night)
    session = await feed.open("SPX")
    cycle = session.warmup_batches
    assert all(b.greeks is not None for b in batches(session, cycle))
    assert session.step().n_events == 0
    friday = date(2026, 11, 27)
    await session.set_expirations([friday])
    wanted = set(session.chain.instruments.filter(pl.col("expiration") == friday)["symbol"])
    got: set[str] = set()
    for batch in batches(session, cycle):
        assert batch.greeks is not None
        got |= set(batch.greeks["symbol"])
    assert got == wanted
    assert session.step().n_events == 0
    await feed.aclose()


def test_the_shared_path_stays_small_and_a_ticker_left_behind_catches_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gextui.feeds import sim_market

    monkeypatch.setattr(sim_market, "BLOCK_BATCHES", 16)  # small blocks: a short test
    monkeypatch.setattr(sim_market, "KEEP_BLOCKS", 2)
    block_batches, keep_blocks = 16, 2
    feed = SimulatedFeed(seed=3, paced=False, start=MONDAY_10, speed=10)
    jpm = asyncio.run(feed.open("JPM"))
    dia = asyncio.run(feed.open("DIA"))
    dia.step()
    n = (keep_blocks + 3) * block_batches
    for _ in range(n):
        jpm.step()
    assert len(feed.path._blocks) <= keep_blocks + 2  # memory does not grow with the run
    batch = dia.step()  # far behind: it jumps to the shared clock, with a snapshot
    assert batch.meta["batch"] == str(n) and batch.summary is not None
    assert _last_underlying(batch, "DIA") is not None


async def test_paced_tickers_stream_together_on_one_clock() -> None:
    """Two paced sessions streaming at once (the watchlist) stay on the same batch numbers;
    a ticker opened while the others stream joins at their clock."""
    feed = SimulatedFeed(seed=6, paced=True, start=MONDAY_10, batch_period=0.01)
    spx, spy = await feed.open("SPX"), await feed.open("SPY")
    seen: dict[str, list[int]] = {"SPX": [], "SPY": [], "QQQ": []}

    halfway = asyncio.Event()

    async def pump(name: str, session: SimulatedSession, count: int) -> None:
        async for batch in session.events():
            seen[name].append(int(batch.meta["batch"]))
            if len(seen[name]) == 20:
                halfway.set()
            if len(seen[name]) == count:
                break

    task = asyncio.gather(pump("SPX", spx, 40), pump("SPY", spy, 40))
    await halfway.wait()
    qqq = await feed.open("QQQ")
    await asyncio.gather(task, pump("QQQ", qqq, 5))
    assert seen["SPX"] == seen["SPY"] == list(range(40))  # no skips, the same clock
    assert seen["QQQ"][0] >= 20  # joined at the shared clock, not at the start
    assert seen["QQQ"] == list(range(seen["QQQ"][0], seen["QQQ"][0] + 5))
    await feed.aclose()
