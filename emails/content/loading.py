"""The shipped copy: one file per email in `files/`, loaded into versions on migrate.

A file is front matter, then the Markdown body, byte for byte:

    ---
    step: day-3
    subject: Day 3: the deep hip muscle that refers pain
    preheader: Today is the seat: the glutes and the piriformis.
    allow_external_links: false
    ---
    # Day {{ day_number }} of 7: ...

A value is written as it is, or as a JSON string (in double quotes) when it has to be: empty, with spaces at
either end, a line break, or a leading quote. `format_copy_file(*parse_copy_file(text)) == text` for every file
written by `format_copy_file`, which content_export and content_import rely on.
"""

import json
import logging
from pathlib import Path

from django.db import transaction

from emails.content.text import CopyText, text_of

logger = logging.getLogger(__name__)

FILES_DIR = Path(__file__).resolve().parent / "files"
FENCE = "---"
KEYS = ("step", "subject", "preheader", "allow_external_links")


class CopyFileError(ValueError):
    """A copy file that cannot be read; the message says where and why."""


def _format_value(value: str) -> str:
    plain = value and value == value.strip() and "\n" not in value and "\r" not in value and value[0] != '"'
    return value if plain else json.dumps(value, ensure_ascii=False)


def _parse_value(raw: str, line_number: int) -> str:
    if not raw.startswith('"'):
        return raw
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CopyFileError(f"line {line_number}: a quoted value must be a JSON string ({exc.msg})") from exc
    if not isinstance(value, str):
        raise CopyFileError(f"line {line_number}: a quoted value must be a JSON string")
    return value


def format_copy_file(step: str, text: CopyText) -> str:
    lines = [FENCE, f"step: {_format_value(step)}", f"subject: {_format_value(text.subject)}",
             f"preheader: {_format_value(text.preheader)}",
             f"allow_external_links: {'true' if text.allow_external_links else 'false'}", FENCE]
    return "\n".join(lines) + "\n" + text.body


def parse_copy_file(text: str) -> tuple[str, CopyText]:
    """(step, copy) from a file's text; CopyFileError says what is wrong with it."""
    if not text.startswith(FENCE + "\n"):
        raise CopyFileError(f"line 1: a copy file starts with a '{FENCE}' line, then step, subject, preheader and "
                            f"allow_external_links, then '{FENCE}' and the Markdown body")
    end = text.find("\n" + FENCE + "\n", len(FENCE))
    if end < 0:
        raise CopyFileError(f"the front matter is not closed by a '{FENCE}' line")
    found: dict[str, str] = {}
    for number, line in enumerate(text[len(FENCE) + 1:end].split("\n"), start=2):
        key, sep, raw = line.partition(":")
        if not sep or key not in KEYS:
            raise CopyFileError(f"line {number}: expected one of {', '.join(KEYS)} followed by ':', got {line!r}")
        if key in found:
            raise CopyFileError(f"line {number}: {key} is given twice")
        found[key] = _parse_value(raw[1:] if raw.startswith(" ") else raw, number)
    missing = [key for key in KEYS if key not in found]
    if missing:
        raise CopyFileError(f"the front matter lacks {', '.join(missing)}")
    if found["allow_external_links"] not in ("true", "false"):
        raise CopyFileError("allow_external_links must be true or false")
    body = text[end + len(FENCE) + 2:]
    return found["step"], CopyText(subject=found["subject"], preheader=found["preheader"], body=body,
                                   allow_external_links=found["allow_external_links"] == "true")


def shipped_copy() -> dict[str, CopyText]:
    """Every shipped file, by step."""
    copies: dict[str, CopyText] = {}
    for path in sorted(FILES_DIR.glob("*.md")):
        try:
            step, text = parse_copy_file(path.read_text(encoding="utf-8"))
        except CopyFileError as exc:
            raise CopyFileError(f"{path.name}: {exc}") from exc
        if path.stem != step:
            raise CopyFileError(f"{path.name}: says step {step!r}; a file is named after its step")
        copies[step] = text
    return copies


@transaction.atomic
def shipped_copy_load(*, using: str = "default") -> list[str]:
    """Publish each shipped file whose step has no version yet (v1), or whose shipped text changed while the
    step's current version is still the shipped one. A version published by anyone else is never replaced: their
    edit wins over a later deploy. Returns the steps that got a new version."""
    from emails.content.models import EmailCopy
    from emails.content.services import copy_publish

    loaded = []
    for step, text in shipped_copy().items():
        current = EmailCopy.objects.using(using).newest(step)
        if current is not None and (current.origin != EmailCopy.Origin.SHIPPED or text_of(current) == text):
            continue
        copy_publish(step=step, text=text, origin=EmailCopy.Origin.SHIPPED,
                     note=f"emails/content/files/{step}.md")
        loaded.append(step)
    if loaded:
        logger.info("shipped email copy loaded: %s", ", ".join(loaded))
    return loaded
