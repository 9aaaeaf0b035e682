"""What is wrong with a piece of copy, in words for the marketer, next to the field it is about.

`copy_problems(step, text)` renders the copy once for every combination of the conditions it uses (named reader
or not, buyer or not, ...), with placeholder values, so a problem in any branch shows before anyone receives it.
"""

import itertools
import re
from urllib.parse import urlsplit

from django.conf import settings

from emails.compose import layout_bytes
from emails.content.markdown import render_body
from emails.content.merge import (
    BLOCK_FIELDS,
    BUTTON_MARK,
    CONDITIONS,
    LINK_SCHEME,
    LINKS,
    MERGE_FIELDS,
    TAG,
    TAGGABLE_LINKS,
    MergeError,
    Values,
    conditions_used,
    merge,
)
from emails.content.text import CopyText
from leads.models import TAG_NAME

MAX_HTML_BYTES = 100_000
_HTML_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>")
_MARKDOWN_LINK = re.compile(r"\]\(\s*<?([^)\s>]*)")
_CODE = re.compile(r"`[^`]*`")
SAMPLE_FIELDS = {name: f"sample {name}" for name in MERGE_FIELDS}
# Anything written as a tagging link, however wrong its tag (the renderer folds only well-formed ones).
_TAGGING_ATTEMPT = re.compile(r"\]\(\s*link:([a-z_][a-z0-9_]*)\s+tag:([^)]*)\)")


def _sample_values(flags: frozenset[str], named: bool) -> Values:
    fields = dict(SAMPLE_FIELDS)
    if not named:
        fields["first_name"] = ""
    links = {name: f"{settings.SITE_URL}/sample/{name}/" for name in LINKS}
    blocks = {name: ("<table><tr><td>sample</td></tr></table>\n", "sample") for name in BLOCK_FIELDS}
    return Values(fields=fields, links=links, flags=flags, blocks=blocks)


def _merge_problem(text: str) -> str | None:
    try:
        merge(text, _sample_values(frozenset(), True))
    except MergeError as exc:
        return f"{exc}. Merge fields: {', '.join(MERGE_FIELDS)}."
    return None


def _tag_problems(body: str) -> list[str]:
    problems = []
    for link, tag in _TAGGING_ATTEMPT.findall(body):
        if link in LINKS and link not in TAGGABLE_LINKS:
            problems.append(f"The link {LINK_SCHEME}{link} cannot tag a reader; tagging links: "
                            + ", ".join(LINK_SCHEME + n for n in TAGGABLE_LINKS) + ".")
        if not TAG_NAME.fullmatch(tag.strip()):
            problems.append(f"tag:{tag} is not a tag name: use lower-case letters, digits, - or _, e.g. "
                            "[Yes, tell me more](link:free_guide tag:interested).")
    return problems


def _link_problems(body: str, allow_external: bool) -> list[str]:
    problems = _tag_problems(body)
    own_host = urlsplit(settings.SITE_URL).hostname
    for target in _MARKDOWN_LINK.findall(body):
        if target.startswith(LINK_SCHEME):
            name = target[len(LINK_SCHEME):]
            if name not in LINKS:
                problems.append(f"Unknown link {target}. Named links: "
                                + ", ".join(LINK_SCHEME + n for n in LINKS) + ".")
            continue
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https", "mailto"):
            problems.append(f"The link {target!r} is not a web address; use link:NAME or https://…")
        elif (parts.scheme == "mailto" or parts.hostname != own_host) and not allow_external:
            where = parts.hostname or target
            problems.append(f"The link to {where} goes to another site. Tick \"allow external links\" if that "
                            "is intended.")
    return problems


def _structure_problems(body: str) -> list[str]:
    problems = []
    without_code = _CODE.sub("", TAG.sub("", body))
    tag = _HTML_TAG.search(without_code)
    if tag:
        problems.append(f"HTML such as {tag.group(0)!r} is shown as text, not markup: write Markdown instead "
                        "(# heading, **bold**, [text](link:NAME)).")
    if "![" in without_code:
        problems.append("Images are not supported in email copy.")
    if body.count(BUTTON_MARK) > 1 and not conditions_used(body):
        problems.append("An email has one button: keep one [label](link:NAME){.button}.")
    return problems


def _rendered_problems(copy: CopyText) -> list[str]:
    problems: set[str] = set()
    used = sorted(name for name in conditions_used(copy.body) if name in CONDITIONS)
    size = 0
    for named, combo in itertools.product((True, False), itertools.product((False, True), repeat=len(used))):
        flags = frozenset(name for name, on in zip(used, combo, strict=True) if on)
        content_html, button, after_html, text = render_body(copy.body, _sample_values(flags, named))
        leftover = text.replace(button.label if button else "", "")
        if "](" in leftover or BUTTON_MARK in leftover:
            problems.add("A link is malformed: write [text](link:NAME), or [text](link:NAME){.button} alone in "
                         "its paragraph for the button.")
        if "{{" in leftover or "}}" in leftover:
            problems.add("A merge field is not closed: write {{ name }}.")
        size = max(size, len((content_html + after_html).encode()))
    total = size + layout_bytes()
    if total > MAX_HTML_BYTES:
        problems.add(f"The email's HTML would be {total // 1000} KB; keep it under {MAX_HTML_BYTES // 1000} KB "
                     "(Gmail cuts longer emails off).")
    return sorted(problems)


def copy_problems(step: str, text: CopyText) -> dict[str, list[str]]:
    """field ("subject", "preheader", "body") -> messages; empty when the copy can be published."""
    problems: dict[str, list[str]] = {}
    if not " ".join(text.subject.split()):
        problems.setdefault("subject", []).append("The subject is empty.")
    for field, value in (("subject", text.subject), ("preheader", text.preheader), ("body", text.body)):
        problem = _merge_problem(value)
        if problem:
            problems.setdefault(field, []).append(problem)
        if field != "body" and _MARKDOWN_LINK.search(value):
            problems.setdefault(field, []).append("Links only work in the body.")
    if "body" in problems:
        return problems  # the body cannot be rendered until its merge fields are fixed
    body_problems = _link_problems(text.body, text.allow_external_links) + _structure_problems(text.body)
    if not text.body.strip():
        body_problems.append("The body is empty.")
    body_problems += _rendered_problems(text)
    if body_problems:
        problems["body"] = body_problems
    return problems
