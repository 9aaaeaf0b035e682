"""A local stand-in for Postmark's HTTP API: real HTTP, real anymail backend, scripted answers."""

import json
import threading
import time
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class FakePostmark:
    def __init__(self) -> None:
        self.script: deque[tuple[int, dict[str, Any]] | str] = deque()
        self.received: list[dict[str, Any]] = []
        self.accepted: list[dict[str, Any]] = []
        # The Bounce API: bounce ids reactivated (with the server token each call carried), and scripted answers
        # for it like `script` (an error status, or "hang").
        self.activated: list[tuple[str, str]] = []
        self.activate_script: deque[tuple[int, dict[str, Any]] | str] = deque()
        # Addresses Postmark holds inactive (a hard bounce or a complaint): refused with ErrorCode 406, per message.
        self.inactive: set[str] = set()
        # Addresses whose message Postmark refuses as invalid (ErrorCode 300), with its words.
        self.invalid: dict[str, str] = {}
        self.delay = 0.0  # seconds each API request takes, as a round trip over the internet would
        # Seconds before an accepted message shows in the Outbound Messages search (Postmark indexes with a delay).
        self.index_delay = 0.0
        self.indexed_at: dict[str, float] = {}  # MessageID -> time.monotonic() it becomes searchable
        self.searches = 0
        self.hang_seconds = 10.0
        self.arrivals: list[float] = []  # time.monotonic() each accepted message arrived
        self.requests = 0
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as Postmark's API
            # One write per answer, sent at once: headers and body in separate segments would meet the client's
            # delayed ACK on a kept-alive connection and add 40 ms to every request.
            wbufsize = 1 << 16
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                batch = self.path.rstrip("/").endswith("/email/batch")
                messages = body if batch else [body]
                with fake.lock:
                    fake.requests += 1
                    fake.received.extend(messages)
                    answer = fake.script.popleft() if fake.script else (200, {})
                if fake.delay:
                    time.sleep(fake.delay)
                if answer == "hang":
                    time.sleep(2)  # longer than the client's timeout: the request went out, no answer came
                    answer = (200, {})
                if answer == "take, then hang":
                    # Postmark has every message; the answer comes only after the sender is long gone.
                    for message in messages:
                        fake.take(message, {})
                    time.sleep(fake.hang_seconds)
                    return
                status, extra = answer  # type: ignore[misc]
                if status != 200:
                    headers = {"Retry-After": str(extra["RetryAfter"])} if "RetryAfter" in extra else {}
                    self._answer(status, {"ErrorCode": extra.get("ErrorCode", 0),
                                          "Message": extra.get("Message", "error")}, headers)
                    return
                results = [fake.take(message, extra) for message in messages]
                self._answer(200, results if batch else results[0])

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                # GET /messages/outbound?count=&offset=&recipient=&metadata_<key>=: Postmark's Outbound Messages
                # search, answered in its shape ({"TotalCount", "Messages": [...]}, newest first).
                url = urlsplit(self.path)
                if url.path.rstrip("/") != "/messages/outbound":
                    self._answer(404, {"ErrorCode": 0, "Message": "Not found"})
                    return
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if "count" not in query or "offset" not in query:
                    self._answer(422, {"ErrorCode": 1, "Message": "The 'count' and 'offset' parameters are required"})
                    return
                with fake.lock:
                    fake.searches += 1
                    found = [m for m in fake.accepted if fake.searchable(m, query)]
                found.reverse()
                offset, count = int(query["offset"]), int(query["count"])
                self._answer(200, {"TotalCount": len(found),
                                   "Messages": [fake.summary(m) for m in found[offset:offset + count]]})

            def do_PUT(self) -> None:  # noqa: N802 - http.server's naming
                # PUT /bounces/{bounceid}/activate: Postmark answers {"Message": "OK", "Bounce": {...}} with the
                # bounce as its Bounce API describes it, now Inactive: false.
                parts = self.path.strip("/").split("/")
                if len(parts) != 3 or parts[0] != "bounces" or parts[2] != "activate" or not parts[1].isdigit():
                    self._answer(404, {"ErrorCode": 0, "Message": "Not found"})
                    return
                answer = fake.activate_script.popleft() if fake.activate_script else (200, {})
                if answer == "hang":
                    time.sleep(2)
                    answer = (200, {})
                status, extra = answer  # type: ignore[misc]
                if status != 200:
                    self._answer(status, {"ErrorCode": extra.get("ErrorCode", 0), "Message": extra.get("Message", "")})
                    return
                fake.activated.append((parts[1], self.headers.get("X-Postmark-Server-Token", "")))
                self._answer(200, {"Message": "OK", "Bounce": {
                    "RecordType": "Bounce", "ID": int(parts[1]), "Type": "HardBounce", "TypeCode": 1,
                    "Name": "Hard bounce", "Tag": "", "MessageID": str(uuid.uuid4()), "ServerID": 23,
                    "MessageStream": "outbound", "Description": "The server was unable to deliver your message",
                    "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist",
                    "Email": "reader@example.com", "From": "sender@example.com",
                    "BouncedAt": "2026-03-05T14:00:00Z", "DumpAvailable": False, "Inactive": False,
                    "CanActivate": True, "Subject": "Your receipt", **extra}})

            def _answer(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        class QuietServer(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # the "hang" answer meets a client that already gave up: expected

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def take(self, message: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
        """Postmark's answer for one message of a request that was let through."""
        if message["To"].lower() in self.inactive:
            return {"ErrorCode": 406, "Message": "You tried to send to recipient(s) that have been marked as "
                    f"inactive. Found inactive addresses: {message['To'].lower()}. Inactive recipients are ones "
                    "that have generated a hard bounce, a spam complaint, or a manual suppression."}
        if message["To"].lower() in self.invalid:
            return {"ErrorCode": 300, "Message": self.invalid[message["To"].lower()]}
        result = {"To": message["To"], "SubmittedAt": "2026-03-05T14:00:00Z", "MessageID": str(uuid.uuid4()),
                  "ErrorCode": 0, "Message": "OK", **extra}
        with self.lock:
            self.accepted.append({**message, "MessageID": result["MessageID"]})
            self.arrivals.append(time.monotonic())
            self.indexed_at[result["MessageID"]] = time.monotonic() + self.index_delay
        return result

    def searchable(self, message: dict[str, Any], query: dict[str, str]) -> bool:
        if time.monotonic() < self.indexed_at.get(message["MessageID"], 0.0):
            return False
        if "recipient" in query and query["recipient"].lower() not in message["To"].lower():
            return False
        metadata = message.get("Metadata") or {}
        return all(str(metadata.get(key.removeprefix("metadata_"))) == value
                   for key, value in query.items() if key.startswith("metadata_"))

    @staticmethod
    def summary(message: dict[str, Any]) -> dict[str, Any]:
        """One message as the Outbound Messages search lists it."""
        return {"Tag": message.get("Tag", ""), "MessageID": message["MessageID"],
                "MessageStream": message.get("MessageStream", "outbound"),
                "To": [{"Email": message["To"], "Name": None}], "Cc": [], "Bcc": [], "Recipients": [message["To"]],
                "ReceivedAt": "2026-03-05T09:00:00-05:00", "From": message.get("From", ""),
                "Subject": message.get("Subject", ""), "Attachments": [], "Status": "Sent",
                "TrackOpens": bool(message.get("TrackOpens", False)), "TrackLinks": message.get("TrackLinks", "None"),
                "Metadata": message.get("Metadata") or {}, "Sandboxed": False}

    def __enter__(self) -> "FakePostmark":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def point_anymail_at(settings: Any, fake: FakePostmark) -> None:
    """Send through anymail's real Postmark backend, to the fake instead of Postmark's API."""
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {**settings.ANYMAIL, "POSTMARK_SERVER_TOKEN": "test-token",
                        "POSTMARK_API_URL": fake.url, "REQUESTS_TIMEOUT": 0.5}
