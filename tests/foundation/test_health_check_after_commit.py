"""The PostgreSQL backend's health check (config/db/postgresql/base.py): a connection idle since its last commit is
still checked before a request uses it, so a connection the server dropped meanwhile is replaced, not failed on;
one that committed, or ran a statement in autocommit (the one-round-trip signup), less than a second ago is trusted
without the `SELECT 1`."""

import time
from collections.abc import Iterator

import pytest
from django.db import close_old_connections, connection, connections, transaction
from django.db.utils import OperationalError

from config.db.postgresql.base import RECENT_SECONDS, DatabaseWrapper

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _server_drops_our_connection() -> None:
    import psycopg

    pid = connection.connection.info.backend_pid
    params = {**connection.get_connection_params(), "autocommit": True}
    with psycopg.connect(**params) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


def _wrapper() -> DatabaseWrapper:
    wrapper = connections["default"]
    assert isinstance(wrapper, DatabaseWrapper)
    return wrapper


def _a_request_reads() -> int:
    close_old_connections()  # what Django does when a request starts
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return int(cursor.fetchone()[0])


def _a_request_commits() -> None:
    close_old_connections()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT 1")


@pytest.fixture
def persistent() -> Iterator[None]:
    saved = connection.settings_dict["CONN_MAX_AGE"], connection.settings_dict["CONN_HEALTH_CHECKS"]
    connection.settings_dict["CONN_MAX_AGE"], connection.settings_dict["CONN_HEALTH_CHECKS"] = 60, True
    connection.close()
    yield
    connection.close()
    connection.settings_dict["CONN_MAX_AGE"], connection.settings_dict["CONN_HEALTH_CHECKS"] = saved


def test_a_connection_idle_since_its_commit_is_checked_and_replaced(persistent: None) -> None:
    _a_request_commits()
    _wrapper()._answered_at = time.monotonic() - RECENT_SECONDS - 1  # the last commit was a while ago
    first = connection.connection
    _server_drops_our_connection()
    assert _a_request_reads() == 1
    assert connection.connection is not first


def test_a_connection_that_just_committed_is_used_without_the_check(persistent: None) -> None:
    _a_request_commits()
    first = connection.connection
    assert _a_request_reads() == 1  # trusted: no health check query, the same connection
    assert connection.connection is first
    _server_drops_our_connection()
    # The trade-off, stated: a drop within the second after a commit fails that one request, as a drop during a
    # request always does; Django then closes the connection and the next request opens a new one.
    with pytest.raises(OperationalError):
        _a_request_reads()
    _wrapper()._answered_at = float("-inf")
    assert _a_request_reads() == 1


def test_a_statement_in_autocommit_counts_as_an_answer_too(persistent: None) -> None:
    _a_request_reads()  # no transaction: committed by the server, never by commit()
    first = connection.connection
    _server_drops_our_connection()
    with pytest.raises(OperationalError):  # trusted, so not checked: the dropped connection is used and fails
        _a_request_reads()
    assert _a_request_reads() == 1
    assert connection.connection is not first
