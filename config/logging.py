"""One line per log record, and no full email addresses below WARNING.

A request error or a task failure is one line (the exception type, message and the frame that raised it),
so logs stay greppable; identifiers like lead and email ids are logged, addresses are masked.
"""

import logging
import re
import traceback

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")


def mask_email(text: str) -> str:
    """`jane.doe@example.com` -> `j***@example.com`: enough to tell domains apart, not to identify."""
    return _EMAIL.sub(r"\1***@\2", text)


class RedactEmailsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR:
            record.msg = mask_email(record.getMessage())
            record.args = None
        return True


class OneLineFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatException(self, ei):  # type: ignore[no-untyped-def]  # signature fixed by logging
        exc_type, exc, tb = ei
        where = ""
        if tb is not None:
            last = traceback.extract_tb(tb)[-1]
            where = f" at {last.filename}:{last.lineno} in {last.name}"
        name = exc_type.__name__ if exc_type else "Exception"
        return f"{name}: {exc}{where}"

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        return line.replace("\n", " | ")
