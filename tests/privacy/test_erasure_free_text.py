"""Issue 12 I: erasure left the address in utm_content, the first name in utm_term, and names inside ESP bounce text.

Landing URLs, ad tags and an ESP's messages are free text other people (and the person) wrote: after an erasure,
no column of any table may still hold the address or the first name, rollups included.
"""

from datetime import UTC

import pytest
from anymail.signals import AnymailTrackingEvent
from django.test import Client
from django.utils import timezone

from emails.models import EmailEvent
from emails.tracking import email_event_record
from funnel.dashboard.services import rollup_rebuild
from funnel.models import EmailDayCount
from leads.models import Lead
from tests.privacy.conftest import Person, mailed_privacy_link
from tests.privacy.test_erasure import _address_regex, _places_holding

# PostgreSQL: the search for every copy of an address reads each text column with its regex operator (~).
pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def tagged_ann(ann: Person) -> Person:
    """Ann as she arrived from an ad tagged with her own name and address (a mail merge in a newsletter link),
    with an ESP message about an untracked send that names her."""
    Lead.objects.filter(pk=ann.lead.pk).update(
        utm_source="newsletter", utm_medium=f"mail-{ann.first_name}", utm_campaign=f"spring_{ann.first_name.lower()}",
        utm_term=ann.first_name, utm_content=ann.email)
    email_event_record(esp_name="test", event=AnymailTrackingEvent(
        event_type="bounced", event_id="orphan-named-ann", message_id="unknown-named", recipient=ann.email,
        description=f"Dear {ann.first_name} Lee <{ann.email}>: 552 mailbox over quota", timestamp=timezone.now()))
    ann.lead.refresh_from_db()
    # The dashboard's rollup for her signup day is built, keyed by her UTM values.
    rollup_rebuild(days=[ann.lead.created_at.astimezone(UTC).date()])
    return ann


def test_erasure_scrubs_every_free_text_column(client: Client, tagged_ann: Person, joann: Person) -> None:
    ann = tagged_ann
    assert {"leads.Lead.utm_term", "leads.Lead.utm_campaign", "emails.EmailEvent.description",
            "funnel.EmailDayCount.utm_campaign"} <= set(_places_holding(ann.first_name))  # the check can fail

    done = client.post(mailed_privacy_link(client, ann.lead, "erase"), {"confirm": "yes"})
    assert b"Your data has been erased" in done.content

    assert _places_holding(_address_regex(ann.email)) == []
    assert _places_holding(ann.first_name) == []
    lead = Lead.objects.get(pk=ann.lead.pk)
    # What only the person typed goes; the source, which names nobody, still counts in the funnel.
    assert (lead.utm_term, lead.utm_content, lead.utm_source) == ("", "", "newsletter")
    assert (lead.utm_medium, lead.utm_campaign) == ("[erased]", "[erased]")
    # The ESP's message about someone else's send keeps its meaning without her.
    orphan = EmailEvent.objects.get(event_id="orphan-named-ann")
    assert orphan.description == "Dear [erased] Lee <[erased]>: 552 mailbox over quota"
    # Her sent welcome is still counted in the rollup, under the scrubbed key.
    assert EmailDayCount.objects.filter(step="welcome", utm_campaign="[erased]", sent=1).exists()
    # Joann keeps hers.
    assert EmailEvent.objects.get(lead=joann.lead, event_type="bounced").description == joann.bounce_text
    assert Lead.objects.get(pk=joann.lead.pk).first_name == joann.first_name
