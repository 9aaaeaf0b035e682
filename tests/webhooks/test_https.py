"""An https receiver: the request goes to the address resolved and checked once, while TLS still names the host
(SNI) and the certificate is verified against that name."""

from pathlib import Path
from typing import Any

import pytest
import trustme
from django.test import Client

from leads.models import Lead
from leads.services import lead_confirm
from webhooks.models import DeliveryAttempt
from webhooks.sender import deliveries_send_due

from .conftest import Receiver, endpoint_through_admin

pytestmark = pytest.mark.django_db


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_receiver(ca: trustme.CA) -> Any:
    r = Receiver(tls=ca.issue_cert("localhost")).start()
    yield r
    r.stop()


def _deliver(admin: Client, receiver: Receiver, make_lead: Any) -> DeliveryAttempt:
    url = f"https://localhost:{receiver.port}/hooks/funnel"
    _, receiver.secret = endpoint_through_admin(admin, url, ["lead.confirmed"])
    lead_confirm(lead=make_lead(status=Lead.Status.PENDING))
    assert deliveries_send_due() == 1
    return DeliveryAttempt.objects.get()


def test_tls_names_the_host_and_the_certificate_is_checked(
        tls_receiver: Receiver, ca: trustme.CA, admin: Client, make_lead: Any, settings: Any,
        tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    settings.WEBHOOKS_CA_BUNDLE = str(bundle)

    attempt = _deliver(admin, tls_receiver, make_lead)

    assert attempt.succeeded, attempt.error
    (got,) = tls_receiver.received
    assert got.signature_ok and got.headers["Host"] == f"localhost:{tls_receiver.port}"
    assert tls_receiver.sni == ["localhost"]


def test_a_certificate_from_an_unknown_authority_is_refused(
        tls_receiver: Receiver, admin: Client, make_lead: Any) -> None:
    attempt = _deliver(admin, tls_receiver, make_lead)  # certifi's bundle does not know the test CA

    assert not attempt.succeeded and attempt.status_code is None
    assert "CERTIFICATE_VERIFY_FAILED" in attempt.error, attempt.error
    assert tls_receiver.received == [] and tls_receiver.sni == ["localhost"]
