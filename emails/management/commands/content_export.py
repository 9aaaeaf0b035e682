"""`manage.py content_export DIR`: the copy being sent now, one file per email (DIR/<step>.md, the format of
emails/content/files), so a team can keep it in git and review changes in pull requests. content_import reads
the same files back; export → import → export gives the same bytes."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from emails.content.editor.selectors import editor_steps
from emails.content.loading import format_copy_file
from emails.content.text import text_of


class Command(BaseCommand):
    help = "Write the published copy of every email to DIR/<step>.md (front matter + Markdown body)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path)

    def handle(self, *args: Any, directory: Path, **options: Any) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        rows = editor_steps()
        for row in rows:
            # Bytes, not text mode: no newline translation, so the file is the stored copy exactly.
            (directory / f"{row.step}.md").write_bytes(format_copy_file(row.step, text_of(row.current)).encode())
        self.stdout.write(f"Exported {len(rows)} emails to {directory}: "
                          + ", ".join(f"{row.step} v{row.current.version}" for row in rows))
