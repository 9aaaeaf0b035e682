"""Reading an uploaded CSV file: what makes a whole file unusable (a clear message, nothing stored) and its rows.

Lead lists come from other tools and spreadsheets: UTF-8 (with or without Excel's byte-order mark), separated by
commas, semicolons or tabs, the first line naming the columns.
"""

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

from leads.imports.models import FIELDS

MAX_FILE_BYTES = 50 * 1024 * 1024
# A lead's row is a few hundred characters; a line this long is not a list of people (or a file that lost its line
# breaks), and csv would hold it in memory whole.
MAX_LINE_CHARS = 10_000
DELIMITERS = ",;\t"
# Header names each field is recognised by (lower case, without spaces, "-" or "_").
_ALIASES = {
    "email": ("email", "emailaddress", "mail", "e-mail", "address"),
    "first_name": ("firstname", "first", "givenname", "name", "vorname", "prenom"),
    "time_zone": ("timezone", "tz", "zone"),
    "tags": ("tags", "tag", "labels"),
    "consent_date": ("consentdate", "consentedat", "optindate", "optinat", "consent", "subscribedat"),
    "consent_source": ("consentsource", "optinsource", "source"),
    "consent_ip": ("consentip", "optinip", "ip", "ipaddress"),
}


class ImportFileError(Exception):
    """The file as a whole cannot be imported; the message says why, in words staff can act on."""


@dataclass(frozen=True)
class Record:
    line: int  # the line the record ends on (a quoted cell may span lines); the header is line 1
    cells: list[str]


def csv_decode(data: bytes) -> str:
    """The file's text, or ImportFileError for a file no row of which should be imported."""
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError(f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB: split it into parts.")
    if not data.strip():
        raise ImportFileError("The file is empty.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFileError(
            f"The file is not UTF-8 text (byte {error.start + 1} is not). In your spreadsheet, save it as "
            "“CSV UTF-8” and upload it again.") from None
    if "\x00" in text:
        raise ImportFileError("The file is not a CSV text file (it contains binary data).")
    for number, line in enumerate(text.splitlines(), start=1):
        if len(line) > MAX_LINE_CHARS:
            raise ImportFileError(f"Line {number} is longer than {MAX_LINE_CHARS:,} characters: this is not a "
                                  "list of leads (one row per line).")
    return text


def csv_delimiter(text: str) -> str:
    """The separator of the header line: the one of , ; and tab it uses most (a one-column file: a comma)."""
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def csv_records(text: str, *, delimiter: str) -> Iterator[Record]:
    """Every non-blank record after the header; ImportFileError when the file is not valid CSV."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        next(reader, None)
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield Record(line=reader.line_num, cells=cells)
    except csv.Error as error:
        raise ImportFileError(f"Line {reader.line_num} is not valid CSV ({error}).") from None


def csv_header(text: str, *, delimiter: str) -> list[str]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [cell.strip() for cell in next(reader, [])]
    except csv.Error as error:
        raise ImportFileError(f"The first line is not valid CSV ({error}).") from None
    if not any(header):
        raise ImportFileError("The first line must name the columns (e.g. email, first name, tags).")
    if len(set(header)) != len(header):
        raise ImportFileError("Two columns have the same name in the first line: rename one of them.")
    return header


def _key(name: str) -> str:
    return re.sub(r"[\s_-]", "", name.lower())


def mapping_guess(header: list[str], sample: list[Record]) -> dict[str, str]:
    """Field -> column, from the header's names; the email column is also found by its values ("@" in them)."""
    mapping: dict[str, str] = {}
    for field, aliases in _ALIASES.items():
        for name in header:
            if _key(name) in {_key(alias) for alias in aliases} and name not in mapping.values():
                mapping[field] = name
                break
    if "email" not in mapping:
        for index, name in enumerate(header):
            values = [r.cells[index] for r in sample if index < len(r.cells) and r.cells[index].strip()]
            if values and sum("@" in v for v in values) * 2 > len(values):
                mapping["email"] = name
                break
    return {field: mapping[field] for field in FIELDS if field in mapping}


@dataclass(frozen=True)
class CheckedFile:
    text: str
    delimiter: str
    header: list[str]
    rows: int
    mapping: dict[str, str]


def csv_check(data: bytes) -> CheckedFile:
    """Read the whole file once: every fatal problem is found here, before anything is stored."""
    text = csv_decode(data)
    delimiter = csv_delimiter(text)
    header = csv_header(text, delimiter=delimiter)
    sample: list[Record] = []
    rows = 0
    for record in csv_records(text, delimiter=delimiter):
        rows += 1
        if len(sample) < 20:
            sample.append(record)
    if not rows:
        raise ImportFileError("The file has a header line but no rows.")
    mapping = mapping_guess(header, sample)
    if "email" not in mapping:
        raise ImportFileError(f"No email column: none of the columns ({', '.join(header)[:200]}) is named "
                              "“email” or holds addresses.")
    return CheckedFile(text=text, delimiter=delimiter, header=header, rows=rows, mapping=mapping)
