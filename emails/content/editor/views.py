"""The copy editor's pages, inside the admin (wrapped by admin_view in EmailCopyAdmin.get_urls): the list of
emails, one email's edit page with its live preview, the preview endpoint, history, diff and rollback.

Thin: parse the request, call one service in emails.content.drafts, render. Every POST checks its own permission
(editor/permissions.py); the templates hide what a user may not do, but hiding is not the check.
"""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.mail import get_connection
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from emails.content import merge
from emails.content.diff import copy_diff
from emails.content.drafts import CopyInvalid, DraftConflict, copy_rollback, draft_publish, draft_save
from emails.content.editor import permissions
from emails.content.editor.forms import CopyForm, LeadChoiceForm
from emails.content.editor.preview import CopyPreview, copy_preview, preview_row, sample_lead
from emails.content.editor.selectors import DraftState, editor_steps, step_history, step_state
from emails.content.models import EmailCopy
from emails.content.text import CopyText, text_of
from emails.preview import build_test_message
from leads.models import Lead

TITLE = "Email copy"


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {**admin.site.each_context(request), "opts": EmailCopy._meta, "can_save": permissions.can_save(request),
            "can_publish": permissions.can_publish(request), "can_test_send": permissions.can_test_send(request),
            **extra}


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


def copy_list(request: HttpRequest) -> TemplateResponse:
    _require(permissions.can_view(request))
    return TemplateResponse(request, "admin/emails/content/list.html",
                            _context(request, title=TITLE, rows=editor_steps()))


def _stored_text(step: str) -> tuple[EmailCopy, CopyText, int, DraftState, Any]:
    current, draft, experiment = step_state(step)
    if current is None:
        raise Http404("No copy for this email")
    state = DraftState(draft, current)
    text = text_of(draft) if draft is not None and draft.revision else text_of(current)
    return current, text, draft.revision if draft else 0, state, experiment


def _edit_page(request: HttpRequest, step: str, *, form: CopyForm, lead_form: LeadChoiceForm,
               preview: CopyPreview, conflict: Any = None, status: int = 200) -> TemplateResponse:
    current, _text, _revision, state, experiment = _stored_text(step)
    if not permissions.can_save(request):
        for name in ("subject", "preheader", "body"):  # shown, previewable, not editable
            form.fields[name].widget.attrs["readonly"] = True
    context = _context(
        request, title=f"Edit the “{step}” email", step=step, current=current, state=state, experiment=experiment,
        form=form, lead_form=lead_form, preview=preview, conflict=conflict, merge_fields=merge.MERGE_FIELDS,
        links=merge.LINKS, preview_url=reverse("admin:emails_copy_preview", args=[step]),
        history_url=reverse("admin:emails_copy_history", args=[step]),
        problem_fields=["subject", "preheader", "body"])
    return TemplateResponse(request, "admin/emails/content/edit.html", context, status=status)


def _lead(lead_form: LeadChoiceForm) -> Lead | None:
    return lead_form.cleaned_data.get("lead") if lead_form.is_valid() else None


def copy_edit(request: HttpRequest, step: str) -> HttpResponse:
    _require(permissions.can_view(request))
    if request.method == "POST":
        return _edit_post(request, step)
    _current, text, revision, _state, _experiment = _stored_text(step)
    form = CopyForm(initial={**text.__dict__, "revision": revision})
    lead_form = LeadChoiceForm(request.GET or None)
    return _edit_page(request, step, form=form, lead_form=lead_form,
                      preview=copy_preview(step, text, _lead(lead_form)))


def _edit_post(request: HttpRequest, step: str) -> HttpResponse:
    action = request.POST.get("action", "preview")
    _require({"preview": True, "save": permissions.can_save(request), "publish": permissions.can_publish(request),
              "test": permissions.can_test_send(request)}.get(action, False))
    _stored_text(step)  # 404 for a step without copy, before anything is written
    form, lead_form = CopyForm(request.POST), LeadChoiceForm(request.POST)
    if not form.is_valid():
        # Only a tampered revision gets here (the text fields accept anything): nothing to save.
        return _edit_page(request, step, form=form, lead_form=lead_form, preview=CopyPreview(), status=400)
    text, lead = form.text(), _lead(lead_form)

    def again(**extra: Any) -> TemplateResponse:
        page: dict[str, Any] = {"form": form, "lead_form": lead_form, "preview": copy_preview(step, text, lead)}
        return _edit_page(request, step, **{**page, **extra})

    if action == "preview":
        return again()
    if action == "test":
        return _test_send(request, step, text, lead, again)
    try:
        draft = draft_save(step=step, text=text, base_revision=form.cleaned_data["revision"], user=request.user)
        if action == "publish":
            version = draft_publish(step=step, revision=draft.revision, user=request.user)
    except DraftConflict as refused:
        return _refused(request, step, form, refused, again)
    except CopyInvalid:
        # The draft is saved (above); the page keeps what was typed and shows the problems next to the fields.
        form = _with_revision(form, draft.revision)
        messages.error(request, "Not published: fix the problems shown next to the fields. Your draft is saved.")
        return _edit_page(request, step, form=form, lead_form=lead_form, preview=copy_preview(step, text, lead),
                          status=400)
    if action == "publish":
        messages.success(request, f"Published version {version.version} of {step}: every {step} email rendered "
                                  "from now on uses it.")
    else:
        messages.success(request, "Draft saved. Nothing sent changes until you publish it.")
    query = f"?lead={lead.pk}" if lead else ""
    return HttpResponseRedirect(reverse("admin:emails_copy_edit", args=[step]) + query)


