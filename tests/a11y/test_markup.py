"""What the HTML itself says, without a browser: the copy editor's markup is valid where the Nu HTML checker found
it was not, the dashboard names each section once, and every email hides its preheader without text coloured like
its background (SpamAssassin's HTML_FONT_LOW_CONTRAST scores that on every email)."""

import re
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from emails.content.models import EmailCopy
from emails.content.services import copy_publish
from emails.content.text import CopyText
from tests.drip.emails_all import all_steps, render_step
from tests.editor.conftest import STEP, published
from tests.guide.helpers import make_lead

pytestmark = pytest.mark.django_db

# Elements whose role is generic (or none): ARIA forbids naming them, so the Nu checker refuses aria-label and
# aria-labelledby on them unless they are given a role that may be named.
GENERIC = {"b", "code", "div", "em", "i", "p", "pre", "small", "span", "strong"}


class _Elements(HTMLParser):
    """Every start tag with its attributes, and each heading's own words (a link inside it left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[tuple[str, str]] = []
        self._heading: tuple[str, list[str]] | None = None
        self._in_link = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = (tag, [])
        elif tag == "a":
            self._in_link += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._in_link -= 1
        elif self._heading and tag == self._heading[0]:
            self.headings.append((tag, " ".join("".join(self._heading[1]).split())))
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._heading and not self._in_link:
            self._heading[1].append(data)


def _parse(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    return parser


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.postgres  # as every test of the copy editor (tests/editor)
@pytest.mark.parametrize("page", ["list", "edit", "history", "diff"])
def test_the_copy_editor_has_no_empty_action_and_names_only_what_may_be_named(page: str) -> None:
    first = published(STEP)
    copy_publish(step=STEP, text=CopyText(first.subject + ", gently", first.preheader, first.body),
                 origin=EmailCopy.Origin.EDITOR)
    url = {"list": reverse("admin:emails_emailcopy_changelist"),
           "edit": reverse("admin:emails_copy_edit", args=[STEP]),
           "history": reverse("admin:emails_copy_history", args=[STEP]),
           "diff": reverse("admin:emails_copy_diff", args=[STEP])}[page]
    response = _client(User.objects.create_superuser("eddie", "eddie@example.com", "pw")).get(url)
    assert response.status_code == 200
    tags = _parse(response.content.decode()).tags

    # An empty action is invalid HTML; a form without one posts back to the page, as the editor's forms mean to.
    assert [attrs for tag, attrs in tags if tag == "form" and attrs.get("action") == ""] == []
    named_generic = [(tag, attrs) for tag, attrs in tags if tag in GENERIC and "role" not in attrs
                     and ("aria-labelledby" in attrs or "aria-label" in attrs)]
    assert named_generic == []


def test_the_dashboard_names_each_section_once() -> None:
    response = _client(User.objects.create_superuser("staff", "staff@example.com", "pw")).get(
        reverse("admin-dashboard"))
    assert response.status_code == 200
    headings = [text for tag, text in _parse(response.content.decode()).headings if tag in ("h2", "h3")]
    assert "Per email" in headings and "Per source" in headings and "Funnel" in headings
    repeated = sorted({text for text in headings if headings.count(text) > 1})
    assert repeated == []


_STYLE = re.compile(r'<div class="preheader" style="([^"]*)"')
_BACKGROUNDS = re.compile(r'bgcolor="(#[0-9a-f]{3,6})"|background(?:-color)?:\s*(#[0-9a-f]{3,6})', re.I)


@pytest.mark.parametrize("step", all_steps())
def test_the_preheader_is_hidden_without_a_colour_like_the_background(step: str) -> None:
    html = render_step(make_lead(buyer=step in ("access", "already-yours")), step).html
    styles = _STYLE.findall(html)
    assert len(styles) == 1, f"{step}: {len(styles)} preheaders"
    declarations = dict(part.split(":", 1) for part in styles[0].rstrip(";").split(";"))
    # Hidden for every client: display for most, mso-hide for Outlook for Windows, no height and no opacity
    # for the clients that drop display:none.
    assert {key: declarations.get(key) for key in ("display", "mso-hide", "max-height", "opacity")} == {
        "display": "none", "mso-hide": "all", "max-height": "0", "opacity": "0"}
    backgrounds = {(a or b).lower() for a, b in _BACKGROUNDS.findall(html)}
    assert "#f4f1ec" in backgrounds  # the page's own colour is found, so the comparison means something
    assert declarations.get("color", "").lower() not in backgrounds
