"""The per-experiment view (inside the admin) and its Promote button.

Seeing it needs the permission to view experiments (the "marketing" group has it); promoting publishes copy that
every reader gets from then on, so it needs the permission to change experiments, which that group lacks.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from emails.experiments import stats
from emails.experiments.models import Experiment, Variant
from emails.experiments.services import experiment_promote
from funnel.dashboard.selectors.experiments import ArmRow, experiment_report
from funnel.dashboard.tables import INT, MONEY, PCT, cell_text

VIEW_PERMISSION = "emails.view_experiment"
PROMOTE_PERMISSION = "emails.change_experiment"


def experiment_detail(request: HttpRequest, pk: int) -> TemplateResponse:
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied
    experiment = get_object_or_404(Experiment.objects.select_related("winner"), pk=pk)
    report = experiment_report(experiment)
    context = {
        **admin.site.each_context(request),
        "title": f"Experiment: {experiment.name}",
        "report": report,
        "rows": [_shown(arm) for arm in report.arms],
        "experiment": experiment,
        "can_promote": request.user.has_perm(PROMOTE_PERMISSION) and experiment.winner_id is None,
        "rule": {"min_recipients": stats.MIN_RECIPIENTS, "min_purchases": stats.MIN_PURCHASES,
                 "winner_pct": round(stats.WINNER_PROBABILITY * 100)},
    }
    return TemplateResponse(request, "admin/dashboard/experiment.html", context)


@require_POST
def experiment_promote_view(request: HttpRequest, pk: int) -> HttpResponseRedirect:
    if not request.user.has_perm(PROMOTE_PERMISSION):
        raise PermissionDenied
    experiment = get_object_or_404(Experiment, pk=pk)
    variant = get_object_or_404(Variant, pk=request.POST.get("variant") or 0, experiment=experiment)
    try:
        copy = experiment_promote(experiment=experiment, variant=variant, user=request.user)
    except ValidationError as error:
        messages.error(request, "Not promoted: " + " ".join(error.messages))
    else:
        messages.success(request, f"Variant {variant.label} promoted: it is now version {copy.version} of "
                                  f"{copy.step}, sent to every reader from now on. The experiment has ended.")
    return HttpResponseRedirect(reverse("admin-experiment", args=[experiment.pk]))


def _shown(arm: ArmRow) -> dict[str, object]:
    """One arm's cells as the page shows them."""
    def count_and_rate(name: str) -> str:
        share = arm.rate(name)
        return cell_text(getattr(arm, name), INT) + ("" if share is None else f" ({cell_text(share, PCT)})")

    interval = "–" if arm.low is None or arm.high is None else f"{cell_text(arm.low, PCT)} – {cell_text(arm.high, PCT)}"
    return {
        "arm": arm,
        "sent": cell_text(arm.sent, INT),
        "clicked": count_and_rate("clicked"),
        "upgrade_clicks": count_and_rate("upgrade_clicks"),
        "purchases": count_and_rate("purchases"),
        "gross": cell_text(arm.gross_cents, MONEY),
        "net": cell_text(arm.net_cents, MONEY),
        "per_recipient": cell_text(arm.net_cents_per_recipient, MONEY),
        "p_best": cell_text(arm.p_best, PCT),
        "interval": interval,
        "opened": count_and_rate("opened"),
    }
