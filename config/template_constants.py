"""Product figures every template may print, pages and emails alike (a builtin library: no {% load %} needed).

A tag rather than a context processor because emails are rendered without a request, where context processors
do not run; config may import any layer, so `emails` templates get the figure without `emails` importing `funnel`.
"""

from django import template

from funnel.guide.content import ROUTINE_MINUTES

register = template.Library()


@register.simple_tag
def routine_minutes() -> str:
    """How long the daily routine takes, from its three steps: "25–30" (follow it with "minutes")."""
    return ROUTINE_MINUTES
