"""Copy and a context into the three parts of an email: the step's copy (Markdown with merge fields,
emails/content) inside the MJML layout (emails/layout), CSS inlined, and a text part from the same Markdown."""

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import css_inline
from django.template import Context
from django.template.loader import get_template

from emails.content.markdown import RenderedCopy, render_copy
from emails.content.text import CopyText
from emails.content.values import values_from_context


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str
    unsubscribe_url: str = ""


@lru_cache(maxsize=1)
def _inliner() -> css_inline.CSSInliner:
    # Style tags are kept so the dark-mode media query (which cannot be inlined) still reaches clients.
    return css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)


def _render_plain(name: str, context: dict[str, Any]) -> str:
    # Subjects and text parts are not HTML: "Tom & Jerry" must not arrive as "Tom &amp; Jerry".
    return get_template(name).template.render(Context(context, autoescape=False))  # type: ignore[attr-defined]


def _layout_blocks(rendered: RenderedCopy) -> dict[str, Any]:
    # Each block starts on its own line, as the layout's blocks always have (the output is compared byte for byte).
    return {"preheader": rendered.preheader, "button": rendered.button,
            "content_html": "\n" + rendered.content_html if rendered.content_html else "",
            "after_html": "\n" + rendered.after_html if rendered.after_html else ""}


def compose(copy: CopyText, context: dict[str, Any], *, buyer: bool) -> RenderedEmail:
    """The email `copy` makes in `context` (emails/context.py builds it)."""
    rendered = render_copy(copy, values_from_context(context, buyer=buyer))
    footer = _render_plain("emails/_footer.txt", context)
    text = re.sub(r"\n{3,}", "\n\n", f"{rendered.text}\n\n{footer}").strip() + "\n"
    # The subject is also the HTML's <title> (and its name for screen readers), as a browser shows a web view.
    html = _inliner().inline(get_template("emails/_copy.html").render(
        {**context, "subject": rendered.subject, "copy": _layout_blocks(rendered)}))
    return RenderedEmail(subject=rendered.subject, text=text, html=html, unsubscribe_url=context["unsubscribe_url"])


@lru_cache(maxsize=1)
def layout_bytes() -> int:
    """The size of the layout around the copy, for the 100 KB check (emails/content/checks.py)."""
    empty = {"preheader": "", "button": None, "content_html": "", "after_html": ""}
    return len(get_template("emails/_copy.html").render({"copy": empty, "postal_address": "x" * 200,
                                                          "preferences_url": "x" * 300,
                                                          "unsubscribe_url": "x" * 300}).encode())
