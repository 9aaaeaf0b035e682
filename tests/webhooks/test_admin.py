"""Staff with the change right send a delivery again and roll the secret; view-only staff see the endpoints and the
log and can press neither."""

from typing import Any

import pytest
from django.test import Client

from leads.models import Lead
from leads.services import lead_confirm
from webhooks.models import Delivery, DeliveryAttempt, Endpoint
from webhooks.sender import deliveries_send_due

from .conftest import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered(endpoint: Endpoint, receiver: Receiver, make_lead: Any) -> Delivery:
    lead_confirm(lead=make_lead(status=Lead.Status.PENDING))
    assert deliveries_send_due() == 1
    return Delivery.objects.get()


def test_send_again_from_the_admin_delivers_the_same_event_again(
        delivered: Delivery, receiver: Receiver, admin: Client) -> None:
    answer = admin.post(f"/admin/webhooks/delivery/{delivered.pk}/send-again/")
    assert answer.status_code == 302
    assert deliveries_send_due() == 1  # what the task queued on commit (or beat) does
    first, again = receiver.received
    assert again.signature_ok and again.event == first.event  # same id and body; a receiver de-duplicates
    assert [a.manual for a in DeliveryAttempt.objects.order_by("started_at", "pk")] == [False, True]
    page = admin.get(f"/admin/webhooks/delivery/{delivered.pk}/change/").content.decode()
    assert "<td>staff</td>" in page


def test_send_again_as_an_action_on_the_log(delivered: Delivery, receiver: Receiver, admin: Client) -> None:
    answer = admin.post("/admin/webhooks/delivery/", {"action": "send_again_selected",
                                                      "_selected_action": [str(delivered.pk)]})
    assert answer.status_code == 302
    assert deliveries_send_due() == 1 and len(receiver.received) == 2


def test_rolling_the_secret_shows_the_new_one_once_and_the_old_one_stops_verifying(
        endpoint: Endpoint, receiver: Receiver, admin: Client, make_lead: Any) -> None:
    old = receiver.secret
    page = admin.post(f"/admin/webhooks/endpoint/{endpoint.pk}/roll-secret/").content.decode()
    new = page.split('<code id="endpoint-secret">', 1)[1].split("<", 1)[0]
    assert new.startswith("whsec_") and new != old
    receiver.status = 200
    lead_confirm(lead=make_lead(status=Lead.Status.PENDING))
    deliveries_send_due()
    (got,) = receiver.received
    assert not got.signature_ok  # the receiver still holds the old secret: refused (400)
    assert receiver.verify(got.body, got.headers["Funnel-Signature"], new)
    assert new not in admin.get(f"/admin/webhooks/endpoint/{endpoint.pk}/change/").content.decode()


def test_view_only_staff_see_everything_and_can_press_nothing(
        delivered: Delivery, endpoint: Endpoint, receiver: Receiver, marketer: Any) -> None:
    viewer = Client()
    viewer.force_login(marketer)
    endpoint_page = viewer.get(f"/admin/webhooks/endpoint/{endpoint.pk}/change/")
    assert endpoint_page.status_code == 200
    html = endpoint_page.content.decode()
    assert 'id="delivery-log"' in html and 'id="roll-secret"' not in html and endpoint.secret not in html
    log = viewer.get(f"/admin/webhooks/delivery/?endpoint__id__exact={endpoint.pk}")
    assert log.status_code == 200 and "lead.confirmed" in log.content.decode()
    page = viewer.get(f"/admin/webhooks/delivery/{delivered.pk}/change/")
    assert page.status_code == 200 and 'id="send-again"' not in page.content.decode()

    assert viewer.post(f"/admin/webhooks/delivery/{delivered.pk}/send-again/").status_code == 403
    assert viewer.post(f"/admin/webhooks/endpoint/{endpoint.pk}/roll-secret/").status_code == 403
    viewer.post("/admin/webhooks/delivery/", {"action": "send_again_selected",
                                              "_selected_action": [str(delivered.pk)]})
    assert viewer.post("/admin/webhooks/endpoint/add/", {"url": "https://x.example/", "events": ["lead.confirmed"]}
                       ).status_code == 403
    assert deliveries_send_due() == 0 and len(receiver.received) == 1
    endpoint.refresh_from_db()
    assert endpoint.secret == receiver.secret
