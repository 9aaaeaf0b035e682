"""An email backend that accepts and discards: it still builds the MIME bytes, as any real backend must."""

import uuid
from collections.abc import Sequence
from typing import Any

from anymail.backends.postmark import EmailBackend as PostmarkBackend
from anymail.message import AnymailRecipientStatus, AnymailStatus
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend


class DiscardBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            message.message().as_bytes(linesep="\r\n")  # the work an SMTP or HTTP backend cannot skip
            status = AnymailStatus()
            message_id = uuid.uuid4().hex
            status.set_recipient_status({r: AnymailRecipientStatus(message_id=message_id, status="sent")
                                         for r in message.recipients()})
            message.anymail_status = status  # type: ignore[attr-defined]
        return len(email_messages)


def mime_bytes(message: Any) -> bytes:
    return bytes(message.message().as_bytes(linesep="\r\n"))


class PostmarkOneByOne(PostmarkBackend):
    """anymail's Postmark backend, unchanged but for its name: the dispatcher sends through it one message per
    request (as before batches), so the benchmark can compare the two in one run."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        return int(super().send_messages(email_messages))
