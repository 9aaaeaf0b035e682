"""Django's PostgreSQL backend, but a connection that committed less than a second ago skips the health check.

With persistent connections (CONN_MAX_AGE) and CONN_HEALTH_CHECKS, Django sends `SELECT 1` before the first query
of every request: a whole round trip, a seventh of a signup's statements at a launch-day peak. A commit the server
acknowledged within RECENT_SECONDS is as good a proof that the connection works, so the check is skipped then; an
idle connection (the case the check is for: a database restart, a proxy's idle timeout) is still checked before
use, and one with an error since is always checked, as before. Selected by ENGINE in config/settings.py.
"""

import time

from django.db.backends.postgresql import base

RECENT_SECONDS = 1.0


class DatabaseWrapper(base.DatabaseWrapper):
    _committed_at = float("-inf")

    def commit(self) -> None:
        super().commit()
        self._committed_at = time.monotonic()

    def close_if_health_check_failed(self) -> None:
        if (self.connection is not None and not getattr(self, "health_check_done", False) and not self.errors_occurred
                and not self.connection.closed and time.monotonic() - self._committed_at < RECENT_SECONDS):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()
