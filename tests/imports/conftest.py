"""An import's world: CSV files as a spreadsheet writes them, the leads already here (an unsubscriber, a complainer,
a bounced address, a subscriber), a staff user allowed to import and one who may only look."""

import csv
import io
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from leads.models import Lead

HEADER = ["Email", "First name", "Time zone", "Tags", "Consent date", "Consent source", "Consent IP"]


def csv_file(rows: list[list[str]], header: list[str] | None = None, *, delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header or HEADER)
    writer.writerows(rows)
    return out.getvalue().encode()


# Every kind of row: (line in the file, cells, outcome, words the report's detail holds).
EVERY_KIND = [
    (2, ["ann@example.com", "Ann", "Europe/Berlin", "webinar-may, vip", "2025-03-01", "webinar signup", "203.0.113.7"],
     "confirmed", ""),
    (3, ["bob@example.com", "Bob", "", "", "", "", ""], "pending", ""),
    (4, ["not-an-address", "Cy", "", "", "", "", ""], "invalid_address", "missing its @"),
    (5, ["dee@example", "Dee", "", "", "", "", ""], "invalid_address", "domain"),
    (6, ["Ann@Example.com", "Ann again", "", "", "", "", ""], "duplicate", "same mailbox"),
    (7, ["gone@example.com", "Gone", "", "", "", "", ""], "refused", "unsubscribed"),
    (8, ["angry@example.com", "Angry", "", "", "", "", ""], "refused", "complaint"),
    (9, ["an.gry@gmail.com", "Angry", "", "", "", "", ""], "refused", "complaint"),
    (10, ["bounced@example.com", "B", "", "", "", "", ""], "refused", "hard bounce"),
    (11, ["sue@example.com", "Sue", "", "", "", "", ""], "existing", "already a lead"),
    (12, ["zed@example.com", "Zed", "Mars/Olympus", "", "", "", ""], "invalid_value", "time zone"),
    (13, ["yan@example.com", "Yan", "", "Bad Tag!", "", "", ""], "invalid_value", "tag name"),
    (14, ["xia@example.com", "Xia", "", "", "yesterday", "", ""], "invalid_value", "consent date"),
    (15, ["wu@example.com", "Wu", "", "", "2025-01-01", "", "999.1.1.1"], "invalid_value", "IP"),
    (16, ["vic@example.com", "=SUM(A1:A3)", "", "", "", "", ""], "pending", ""),
]


def every_kind_file() -> bytes:
    return csv_file([cells for _, cells, _, _ in EVERY_KIND])


@pytest.fixture
def known_leads(db: None) -> dict[str, Lead]:
    """The leads already here that an import must leave alone."""
    return {
        "gone": Lead.objects.create(email="gone@example.com", status=Lead.Status.UNSUBSCRIBED),
        "angry": Lead.objects.create(email="angry@gmail.com", status=Lead.Status.SUBSCRIBED,
                                     suppression=Lead.Suppression.COMPLAINT, mailbox_sha256=_key("angry@gmail.com")),
        "complainer": Lead.objects.create(email="angry@example.com", status=Lead.Status.SUBSCRIBED,
                                          suppression=Lead.Suppression.COMPLAINT),
        "bounced": Lead.objects.create(email="bounced@example.com", status=Lead.Status.SUBSCRIBED,
                                       suppression=Lead.Suppression.HARD_BOUNCE),
        "sue": Lead.objects.create(email="sue@example.com", first_name="Sue", status=Lead.Status.SUBSCRIBED),
    }


def _key(email: str) -> str:
    from leads.mailbox import mailbox_sha256

    return mailbox_sha256(email)


def _staff(username: str, *codenames: str) -> User:
    user = User.objects.create_user(username, f"{username}@example.com", "pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="leads", codename__in=codenames))
    return user


@pytest.fixture
def importer(db: None) -> User:
    return _staff("ida", "import_leads", "view_leadimport", "view_lead")


@pytest.fixture
def viewer(db: None) -> User:
    return _staff("vera", "view_leadimport", "view_lead")


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def report(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))
