"""The conversion dashboard inside the admin: thin views over figures, tables and charts.

Wrapped in `admin.site.admin_view` (see urls.py): staff only, anyone else goes to the admin login. On top of
that it needs the permission to view leads, which the "marketing" group has (setup_marketing_group).
"""

import csv
from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from emails.deliverability import thresholds
from emails.deliverability.warmup import warmup_today
from emails.selectors import sending_now
from funnel.dashboard import broadcast_views, charts, selectors, tables
from funnel.dashboard.figures import CACHE_SECONDS, dashboard_figures
from funnel.dashboard.forms import DashboardFilterForm
from funnel.dashboard.rate_chart import rate_chart
from funnel.dashboard.selectors.abuse import signup_guard_days
from funnel.dashboard.sunset_panel import sunset_panel

VIEW_PERMISSION = "leads.view_lead"
DEFAULT_SORT = "-signups"


def _check(request: HttpRequest) -> None:
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied


def dashboard(request: HttpRequest) -> TemplateResponse:
    _check(request)
    form = DashboardFilterForm(request.GET or None)
    filters = form.filters()
    sort = request.GET.get("sort", DEFAULT_SORT)
    figures = dashboard_figures(filters, fresh=request.GET.get("fresh") == "1")

    page_tables = {slug: build(figures, sort) for slug, build in tables.TABLE_BUILDERS.items()}
    query = _filter_query(filters)
    context = {
        **admin.site.each_context(request),
        "title": "Conversion dashboard",
        "form": form,
        "filters": filters,
        "previous": filters.previous(),
        "figures": figures,
        "cache_minutes": CACHE_SECONDS // 60,
        "tables": page_tables,
        "funnel_chart": charts.funnel_bars(figures.summary.steps,
                                           title=f"Funnel {filters.start} to {filters.end}"),
        "line_chart": charts.conversion_line(
            figures.daily, title=f"Conversion by signup day {filters.start} to {filters.end}"
        ),
        "complaint_chart": rate_chart(
            figures.deliverability.days, title=f"Complaint rate per day, the 30 days to {filters.end}",
            rate=lambda counts: counts.complaint_rate,
            limits=[(thresholds.COMPLAINT_WARN, "warn", "warn"), (thresholds.COMPLAINT_STOP, "stop", "stop")]),
        "bounce_chart": rate_chart(
            figures.deliverability.days, title=f"Hard bounce rate per day, the 30 days to {filters.end}",
            rate=lambda counts: counts.hard_bounce_rate, limits=[(thresholds.HARD_BOUNCE_WARN, "warn", "warn")]),
        "filter_query": query,
        "sort": sort,
        "sort_links": _sort_links(page_tables["sources"], query, sort),
        "choices": figures.choices,
        # Not cached with the figures: a marketer who just started or promoted one expects to see it.
        "experiments": selectors.recent_experiments() if request.user.has_perm("emails.view_experiment") else [],
        # Live, a few rows of per-day counters: refused bots and held confirmations (funnel/landing/abuse.py).
        "signup_guard": signup_guard_days(start=filters.start, end=filters.end),
        "sending": sending_now(),  # live, never cached: an operator watching a large send
        "warmup": warmup_today(now=timezone.now()),  # likewise live; None (no query) without SEND_WARMUP_START
        # Likewise live: a broadcast's figures move while it is being sent.
        "broadcasts": broadcast_views.broadcast_rows_shown() if broadcast_views.can_view(request) else None,
        "sunset": sunset_panel(fresh=request.GET.get("fresh") == "1"),  # one query of three indexed counts
    }
    return TemplateResponse(request, "admin/dashboard/dashboard.html", context)


def dashboard_csv(request: HttpRequest, table: str) -> HttpResponse:
    _check(request)
    builder = tables.TABLE_BUILDERS.get(table)
    if builder is None:
        raise Http404("No such table")
    filters = DashboardFilterForm(request.GET or None).filters()
    result = builder(dashboard_figures(filters), request.GET.get("sort", DEFAULT_SORT))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{tables.filename(result, filters)}"'
    # Every cell quoted (OWASP: a separator or line break inside a cell can never start a new one) and escaped
    # against formulas by csv_rows.
    csv.writer(response, quoting=csv.QUOTE_ALL).writerows(result.csv_rows())
    return response


def _filter_query(filters: selectors.DashboardFilters) -> str:
    params = {"start": filters.start.isoformat(), "end": filters.end.isoformat()}
    params.update({name: getattr(filters, name) for name in selectors.UTM_FIELDS if getattr(filters, name)})
    return urlencode(params)


def _sort_links(table: tables.Table, query: str, current: str) -> list[dict[str, str]]:
    """Header links of the per-source table: click once for descending, again for ascending (no JavaScript)."""
    links = []
    for column in table.columns:
        descending = f"-{column.sort_key}"
        target = column.sort_key if current == descending else descending
        arrow = "▼" if current == descending else "▲" if current == column.sort_key else ""
        links.append({"title": column.title, "url": f"?{query}&{urlencode({'sort': target})}#sources",
                      "arrow": arrow,
                      "aria": "descending" if arrow == "▼" else "ascending" if arrow == "▲" else "none"})
    return links
