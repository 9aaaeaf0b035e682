"""The full guide: server-rendered pages, complete for buyers, a short preview with the upgrade button otherwise."""

from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from funnel.guide import content
from funnel.guide.gating import signin_url, viewer_for

# (url name, title) in reading order; the guide's table of contents and its previous/next links.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("guide-protocol", "The protocol in detail"),
    ("guide-tools", "Tools"),
    ("guide-areas", "The six pain areas"),
    ("guide-mistakes", "The five mistakes"),
    ("guide-plan-7", "The 7-day plan"),
    ("guide-plan-30", "The 30-day plan"),
)


def _render(request: HttpRequest, template: str, *, section: str, title: str, **extra: Any) -> HttpResponse:
    viewer = viewer_for(request)
    context = {
        "viewer": viewer,
        "signin_url": signin_url(),
        "title": title,
        "section": section,
        "sections": SECTIONS,
        "red_flags": content.PHYSICIAN_RED_FLAGS,
        "areas": content.AREAS,
        "heat_minutes": f"{content.HEAT_MIN_MINUTES}–{content.HEAT_MAX_MINUTES}",
        **extra,
    }
    return render(request, template, context)


def guide_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page of the guide: GET only, and kept out of shared caches (buyer content varies per visitor)."""
    return require_GET(cache_control(private=True, no_store=True)(view))


@guide_page
def guide_index(request: HttpRequest) -> HttpResponse:
    return _render(request, "funnel/guide/index.html", section="full-guide", title="The complete 3-Step Pain Reset",
                   protocol=content.PROTOCOL)


@guide_page
def guide_protocol(request: HttpRequest) -> HttpResponse:
    return _render(request, "funnel/guide/protocol.html", section="guide-protocol", title="The protocol in detail",
                   protocol=content.PROTOCOL, order_why=content.STEP_ORDER_WHY)


@guide_page
def guide_tools(request: HttpRequest) -> HttpResponse:
    return _render(request, "funnel/guide/tools.html", section="guide-tools", title="Tools", tools=content.TOOLS)


@guide_page
def guide_areas(request: HttpRequest) -> HttpResponse:
    return _render(request, "funnel/guide/areas.html", section="guide-areas", title="The six pain areas")


@guide_page
def guide_area(request: HttpRequest, slug: str) -> HttpResponse:
    area = content.AREAS_BY_SLUG.get(slug)
    if area is None:
        raise Http404("No such area")
    return _render(request, "funnel/guide/area.html", section="guide-areas", title=area.name, area=area)


@guide_page
def guide_mistakes(request: HttpRequest) -> HttpResponse:
    return _render(request, "funnel/guide/mistakes.html", section="guide-mistakes", title="The five mistakes",
                   mistakes=content.MISTAKES)


@guide_page
def guide_plan_7(request: HttpRequest) -> HttpResponse:
    days = [(day, content.AREAS_BY_SLUG.get(day.area_slug)) for day in content.PLAN_7_DAYS]
    return _render(request, "funnel/guide/plan_7.html", section="guide-plan-7", title="The 7-day plan", days=days)


@guide_page
def guide_plan_30(request: HttpRequest) -> HttpResponse:
    return _render(request, "funnel/guide/plan_30.html", section="guide-plan-30", title="The 30-day plan",
                   weeks=content.PLAN_30_DAYS)
