"""The reader's time zone: a visible choice on the signup form, a setting on the preferences page, and a schedule of
unsent reminders that follows a change."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from emails.models import ScheduledEmail
from emails.schedule import mornings_in_new_zone
from emails.services import sequence_enrol
from leads import tokens
from leads.models import Lead
from leads.time_zones import time_zone_options, zone_groups
from tests.signup.conftest import form_data, make_lead

pytestmark = pytest.mark.django_db

BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")


def _select(html: str) -> str:
    match = re.search(r'<select name="time_zone" id="id_time_zone".*?</select>', html, re.S)
    assert match, "no time zone select"
    return match.group(0)


def test_signup_form_offers_a_grouped_list_with_the_default_selected(client: Client, settings: Any) -> None:
    settings.DRIP_DEFAULT_TIME_ZONE = "America/Chicago"
    page = client.get("/").content.decode()
    select = _select(page)
    assert '<label for="id_time_zone">Your time zone</label>' in page
    assert "Each reminder arrives at 8 a.m. in this time zone." in page
    assert re.findall(r'selected>([^<]+)<', select) == ["Chicago — United States"]
    assert "data-chosen" not in select  # the page script may replace the default with the browser's zone
    labels = re.findall(r'<optgroup label="([^"]+)">', select)
    assert labels[:3] == ["Africa", "Americas", "Asia"] and labels[-1] == "Other"
    assert '<option value="Europe/Bratislava">Bratislava — Slovakia</option>' in select
    assert 'value="Asia/Calcutta"' not in select  # an old alias, not offered (still accepted)


def test_a_form_sent_back_keeps_the_zone_the_reader_chose(client: Client) -> None:
    page = client.post("/signup/", form_data(email="not-an-address", time_zone="Asia/Tokyo")).content.decode()
    select = _select(page)
    assert '<option value="Asia/Tokyo" selected>' in select and "data-chosen" in select


def test_an_alias_reported_by_a_browser_is_shown_and_accepted(client: Client) -> None:
    assert time_zone_options("Asia/Calcutta").startswith('<option value="Asia/Calcutta" selected>Asia/Calcutta')
    client.post("/signup/", form_data(time_zone="Asia/Calcutta"))
    assert Lead.objects.get().time_zone == "Asia/Calcutta"


def test_every_listed_zone_is_a_real_one() -> None:
    zones = [zone for _, options in zone_groups() for zone, _ in options]
    assert len(zones) == len(set(zones)) > 300
    for zone in zones:
        ZoneInfo(zone)


def _preferences(lead: Lead) -> str:
    return f"/preferences/{tokens.sign('preferences', {'lead': lead.pk})}/"


@time_machine.travel(datetime(2026, 11, 30, 9, 0, tzinfo=UTC), tick=False)  # one second: links are signed at "now"
def test_preferences_page_shows_the_zone_and_saves_a_new_one(client: Client) -> None:
    lead = make_lead("zone@example.com", time_zone="America/New_York")
    page = client.get(_preferences(lead)).content.decode()
    select = _select(page)
    assert '<option value="America/New_York" selected>' in select and "data-chosen" in select
    form = re.search(r'<form method="post" action="([^"]+)" class="time-zone-form">', page)
    assert form and form.group(1) == _preferences(lead) + "time-zone/"

    answer = client.post(form.group(1), {"time_zone": "Europe/Berlin"})
    assert answer.status_code == 302 and answer["Location"] == _preferences(lead) + "?done=time_zone"
    lead.refresh_from_db()
    assert lead.time_zone == "Europe/Berlin"
    assert "Saved. Your reminders now follow the time zone below." in client.get(answer["Location"]).content.decode()


@pytest.mark.parametrize("zone", ["", "Not/AZone", "Europe/Berlinx", "../../etc/passwd"])
def test_preferences_refuses_an_unknown_zone(client: Client, zone: str) -> None:
    lead = make_lead("bogus@example.com", time_zone="America/New_York")
    assert client.post(_preferences(lead) + "time-zone/", {"time_zone": zone}).status_code == 400
    lead.refresh_from_db()
    assert lead.time_zone == "America/New_York"


def test_a_bad_link_changes_nothing(client: Client) -> None:
    lead = make_lead("badlink@example.com", time_zone="America/New_York")
    forged = tokens.sign("unsubscribe", {"lead": lead.pk})
    assert client.post(f"/preferences/{forged}/time-zone/", {"time_zone": "Europe/Berlin"}).status_code == 400
    lead.refresh_from_db()
    assert lead.time_zone == "America/New_York"


def test_unsent_reminders_move_to_the_same_mornings_in_the_new_zone(client: Client) -> None:
    # Without JavaScript, a reader in Berlin signed up as New York: confirmed Monday 30 Nov 2026, 10:00 Berlin.
    lead = make_lead("berlin@example.com", time_zone="America/New_York")
    with time_machine.travel(datetime(2026, 11, 30, 9, 0, tzinfo=UTC), tick=False):
        sequence_enrol(lead=lead)
    rows = {row.step: row for row in ScheduledEmail.objects.filter(lead=lead)}
    assert rows["day-1"].send_at.astimezone(NEW_YORK) == datetime(2026, 12, 1, 8, 0, tzinfo=NEW_YORK)
    ScheduledEmail.objects.filter(pk__in=[rows["welcome"].pk, rows["day-1"].pk]).update(
        status=ScheduledEmail.Status.SENT)

    # Tuesday 18:00 in Berlin (day 1 came at 14:00 their time), they fix the zone.
    with time_machine.travel(datetime(2026, 12, 1, 17, 0, tzinfo=UTC), tick=False):
        client.post(_preferences(lead) + "time-zone/", {"time_zone": "Europe/Berlin"})

    after = {row.step: row for row in ScheduledEmail.objects.filter(lead=lead)}
    assert after["day-1"].send_at == rows["day-1"].send_at  # sent: history stays as it was
    local = [after[f"day-{n}"].send_at.astimezone(BERLIN) for n in range(2, 8)]
    assert local == [datetime(2026, 12, day, 8, 0, tzinfo=BERLIN) for day in range(2, 8)]


def test_a_morning_already_past_in_the_new_zone_moves_to_the_next_free_one() -> None:
    # Planned for 8:00 in Los Angeles (16:00 UTC); at 10:00 UTC the reader says Tokyo, where 8:00 that day has
    # gone: the rest of the week starts the next Tokyo morning, still one a day.
    la, tokyo = ZoneInfo("America/Los_Angeles"), ZoneInfo("Asia/Tokyo")
    planned = [datetime(2026, 6, day, 8, 0, tzinfo=la) for day in (10, 11, 12)]
    moved = mornings_in_new_zone(planned, old_zone="America/Los_Angeles", new_zone="Asia/Tokyo",
                                 now=datetime(2026, 6, 10, 10, 0, tzinfo=UTC), hour=8)
    assert [m.astimezone(tokyo) for m in moved] == [datetime(2026, 6, day, 8, 0, tzinfo=tokyo) for day in (11, 12, 13)]


def test_reminders_keep_their_local_hour_across_a_dst_change() -> None:
    # Europe leaves summer time on 25 Oct 2026: the UTC hour moves, the local 8:00 does not.
    planned = [datetime(2026, 10, day, 12, 0, tzinfo=UTC) for day in (24, 25, 26)]
    moved = mornings_in_new_zone(planned, old_zone="America/New_York", new_zone="Europe/Berlin",
                                 now=datetime(2026, 10, 20, tzinfo=UTC), hour=8)
    assert [m.astimezone(BERLIN).hour for m in moved] == [8, 8, 8]
    assert [m.hour for m in moved] == [6, 7, 7]
    assert all(b - a >= timedelta(hours=23) for a, b in zip(moved, moved[1:], strict=False))
