from pathlib import Path
from typing import Any

import pytest
from django.core.mail import EmailMultiAlternatives
from django.test import Client

from emails.backends import OutboxBackend


def _send(directory: Path) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives("Hello there", "plain body", "from@example.com", ["to@example.com"])
    message.attach_alternative("<p>html body</p>", "text/html")
    assert OutboxBackend(directory=str(directory)).send_messages([message]) == 1
    return message


def test_outbox_writes_one_eml_per_message_with_an_id(tmp_path: Path) -> None:
    message = _send(tmp_path)
    files = list(tmp_path.glob("*.eml"))
    assert len(files) == 1
    assert b"Subject: Hello there" in files[0].read_bytes()
    assert message.anymail_status.message_id in files[0].name  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_dev_outbox_lists_messages_in_debug(client: Client, settings: Any) -> None:
    settings.DEBUG = True
    _send(Path(settings.EMAIL_OUTBOX_DIR))
    listing = client.get("/dev/outbox/")
    assert listing.status_code == 200 and b"Hello there" in listing.content
    name = next(Path(settings.EMAIL_OUTBOX_DIR).glob("*.eml")).name
    detail = client.get(f"/dev/outbox/{name}")
    assert detail.status_code == 200 and b"plain body" in detail.content
    assert client.get("/dev/outbox/../settings.py").status_code == 404


@pytest.mark.django_db
def test_dev_outbox_is_404_without_debug(client: Client, settings: Any) -> None:
    settings.DEBUG = False
    assert client.get("/dev/outbox/").status_code == 404
