"""With WEBHOOKS_ALLOW_PRIVATE off (production's default), no delivery reaches a loopback, private or link-local
address: not by IP, not by a name that resolves there, not through a redirect; the admin refuses such URLs too."""

import os
import subprocess
import sys
from typing import Any

import pytest
from django.test import Client

from leads.models import Lead
from leads.services import lead_confirm
from tests.conftest import ROOT
from webhooks.models import Delivery, DeliveryAttempt, Endpoint
from webhooks.sender import deliveries_send_due
from webhooks.transport import address_problem

from .conftest import Receiver, endpoint_through_admin

pytestmark = pytest.mark.django_db


@pytest.fixture
def guarded(settings: Any) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE = False


@pytest.mark.parametrize(("url", "why"), [
    ("http://127.0.0.1:{port}/hooks", "a loopback address"),
    ("http://localhost:{port}/hooks", "a loopback address"),  # a name that resolves to loopback
    ("http://[::1]:{port}/hooks", "a loopback address"),
    ("http://[::ffff:127.0.0.1]:{port}/hooks", "a loopback address"),
    ("http://10.20.30.40/hooks", "a private address"),
    ("http://192.168.1.1/hooks", "a private address"),
    ("https://172.16.0.5/hooks", "a private address"),
    ("http://169.254.169.254/latest/meta-data/", "a link-local address"),  # the cloud metadata service
    ("http://[fe80::1]/hooks", "a link-local address"),
    ("http://0.0.0.0:{port}/hooks", "this host's unspecified address"),
    ("http://100.64.0.1/hooks", "not a public address"),  # carrier-grade NAT
])
def test_a_delivery_to_a_non_public_address_is_refused(
        guarded: None, receiver: Receiver, make_lead: Any, url: str, why: str) -> None:
    Endpoint.objects.create(url=url.format(port=receiver.port), events=["lead.confirmed"], secret="whsec_x")
    lead_confirm(lead=make_lead(status=Lead.Status.PENDING))

    assert deliveries_send_due() == 1
    attempt = DeliveryAttempt.objects.get()
    assert attempt.error.startswith("refused: ") and attempt.error.endswith(why), attempt.error
    assert attempt.status_code is None and not attempt.succeeded
    assert receiver.received == []  # nothing reached the loopback receiver
    assert Delivery.objects.get().status == Delivery.Status.PENDING  # tried again later (DNS may change back)


def test_a_redirect_is_never_followed(receiver: Receiver, admin: Client, make_lead: Any) -> None:
    """Even where private addresses are allowed (tests, development), the receiver's 302 to another address (here
    another loopback server, standing for an internal service) is not followed: no hop goes unchecked."""
    inside = Receiver().start()
    try:
        _, receiver.secret = endpoint_through_admin(admin, receiver.url, ["lead.confirmed"])
        receiver.redirect_to = inside.url
        lead_confirm(lead=make_lead(status=Lead.Status.PENDING))
        assert deliveries_send_due() == 1
        assert len(receiver.received) == 1 and inside.received == []
        attempt = DeliveryAttempt.objects.get()
        assert attempt.status_code == 302 and not attempt.succeeded
        assert attempt.error == f"redirect to {inside.url} not followed"
    finally:
        inside.stop()


def test_the_request_goes_to_the_resolved_address_with_the_host_name_kept(
        receiver: Receiver, admin: Client, make_lead: Any) -> None:
    url = f"http://localhost:{receiver.port}/hooks/funnel"
    _, receiver.secret = endpoint_through_admin(admin, url, ["lead.confirmed"])
    lead_confirm(lead=make_lead(status=Lead.Status.PENDING))
    assert deliveries_send_due() == 1
    (got,) = receiver.received
    assert got.headers["Host"] == f"localhost:{receiver.port}" and got.signature_ok


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/x", "http://localhost/x", "http://169.254.169.254/",
                                 "http://10.0.0.1/x", "ftp://example.com/x"])
def test_the_admin_refuses_such_a_url(guarded: None, admin: Client, url: str) -> None:
    page = admin.post("/admin/webhooks/endpoint/add/", {"url": url, "events": ["lead.confirmed"]})
    html = page.content.decode()
    assert page.status_code == 200 and ("cannot receive webhooks" in html or "Enter a valid URL" in html)
    assert not Endpoint.objects.exists()


def test_public_addresses_pass_the_check() -> None:
    assert address_problem("93.184.215.14") == "" and address_problem("2606:4700::6810:84e5") == ""


def test_with_debug_off_private_addresses_are_refused_by_default() -> None:
    env = {**os.environ, "DEBUG": "false", "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("WEBHOOKS_ALLOW_PRIVATE", None)
    out = subprocess.run([sys.executable, "-c", "from django.conf import settings; "
                          "print(settings.WEBHOOKS_ALLOW_PRIVATE)"], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "False"
