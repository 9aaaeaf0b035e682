"""The HTML another site pastes to sign its readers up with us: a plain form that posts to /embed/signup/."""

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from leads.bots import HONEYPOT_FIELD
from leads.consent import CONSENT_TEXT, CONSENT_VERSION


def snippet_html() -> str:
    """The markup, with today's consent wording and version: a snippet pasted before the wording changed is
    refused with the landing form's "we updated the wording" message, so no one agrees to text they never saw."""
    return render_to_string("funnel/embed/snippet.html", {
        "action": settings.SITE_URL + reverse("embed-signup"), "consent_text": CONSENT_TEXT,
        "consent_version": CONSENT_VERSION, "honeypot_field": HONEYPOT_FIELD,
        # The file's plain name, not the hashed one of the manifest: a pasted snippet outlives our deploys.
        "script": settings.SITE_URL + settings.STATIC_URL + "js/embed.js",
    }).strip() + "\n"
