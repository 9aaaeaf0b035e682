"""Issue 12 H: the preferences link is in every email, so anyone an email was forwarded to holds it.

It still pauses, stops reminders and unsubscribes; a data download or an erasure asks for a fresh link, mailed to
the address at that moment, that works once and briefly (a state token, like Django's password-reset tokens).
"""

import json
import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from emails import dispatch
from leads.models import Lead
from tests.privacy.conftest import preferences_path

pytestmark = [pytest.mark.django_db]
LINK = re.compile(r"https://testserver(/privacy/[^/\s]+/(export|erase)/)")


@pytest.fixture
def reader(db: None) -> Lead:
    return Lead.objects.create(email="reader.h@example.org", first_name="Hedda", status=Lead.Status.SUBSCRIBED,
                               confirmed_at=timezone.now())


@pytest.fixture
def stranger() -> Client:
    """Whoever the reader forwarded an email to: they hold its preferences link, not the reader's inbox."""
    return Client(REMOTE_ADDR="203.0.113.50", HTTP_USER_AGENT="Mozilla/5.0 (forwarded)")


def _mailed_links(lead: Lead) -> list[tuple[str, str]]:
    """Send what is due, then the (path, action) of every privacy link mailed to the reader's own address."""
    dispatch.dispatch_due()
    return [(m.group(1), m.group(2)) for message in mail.outbox if message.to == [lead.email]
            for m in [LINK.search(str(message.body))] if m]


def test_the_preferences_link_alone_neither_downloads_nor_erases(stranger: Client, reader: Lead) -> None:
    download = stranger.post(preferences_path(reader, "export/"))
    assert download.status_code == 200 and b"We sent you a link" in download.content
    assert "Content-Disposition" not in download and b"reader.h@example.org" not in download.content
    erase = stranger.post(preferences_path(reader, "erase/"), {"confirm": "yes"})
    assert erase.status_code == 200 and b"We sent you a link" in erase.content
    reader.refresh_from_db()
    assert (reader.email, reader.status) == ("reader.h@example.org", Lead.Status.SUBSCRIBED)
    # Each request mailed a link to the reader's own address, and only there.
    assert sorted(action for _path, action in _mailed_links(reader)) == ["erase", "export"]
    assert {tuple(message.to) for message in mail.outbox} == {("reader.h@example.org",)}


def test_pause_stop_and_unsubscribe_still_work_on_the_preferences_link(stranger: Client, reader: Lead) -> None:
    assert stranger.post(preferences_path(reader), {"action": "pause"}).status_code == 302
    assert stranger.post(preferences_path(reader), {"action": "stop_reminders"}).status_code == 302
    assert stranger.post(preferences_path(reader), {"action": "unsubscribe"}).status_code == 302
    reader.refresh_from_db()
    assert reader.paused_until and reader.reminders_stopped_at and reader.status == Lead.Status.UNSUBSCRIBED


def test_the_mailed_download_link_works_once(stranger: Client, reader: Lead) -> None:
    stranger.post(preferences_path(reader, "export/"))
    [(path, _)] = _mailed_links(reader)
    owner = Client()
    assert b"Download my data" in owner.get(path).content  # a mail scanner's GET uses nothing up
    assert owner.head(path).status_code == 200
    download = owner.post(path)
    assert download["Content-Disposition"] == 'attachment; filename="pain-reset-my-data.json"'
    assert json.loads(download.content)["lead"]["email"] == "reader.h@example.org"
    again = owner.post(path)
    assert again.status_code == 400 and "Content-Disposition" not in again
    assert owner.get(path).status_code == 400


def test_the_mailed_erase_link_erases_once_and_a_download_link_cannot_erase(stranger: Client, reader: Lead) -> None:
    stranger.post(preferences_path(reader, "export/"))
    stranger.post(preferences_path(reader, "erase/"))
    links = dict((action, path) for path, action in _mailed_links(reader))
    owner = Client()
    # The download link's token on the erase page (and the other way round) is refused.
    export_token = links["export"].split("/")[2]
    assert owner.post(f"/privacy/{export_token}/erase/", {"confirm": "yes"}).status_code == 400
    assert owner.post(links["erase"].replace("/erase/", "/export/")).status_code == 400
    reader.refresh_from_db()
    assert reader.status == Lead.Status.SUBSCRIBED

    assert owner.post(links["erase"], {}).status_code == 400  # the box must be ticked; the link stays usable
    done = owner.post(links["erase"], {"confirm": "yes"})
    assert done.status_code == 200 and b"Your data has been erased" in done.content
    reader.refresh_from_db()
    assert (reader.email, reader.status) == (None, Lead.Status.ERASED)
    assert owner.post(links["erase"], {"confirm": "yes"}).status_code == 400
    assert owner.post(links["export"]).status_code == 400  # nothing left to download with the older link


def test_using_one_link_ends_every_earlier_one(stranger: Client, reader: Lead) -> None:
    with time_machine.travel(timezone.now(), tick=False) as clock:
        stranger.post(preferences_path(reader, "export/"))
        [(first, _)] = _mailed_links(reader)
        clock.shift(timedelta(minutes=2))
        stranger.post(preferences_path(reader, "export/"))
        [_, (second, _)] = _mailed_links(reader)
        assert first != second
        assert Client().post(second)["Content-Type"].startswith("application/json")
        assert Client().post(first).status_code == 400


def test_the_mailed_link_expires_within_the_hour(stranger: Client, reader: Lead) -> None:
    with time_machine.travel(timezone.now(), tick=False) as clock:
        stranger.post(preferences_path(reader, "export/"))
        [(path, _)] = _mailed_links(reader)
        clock.shift(timedelta(minutes=61))
        assert Client().post(path).status_code == 400
        # Asking again gives a link that works.
        mail.outbox.clear()
        stranger.post(preferences_path(reader, "export/"))
        [(fresh, _)] = _mailed_links(reader)
        assert Client().post(fresh)["Content-Type"].startswith("application/json")


def test_a_forwarded_link_cannot_flood_the_inbox(stranger: Client, reader: Lead) -> None:
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(6):
            assert b"We sent you a link" in stranger.post(preferences_path(reader, "export/")).content
        assert len(_mailed_links(reader)) == 3
        clock.shift(timedelta(minutes=61))
        stranger.post(preferences_path(reader, "erase/"))
        assert len(_mailed_links(reader)) == 4


def test_a_scanner_fetching_the_erase_page_does_not_mail_anything(stranger: Client, reader: Lead) -> None:
    page = stranger.get(preferences_path(reader, "erase/"))
    assert page.status_code == 200 and b"Email me the erase link" in page.content
    assert _mailed_links(reader) == []
