"""One renderer for every email: the row's copy in its context (emails/context.py), composed into the layout
(emails/compose.py), from the step's cached render when it can be (emails/render_cache.py).

Links that carry tokens are made at send time (emails/links.py), never stored in rows.
"""

from emails.compose import RenderedEmail, compose
from emails.content.current import ChosenCopy, copy_for_row
from emails.content.text import CopyText
from emails.context import email_context, extra_context
from emails.models import SEQUENCE_STEPS, ScheduledEmail
from emails.render_cache import render_from_step_cache
from leads.models import Lead


def render_email(lead: Lead, row: ScheduledEmail, *, copy: CopyText | None = None,
                 reuse_step_render: bool = True) -> RenderedEmail:
    """The email for `row`, from `copy` when given (previews, test sends), else from the row's copy: its
    experiment arm or the step's published version (emails/content/current.py)."""
    if copy is not None:
        return render_chosen(lead, row, ChosenCopy(text=copy, version=None, variant=None), reuse_step_render=False)
    return render_chosen(lead, row, copy_for_row(lead, row), reuse_step_render=reuse_step_render)


def render_chosen(lead: Lead, row: ScheduledEmail, chosen: ChosenCopy, *,
                  reuse_step_render: bool = True) -> RenderedEmail:
    """The email for `row` from copy already chosen (the dispatcher records the choice on the row).

    The step cache serves a published version of a sequence step that no context provider adds to (a buyer's
    reminders carry their practice log, so they are rendered in full); `reuse_step_render=False` asks for the full
    render, which the cache must equal."""
    extra = extra_context(lead, row)
    if reuse_step_render and chosen.version is not None and not extra and row.step in SEQUENCE_STEPS:
        fast = render_from_step_cache(lead, row, chosen)
        if fast is not None:
            return fast
    return compose(chosen.text, email_context(lead, row, extra=extra), buyer=lead.is_customer)
