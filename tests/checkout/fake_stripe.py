"""A local fake of the Stripe API at the HTTP boundary: the real `stripe` library talks to it.

Records every request (method, path, decoded form/query params, headers including Idempotency-Key), answers
with objects shaped like Stripe's own OpenAPI fixtures (`stripe_objects.json`, copied from
stripe/openapi), honours idempotency keys like Stripe (same key and parameters → the stored response replayed,
a 500 included; same key, other parameters → 400 `idempotency_error`), can be told to answer the next requests
with a 5xx, and to stall the next requests past the client's timeout.

`watch_transactions(dsn)`: while a request is being served, its caller is blocked on the answer, so a caller
that opened a database transaction first shows in PostgreSQL as "idle in transaction". Every request then
records the sessions of that database in that state (none is the goal: a Stripe call of up to 20 s, retried,
must never hold row locks or a pooled connection's transaction).
"""

import copy
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import psycopg

FIXTURES = json.loads((Path(__file__).parent / "stripe_objects.json").read_text())["resources"]


def fixture(name: str) -> dict[str, Any]:
    return copy.deepcopy(FIXTURES[name])


@dataclass
class RecordedRequest:
    method: str
    path: str
    params: dict[str, str]  # flat, as sent: "line_items[0][price_data][unit_amount]" -> "997"
    headers: dict[str, str]
    # Sessions of the watched database that sat inside a transaction while this request was served.
    transactions_open: list[str] = field(default_factory=list)

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")


