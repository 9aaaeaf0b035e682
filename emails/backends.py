"""The development email backend: one `.eml` file per message under `var/outbox/`.

It reports a message id the way anymail's ESP backends do (`message.anymail_status`), so the dispatcher
treats it like any ESP.
"""

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from anymail.message import AnymailRecipientStatus, AnymailStatus
from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone


class OutboxBackend(BaseEmailBackend):
    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.directory = Path(kwargs.get("directory") or settings.EMAIL_OUTBOX_DIR)

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            message_id = f"outbox-{uuid.uuid4().hex}"
            stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
            path = self.directory / f"{stamp}-{message_id}.eml"
            tmp = path.with_suffix(".tmp")
            mime = message.message()
            # What an ESP would file the message under (anymail's tags: the email's step), so the outbox and a
            # script reading it can tell a confirmation from a reminder without parsing the copy.
            for tag in getattr(message, "tags", None) or []:
                mime["X-Outbox-Tag"] = tag
            tmp.write_bytes(mime.as_bytes(linesep="\r\n"))
            tmp.rename(path)  # readers never see half a message
            status = AnymailStatus()
            status.set_recipient_status(
                {r: AnymailRecipientStatus(message_id=message_id, status="sent") for r in message.recipients()}
            )
            message.anymail_status = status  # type: ignore[attr-defined]
            sent += 1
        return sent
