"""A fake tastytrade on 127.0.0.1: REST (OAuth token, quote token, option chains) + DXLink.

The real tastytrade SDK talks to it unmodified (only ``session._client.base_url`` is pointed
here, which is what ``TT_API_URL`` does). Two loopback ports: a small HTTP/1.1 server for
REST (the ``websockets`` server cannot take the SDK's ``POST /oauth/token``) and a
``websockets`` server speaking DXLink as the SDK does (see DESIGN.md):

client SETUP → server SETUP + AUTH_STATE UNAUTHORIZED → client AUTH → AUTH_STATE AUTHORIZED →
CHANNEL_REQUEST → CHANNEL_OPENED → FEED_SETUP (→ FEED_CONFIG) → FEED_SUBSCRIPTION add/remove →
FEED_DATA ``[type, [values… flat, in the requested field order]]``, NaN as ``"NaN"``;
KEEPALIVE both ways.

Like the real server, a subscription is answered with a snapshot of every subscribed symbol,
and events are aggregated per channel over an aggregation period and sent as **one** frame:
a big subscription makes a big frame (the 64 KiB client limit is real here).

Controls for tests: :meth:`FakeTastytrade.drop_connections`, :meth:`silence`,
:meth:`send_error`, ``reject_token``, ``unknown_quote_token``, market values with NaN,
:func:`make_chain` of any size; counters: frames sent/received and their maximum sizes,
subscriptions per type, connections, tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from gextui.core.chain import ChainBook
from gextui.feeds.base import FeedError, FeedStatus
from gextui.feeds.tastytrade import TastytradeFeedSession

HOST = "127.0.0.1"
REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

# snake_case SDK field → default value sent when the market has no value for it
_DEFAULTS: dict[str, Any] = {
    "event_time": 0,
    "event_flags": 0,
    "index": 0,
    "time": 0,
    "sequence": 0,
    "time_nano_part": 0,
    "day_id": 20_400,
    "prev_day_id": 20_399,
    "exchange_code": "Q",
    "bid_exchange_code": "Q",
    "ask_exchange_code": "Q",
    "bid_time": 0,
    "ask_time": 0,
    "tick_direction": "UP",
    "extended_trading_hours": False,
    "day_close_price_type": "REGULAR",
    "prev_day_close_price_type": "FINAL",
    "size": 1,
}


def _snake(camel: str) -> str:
    out = []
    for ch in camel:
        if ch.isupper():
            out.append("_" + ch.lower())
        else:
            out.append(ch)
    return "".join(out)


def _wire(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return value


def format_strike(strike: float) -> str:
    """The SDK's / dxFeed's strike text: 6000 → '6000', 412.5 → '412.5'."""
    if float(strike).is_integer():
        return f"{strike:.0f}"
    text = f"{strike:.2f}"
    return text[:-1] if text.endswith("0") else text


def option_item(
    underlying: str, root: str, expiration: date, type_: str, strike: float, *, spc: int = 100
) -> dict[str, Any]:
    """One option-chain item as tastytrade's REST API returns it (dasherized keys)."""
    ymd = expiration.strftime("%y%m%d")
    occ = f"{root:<6}{ymd}{type_}{round(strike * 1000):08d}"
    am = root in {"SPX", "NDX", "RUT"}
    return {
        "instrument-type": "Equity Option",
        "symbol": occ,
        "active": True,
        "strike-price": f"{strike:.1f}",
        "root-symbol": root,
        "underlying-symbol": underlying,
        "expiration-date": expiration.isoformat(),
        "exercise-style": "European" if underlying in {"SPX", "NDX", "RUT"} else "American",
        "shares-per-contract": spc,
        "option-type": type_,
        "option-chain-type": "Standard",
        "expiration-type": "Regular" if am else "Weekly",
        "settlement-type": "AM" if am else "PM",
        "stops-trading-at": f"{expiration.isoformat()}T20:15:00.000+00:00",
        "market-time-instrument-collection": "Cash Settled Equity Option",
        "days-to-expiration": 10,
        "expires-at": f"{expiration.isoformat()}T20:15:00.000+00:00",
        "is-closing-only": False,
        "streamer-symbol": f".{root}{ymd}{type_}{format_strike(strike)}",
    }


