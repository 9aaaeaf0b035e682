"""{% sending_brake_banner %}: every admin page (templates/admin/base_site.html) says when marketing mail is paused."""

from typing import Any

from django import template

from emails.deliverability.brake import brake_engaged, brake_summary
from emails.deliverability.brake_views import RELEASE_PERMISSION

register = template.Library()


@register.inclusion_tag("admin/deliverability/_brake_banner.html", takes_context=True)
def sending_brake_banner(context: template.Context) -> dict[str, Any]:
    user = context.get("user")
    if user is None or not (user.is_active and user.is_staff):
        return {"brake": None}  # the login page: nothing for a visitor
    brake = brake_engaged()  # one read of a small table, on the admin's pages only
    return {"brake": brake, "summary": brake_summary(brake) if brake else "",
            "can_release": brake is not None and user.has_perm(RELEASE_PERMISSION)}
