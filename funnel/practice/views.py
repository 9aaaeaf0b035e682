"""The daily-session app: a dashboard (streak, plan, pain chart) and the session page (pick, run, log)."""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods

from funnel.guide import content
from funnel.guide.gating import Viewer, signin_url, viewer_for
from funnel.practice import selectors
from funnel.practice.chart import pain_chart
from funnel.practice.forms import SessionForm, chosen_areas
from funnel.practice.services import PracticeLimitReached, practice_log

_private = cache_control(private=True, no_store=True)


def _base_context(viewer: Viewer) -> dict[str, Any]:
    return {"viewer": viewer, "signin_url": signin_url(), "red_flags": content.PHYSICIAN_RED_FLAGS,
            "areas": content.AREAS}


def _preview(request: HttpRequest, viewer: Viewer, *, status: int = 200) -> HttpResponse:
    return render(request, "funnel/app/preview.html", _base_context(viewer), status=status)


@require_GET
@_private
def app_home(request: HttpRequest) -> HttpResponse:
    viewer = viewer_for(request)
    if viewer.buyer is None:
        return _preview(request, viewer)
    lead = viewer.buyer
    today = selectors.lead_today(lead)
    days = 30 if request.GET.get("range") == "30" else 7
    series = selectors.practice_pain_series(lead, today=today, days=days)
    context = {
        **_base_context(viewer),
        "today": today,
        "streak": selectors.practice_streak(lead, today=today),
        "progress": selectors.practice_plan_progress(lead, today=today),
        "range_days": days,
        "series": series,
        "chart": pain_chart(series, title=f"Pain before and after, last {days} days"),
        "recent": [
            (session, ", ".join(content.AREAS_BY_SLUG[slug].short for slug in session.areas
                                if slug in content.AREAS_BY_SLUG), round(session.heat_seconds / 60))
            for session in selectors.practice_recent(lead)
        ],
    }
    return render(request, "funnel/app/home.html", context)


@require_http_methods(["GET", "POST"])
@_private
def app_session(request: HttpRequest) -> HttpResponse:
    viewer = viewer_for(request)
    if viewer.buyer is None:
        return _preview(request, viewer, status=403 if request.method == "POST" else 200)
    lead = viewer.buyer
    source = request.POST if request.method == "POST" else request.GET
    areas = chosen_areas(source.getlist("area"))
    today = selectors.lead_today(lead)
    progress = selectors.practice_plan_progress(lead, today=today)
    if not areas:
        suggested = progress.today.area_slug
        return render(request, "funnel/app/pick.html",
                      {**_base_context(viewer), "progress": progress, "suggested": suggested,
                       "picked_nothing": "picked" in source})

    form = SessionForm(request.POST if request.method == "POST" else None, areas=areas)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            practice_log(
                lead=lead, areas=areas, spots_done=data["spots"], stretches_done=data["stretches"],
                heat_seconds=form.heat_seconds_logged(), release_seconds=data.get("release_seconds") or 0,
                stretch_seconds=data.get("stretch_seconds") or 0,
                pain_before=data["pain_before"], pain_after=data["pain_after"],
            )
        except PracticeLimitReached:
            messages.error(request, "That's a lot of sessions for one day: this one was not logged.")
            return redirect("app")
        messages.success(request, f"Session logged: pain {data['pain_before']} → {data['pain_after']}.")
        return redirect("app")
    context = {
        **_base_context(viewer),
        "form": form,
        "chosen": [content.AREAS_BY_SLUG[slug] for slug in areas],
        "spots": content.spots_for(areas),
        "stretches": content.stretches_for(areas),
        "protocol": {step.slug: step for step in content.PROTOCOL},
        "order_why": content.STEP_ORDER_WHY,
        "pain_range": range(11),
        "session_key": f"{today.isoformat()}:{','.join(areas)}",
        "hold": {"min": content.HOLD_MIN_SECONDS, "max": content.HOLD_MAX_SECONDS},
        "heat": {"min": content.HEAT_MIN_MINUTES, "max": content.HEAT_MAX_MINUTES},
        "progress": progress,
    }
    return render(request, "funnel/app/session.html", context, status=400 if form.is_bound else 200)
