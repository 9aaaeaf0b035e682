"""`manage.py content_import DIR [--publish]`: read DIR/<step>.md files (as content_export writes them) back.

Every file is read and checked before anything is written: one bad file (unreadable front matter, an unknown
email, a name that is not its step, copy failing the editor's checks) and nothing changes, and the error names
every bad file. Without --publish each changed file becomes its email's draft, to be reviewed and published in
the admin; with --publish it becomes the email's next version. Files equal to what is there change nothing.
"""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from emails.content.checks import copy_problems
from emails.content.drafts import copy_import_publish, draft_import
from emails.content.loading import CopyFileError, parse_copy_file, shipped_copy
from emails.content.models import EmailCopy
from emails.content.text import CopyText


def _read(path: Path, known_steps: set[str]) -> tuple[str, CopyText]:
    """(step, copy) of one file, or CopyFileError with every reason it cannot be imported."""
    try:
        raw = path.read_bytes().decode("utf-8")  # bytes: the body is kept exactly, line endings included
    except UnicodeDecodeError as exc:
        raise CopyFileError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    step, text = parse_copy_file(raw)
    if path.stem != step:
        raise CopyFileError(f"says step {step!r}; a file is named after its step ({step}.md)")
    if step not in known_steps:
        raise CopyFileError(f"no email called {step!r} (known: {', '.join(sorted(known_steps))})")
    problems = copy_problems(step, text)
    if problems:
        raise CopyFileError("; ".join(f"{field}: {' '.join(messages)}" for field, messages in problems.items()))
    return step, text


class Command(BaseCommand):
    help = "Import DIR/<step>.md copy files as drafts (or, with --publish, as new versions); all or nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path)
        parser.add_argument("--publish", action="store_true",
                            help="Publish each changed file as its email's next version instead of a draft.")

    def handle(self, *args: Any, directory: Path, publish: bool, **options: Any) -> None:
        paths = sorted(directory.glob("*.md")) if directory.is_dir() else []
        if not paths:
            raise CommandError(f"No .md copy files in {directory}.")
        known = set(EmailCopy.objects.values_list("step", flat=True).distinct()) | set(shipped_copy())
        copies: list[tuple[str, CopyText]] = []
        errors: list[str] = []
        for path in paths:
            try:
                copies.append(_read(path, known))
            except CopyFileError as exc:
                errors.append(f"{path.name}: {exc}")
        if errors:
            raise CommandError("Nothing imported; fix these files first:\n" + "\n".join(errors))

        changed: list[str] = []
        with transaction.atomic():
            for step, text in copies:
                if publish:
                    version = copy_import_publish(step=step, text=text, note=f"content_import {directory.name}/"
                                                                             f"{step}.md")
                    if version is not None:
                        changed.append(f"{step} v{version.version}")
                elif draft_import(step=step, text=text) is not None:
                    changed.append(step)
        what = "published" if publish else "saved as drafts (publish them in the admin)"
        self.stdout.write(f"Read {len(copies)} files; {len(changed)} {what}: {', '.join(changed) or 'none changed'}")
