"""Django's PostgreSQL backend, but a connection the server answered less than a second ago skips the health check.

With persistent connections (CONN_MAX_AGE) and CONN_HEALTH_CHECKS, Django sends `SELECT 1` before the first query
of every request: a whole round trip, a seventh of a signup's statements at a launch-day peak. A statement or commit
the server answered within RECENT_SECONDS is as good a proof that the connection works, so the check is skipped
then; an idle connection (the case the check is for: a database restart, a proxy's idle timeout) is still checked
before use, and one with an error since is always checked, as before. Selected by ENGINE in config/settings.py.
"""

import time
from typing import Any

from django.db.backends.postgresql import base
from django.db.backends.utils import CursorWrapper

RECENT_SECONDS = 1.0


class _AnsweredCursor(CursorWrapper):
    """Notes when the server last answered a statement (an autocommit statement commits without commit())."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        result = super().execute(sql, params)
        self.db._answered_at = time.monotonic()
        return result

    def executemany(self, sql: Any, param_list: Any) -> Any:
        result = super().executemany(sql, param_list)
        self.db._answered_at = time.monotonic()
        return result


class DatabaseWrapper(base.DatabaseWrapper):
    _answered_at = float("-inf")

    def make_cursor(self, cursor: Any) -> CursorWrapper:
        return _AnsweredCursor(cursor, self)

    def commit(self) -> None:
        super().commit()
        self._answered_at = time.monotonic()

    def close_if_health_check_failed(self) -> None:
        if (self.connection is not None and not getattr(self, "health_check_done", False) and not self.errors_occurred
                and not self.connection.closed and time.monotonic() - self._answered_at < RECENT_SECONDS):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()
