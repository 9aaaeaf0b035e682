import logging
import sys

from config.logging import OneLineFormatter, RedactEmailsFilter, mask_email


def test_mask_email_keeps_domain_hides_person() -> None:
    assert mask_email("sent to jane.doe@example.com ok") == "sent to j***@example.com ok"


def test_info_records_never_carry_full_addresses() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "signup %s lead=%s", ("bob@example.org", 7), None)
    RedactEmailsFilter().filter(record)
    assert record.getMessage() == "signup b***@example.org lead=7"


def test_an_exception_is_one_line() -> None:
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "task failed lead=%s", (3,), sys.exc_info())
    line = OneLineFormatter().format(record)
    assert "\n" not in line
    assert "task failed lead=3" in line and "ValueError: boom" in line and "test_logging.py" in line
