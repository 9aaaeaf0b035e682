"""What a browser would submit: the fields of a form on a page, as they stand (no JavaScript involved)."""

from html.parser import HTMLParser
from typing import Any


class _FormFields(HTMLParser):
    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self.select: str | None = None
        self.select_value: str | None = None
        self.first_option: str | None = None
        self.option_value: str | None = None
        self.textarea: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside or "disabled" in a:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((a["name"], a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and a.get("name"):
            self.select, self.select_value, self.first_option = a["name"], None, None
        elif tag == "option" and self.select is not None:
            value = a.get("value", "")
            self.first_option = value if self.first_option is None else self.first_option
            if "selected" in a:
                self.select_value = value
        elif tag == "textarea" and a.get("name"):
            self.textarea, self.text = a["name"], []

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self.select is not None:
            chosen = self.select_value if self.select_value is not None else self.first_option
            self.fields.append((self.select, chosen or ""))
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            self.fields.append((self.textarea, "".join(self.text).removeprefix("\n")))
            self.textarea = None


def form_fields(html: str, form_id: str) -> dict[str, Any]:
    """name -> value (a list where a name repeats, as checkboxes of one name do)."""
    parser = _FormFields(form_id)
    parser.feed(html)
    out: dict[str, Any] = {}
    for name, value in parser.fields:
        if name in out:
            out[name] = (out[name] if isinstance(out[name], list) else [out[name]]) + [value]
        else:
            out[name] = value
    return out
