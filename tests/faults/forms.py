"""Fill in the signup form the way a browser does: every hidden field the page carries, plus what a person types."""

from html.parser import HTMLParser


class _HiddenInputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.in_signup = False
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.in_signup = (a.get("action") or "").endswith("/signup/")
        elif tag == "input" and self.in_signup and a.get("type") == "hidden" and a.get("name"):
            self.fields[a["name"] or ""] = a.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.in_signup = False


def signup_form_data(landing_html: str, **typed: str) -> dict[str, str]:
    """The hidden fields of the landing page's signup form (CSRF token included) with the typed values."""
    parser = _HiddenInputs()
    parser.feed(landing_html)
    if "csrfmiddlewaretoken" not in parser.fields:
        raise AssertionError("the landing page has no signup form with a CSRF token")
    return {**parser.fields, "consent": "on", **typed}
