"""The copy editor's world: a published day-3 email, an editor who may publish, a second editor, and a member of
the view-only "marketing" group."""

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from emails.content.models import EmailCopy
from emails.content.services import copy_publish
from emails.content.text import CopyText

STEP = "day-3"
BODY = ("Good morning{{ if first_name }}, {{ first_name }}{{ end }}.\n\n"
        "Day {{ day_number }} of the plan: the same three steps, in the same order.\n")


def published(step: str = STEP) -> EmailCopy:
    """The step's current version: the shipped one when migrate loaded the files, else one made here."""
    current = EmailCopy.objects.filter(step=step).order_by("-version").first()
    if current is None:
        current = copy_publish(step=step, text=CopyText("Day 3: same steps, same order", "Ten minutes today.", BODY),
                               origin=EmailCopy.Origin.SHIPPED)
    return current


@pytest.fixture
def day3(db: None) -> EmailCopy:
    return published()


def _staff(username: str, *codenames: str) -> User:
    user = User.objects.create_user(username, f"{username}@example.com", "pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="emails", codename__in=codenames))
    return user


EDITOR_PERMISSIONS = ("view_emailcopy", "add_emailcopy", "change_emaildraft", "view_scheduledemail",
                      "change_scheduledemail")


@pytest.fixture
def editor(db: None) -> User:
    return _staff("eddie", *EDITOR_PERMISSIONS)


@pytest.fixture
def second_editor(db: None) -> User:
    return _staff("sasha", *EDITOR_PERMISSIONS)



def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form_data(text: CopyText, revision: int, **extra: Any) -> dict[str, Any]:
    data = {"subject": text.subject, "preheader": text.preheader, "body": text.body, "revision": str(revision),
            **extra}
    if text.allow_external_links:
        data["allow_external_links"] = "on"
    return data
