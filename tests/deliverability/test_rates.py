"""Issue 22 item 1: rates per day, stream and mailbox provider, from ESP events through the real webhook.

Mail goes out through the real dispatcher and anymail's real Postmark backend to a fake Postmark; deliveries,
bounces and spam complaints come back as Postmark's webhook payloads, posted with the basic auth anymail checks.
Recipients' custom domains find their provider through their MX host, served by the loopback DNS server and
looked up once, by the rollup's background build.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from emails.deliverability import thresholds
from emails.deliverability.models import MailboxDomain
from emails.dispatch import dispatch_batch
from emails.models import ScheduledEmail
from emails.services import email_queue, sequence_enrol
from funnel.dashboard import selectors
from funnel.dashboard.selectors.deliverability import Counts, RateRow
from funnel.dashboard.services import rollup_refresh
from funnel.models import DeliverabilityDayCount
from leads.services import lead_unsubscribe
from tests.deliverability.dns_server import LocalDns
from tests.deliverability.postmark_events import address, report
from tests.drip.fake_esp import FakePostmark, point_anymail_at

pytestmark = [pytest.mark.django_db]
START = datetime(2027, 3, 2, 15, 0, tzinfo=UTC)  # a Tuesday, 10:00 in New York
DAY = START.date()
MX_ZONE = """
acme-widgets.co. 300 IN MX 0 acme-widgets-co.mail.protection.outlook.com.
smallshop.biz. 300 IN MX 1 aspmx.l.google.com.
smallshop.biz. 300 IN MX 10 alt1.aspmx.l.google.com.
"""
# Who gets what: address → what the ESP reports for their welcome (marketing) email.
READERS = {
    "ann@gmail.com": "delivered",
    "bob@gmail.com": "complained",
    "cat@googlemail.com": "delivered",
    "dan@smallshop.biz": "delivered",  # Google Workspace, by its MX host
    "eve@yahoo.com": "hard bounce",
    "fay@acme-widgets.co": "delivered",  # Microsoft 365, by its MX host
    "gus@icloud.com": "soft bounce",
    "hal@example.com": "delivered",  # then unsubscribes with our own link
}


@pytest.fixture
def esp(settings: Any) -> Iterator[FakePostmark]:
    with FakePostmark() as fake:
        point_anymail_at(settings, fake)
        yield fake


def by_provider(rows: list[RateRow], stream: str) -> dict[str, tuple[int, ...]]:
    """provider → (sent, delivered, hard, soft, complaints, unsubscribes) of the stream's rows with mail."""
    return {row.provider or "all": (row.sent, row.delivered, row.hard_bounces, row.soft_bounces, row.complaints,
                                    row.unsubscribes)
            for row in rows if row.stream == stream and row.sent}


@pytest.fixture
def a_day_of_mail(esp: FakePostmark, make_lead: Any, settings: Any, clock: Any, transactional_template: str,
                  local_dns: LocalDns) -> Any:
    local_dns.zone(MX_ZONE)
    c = clock(START)
    leads = {email: make_lead(email=email) for email in READERS}
    for lead in leads.values():
        sequence_enrol(lead=lead)  # the welcome, due now
    for email in ("ann@gmail.com", "eve@yahoo.com"):
        email_queue(lead=leads[email], step=transactional_template, key="receipt")
    dispatch_batch()  # one batch holds them all
    assert ScheduledEmail.objects.filter(status=ScheduledEmail.Status.SENT).count() == 10
    c.advance(timedelta(minutes=5))
    for sent in esp.accepted:
        marketing = sent["MessageStream"] == settings.POSTMARK_MARKETING_STREAM
        outcome = READERS[address(sent)] if marketing else "delivered"
        if outcome == "complained":  # a complaint comes from a reader who got the email
            report(settings, sent, "delivered", c.now)
        report(settings, sent, outcome, c.now)
    lead_unsubscribe(lead=leads["hal@example.com"])
    return c


def test_rates_per_stream_and_provider_from_postmark_events(a_day_of_mail: Any, local_dns: LocalDns) -> None:
    # Counted live (today), before any background build looked up an MX host: custom domains are "other" so far.
    live = selectors.deliverability_rates(DAY, DAY).rows
    assert by_provider(live, "marketing")["other"] == (3, 3, 0, 0, 0, 1)
    assert not any(query[1] == "MX" for query in local_dns.resolver.queries)  # a page view never asks DNS

    rollup_refresh()  # what beat runs every 5 minutes: builds today and looks each custom domain up, once
    assert dict(MailboxDomain.objects.values_list("domain", "provider")) == {"acme-widgets.co": "microsoft",
                                                                            "smallshop.biz": "gmail"}
    rows = selectors.deliverability_rates(DAY, DAY).rows
    assert by_provider(rows, "marketing") == {
        #            sent, delivered, hard, soft, complaints, unsubscribes
        "all":       (8, 6, 1, 1, 1, 1),
        "gmail":     (4, 4, 0, 0, 1, 0),
        "yahoo":     (1, 0, 1, 0, 0, 0),
        "microsoft": (1, 1, 0, 0, 0, 0),
        "apple":     (1, 0, 0, 1, 0, 0),
        "other":     (1, 1, 0, 0, 0, 1),
    }
    assert by_provider(rows, "transactional") == {"all": (2, 2, 0, 0, 0, 0), "gmail": (1, 1, 0, 0, 0, 0),
                                                  "yahoo": (1, 1, 0, 0, 0, 0)}
    marketing = {row.provider or "all": row for row in rows if row.stream == "marketing"}
    assert marketing["gmail"].complaint_rate == pytest.approx(0.25)  # 1 of 4 delivered
    assert marketing["all"].hard_bounce_rate == pytest.approx(1 / 8)
    assert marketing["all"].unsubscribe_rate == pytest.approx(1 / 6)
    assert {name: row.status for name, row in marketing.items()} == {
        "all": "stop", "gmail": "stop", "yahoo": "warn", "microsoft": "ok", "apple": "ok", "other": "ok"}

    # The same day read from the rollup once it has closed, with the chart's day and the MX hosts not asked again.
    mx_queries = [q for q in local_dns.resolver.queries if q[1] == "MX"]
    a_day_of_mail.advance(timedelta(days=3))
    rollup_refresh()
    assert [q for q in local_dns.resolver.queries if q[1] == "MX"] == mx_queries
    assert DeliverabilityDayCount.objects.filter(day=DAY).count() == 7
    figures = selectors.deliverability_rates(DAY, DAY)
    assert by_provider(figures.rows, "marketing") == by_provider(rows, "marketing")
    [chart_day] = [d for d in figures.days if d.day == DAY]
    assert (chart_day.streams["marketing"].sent, chart_day.streams["transactional"].delivered) == (8, 2)


