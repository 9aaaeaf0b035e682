"""Handing a chunk of rendered messages to the ESP: one answer per message, in the messages' order.

The ESP's round trip, not our CPU, sets the pace when messages go one request at a time (17 emails/s at 50 ms per
request). So:
- Postmark: `/email/batch`, up to 500 messages per request, built on anymail's Postmark backend: its payload class
  turns each message into Postmark's JSON (Metadata, MessageStream, Headers, Tag…), its session keeps the
  connection alive, its error class carries the HTTP status the dispatcher classifies. Postmark answers with one
  result per message, in order.
- Any other backend that waits on the network (anymail's HTTP backends, SMTP): up to ESP_CONCURRENCY messages in
  flight at once, one backend connection per slot (kept alive by the backend itself).
- Backends that do not wait on anything (files, memory, discarding): one after another, as before.

Nothing here touches the database: the dispatcher records the answers (emails/dispatch.py).
"""

import email.utils
import logging
import smtplib
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urljoin

import requests
from anymail.backends.base_requests import AnymailRequestsBackend
from anymail.backends.postmark import EmailBackend as PostmarkBackend
from anymail.exceptions import AnymailAPIError
from anymail.message import AnymailRecipientStatus, AnymailStatus
from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend

logger = logging.getLogger(__name__)

SENT, INACTIVE, REFUSED, ERROR, NOT_TRIED = "sent", "inactive", "refused", "error", "not_tried"
# Postmark's per-message error codes in a batch answer (https://postmarkapp.com/developer/api/overview#error-codes).
POSTMARK_INVALID_REQUEST = 300
POSTMARK_INACTIVE_RECIPIENT = 406
POSTMARK_BATCH_LIMIT = 500


@dataclass(frozen=True)
class Answer:
    """What became of one message. kind: SENT (detail: the ESP's message id), INACTIVE (the ESP holds the address
    inactive after a hard bounce or complaint; detail: its words), REFUSED (the ESP refused this message; detail:
    why), ERROR (`error` says what; the dispatcher classifies it), NOT_TRIED (the connection failed first)."""

    kind: str
    detail: str = ""
    error: BaseException | None = None


class Sender(Protocol):
    batch_limit: int  # messages per ESP request
    overlaps: bool  # waits on the network: worth rendering the next batch while a request is in flight

    def open(self) -> None: ...
    def close(self) -> None: ...
    def send(self, messages: Sequence[Any]) -> list[Answer]: ...


def sender_for(backend: Any) -> Sender:
    """The fastest way this backend can take many messages."""
    # A subclass that changes how messages are sent (a scripted backend in a test) is honoured message by message.
    if isinstance(backend, PostmarkBackend) and type(backend).send_messages is PostmarkBackend.send_messages:
        return PostmarkBatchSender(backend)
    return PooledSender(backend, in_flight=in_flight_for(backend))


def in_flight_for(backend: Any) -> int:
    """Messages in flight at once: several for a backend that waits on the network, one for a local one (nothing to
    overlap, and their tests read the messages in order)."""
    waits_on_network = isinstance(backend, AnymailRequestsBackend | SMTPBackend)
    return max(1, settings.ESP_CONCURRENCY) if waits_on_network else 1


def connection_failed(exc: BaseException) -> bool:
    """The connection itself failed (not this message): the messages after it would fail the same way."""
    return classify_error(exc) != PERMANENT and not answered(exc)


def answered(exc: BaseException) -> bool:
    """The ESP answered (an HTTP status or an SMTP reply): the connection itself works."""
    if isinstance(exc, AnymailAPIError) and getattr(exc, "status_code", None) is not None:
        return True
    return isinstance(exc, smtplib.SMTPResponseException)


def retry_after_seconds(exc: BaseException) -> float | None:
    """The ESP's Retry-After on a 429 (seconds or an HTTP date), else None."""
    if not isinstance(exc, AnymailAPIError) or getattr(exc, "status_code", None) != 429:
        return None
    response = getattr(exc, "response", None)
    value = response.headers.get("Retry-After", "") if response is not None else ""
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def answer_for_sent_message(message: Any) -> Answer:
    """Read what a Django backend's send_messages left on the message (anymail's status), as one Answer."""
    status = getattr(message, "anymail_status", None)
    if status is not None and status.status and status.status <= {"rejected", "invalid"}:
        # Accepted by the API but refused for every recipient (e.g. an address the ESP knows bounced).
        return Answer(REFUSED, f"ESP refused the recipient: {', '.join(sorted(status.status))}")
    esp_id = getattr(status, "message_id", None) if status else None
    # Anymail gives a set of ids when recipients differ; we send to one address, so one id (or our Message-ID).
    if not isinstance(esp_id, str) or not esp_id:
        esp_id = message.extra_headers.get("Message-ID", "")
    return Answer(SENT, esp_id[:255])


