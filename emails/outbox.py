"""/dev/outbox/: browse what the development backend wrote. DEBUG only; 404 otherwise."""

import email
import email.policy
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path


def _outbox_dir() -> Path:
    if not settings.DEBUG:
        raise Http404
    return Path(settings.EMAIL_OUTBOX_DIR)


def outbox_list(request: HttpRequest) -> HttpResponse:
    directory = _outbox_dir()
    items = []
    for file in sorted(directory.glob("*.eml"), reverse=True)[:500]:
        msg = email.message_from_bytes(file.read_bytes(), policy=email.policy.default)
        items.append({"name": file.name, "subject": msg["Subject"], "to": msg["To"], "date": msg["Date"],
                      "tag": msg["X-Outbox-Tag"] or ""})
    return render(request, "dev/outbox_list.html", {"items": items})


def outbox_message(request: HttpRequest, name: str) -> HttpResponse:
    directory = _outbox_dir()
    file = directory / name
    if "/" in name or not name.endswith(".eml") or not file.is_file():
        raise Http404
    msg = email.message_from_bytes(file.read_bytes(), policy=email.policy.default)
    if request.GET.get("part") == "html":
        body = msg.get_body(preferencelist=("html",))
        html = body.get_content() if body else "<p>(no HTML part)</p>"
        response = HttpResponse(html)
        response["Content-Security-Policy"] = "script-src 'none'"
        return response
    text_part = msg.get_body(preferencelist=("plain",))
    headers = [(k, str(v)) for k, v in msg.items()]
    return render(request, "dev/outbox_message.html", {
        "name": name, "headers": headers, "text": text_part.get_content() if text_part else "",
    })


urlpatterns = [
    path("", outbox_list, name="dev-outbox"),
    path("<str:name>", outbox_message, name="dev-outbox-message"),
]
