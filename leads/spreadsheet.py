"""CSV cells a spreadsheet shows as text and never runs (OWASP "CSV Injection"): every CSV download uses this.

Sources, campaigns, names and tags come from anyone's URL or form (`/?utm_source==HYPERLINK(…)`), and a spreadsheet
runs a cell that starts with one of these as a formula.
"""

import re

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# …except a plain number, which no spreadsheet reads as a formula ("-12.50" stays a number you can sum).
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def csv_cell(value: str) -> str:
    """A cell a spreadsheet shows as text, never runs: formula-like text gets a leading single quote (OWASP).
    Write the rows with csv.QUOTE_ALL, so a separator or line break inside a cell never starts another."""
    if value.startswith(_FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value
