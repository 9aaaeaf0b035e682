from typing import Any

import pytest
from django.test import Client

from config.celery import app


@pytest.mark.django_db
def test_healthz_ok_when_database_and_broker_answer(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok", "down": [], "checks": {"database": "ok", "broker": "ok"}}


@pytest.mark.django_db
def test_healthz_names_the_broker_when_it_is_down(client: Client, monkeypatch: Any) -> None:
    # Nothing listens on port 1: the broker is unreachable.
    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    monkeypatch.setattr(app.conf, "broker_transport_options", {})
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["down"] == ["broker"]


@pytest.mark.django_db
def test_healthz_names_the_database_when_it_is_down(client: Client, monkeypatch: Any) -> None:
    from django.db.backends.utils import CursorWrapper

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("connection refused")

    monkeypatch.setattr(CursorWrapper, "execute", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["down"] == ["database"]