@dataclass
class FakeStripe:
    requests: list[RecordedRequest] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    prices: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    stall_seconds: float = 0.0
    stall_remaining: int = 0
    stall_paths: str = ""  # regex of paths to stall; empty = any
    watch_dsn: str = ""  # see watch_transactions()
    fail_status: int = 0
    fail_remaining: int = 0
    fail_paths: str = ""  # regex of paths to fail; empty = any
    # key -> (what was asked, status, response): Stripe stores the first answer to a key and replays it.
    _idempotent: dict[str, tuple[tuple[str, str, dict[str, str]], int, dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    # --- control ---------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stall_next(self, times: int = 1, *, seconds: float, paths: str = "") -> None:
        """The next `times` matching requests are processed, then answered only after `seconds`."""
        with self._lock:
            self.stall_remaining, self.stall_seconds, self.stall_paths = times, seconds, paths

    def fail_next(self, times: int = 1, *, status: int = 500, paths: str = "") -> None:
        """The next `times` matching requests get Stripe's answer to an internal error (stored under their key)."""
        with self._lock:
            self.fail_remaining, self.fail_status, self.fail_paths = times, status, paths

    def watch_transactions(self, dsn: str) -> None:
        """From now on, every request checks `dsn`'s database for sessions idle inside a transaction."""
        self.watch_dsn = dsn

    def session_create_direct(self, **overrides: Any) -> dict[str, Any]:
        """A session as if some other integration (or an older deploy) had created it."""
        session = self._session_new({})
        session.update(overrides)
        self.sessions[session["id"]] = session
        return session

    def complete(self, session_id: str, *, payment_status: str = "paid", email: str | None = None,
                 **overrides: Any) -> dict[str, Any]:
        session = self.sessions[session_id]
        session.update(status="complete", payment_status=payment_status,
                       payment_intent=session.get("payment_intent") or "pi_" + secrets.token_hex(12))
        details = fixture("checkout.session")["customer_details"]
        details["email"] = email or session.get("customer_email") or "buyer@example.com"
        session["customer_details"] = details
        session.update(overrides)
        return session

    def charge_for(self, session_id: str, *, refunded: bool = False) -> dict[str, Any]:
        session = self.sessions[session_id]
        charge = fixture("charge")
        charge.update(id="ch_" + secrets.token_hex(12), amount=session["amount_total"],
                      amount_captured=session["amount_total"], captured=True, currency=session["currency"],
                      payment_intent=session["payment_intent"], refunded=refunded,
                      amount_refunded=session["amount_total"] if refunded else 0)
        self.charges[charge["id"]] = charge
        return charge

    def price_add(self, *, unit_amount: int | None, currency: str = "usd", **overrides: Any) -> dict[str, Any]:
        """A one-time Price in the account, as the dashboard would create it. `unit_amount=None` with
        `custom_unit_amount={...}` is a customer-chooses-price Price; with `billing_scheme="tiered"`, a tiered one:
        Stripe then has no fixed amount on the Price (`unit_amount` and `unit_amount_decimal` are null)."""
        price = fixture("price")
        price.update(id="price_" + secrets.token_hex(12), unit_amount=unit_amount,
                     unit_amount_decimal=None if unit_amount is None else str(unit_amount), currency=currency,
                     type="one_time", recurring=None, transform_quantity=None, custom_unit_amount=None,
                     created=int(time.time()))
        price.update(overrides)
        self.prices[price["id"]] = price
        return price

    def refund_direct(self, payment_intent: str) -> dict[str, Any]:
        """A full refund made outside our code (staff in Stripe's dashboard)."""
        status, refund = self._refund_create({"payment_intent": payment_intent})
        assert status == 200, refund
        return refund

    def requests_to(self, method: str, path_pattern: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and re.fullmatch(path_pattern, r.path)]

    # --- the API -----------------------------------------------------------------------------------------
    def _session_new(self, p: dict[str, str]) -> dict[str, Any]:
        session = fixture("checkout.session")
        session_id = "cs_test_" + secrets.token_hex(20)
        amount = int(p.get("line_items[0][price_data][unit_amount]", "997"))
        metadata = {k[len("metadata["):-1]: v for k, v in p.items() if k.startswith("metadata[")}
        session.update(
            id=session_id, object="checkout.session", mode=p.get("mode", "payment"),
            amount_subtotal=amount, amount_total=amount,
            currency=p.get("line_items[0][price_data][currency]", "usd"),
            customer_email=p.get("customer_email"), client_reference_id=p.get("client_reference_id"),
            metadata=metadata, success_url=p.get("success_url"), cancel_url=p.get("cancel_url"),
            allow_promotion_codes=p.get("allow_promotion_codes") == "true", created=int(time.time()),
            expires_at=int(time.time()) + 86400, status="open", payment_status="unpaid", payment_intent=None,
            customer_details=None, currency_conversion=None, livemode=False,
            total_details={"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            url=f"https://checkout.stripe.com/c/pay/{session_id}",
        )
        return session

    def _answer(self, method: str, path: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, Any]:
        """A scripted internal error (fail_next), or the API's answer. Called with the lock held."""
        if self.fail_remaining and (not self.fail_paths or re.fullmatch(self.fail_paths, path)):
            self.fail_remaining -= 1
            return self.fail_status, {"error": {"type": "api_error", "message": "An unknown error occurred"}}
        return self.handle(method, path, params, headers)

    def handle(self, method: str, path: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, Any]:
        if method == "POST" and path == "/v1/checkout/sessions":
            session = self._session_new(params)
            self.sessions[session["id"]] = session
            return 200, session
        match = re.fullmatch(r"/v1/checkout/sessions/([A-Za-z0-9_]+)", path)
        if method == "GET" and match:
            if match.group(1) not in self.sessions:
                return 404, _error(f"No such checkout.session: '{match.group(1)}'")
            return 200, self.sessions[match.group(1)]
        if method == "GET" and path == "/v1/checkout/sessions":
            gte = int(params.get("created[gte]", "0"))
            data = [s for s in self.sessions.values()
                    if s["created"] >= gte and (not params.get("status") or s["status"] == params["status"])]
            data.sort(key=lambda s: s["created"], reverse=True)
            return 200, {"object": "list", "data": data, "has_more": False, "url": "/v1/checkout/sessions"}
        match = re.fullmatch(r"/v1/charges/([A-Za-z0-9_]+)", path)
        if method == "GET" and match and match.group(1) in self.charges:
            return 200, self.charges[match.group(1)]
        match = re.fullmatch(r"/v1/prices/([A-Za-z0-9_]+)", path)
        if method == "GET" and match:
            if match.group(1) not in self.prices:
                return 404, _error(f"No such price: '{match.group(1)}'")
            return 200, self.prices[match.group(1)]
        if method == "POST" and path == "/v1/refunds":
            return self._refund_create(params)
        if method == "GET" and path == "/v1/refunds":
            data = [r for r in self.refunds.values()
                    if not params.get("payment_intent") or r["payment_intent"] == params["payment_intent"]]
            data.sort(key=lambda r: r["created"], reverse=True)
            limit = int(params.get("limit") or 10)
            return 200, {"object": "list", "data": data[:limit], "has_more": len(data) > limit, "url": "/v1/refunds"}
        return 404, _error(f"Unrecognized request URL ({method}: {path})")

    def _refund_create(self, p: dict[str, str]) -> tuple[int, Any]:
        """A full refund of a paid session's payment intent (what we ask for); Stripe refuses a second one."""
        intent = p.get("payment_intent", "")
        session = next((s for s in self.sessions.values() if s.get("payment_intent") == intent), None)
        if session is None:
            return 404, _error(f"No such payment_intent: '{intent}'")
        if any(r["payment_intent"] == intent for r in self.refunds.values()):
            error = _error(f"Charge for payment intent {intent} has already been refunded.")
            error["error"]["code"] = "charge_already_refunded"
            return 400, error
        refund = fixture("refund")
        refund.update(id="re_" + secrets.token_hex(12), amount=int(p.get("amount") or session["amount_total"]),
                      currency=session["currency"], payment_intent=intent, charge="ch_" + secrets.token_hex(12),
                      created=int(time.time()), reason=p.get("reason") or None, status="succeeded",
                      metadata={k[len("metadata["):-1]: v for k, v in p.items() if k.startswith("metadata[")})
        self.refunds[refund["id"]] = refund
        return 200, refund


def _idempotency_error(key: str) -> dict[str, Any]:
    return {"error": {"type": "idempotency_error", "message": (
        "Keys for idempotent requests can only be used with the same parameters they were first used with. "
        f"Try using a key other than '{key}' if you meant to execute a different request.")}}


def _transactions_open(dsn: str) -> list[str]:
    """Other sessions of this database that are inside a transaction and waiting (on us, or anyone)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid, state, left(query, 200) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state IN ('idle in transaction', 'idle in transaction (aborted)') "
            "AND pid <> pg_backend_pid()").fetchall()
    return [f"pid {pid} {state}: last query {query!r}" for pid, state, query in rows]


def _error(message: str) -> dict[str, Any]:
    return {"error": {"type": "invalid_request_error", "message": message}}


def _handler_for(fake: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; on a kept-alive connection (the client reuses one) Nagle's
        # algorithm would hold the body until the client's delayed ACK, ~40 ms per call that Stripe never adds.
        disable_nagle_algorithm = True

        def log_message(self, *args: Any) -> None:
            pass

        def _serve(self, method: str) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            params = dict(parse_qsl(body if method == "POST" else split.query, keep_blank_values=True))
            headers = {k.lower(): v for k, v in self.headers.items()}
            # Checked before answering: the caller is still waiting, exactly as it waits on the real Stripe.
            open_now = _transactions_open(fake.watch_dsn) if fake.watch_dsn else []
            with fake._lock:
                fake.requests.append(RecordedRequest(method, split.path, params, headers, open_now))
                key = headers.get("idempotency-key") if method == "POST" else None
                asked = (method, split.path, params)
                replayed = key is not None and key in fake._idempotent
                if key is not None and replayed:
                    first, status, payload = fake._idempotent[key]
                    if first != asked:  # Stripe refuses a key reused for another request, and stores nothing
                        status, payload = 400, _idempotency_error(key)
                        replayed = False
                else:
                    status, payload = fake._answer(method, split.path, params, headers)
                    if key is not None:
                        fake._idempotent[key] = (asked, status, copy.deepcopy(payload))
                stall = 0.0
                if fake.stall_remaining and (not fake.stall_paths or re.fullmatch(fake.stall_paths, split.path)):
                    fake.stall_remaining -= 1
                    stall = fake.stall_seconds
                data = json.dumps(payload).encode()
            if stall:
                time.sleep(stall)  # the work is done, the answer is late: exactly a client-side timeout
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", "req_" + secrets.token_hex(8))
                if replayed:
                    self.send_header("Idempotent-Replayed", "true")
                if status >= 500:
                    # As Stripe: retrying under the same key would only replay this answer.
                    self.send_header("Stripe-Should-Retry", "false")
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def do_GET(self) -> None:  # noqa: N802
            self._serve("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._serve("POST")

    return Handler


def fake_stripe_start() -> FakeStripe:
    fake = FakeStripe()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(fake))
    server.daemon_threads = True
    server.block_on_close = False  # a stalled handler must not hold up the next test
    fake._server = server
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return fake


def fake_stripe_stop(fake: FakeStripe) -> None:
    if fake._server is not None:
        fake._server.shutdown()
        fake._server.server_close()
