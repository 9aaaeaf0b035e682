"""Who may do what in the copy editor. Viewing needs the view permission on copy versions (the "marketing"
group has it); every write needs its own permission, checked on the POST itself, not only by hiding a button."""

from django.contrib import admin
from django.http import HttpRequest

from emails.models import ScheduledEmail

VIEW = "emails.view_emailcopy"
SAVE_DRAFT = "emails.change_emaildraft"
PUBLISH = "emails.add_emailcopy"  # publishing and rolling back both add a version


def can_view(request: HttpRequest) -> bool:
    return request.user.has_perm(VIEW) or can_publish(request)


def can_save(request: HttpRequest) -> bool:
    return request.user.has_perm(SAVE_DRAFT) or can_publish(request)


def can_publish(request: HttpRequest) -> bool:
    return request.user.has_perm(PUBLISH)


def can_test_send(request: HttpRequest) -> bool:
    """The outbox admin's rule for its own test sends (staff who may change the outbox), so the two agree."""
    outbox_admin = admin.site._registry.get(ScheduledEmail)
    return bool(outbox_admin and outbox_admin.has_test_send_permission(request))  # type: ignore[attr-defined]
