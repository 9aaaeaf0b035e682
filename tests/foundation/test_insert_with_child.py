"""A lead and its consent record in one statement (leads/db.py: insert_with_child_unless_conflict), on whichever
database the run uses: the CTE on PostgreSQL and the plain version must write the same rows."""

from typing import Any

import pytest
from django.db import connection

from leads.db import insert_with_child_by_cte, insert_with_child_plain, insert_with_child_unless_conflict
from leads.models import ConsentRecord, Lead

pytestmark = pytest.mark.django_db

_EXCLUDE = {"id", "lead_id", "email", "created_at"}


def _pair(email: str) -> tuple[Lead, ConsentRecord]:
    return (Lead(email=email, first_name="Reader", time_zone="Europe/Paris", utm_source="news"),
            ConsentRecord(email_sha256="ab" * 32, action=ConsentRecord.Action.SIGNUP, consent_version="v1",
                          consent_text="I agree", ip_address="203.0.113.9", user_agent="Mozilla/5.0"))


def _row(model: type[Any], pk: int) -> dict[str, Any]:
    return {k: v for k, v in model.objects.filter(pk=pk).values().get().items() if k not in _EXCLUDE}


def _writers() -> list[Any]:
    return [insert_with_child_plain, insert_with_child_by_cte] if connection.vendor == "postgresql" else [
        insert_with_child_plain]


def test_a_new_parent_gets_its_child_and_a_known_one_gets_nothing() -> None:
    lead, consent = _pair("new@example.com")
    assert insert_with_child_unless_conflict(lead, consent, fk_field="lead") is True
    assert lead.pk is not None and consent.pk is not None and not lead._state.adding
    stored = ConsentRecord.objects.get()
    assert (stored.pk, stored.lead_id, stored.consent_text) == (consent.pk, lead.pk, "I agree")
    again, other_consent = _pair("new@example.com")
    assert insert_with_child_unless_conflict(again, other_consent, fk_field="lead") is False
    assert again.pk is None and other_consent.pk is None
    assert (Lead.objects.count(), ConsentRecord.objects.count()) == (1, 1)


@pytest.mark.postgres
def test_the_cte_and_the_plain_version_write_the_same_rows() -> None:
    rows = []
    for n, write in enumerate(_writers()):
        lead, consent = _pair(f"same{n}@example.com")
        assert write(lead, consent, fk_field="lead") is True
        assert ConsentRecord.objects.get(pk=consent.pk).lead_id == lead.pk == consent.lead_id
        rows.append((_row(Lead, lead.pk), _row(ConsentRecord, consent.pk)))
        assert write(*_pair(f"same{n}@example.com"), fk_field="lead") is False
    assert len(rows) == 2 and rows[0] == rows[1]
