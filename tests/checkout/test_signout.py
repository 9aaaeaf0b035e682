"""Sign out ends this browser's session only, and only through a form (POST with a CSRF token)."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.guide.helpers import make_lead, sign_in

pytestmark = pytest.mark.django_db


def test_sign_out_ends_this_browser_only() -> None:
    buyer = make_lead(buyer=True)
    here, elsewhere = Client(), Client()
    sign_in(here, buyer)
    sign_in(elsewhere, buyer)
    app = here.get(reverse("app"))
    assert app.status_code == 200 and b"Sign out" in app.content

    response = here.post(reverse("signout"))
    assert response.status_code == 302 and response["Location"] == reverse("landing")
    assert b"Sign out" not in here.get(reverse("app")).content  # back to the preview with "Sign in"
    assert b"Sign out" in elsewhere.get(reverse("app")).content


def test_a_link_cannot_sign_anyone_out() -> None:
    buyer = make_lead(buyer=True)
    client = Client(enforce_csrf_checks=True)
    sign_in(client, buyer)
    assert client.get(reverse("signout")).status_code == 405
    assert client.post(reverse("signout")).status_code == 403  # no CSRF token: another site's form
    assert b"Sign out" in client.get(reverse("app")).content
