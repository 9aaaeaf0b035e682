"""The email layout, written in MJML beside this file and compiled into Django templates by mjml-python.

MJML turns sections, columns and a button into the table-based HTML that Outlook for Windows, Gmail and Apple
Mail lay out alike: a fixed 600 px table for Outlook (which ignores max-width on a div), a button whose cell
carries the colour and padding, a hidden preheader. mjml-python compiles it in-process (Rust, no Node).

It is compiled when the template is first loaded; Django's cached template loader keeps the result, so an email
render never compiles MJML. Two template names are served:

- `emails/base.html` (base.mjml): the page. An email fills `preheader`, `content`, `button` and `after_button`;
  the footer (notice, preferences and unsubscribe links, postal address) has no block, so content cannot
  remove it.
- `emails/_button.html` (button.mjml): the call to action, for the `button` block:
  `{% include "emails/_button.html" with url=... label=... %}`.
"""

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import mjml
from django.core.exceptions import ImproperlyConfigured
from django.template import Origin
from django.template.loaders.base import Loader as BaseLoader

LAYOUT_DIR = Path(__file__).resolve().parent
BUTTON_START, BUTTON_END = "{# button #}", "{# /button #}"
# MJML writes the whole body on one line, and Django sends an HTML part with a line over 998 bytes (RFC 5322's
# limit) as quoted-printable, whose pure-Python encoder then costs more than rendering the email. So lines are cut
# where a line break changes nothing on screen: before a block or table tag (MJML's cells have font-size 0), and
# before a link that starts its cell (leading white space is dropped), into lines short enough that the links and
# words filled in later (a signed URL is about 200 characters) keep each far below the limit.
_BREAK_BEFORE = re.compile(r'(?<=>)(?=<(?:table|tbody|tr|td|div|p)[\s>]|<!--\[if)|(?<=">)(?=<a\s)')
LINE_LIMIT = 400
_STYLE = re.compile(r"(<style[^>]*>)(.*?)(</style>)", re.S)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_CSS_BREAK = re.compile(r"(?<=\})(?=\s)")


def _include(path: str) -> str:
    target = (LAYOUT_DIR / path).resolve()
    if target.parent != LAYOUT_DIR:
        raise ImproperlyConfigured(f"mj-include outside {LAYOUT_DIR}: {path}")
    return target.read_text()


def compile_mjml(source: str) -> str:
    # No web fonts: MJML would otherwise link Google Fonts for "Roboto" in the font stack, a request to a third
    # party from every reader's mail client.
    html = mjml.mjml2html(source, disable_comments=True, fonts={}, include_loader=_include)
    return "\n".join(_short_lines(line) for line in html.split("\n"))


def _short_lines(line: str, split_at: re.Pattern[str] = _BREAK_BEFORE) -> str:
    if len(line) <= LINE_LIMIT:
        return line
    lines = [""]
    for piece in split_at.split(line):
        if lines[-1] and len(lines[-1]) + len(piece) > LINE_LIMIT:
            lines.append("")
        lines[-1] += piece
    return "\n".join(lines)


def _compact_css(css: str) -> str:
    """Comments and indentation are for us, not for every reader's mailbox: dropped, rules packed into lines."""
    lines = [line.strip() for line in _CSS_COMMENT.sub("", css).splitlines()]
    return _short_lines(" ".join(line for line in lines if line), split_at=_CSS_BREAK)


def layout_html() -> str:
    html = compile_mjml((LAYOUT_DIR / "base.mjml").read_text())
    # MJML's head styles (resets, responsive columns) and our dark-mode rules only work from <head>: css-inline
    # must leave them there, not copy them onto every element. The content styles come last, for it to inline.
    html = html.replace("<style", '<style data-css-inline="ignore"')
    html = html.replace("</head>", f"<style>{(LAYOUT_DIR / 'content.css').read_text()}</style></head>", 1)
    return _STYLE.sub(lambda m: m.group(1) + _compact_css(m.group(2)) + m.group(3), html)


def button_html() -> str:
    html = compile_mjml((LAYOUT_DIR / "button.mjml").read_text())
    start, end = html.find(BUTTON_START), html.find(BUTTON_END)
    if start < 0 or end < start:
        raise ImproperlyConfigured(f"button.mjml must wrap its mj-button in {BUTTON_START} … {BUTTON_END}")
    # The rows MJML made for the button inside a column: the layout's `button` block sits in its column.
    fragment = html[start + len(BUTTON_START):end]
    # Our class on the link itself, for the dark-mode rules and for whoever looks for the call to action.
    return fragment.replace("<a ", '<a class="button" ', 1)


TEMPLATES: dict[str, tuple[str, Callable[[], str]]] = {
    "emails/base.html": ("base.mjml", layout_html),
    "emails/_button.html": ("button.mjml", button_html),
}


class Loader(BaseLoader):
    """A Django template loader for the compiled layout; list it before the others, inside the cached loader."""

    def get_dirs(self) -> list[Path]:
        # In development the autoreloader watches these, and reloads the templates when an .mjml file changes.
        return [LAYOUT_DIR]

    def get_template_sources(self, template_name: str) -> Iterator[Origin]:
        if template_name in TEMPLATES:
            source, _build = TEMPLATES[template_name]
            yield Origin(name=str(LAYOUT_DIR / source), template_name=template_name, loader=self)

    def get_contents(self, origin: Origin) -> str:
        _source, build = TEMPLATES[str(origin.template_name)]
        return build()
