"""What changed between two versions of an email's copy, field by field (difflib), for the editor's history page,
the refused-save notice (your text against the one saved meanwhile) and anyone reviewing an import."""

import difflib
from dataclasses import dataclass

from emails.content.text import CopyText

FIELDS = (("subject", "Subject"), ("preheader", "Preheader"), ("body", "Body"),
          ("allow_external_links", "Links to other sites allowed"))


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "same", "removed", "added" or "gap" (unchanged lines left out)
    text: str

    @property
    def sign(self) -> str:
        # Shown before the line, so the change reads without colour (and is copied with the text).
        return {"same": " ", "removed": "-", "added": "+", "gap": "…"}[self.kind]


@dataclass(frozen=True)
class FieldDiff:
    name: str
    label: str
    changed: bool
    lines: list[DiffLine]


def _value(text: CopyText, name: str) -> str:
    value = getattr(text, name)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _lines(old: str, new: str, context: int) -> list[DiffLine]:
    a, b = old.splitlines(), new.splitlines()
    out: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    end = 0  # where the previous group stopped in `a`: unchanged lines skipped before a group show as a gap
    for group in matcher.get_grouped_opcodes(context):
        if group[0][1] > end:
            out.append(DiffLine("gap", ""))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out.extend(DiffLine("same", line) for line in a[i1:i2])
                continue
            out.extend(DiffLine("removed", line) for line in a[i1:i2])
            out.extend(DiffLine("added", line) for line in b[j1:j2])
        end = group[-1][2]
    if out and end < len(a):
        out.append(DiffLine("gap", ""))
    return out


def copy_diff(old: CopyText, new: CopyText, *, context: int = 3) -> list[FieldDiff]:
    """Every field of the copy with what changed from `old` to `new`: unchanged fields have no lines; changed
    ones show removed and added lines with `context` unchanged lines around each change."""
    diffs = []
    for name, label in FIELDS:
        before, after = _value(old, name), _value(new, name)
        changed = before != after
        diffs.append(FieldDiff(name=name, label=label, changed=changed,
                               lines=_lines(before, after, context) if changed else []))
    return diffs


def diff_text(diffs: list[FieldDiff]) -> str:
    """The diff as plain text (a review comment, a test's expectation)."""
    parts = []
    for field in diffs:
        if field.changed:
            parts.append(f"{field.label}:\n" + "\n".join(f"{line.sign} {line.text}".rstrip() for line in field.lines))
    return "\n\n".join(parts)