# --- Classifying backend errors -------------------------------------------------------------------------------

TRANSIENT, PERMANENT, AMBIGUOUS = "transient", "permanent", "ambiguous"


def classify_error(exc: BaseException) -> str:
    """transient: nothing was accepted, try again later; permanent: the ESP refused it; ambiguous: it may
    have been accepted (a read timeout after the request went out), so it must not be resent blindly."""
    status = getattr(exc, "status_code", None) if isinstance(exc, AnymailAPIError) else None
    if status is not None:
        # The ESP answered: it did not take the message.
        return TRANSIENT if status >= 500 or status in (408, 429) else PERMANENT
    # Anymail's requests errors are also the original requests exception: tell "never connected" apart.
    if isinstance(exc, requests.ConnectTimeout):
        return TRANSIENT
    if isinstance(exc, requests.ConnectionError) and _refused_before_sending(exc):
        return TRANSIENT
    if isinstance(exc, requests.RequestException):
        return AMBIGUOUS
    if isinstance(exc, smtplib.SMTPResponseException):
        return TRANSIENT if 400 <= exc.smtp_code < 500 else PERMANENT
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return TRANSIENT if codes and all(400 <= c < 500 for c in codes) else PERMANENT
    if isinstance(exc, ConnectionRefusedError | smtplib.SMTPConnectError):
        return TRANSIENT
    if isinstance(exc, smtplib.SMTPServerDisconnected | TimeoutError | OSError):
        return AMBIGUOUS
    return PERMANENT