def test_a_late_complaint_counts_on_its_own_day_and_rebuilds_it(a_day_of_mail: Any, settings: Any,
                                                                esp: FakePostmark) -> None:
    rollup_refresh()
    a_day_of_mail.advance(timedelta(days=4))
    rollup_refresh()  # DAY is closed and built
    # Postmark retries a webhook it could not deliver: a complaint that happened on DAY arrives days later.
    sent = next(s for s in esp.accepted if address(s) == "ann@gmail.com"
                and s["MessageStream"] == settings.POSTMARK_MARKETING_STREAM)
    report(settings, sent, "complained", START + timedelta(hours=2))
    rollup_refresh()
    gmail = next(r for r in selectors.deliverability_rates(DAY, DAY).rows
                 if r.stream == "marketing" and r.provider == "gmail")
    assert gmail.complaints == 2


def test_today_is_read_from_a_recent_build_and_counted_live_when_the_build_is_old(
        a_day_of_mail: Any, settings: Any, esp: FakePostmark, make_lead: Any) -> None:
    rollup_refresh()
    sent = next(s for s in esp.accepted if address(s) == "fay@acme-widgets.co")
    report(settings, sent, "complained", a_day_of_mail.now)

    def microsoft_complaints() -> int:
        return next(r.complaints for r in selectors.deliverability_rates(DAY, DAY).rows
                    if r.stream == "marketing" and r.provider == "microsoft")

    assert microsoft_complaints() == 0  # the build of 5 minutes ago: beat's next refresh brings the complaint
    a_day_of_mail.advance(timedelta(minutes=11))  # beat stopped: the build is too old to stand for today
    assert microsoft_complaints() == 1
    rollup_refresh()
    assert microsoft_complaints() == 1


def test_the_dashboard_panel_shows_the_rates_against_the_limits(a_day_of_mail: Any, admin_client: Any) -> None:
    rollup_refresh()
    page = admin_client.get(f"/admin/dashboard/?start={DAY}&end={DAY}&fresh=1").content.decode()
    panel = page[page.index('id="deliverability"'):]
    panel = panel[:panel.index("</section>")]
    assert "Complaint rate per day, the 30 days to 2027-03-02" in panel
    assert "Hard bounce rate per day" in panel and "stop 0.30%" in panel and "warn 2.00%" in panel
    # 1 complaint in 6 is far above the limits: drawn at the top of a scale that keeps the limits readable.
    assert "▲ above the scale" in panel and "2027-03-02 marketing: 16.67%" in panel
    assert "stop: complaints ≥ 0.3%, hard bounces ≥ 2%" in panel  # marketing, all providers
    assert "warn: hard bounces ≥ 2%" in panel  # Yahoo
    assert "25.00%" in panel  # Gmail's complaint rate
    assert "/admin/sender-check/" in panel
    csv = admin_client.get(f"/admin/dashboard/rates.csv?start={DAY}&end={DAY}").content.decode()
    assert '"Marketing","Gmail","4","4","0","0.000","0","0.000","1","25.000"' in csv


@pytest.mark.parametrize(("complaints", "delivered", "hard", "sent", "status"), [
    (0, 1000, 0, 1000, "ok"),
    (1, 1001, 0, 1001, "ok"),  # 0.0999 %
    (1, 1000, 0, 1000, "warn"),  # 0.1 %
    (2, 1000, 0, 1000, "warn"),
    (3, 1000, 0, 1000, "stop"),  # 0.3 %: Gmail and Yahoo reject
    (0, 1000, 19, 1000, "ok"),  # 1.9 % hard bounces
    (0, 980, 20, 1000, "warn"),  # 2 %
    (0, 0, 0, 500, "ok"),
])
def test_the_limits(complaints: int, delivered: int, hard: int, sent: int, status: str) -> None:
    counts = Counts(sent=sent, delivered=delivered, hard_bounces=hard, complaints=complaints)
    assert counts.status == status
    assert thresholds.rate_status(complaint_rate=None, hard_bounce_rate=None) == "ok"


def test_complaints_are_over_sent_when_the_esp_reports_no_deliveries() -> None:
    assert Counts(sent=400, complaints=1).complaint_rate == pytest.approx(0.0025)
    assert Counts(sent=400, delivered=200, complaints=1).complaint_rate == pytest.approx(0.005)

