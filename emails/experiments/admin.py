"""Admin for experiments: start one with its variants inline, end it, open its results.

Adding an experiment starts it, checked by the same rules as experiment_start (variant_problems): 2 to 4
variants, shares above 0, copy that passes the editor's checks, one running experiment per email. Once it runs,
only its name can change: editing a variant mid-test would mix two versions into one arm's figures. Results and
the Promote button are on the per-experiment view of the dashboard (funnel/dashboard/experiment_views.py).
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from emails.experiments.models import Experiment, Variant
from emails.experiments.services import (
    LABELS,
    MAX_VARIANTS,
    MIN_VARIANTS,
    VariantSpec,
    experiment_end,
    experiment_start,
    experiment_steps,
    variant_problems,
)


class ExperimentForm(forms.ModelForm):
    # Read on each form: a broadcast written a minute ago can be tested.
    step = forms.ChoiceField(choices=lambda: [(step, step) for step in experiment_steps()])

    class Meta:
        model = Experiment
        fields = ["name", "step", "scope"]

    def clean_step(self) -> str:
        step: str = self.cleaned_data["step"]
        running = Experiment.objects.filter(step=step, status=Experiment.Status.RUNNING).exclude(pk=self.instance.pk)
        if running.exists():
            raise forms.ValidationError(f"An experiment is already running on {step}: end it first.")
        return step


class VariantFormSet(BaseInlineFormSet):
    def specs(self) -> list[VariantSpec]:
        """The arms as typed, in order (A, B, ...)."""
        return [VariantSpec(subject=form.cleaned_data.get("subject", ""), weight=form.cleaned_data.get("weight", 0),
                            preheader=form.cleaned_data.get("preheader", ""), body=form.cleaned_data.get("body", ""))
                for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")]

    def clean(self) -> None:
        super().clean()
        if any(self.errors) or self.instance.pk:
            return
        kept = [form for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")]
        step, scope = self.data.get("step", ""), self.data.get("scope", "")
        problems = variant_problems(step, scope, self.specs())
        if "variants" in problems:
            raise forms.ValidationError(problems["variants"])
        for label, form in zip(LABELS, kept, strict=False):
            for field in ("weight", "subject", "preheader", "body"):
                for message in problems.get(f"{label}.{field}", []):
                    form.add_error(field, message)


class VariantInline(admin.StackedInline):
    model = Variant
    formset = VariantFormSet
    extra = MIN_VARIANTS
    min_num = MIN_VARIANTS
    max_num = MAX_VARIANTS
    can_delete = False
    fields = ["label", "weight", "subject", "preheader", "body"]
    readonly_fields = ["label"]
    verbose_name = "variant"

    def get_readonly_fields(self, request: HttpRequest, obj: Experiment | None = None) -> list[str]:
        return ["label", "weight", "subject", "preheader", "body"] if obj is not None else ["label"]

    def has_add_permission(self, request: HttpRequest, obj: Experiment | None = None) -> bool:
        return obj is None and super().has_add_permission(request, obj)


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    form = ExperimentForm
    list_display = ["name", "step", "scope", "status", "started_at", "ended_at", "winner_label", "results_link"]
    list_filter = ["status", "step"]
    inlines = [VariantInline]
    actions = ["end_experiments"]

    def get_fields(self, request: HttpRequest, obj: Experiment | None = None) -> list[Any]:
        if obj is None:
            return ["name", "step", "scope"]
        return ["name", "step", "scope", "status", "started_at", "ended_at", "winner_label", "created_by",
                "results_link"]

    def get_readonly_fields(self, request: HttpRequest, obj: Experiment | None = None) -> list[str]:
        if obj is None:
            return []
        return ["step", "scope", "status", "started_at", "ended_at", "winner_label", "created_by", "results_link"]

    @admin.display(description="winner")
    def winner_label(self, obj: Experiment) -> str:
        return obj.winner.label if obj.winner else "–"

    @admin.display(description="results")
    def results_link(self, obj: Experiment) -> str:
        if not obj.pk:
            return "–"
        return format_html('<a href="{}">Results and Promote</a>', reverse("admin-experiment", args=[obj.pk]))

    def save_model(self, request: HttpRequest, obj: Experiment, form: Any, change: bool) -> None:
        if change:  # only the name can change once it runs
            super().save_model(request, obj, form, change)
        # Adding starts the experiment with its variants, in save_related: through experiment_start, the one
        # place that writes a new experiment (labels, a subject-only test's empty bodies, the one-running rule).

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        if change:
            super().save_related(request, form, formsets, change)
            return
        [variants] = [f for f in formsets if isinstance(f, VariantFormSet)]
        started = experiment_start(step=form.cleaned_data["step"], name=form.cleaned_data["name"],
                                   scope=form.cleaned_data["scope"], variants=variants.specs(), user=request.user)
        form.instance.pk = started.pk  # the admin's log entry and redirect name the experiment just started
        form.instance.created_by = started.created_by
        # What formset.save() would have recorded, for the admin's change message ("Added variant A, B").
        variants.new_objects, variants.changed_objects, variants.deleted_objects = list(started.variants.all()), [], []

    @admin.action(description="End the selected experiments (readers get the published copy again)",
                  permissions=["change"])
    def end_experiments(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        running = list(queryset.filter(status=Experiment.Status.RUNNING))
        for experiment in running:
            experiment_end(experiment=experiment)
        self.message_user(request, f"{len(running)} experiment(s) ended.", messages.SUCCESS)
