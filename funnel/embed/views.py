"""The embedded form's POST (/embed/signup/) and its page in the admin (/admin/signup-form/)."""

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from funnel.embed.intake import Outcome, external_signup_take
from funnel.embed.origins import allowed_origins, origin_allowed, origin_of, request_origin
from funnel.embed.snippet import snippet_html
from funnel.landing import typed
from funnel.landing.views import landing_context

VIEW_PERMISSION = "leads.view_lead"


# CSRF exempt by design: the form lives on another site, which cannot hold our CSRF token, and a token it could
# fetch would protect nothing. What CSRF protects against (a page making a visitor's browser act with their
# session) does not apply: this endpoint uses no session and no cookie, and grants nothing. What it must stop is
# strangers' addresses being signed up, and that is held by: the Origin (or Referer) in SIGNUP_ALLOWED_ORIGINS,
# which a browser sets itself and a page cannot forge; the per-IP rate limit and the honeypot of the landing form;
# the consent checkbox; and double opt-in: nothing but one confirmation email a day reaches an address until its
# owner confirms. A script that forges an Origin header gets no more than one calling our JSON API would.
@csrf_exempt
@require_POST
def embedded_signup(request: HttpRequest) -> HttpResponse:
    origin = request_origin(request)
    if not origin_allowed(origin):
        return render(request, "funnel/embed/refused.html", {"landing_url": reverse("landing")}, status=403)
    intake = external_signup_take(request=request, data=request.POST, origin=origin, medium="embed")
    if intake.outcome is Outcome.LIMITED:
        return render(request, "funnel/landing/slow_down.html", status=429)
    if intake.outcome is Outcome.INVALID:
        # The landing form's own error page (on our site, with our CSRF token): the reader fixes it here.
        return render(request, "funnel/landing/signup_errors.html", landing_context(intake.form), status=400)
    # 303: the browser follows with a GET, to the landing form's thank-you page (a bot lands there too).
    thanks = HttpResponseRedirect(reverse("signup-thanks"), status=303)
    if intake.outcome is Outcome.BOT:
        return thanks
    form = intake.form
    return typed.remember(thanks, {**form.cleaned_data, **form.attribution().as_lead_fields()})


def signup_snippet_page(request: HttpRequest) -> TemplateResponse:
    """Staff only (wrapped in admin_view in config/urls.py); the snippet holds nothing secret."""
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied
    context = {**admin.site.each_context(request), "title": "Signup form for other sites",
               "snippet": snippet_html(), "origins": sorted(allowed_origins() - {origin_of(settings.SITE_URL)}),
               "api_url": settings.SITE_URL + reverse("api-v1:signups"),
               "schema_url": settings.SITE_URL + reverse("api-v1:openapi-json")}
    return TemplateResponse(request, "admin/embed/signup_snippet.html", context)
