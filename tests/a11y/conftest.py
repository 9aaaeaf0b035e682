"""A small world for visiting every page as its reader would: a reader with a long address and a preferences link,
a buyer signed in with a few logged sessions, a staff member on a seeded dashboard, and an editor of the email copy
with two published versions of the day-3 email (so the history has something to compare)."""

import io
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.test import Client

from emails.content.models import EmailCopy
from emails.content.services import copy_publish
from emails.content.text import CopyText
from funnel.models import PracticeSession
from funnel.practice.selectors import lead_today
from leads import tokens
from leads.models import Lead
from tests.editor.conftest import EDITOR_PERMISSIONS, STEP, published
from tests.guide.helpers import browser_session_cookie, make_lead

LONG_ADDRESS = "thirtycharacterlongname@ex.com"  # one word to a browser: it wraps nowhere on its own
assert len(LONG_ADDRESS) == 30


@pytest.fixture(autouse=True)
def _no_rate_limit_on_loopback(settings: Any) -> None:
    # Every browser request comes from 127.0.0.1; the limit itself is tested in tests/signup.
    settings.SIGNUP_RATE_LIMIT = "100000/h"


@pytest.fixture
def reader() -> Lead:
    return make_lead(email=LONG_ADDRESS, first_name="Ana", time_zone="Europe/Berlin")


@pytest.fixture
def preferences_path(reader: Lead) -> str:
    return f"/preferences/{tokens.sign('preferences', {'lead': reader.pk})}/"


@pytest.fixture
def buyer_cookie(live_server: Any) -> dict[str, Any]:
    buyer = make_lead(buyer=True, time_zone="America/New_York")
    today = lead_today(buyer)
    for back, (before, after) in ((1, (7, 5)), (2, (6, 4)), (4, (8, 5))):
        PracticeSession.objects.create(lead=buyer, local_date=today - timedelta(days=back), areas=["low-back"],
                                       pain_before=before, pain_after=after)
    return browser_session_cookie(buyer, live_server.url)


@pytest.fixture
def staff_cookie(live_server: Any) -> dict[str, Any]:
    """A superuser's session, on a dashboard with a few hundred demo readers (its tables at their widest)."""
    call_command("seed_demo", "--leads", "300", "--force", stdout=io.StringIO(), stderr=io.StringIO())
    return _session_cookie(User.objects.create_superuser("staff", "staff@example.com", "not-used"), live_server.url)


@pytest.fixture
def editor_cookie(live_server: Any) -> dict[str, Any]:
    """An editor's session (not a superuser: the permissions the copy editor asks for), two versions of day-3."""
    first = published(STEP)
    copy_publish(step=STEP, text=CopyText(first.subject + ", gently", first.preheader, first.body),
                 origin=EmailCopy.Origin.EDITOR)
    editor = User.objects.create_user("eddie", "eddie@example.com", "not-used", is_staff=True)
    editor.user_permissions.set(Permission.objects.filter(content_type__app_label="emails",
                                                          codename__in=EDITOR_PERMISSIONS))
    return _session_cookie(editor, live_server.url)


def _session_cookie(user: User, url: str) -> dict[str, Any]:
    client = Client()
    client.force_login(user)
    return {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
            "url": url}