def make_chain(
    underlying: str,
    expirations: Iterable[tuple[str, date]],
    strikes: Iterable[float],
    *,
    spc: int = 100,
) -> list[dict[str, Any]]:
    """Items for every (root, expiration) × strike × {C, P}."""
    strikes = list(strikes)
    return [
        option_item(underlying, root, exp, t, k, spc=spc)
        for root, exp in expirations
        for k in strikes
        for t in ("C", "P")
    ]


def big_chain(
    underlying: str, n_contracts: int, *, start: date | None = None
) -> list[dict[str, Any]]:
    """A chain of about ``n_contracts`` contracts (SPXW weeklies, 5-point strikes)."""
    start = start or date(2031, 1, 3)
    per_exp = 400  # 200 strikes × C/P
    n_exp = max(1, math.ceil(n_contracts / per_exp))
    exps = [
        ("SPXW" if underlying == "SPX" else underlying, start + timedelta(days=7 * i))
        for i in range(n_exp)
    ]
    items = make_chain(underlying, exps, [5000 + 5 * i for i in range(200)])
    return items[:n_contracts]


@dataclass
class Market:
    """Values the fake serves, by event type and symbol (snake_case SDK field names).

    Use ``float('nan')`` for NaN. :meth:`fill` gives every option realistic, long-digit
    greeks (so frames have realistic sizes).
    """

    greeks: dict[str, dict[str, Any]] = field(default_factory=dict)
    summary: dict[str, dict[str, Any]] = field(default_factory=dict)
    trade: dict[str, dict[str, Any]] = field(default_factory=dict)
    quote: dict[str, dict[str, Any]] = field(default_factory=dict)

    def table(self, event_type: str) -> dict[str, dict[str, Any]]:
        return {
            "Greeks": self.greeks,
            "Summary": self.summary,
            "Trade": self.trade,
            "Quote": self.quote,
        }[event_type]

    def fill(
        self, items: Iterable[Mapping[str, Any]], *, seed: int = 7, spot: float = 6000.0
    ) -> None:
        rng = random.Random(seed)
        for item in items:
            sym = item["streamer-symbol"]
            is_call = item["option-type"] == "C"
            strike = float(item["strike-price"])
            m = (spot - strike) / spot
            delta = 0.5 + 0.5 * math.tanh(8 * m) if is_call else -0.5 + 0.5 * math.tanh(8 * m)
            self.greeks[sym] = {
                "index": 7_300_000_000_000_000_000 + rng.randrange(10**15),
                "time": 1_798_000_000_000 + rng.randrange(10**6),
                "sequence": rng.randrange(100),
                "price": round(rng.uniform(0.05, 300.0), 2),
                "volatility": rng.uniform(0.08, 0.6),
                "delta": delta + rng.uniform(-1e-3, 1e-3),
                "gamma": rng.uniform(1e-5, 4e-3),
                "theta": -rng.uniform(0.01, 5.0),
                "rho": rng.uniform(-1.0, 1.0),
                "vega": rng.uniform(0.01, 9.0),
            }
            self.summary[sym] = {
                "open_interest": rng.randrange(0, 50_000),
                "day_open_price": round(rng.uniform(0.05, 300.0), 2),
                "day_high_price": round(rng.uniform(0.05, 300.0), 2),
                "day_low_price": round(rng.uniform(0.05, 300.0), 2),
                "day_close_price": float("nan"),
                "prev_day_close_price": round(rng.uniform(0.05, 300.0), 2),
                "prev_day_volume": rng.randrange(0, 20_000),
            }


@dataclass
class _Conn:
    ws: ServerConnection
    number: int
    silent: bool = False
    authorized: bool = False
    channels: dict[int, str] = field(default_factory=dict)  # channel → event type
    fields: dict[int, list[str]] = field(default_factory=dict)  # channel → camelCase fields
    subs: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    pending: dict[int, list[Any]] = field(default_factory=lambda: defaultdict(list))
    agg_period: float = 0.1
    drop_after_data: bool = False
    close_on_auth: bool = False


