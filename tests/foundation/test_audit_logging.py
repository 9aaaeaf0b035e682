"""Through the configured LOGGING (not the formatter alone): a request error and a task failure are each one
line, carry the ids, and an address at INFO is masked."""

import io
import logging
from collections.abc import Iterator

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from config.celery import app

LEAD_ID = 4242


def _boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(f"cannot render lead={LEAD_ID}\nwith a second line")


urlpatterns = [path("boom/", _boom)]


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """The project's own console handler (formatter + redaction filter), writing into a buffer."""
    handler = next(h for h in logging.getLogger("django.request").handlers if h.get_name() == "console")
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    old = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(old)


def test_a_request_error_is_one_line_with_the_path_and_the_ids(console: io.StringIO, settings: object) -> None:
    settings.ROOT_URLCONF = __name__  # type: ignore[attr-defined]
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    lines = console.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert "ERROR django.request" in lines[0] and "/boom/" in lines[0]
    assert f"lead={LEAD_ID}" in lines[0] and "RuntimeError" in lines[0]


@app.task(name="tests.audit_failing_task")
def _failing_task(lead_id: int, email_id: int) -> None:
    raise ValueError("the ESP refused it")


def test_a_task_failure_is_one_line_with_the_ids(console: io.StringIO) -> None:
    celery_logger = logging.getLogger("funnel.tasks")
    root_handlers = logging.getLogger().handlers
    assert any(h.get_name() == "console" for h in root_handlers)  # funnel.tasks propagates to the console
    result = _failing_task.apply(args=(LEAD_ID, 77))
    assert result.failed()
    lines = [line for line in console.getvalue().splitlines() if celery_logger.name in line]
    assert len(lines) == 1, console.getvalue()
    assert "task failed" in lines[0] and "tests.audit_failing_task" in lines[0]
    assert str(LEAD_ID) in lines[0] and "77" in lines[0] and "ValueError" in lines[0]


def test_an_address_logged_at_info_is_masked(console: io.StringIO, settings: object) -> None:
    logger = logging.getLogger("funnel.audit")
    logger.setLevel(logging.INFO)
    logger.info("signup from %s lead=%s", "jane.doe@example.com", LEAD_ID)
    output = console.getvalue()
    assert "jane.doe@example.com" not in output and "j***@example.com" in output and f"lead={LEAD_ID}" in output