def _with_revision(form: CopyForm, revision: int) -> CopyForm:
    data = {**form.data.dict(), "revision": str(revision)}  # type: ignore[attr-defined]
    fresh = CopyForm(data)
    fresh.is_valid()
    return fresh


def _refused(request: HttpRequest, step: str, form: CopyForm, refused: DraftConflict, again: Any) -> HttpResponse:
    """Someone saved in between: keep this editor's text, show theirs and the difference. The form now names
    their revision, so saving again is a decision taken with their change in view, never a silent overwrite."""
    theirs = refused.draft
    messages.error(request, "Not saved: someone else saved this email while you were editing it. Their version "
                            "and what you would change in it are shown below; save again to replace it with yours.")
    conflict = {"draft": theirs, "diffs": copy_diff(text_of(theirs), form.text()),
                "who": theirs.updated_by.get_username() if theirs.updated_by else "an import"}
    return again(form=_with_revision(form, theirs.revision), conflict=conflict, status=409)


def _test_send(request: HttpRequest, step: str, text: CopyText, lead: Lead | None, again: Any) -> HttpResponse:
    """The copy on screen, mailed to the signed-in user only, with the preview's inert links."""
    address = getattr(request.user, "email", "")
    if not address:
        messages.error(request, "Your admin account has no email address to send the test to.")
        return again(status=400)
    reader = lead or sample_lead()
    build_test_message(reader, preview_row(reader, step), to=address, connection=get_connection(),
                       copy=text).send()
    messages.success(request, f"Test of {step} sent to {address}, with inert links.")
    return again()


@require_POST
def copy_preview_json(request: HttpRequest, step: str) -> JsonResponse:
    """The live preview: the form as typed, rendered (a POST: the copy may be long, and CSRF-protected)."""
    _require(permissions.can_view(request))
    _stored_text(step)
    form, lead_form = CopyForm(request.POST), LeadChoiceForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"error": "bad form"}, status=400)
    preview = copy_preview(step, form.text(), _lead(lead_form))
    lead_problems = [str(message) for message in lead_form.errors.get("lead", [])]
    return JsonResponse({**preview.as_json(), "lead_problems": lead_problems})


def copy_history(request: HttpRequest, step: str) -> TemplateResponse:
    _require(permissions.can_view(request))
    versions = step_history(step)
    if not versions:
        raise Http404("No copy for this email")
    return TemplateResponse(request, "admin/emails/content/history.html", _context(
        request, title=f"History of the “{step}” email", step=step, versions=versions, current=versions[0],
        edit_url=reverse("admin:emails_copy_edit", args=[step])))


def _version_number(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        raise Http404("No such version") from None


def copy_diff_view(request: HttpRequest, step: str) -> TemplateResponse:
    """Any two versions of one email, old on the left of the name: `?a=<version>&b=<version>`."""
    _require(permissions.can_view(request))
    versions = {v.version: v for v in step_history(step)}
    if not versions:
        raise Http404("No copy for this email")
    newest = max(versions)
    a = _version_number(request.GET.get("a"), max(newest - 1, 1))
    b = _version_number(request.GET.get("b"), newest)
    if a not in versions or b not in versions:
        raise Http404("No such version")
    old, new = versions[a], versions[b]
    diffs = copy_diff(text_of(old), text_of(new))
    return TemplateResponse(request, "admin/emails/content/diff.html", _context(
        request, title=f"“{step}”: version {a} against version {b}", step=step, old=old, new=new,
        diffs=diffs, any_change=any(d.changed for d in diffs),
        versions=sorted(versions.values(), key=lambda v: -v.version),
        history_url=reverse("admin:emails_copy_history", args=[step])))


@require_POST
def copy_rollback_view(request: HttpRequest, step: str, version: int) -> HttpResponse:
    _require(permissions.can_publish(request))
    if not EmailCopy.objects.filter(step=step, version=version).exists():
        raise Http404("No such version")
    try:
        new = copy_rollback(step=step, version=version, user=request.user)
    except CopyInvalid as invalid:
        messages.error(request, f"Not rolled back: version {version} fails today's checks ({invalid}).")
    else:
        messages.success(request, f"Rolled back: version {new.version} is a copy of version {version} and is "
                                  "what every email rendered from now on uses.")
    return HttpResponseRedirect(reverse("admin:emails_copy_history", args=[step]))