def _refused_before_sending(exc: BaseException) -> bool:
    """True when no connection was ever made (refused, DNS, connect timeout): the ESP cannot have the message."""
    import urllib3.exceptions as u3

    seen: BaseException | None = exc
    while seen is not None:  # anymail wraps the requests error; urllib3's reason is further down
        reason = getattr(seen.args[0], "reason", None) if seen.args else None
        if isinstance(reason, u3.NewConnectionError | u3.ConnectTimeoutError | u3.NameResolutionError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


# --- Any backend: several messages in flight ------------------------------------------------------------------

class PooledSender:
    batch_limit = 1

    def __init__(self, backend: Any, *, in_flight: int) -> None:
        self.first = backend
        self.in_flight = in_flight
        self.overlaps = in_flight > 1
        self.backends: list[Any] = []
        self.opening = threading.Lock()

    def open(self) -> None:
        self.first.open()
        self.backends = [self.first]

    def close(self) -> None:
        for backend in self.backends:
            try:
                backend.close()
            except Exception:  # noqa: BLE001 - the messages are already accepted or recorded
                logger.warning("closing the email backend failed", exc_info=True)
        self.backends = []

    def _backend(self, slot: int) -> Any:
        with self.opening:  # opened the first time a slot is needed, kept for the next chunks
            while len(self.backends) <= slot:
                backend = get_connection()
                backend.open()
                self.backends.append(backend)
            return self.backends[slot]

    def send(self, messages: Sequence[Any]) -> list[Answer]:
        answers: list[Answer] = [Answer(NOT_TRIED)] * len(messages)
        broken = threading.Event()  # a connection failed: the messages not yet taken wait for the next attempt
        queue = iter(range(len(messages)))
        lock = threading.Lock()

        def take() -> int | None:
            with lock:
                return None if broken.is_set() else next(queue, None)

        def work(slot: int) -> None:
            while (n := take()) is not None:
                try:
                    backend = self._backend(slot)
                except Exception as exc:  # noqa: BLE001 - cannot connect: nothing left us
                    answers[n] = Answer(ERROR, error=exc)
                    broken.set()
                    return
                answers[n] = self._send_one(backend, messages[n])
                if answers[n].kind == ERROR and connection_failed(answers[n].error):  # type: ignore[arg-type]
                    broken.set()

        slots = min(self.in_flight, len(messages))
        if slots <= 1:
            work(0)
        else:
            with ThreadPoolExecutor(max_workers=slots) as pool:
                list(pool.map(work, range(slots)))
        return answers

    @staticmethod
    def _send_one(backend: Any, message: Any) -> Answer:
        try:
            if backend.send_messages([message]) != 1:
                raise smtplib.SMTPException("the backend reported the message as not sent")
        except Exception as exc:  # noqa: BLE001 - classified by the dispatcher, per message
            return Answer(ERROR, error=exc)
        return answer_for_sent_message(message)


# --- Postmark: /email/batch --------------------------------------------------------------------------------------

class _BatchRequest:
    """What anymail's post_to_esp needs from a payload, for a list of Postmark payloads sent as one batch."""

    def __init__(self, payloads: list[Any]) -> None:
        self.payloads = payloads

    def get_request_params(self, api_url: str) -> dict[str, Any]:
        first = self.payloads[0]
        return {"method": "POST", "url": urljoin(api_url, "email/batch"),
                "data": first.serialize_json([payload.data for payload in self.payloads]),
                "headers": {**first.headers, "X-Postmark-Server-Token": first.server_token}}


class PostmarkBatchSender:
    batch_limit = POSTMARK_BATCH_LIMIT
    overlaps = True

    def __init__(self, backend: PostmarkBackend) -> None:
        self.backend = backend

    def open(self) -> None:
        self.backend.open()

    def close(self) -> None:
        try:
            self.backend.close()
        except Exception:  # noqa: BLE001 - the messages are already accepted or recorded
            logger.warning("closing the email backend failed", exc_info=True)

    def send(self, messages: Sequence[Any]) -> list[Answer]:
        answers: list[Answer] = []
        batches = iter(_batched(list(messages), self.batch_limit))
        for batch in batches:
            answers += self._send_batch(batch)
            if any(a.kind == ERROR and connection_failed(a.error)  # type: ignore[arg-type]
                   for a in answers[-len(batch):]):
                # The connection failed: the later batches never left us.
                answers += [Answer(NOT_TRIED) for rest in batches for _ in rest]
        return answers

    def _send_batch(self, messages: list[Any]) -> list[Answer]:
        answers: dict[int, Answer] = {}
        payloads: list[tuple[int, Any]] = []
        for n, message in enumerate(messages):
            message.anymail_status = AnymailStatus()
            if not self.backend.run_pre_send(message):
                answers[n] = Answer(REFUSED, "cancelled by a pre_send handler")
                continue
            try:
                payloads.append((n, self.backend.build_message_payload(message, self.backend.send_defaults)))
            except Exception as exc:  # noqa: BLE001 - one message anymail cannot express must not stop the batch
                answers[n] = Answer(ERROR, error=exc)
        if payloads:
            for (n, _), answer in zip(payloads, self._post(messages, payloads), strict=True):
                answers[n] = answer
        return [answers[n] for n in range(len(messages))]

    def _post(self, messages: list[Any], payloads: list[tuple[int, Any]]) -> list[Answer]:
        request = _BatchRequest([payload for _, payload in payloads])
        first_message = messages[payloads[0][0]]
        try:
            response = self.backend.post_to_esp(request, first_message)
            results = response.json()
            if not isinstance(results, list) or len(results) != len(payloads):
                raise ValueError(f"expected {len(payloads)} results, got {type(results).__name__}")
        except AnymailAPIError as exc:
            return [Answer(ERROR, error=exc)] * len(payloads)
        except ValueError as exc:
            # The ESP answered 2xx with something we cannot read: it may have taken them all.
            unreadable = requests.RequestException(f"unreadable Postmark batch answer: {exc}")
            return [Answer(ERROR, error=unreadable)] * len(payloads)
        return [self._answer(messages[n], payload, result) for (n, payload), result in zip(payloads, results,
                                                                                          strict=True)]

    def _answer(self, message: Any, payload: Any, result: Any) -> Answer:
        code = result.get("ErrorCode", 0) if isinstance(result, dict) else -1
        text = str(result.get("Message", "")) if isinstance(result, dict) else repr(result)
        to = [recipient.addr_spec for recipient in payload.to_emails]
        if code == 0 and result.get("MessageID"):
            esp_id = str(result["MessageID"])
            message.anymail_status.set_recipient_status(
                {addr: AnymailRecipientStatus(message_id=esp_id, status="sent") for addr in to})
            self.backend.run_post_send(message)
            return Answer(SENT, esp_id[:255])
        status = "rejected" if code == POSTMARK_INACTIVE_RECIPIENT else "invalid"
        message.anymail_status.set_recipient_status(
            {addr: AnymailRecipientStatus(message_id=None, status=status) for addr in to})
        self.backend.run_post_send(message)
        if code == POSTMARK_INACTIVE_RECIPIENT:
            return Answer(INACTIVE, f"Postmark 406: {text}"[:2000])
        return Answer(REFUSED, f"Postmark ErrorCode {code}: {text}"[:2000])


def _batched(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]