class FakeTastytrade:
    """Start with ``await fake.start()`` (or ``async with``); stop with ``await fake.stop()``."""

    def __init__(
        self,
        *,
        keepalive_interval: float = 0.1,
        agg_period: float | None = 0.01,
        access_token: str = "fake-access-token",
    ) -> None:
        self.keepalive_interval = keepalive_interval
        self.agg_period = agg_period  # None: use the client's acceptAggregationPeriod
        self.access_token = access_token
        self.chains: dict[str, list[dict[str, Any]]] = {}
        self.market = Market()
        # controls
        self.reject_token = False
        self.reject_token_status = 401
        self.unknown_quote_token = False
        self.silent_new_connections = 0  # this many next connections never say anything
        self.quote_token_failures = 0  # this many next quote-token requests get HTTP 503
        # (path, status, Retry-After or None): the next requests to path get these answers
        self.rest_failures: list[tuple[str, int, str | None]] = []
        self.drop_after_data = 0  # this many next connections are cut after their 1st data
        self.close_on_auth = 0  # this many next connections close as the client sends AUTH
        self.held: set[str] = set()  # symbols whose data is held back until release()
        self.raw_frames_sent = 0
        self.events_sent = 0  # events in FEED_DATA frames sent
        self.max_frame_events: int | None = None  # split an aggregation into frames of ≤ this
        # records
        self.oauth_requests = 0
        self.quote_token_requests = 0
        self.rest_requests: list[tuple[str, int]] = []  # (path, status answered)
        self.chain_requests = 0
        self.oauth_bodies: list[dict[str, Any]] = []
        self.quote_tokens: list[str] = []
        self.auth_tokens_seen: list[str] = []
        self.connections = 0
        self.frames_sent = 0
        self.frames_received = 0
        self.max_frame_sent = 0
        self.max_frame_received = 0
        self.subscription_messages = 0
        self.subscribe_counts: dict[str, int] = defaultdict(int)  # type → symbols added
        self.unsubscribe_counts: dict[str, int] = defaultdict(int)
        self.keepalives_received = 0
        self.errors_sent = 0
        self._conns: list[_Conn] = []
        self._http: asyncio.Server | None = None
        self._ws: Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.rest_port = 0
        self.ws_port = 0

    # ------------------------------------------------------------------ lifecycle
    @property
    def rest_url(self) -> str:
        return f"http://{HOST}:{self.rest_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{HOST}:{self.ws_port}/"

    async def start(self) -> FakeTastytrade:
        self._http = await asyncio.start_server(self._http_conn, HOST, 0)
        self.rest_port = self._http.sockets[0].getsockname()[1]
        self._ws = await serve(
            self._ws_handler,
            HOST,
            0,
            compression=None,
            ping_interval=None,
            max_size=2**22,
        )
        self.ws_port = next(iter(self._ws.sockets)).getsockname()[1]
        return self

    async def stop(self) -> None:
        for conn in list(self._conns):
            conn.ws.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        if self._ws is not None:
            self._ws.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.wait_closed(), 2)
        if self._http is not None:
            self._http.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._http.wait_closed(), 2)

    async def __aenter__(self) -> FakeTastytrade:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ test controls
    def add_chain(self, ticker: str, items: list[dict[str, Any]], *, fill: bool = True) -> None:
        self.chains[ticker.upper()] = items
        if fill:
            self.market.fill(items)

    @property
    def live_connections(self) -> int:
        return len(self._conns)

    def drop_connections(self, *, clean: bool = False) -> None:
        """Cut every open DXLink connection (abruptly, or with a close frame 1011)."""
        for conn in list(self._conns):
            if clean:
                self._spawn(conn.ws.close(1011, "server going away"))
            else:
                conn.ws.transport.abort()

    def silence(self) -> None:
        """Open connections stop sending anything (no data, no keepalive); they stay open."""
        for conn in self._conns:
            conn.silent = True

    def send_error(self, message: str = "server overloaded", error: str = "TIMEOUT") -> None:
        for conn in list(self._conns):
            self.errors_sent += 1
            self._spawn(
                self._send(
                    conn, {"type": "ERROR", "channel": 0, "error": error, "message": message}
                )
            )

    def update(self, event_type: str, symbol: str, **values: Any) -> None:
        """Change served values and push the event to connections subscribed to it."""
        self.market.table(event_type).setdefault(symbol, {}).update(values)
        for conn in self._conns:
            if symbol in conn.subs.get(event_type, ()):
                self._queue(conn, event_type, [symbol])

    def update_many(self, event_type: str, changes: Mapping[str, Mapping[str, Any]]) -> None:
        """Change many symbols at once: subscribed connections get them in one frame."""
        for symbol, values in changes.items():
            self.market.table(event_type).setdefault(symbol, {}).update(values)
        for conn in self._conns:
            subs = conn.subs.get(event_type, set())
            self._queue(conn, event_type, [s for s in changes if s in subs])

    def send_raw(self, text: str) -> None:
        """Send ``text`` as one websocket text frame to every open connection, as is."""
        for conn in list(self._conns):
            self.raw_frames_sent += 1
            self.frames_sent += 1
            self.max_frame_sent = max(self.max_frame_sent, len(text.encode()))
            self._spawn(self._send_text(conn, text))

    async def _send_text(self, conn: _Conn, text: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            await conn.ws.send(text)

    def channel_of(self, event_type: str) -> int:
        """The channel the newest connection uses for ``event_type``."""
        conn = self._conns[-1]
        return next(c for c, t in conn.channels.items() if t == event_type)

    def release(self) -> None:
        """Serve the held symbols now (their subscriptions' snapshots)."""
        held, self.held = self.held, set()
        for conn in self._conns:
            for event_type, subs in conn.subs.items():
                self._queue(conn, event_type, [s for s in held if s in subs])

    def subscribed(self, event_type: str) -> set[str]:
        """Symbols of ``event_type`` subscribed on the newest connection."""
        if not self._conns:
            return set()
        return set(self._conns[-1].subs.get(event_type, set()))

    # ------------------------------------------------------------------ REST
    async def _http_conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                method, target, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while True:
                    raw = await reader.readline()
                    if raw in (b"\r\n", b"\n", b""):
                        break
                    key, _, value = raw.decode("latin-1").partition(":")
                    headers[key.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                body = await reader.readexactly(length) if length else b""
                status, payload, extra = self._answer(method, target, headers, body)
                data = json.dumps(payload).encode()
                head = (
                    f"HTTP/1.1 {status} {REASONS.get(status, 'X')}\r\n"
                    "Content-Type: application/json\r\n"
                    + "".join(f"{k}: {v}\r\n" for k, v in extra.items())
                    + f"Content-Length: {len(data)}\r\n\r\n"
                )
                writer.write(head.encode() + data)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()

    def _answer(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        path = target.split("?", 1)[0]
        for i, (fail_path, status, retry_after) in enumerate(self.rest_failures):
            if path.startswith(fail_path):
                del self.rest_failures[i]
                if path == "/oauth/token":
                    self.oauth_requests += 1
                elif path == "/api-quote-tokens":
                    self.quote_token_requests += 1
                self.rest_requests.append((path, status))
                extra = {"Retry-After": retry_after} if retry_after is not None else {}
                return status, {"error": {"code": f"http_{status}", "message": "injected"}}, extra
        status, payload = self._route(method, target, headers, body)
        self.rest_requests.append((path, status))
        return status, payload, {}

    def _route(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        path = target.split("?", 1)[0]
        if method == "POST" and path == "/oauth/token":
            self.oauth_requests += 1
            with contextlib.suppress(ValueError):
                self.oauth_bodies.append(json.loads(body or b"{}"))
            if self.reject_token:
                return self.reject_token_status, {
                    "error": {"code": "invalid_grant", "message": "Grant revoked"}
                }
            return 200, {
                "access_token": self.access_token,
                "expires_in": 900,
                "token_type": "Bearer",
            }
        if headers.get("authorization") != f"Bearer {self.access_token}":
            return 401, {"error": {"code": "unauthorized", "message": "Token is invalid"}}
        if method == "GET" and path == "/api-quote-tokens":
            self.quote_token_requests += 1
            if self.quote_token_failures > 0:
                self.quote_token_failures -= 1
                return 503, {"error": {"code": "unavailable", "message": "Service unavailable"}}
            if self.reject_token:
                return self.reject_token_status, {
                    "error": {"code": "unauthorized", "message": "Token is invalid"}
                }
            token = f"quote-token-{len(self.quote_tokens) + 1}"
            self.quote_tokens.append(token)
            return 200, {
                "data": {"token": token, "dxlink-url": self.ws_url, "level": "api"},
                "context": "/api-quote-tokens",
            }
        if method == "GET" and path.startswith("/option-chains/"):
            self.chain_requests += 1
            symbol = path.removeprefix("/option-chains/").replace("%2F", "/").upper()
            items = self.chains.get(symbol)
            if items is None:
                return 404, {
                    "error": {"code": "record_not_found", "message": f"Symbol {symbol} not found"}
                }
            return 200, {"data": {"items": items}, "context": path}
        return 404, {"error": {"code": "not_found", "message": f"no route {path}"}}

    # ------------------------------------------------------------------ DXLink
    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, conn: _Conn, message: Mapping[str, Any]) -> None:
        if conn.silent:
            return
        text = json.dumps(message, separators=(",", ":"))
        self.frames_sent += 1
        self.max_frame_sent = max(self.max_frame_sent, len(text.encode()))
        with contextlib.suppress(ConnectionClosed):
            await conn.ws.send(text)

    async def _ws_handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        conn = _Conn(ws, self.connections)
        if self.silent_new_connections > 0:
            self.silent_new_connections -= 1
            conn.silent = True
        if self.drop_after_data > 0:
            self.drop_after_data -= 1
            conn.drop_after_data = True
        if self.close_on_auth > 0:
            self.close_on_auth -= 1
            conn.close_on_auth = True
        self._conns.append(conn)
        flusher = asyncio.ensure_future(self._flusher(conn))
        keepalive = asyncio.ensure_future(self._keepalive(conn))
        try:
            async for raw in ws:
                text = raw if isinstance(raw, str) else raw.decode()
                self.frames_received += 1
                self.max_frame_received = max(self.max_frame_received, len(text.encode()))
                await self._on_message(conn, json.loads(text))
        except ConnectionClosed:
            pass
        finally:
            flusher.cancel()
            keepalive.cancel()
            if conn in self._conns:
                self._conns.remove(conn)

    async def _keepalive(self, conn: _Conn) -> None:
        while True:
            await asyncio.sleep(self.keepalive_interval)
            await self._send(conn, {"type": "KEEPALIVE", "channel": 0})

    async def _flusher(self, conn: _Conn) -> None:
        while True:
            await asyncio.sleep(self.agg_period if self.agg_period is not None else conn.agg_period)
            for channel in list(conn.pending):
                values_all = conn.pending.pop(channel)
                width = max(1, len(conn.fields.get(channel, ())))
                step = (self.max_frame_events or len(values_all) or 1) * width
                for start in range(0, len(values_all), step):
                    values = values_all[start : start + step]
                    if conn.silent:
                        break
                    self.events_sent += len(values) // width
                    await self._send(
                        conn,
                        {
                            "type": "FEED_DATA",
                            "channel": channel,
                            "data": [conn.channels[channel], values],
                        },
                    )
                    if conn.drop_after_data:
                        await asyncio.sleep(0.01)
                        conn.ws.transport.abort()
                        return

    async def _on_message(self, conn: _Conn, msg: Mapping[str, Any]) -> None:
        kind = msg.get("type")
        channel = int(msg.get("channel", 0))
        if kind == "SETUP":
            await self._send(
                conn,
                {
                    "type": "SETUP",
                    "channel": 0,
                    "keepaliveTimeout": 60,
                    "acceptKeepaliveTimeout": 60,
                    "version": "1.0-fake",
                },
            )
            if conn.close_on_auth:
                # AUTH_STATE and a close frame in one TCP write: the client reads both at once
                # and its AUTH (with the token) meets a connection that is closing (after a pause,
                # so that the client's reader is already waiting for the next message)
                await asyncio.sleep(0.05)
                text = json.dumps({"type": "AUTH_STATE", "channel": 0, "state": "UNAUTHORIZED"})
                payload = text.encode()
                frame = bytes([0x81, len(payload)]) + payload
                close = bytes([0x88, 0x02]) + (1001).to_bytes(2, "big")
                conn.ws.transport.write(frame + close)
                self.frames_sent += 1
                await asyncio.sleep(0.2)
                conn.ws.transport.abort()
                return
            await self._send(conn, {"type": "AUTH_STATE", "channel": 0, "state": "UNAUTHORIZED"})
        elif kind == "AUTH":
            token = str(msg.get("token"))
            self.auth_tokens_seen.append(token)
            if self.unknown_quote_token or token not in self.quote_tokens:
                await self._send(
                    conn, {"type": "AUTH_STATE", "channel": 0, "state": "UNAUTHORIZED"}
                )
                return
            conn.authorized = True
            await self._send(
                conn, {"type": "AUTH_STATE", "channel": 0, "state": "AUTHORIZED", "userId": "u1"}
            )
        elif kind == "KEEPALIVE":
            self.keepalives_received += 1
        elif not conn.authorized:
            await self._send(
                conn,
                {
                    "type": "ERROR",
                    "channel": channel,
                    "error": "UNAUTHORIZED",
                    "message": "not authorized",
                },
            )
        elif kind == "CHANNEL_REQUEST":
            await self._send(
                conn,
                {
                    "type": "CHANNEL_OPENED",
                    "channel": channel,
                    "service": "FEED",
                    "parameters": msg.get("parameters", {}),
                },
            )
        elif kind == "FEED_SETUP":
            accept = msg.get("acceptEventFields") or {}
            for event_type, fields in accept.items():
                conn.channels[channel] = event_type
                conn.fields[channel] = list(fields)
            conn.agg_period = float(msg.get("acceptAggregationPeriod", 0.1))
            await self._send(
                conn,
                {
                    "type": "FEED_CONFIG",
                    "channel": channel,
                    "dataFormat": "COMPACT",
                    "aggregationPeriod": conn.agg_period,
                    "eventFields": accept,
                },
            )
        elif kind == "FEED_SUBSCRIPTION":
            self.subscription_messages += 1
            added: dict[str, list[str]] = defaultdict(list)
            for entry in msg.get("add", []) or []:
                event_type, symbol = entry["type"], entry["symbol"]
                conn.subs[event_type].add(symbol)
                self.subscribe_counts[event_type] += 1
                added[event_type].append(symbol)
            for entry in msg.get("remove", []) or []:
                conn.subs[entry["type"]].discard(entry["symbol"])
                self.unsubscribe_counts[entry["type"]] += 1
            for event_type, symbols in added.items():
                self._queue(conn, event_type, symbols)
        elif kind == "CHANNEL_CANCEL":
            conn.subs.pop(conn.channels.get(channel, ""), None)

    def _queue(self, conn: _Conn, event_type: str, symbols: Iterable[str]) -> None:
        channel = next((c for c, t in conn.channels.items() if t == event_type), None)
        if channel is None:
            return
        fields = [_snake(f) for f in conn.fields[channel]]
        table = self.market.table(event_type)
        out = conn.pending[channel]
        held = self.held
        for symbol in symbols:
            values = table.get(symbol)
            if values is None or symbol in held:
                continue  # dxFeed sends nothing for symbols it does not know
            for name in fields:
                if name == "event_symbol":
                    out.append(symbol)
                else:
                    out.append(_wire(values.get(name, _DEFAULTS.get(name, float("nan")))))


# ---------------------------------------------------------------------- test helpers


async def wait_for(cond: Callable[[], bool], within: float = 10.0, step: float = 0.01) -> None:
    """Poll ``cond`` until true; fail the test after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(step)


@dataclass
class Pump:
    """Applies a session's batches to a ChainBook in the background; records statuses."""

    session: TastytradeFeedSession
    book: ChainBook = field(init=False)
    events: int = 0
    batches: int = 0
    statuses: list[FeedStatus] = field(default_factory=list)
    error: FeedError | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.book = self.session.chain.new_book()

    async def _consume(self) -> None:
        try:
            async for batch in self.session.events():
                self.book.apply(batch)
                self.events += batch.n_events
                self.batches += 1
        except FeedError as exc:
            self.error = exc

    async def _watch(self) -> None:
        while True:
            st = self.session.status
            last = self.statuses[-1] if self.statuses else None
            if last is None or (st.state, st.reason, st.progress) != (
                last.state,
                last.reason,
                last.progress,
            ):
                self.statuses.append(st)
            await asyncio.sleep(0.002)

    def start(self) -> Pump:
        self._tasks = [asyncio.create_task(self._consume()), asyncio.create_task(self._watch())]
        return self

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def states(self) -> list[str]:
        return [s.state.value for s in self.statuses]

    def reasons(self) -> list[str]:
        return [s.reason for s in self.statuses]
