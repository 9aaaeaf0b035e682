"""Inserting by columns (leads/db.py, for imports): the unnest statement PostgreSQL runs and the plain VALUES one
give the same rows, defaults and answers, conflicts skipped; on SQLite the plain one runs."""

from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection

from emails.models import ScheduledEmail
from leads.db import insert_columns_by_unnest, insert_columns_by_values, insert_columns_unless_conflict
from leads.models import Lead

pytestmark = pytest.mark.django_db
AT = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
FIELDS = ["email", "first_name", "status", "time_zone", "created_at", "confirmed_at", "is_customer", "suppression",
          "utm_source", "access_version"]


def _columns(prefix: str) -> dict[str, list[Any]]:
    return {"email": [f"{prefix}a@example.com", f"{prefix}b@example.com", "taken@example.com"],
            "first_name": ["Ann", "Bo", "X"], "created_at": [AT] * 3, "confirmed_at": [AT, None, None],
            "status": ["subscribed", "pending", "pending"]}


def _rows(prefix: str) -> list[tuple[Any, ...]]:
    return [tuple(row[1:]) for row in Lead.objects.filter(email__startswith=prefix).order_by("email")
            .values_list("pk", *[f for f in FIELDS if f != "email"])]


@pytest.mark.parametrize("insert", [insert_columns_unless_conflict, insert_columns_by_values])
def test_rows_inserted_with_defaults_and_conflicts_skipped(insert: Any) -> None:
    Lead.objects.create(email="taken@example.com", first_name="Kept")
    inserted = insert(Lead, _columns("p-"), returning="email")
    assert sorted(email for _, email in inserted) == ["p-a@example.com", "p-b@example.com"]
    assert _rows("p-") == [("Ann", "subscribed", "UTC", AT, AT, False, "", "", 0),
                           ("Bo", "pending", "UTC", AT, None, False, "", "", 0)]
    assert Lead.objects.get(email="taken@example.com").first_name == "Kept"
    assert insert(Lead, {"email": []}) == []


@pytest.mark.postgres
def test_the_unnest_and_the_values_statements_give_the_same_rows() -> None:
    assert connection.vendor == "postgresql"
    insert_columns_by_unnest(Lead, _columns("u-"))
    insert_columns_by_values(Lead, _columns("v-"))
    assert _rows("u-") == _rows("v-")
    lead_ids = list(Lead.objects.filter(email__in=["u-a@example.com", "v-a@example.com"]).values_list("pk", flat=True))
    for insert in (insert_columns_by_unnest, insert_columns_by_values):
        insert(ScheduledEmail, {"lead_id": lead_ids[:1] if insert is insert_columns_by_unnest else lead_ids[1:],
                                "step": ["confirm"], "key": ["import-1"], "stream": ["transactional"],
                                "send_at": [AT]})
    made = list(ScheduledEmail.objects.order_by("lead_id").values_list("step", "context", "status", "send_at"))
    assert made[0] == made[1] == ("confirm", {}, "scheduled", AT)
    assert ScheduledEmail.objects.filter(updated_at__isnull=True).count() == 0


def test_unequal_columns_are_refused() -> None:
    with pytest.raises(ValueError, match="different lengths"):
        insert_columns_unless_conflict(Lead, {"email": ["a@example.com"], "first_name": []})
    with pytest.raises(ValueError, match="no field"):
        insert_columns_unless_conflict(Lead, {"nope": [1]})
