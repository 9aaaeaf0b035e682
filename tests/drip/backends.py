"""Email backends for fault tests: they accept, record which row each message was for, and can be slow."""

import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from anymail.message import AnymailRecipientStatus, AnymailStatus
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

RECORDED: list[str] = []
SENDER_THREADS: set[int] = set()
_lock = threading.Lock()


def _accept(message: EmailMessage) -> str:
    row_id = message.metadata["row_id"]  # type: ignore[attr-defined]
    status = AnymailStatus()
    status.set_recipient_status({r: AnymailRecipientStatus(message_id=f"rec-{row_id}", status="sent")
                                 for r in message.recipients()})
    message.anymail_status = status  # type: ignore[attr-defined]
    return str(row_id)


class RecordingBackend(BaseEmailBackend):
    """In memory, thread-safe; `delay` seconds per message widens race windows between dispatchers."""

    delay = 0.0

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            if self.delay:
                time.sleep(self.delay)
            with _lock:
                RECORDED.append(_accept(message))
                SENDER_THREADS.add(threading.get_ident())
        return len(email_messages)


class SlowFileBackend(BaseEmailBackend):
    """For a worker in another process: appends each accepted row id to $SLOW_BACKEND_FILE (fsync'd, so a
    SIGKILL cannot lose an acceptance), after $SLOW_BACKEND_DELAY seconds."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        path = Path(os.environ["SLOW_BACKEND_FILE"])
        for message in email_messages:
            time.sleep(float(os.environ.get("SLOW_BACKEND_DELAY", "0.2")))
            row_id = _accept(message)
            with path.open("a") as f:
                f.write(row_id + "\n")
                f.flush()
                os.fsync(f.fileno())
        return len(email_messages)


def read_lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def reset() -> None:
    with _lock:
        RECORDED.clear()
        SENDER_THREADS.clear()



