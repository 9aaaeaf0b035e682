"""The editor's forms: the copy as typed (never rejected here: the checks speak next to the fields, and a draft is
saved whatever they say) and the reader the preview is drawn for."""

from django import forms

from emails.content.text import CopyText
from leads.models import Lead


class CopyForm(forms.Form):
    # No max_length / required here: a half-written draft must be savable. The models' limits still hold, so the
    # fields are clipped by the browser at the same lengths (maxlength) rather than refused after typing.
    subject = forms.CharField(required=False, strip=False, max_length=200,
                              widget=forms.TextInput(attrs={"class": "vLargeTextField", "autocomplete": "off"}))
    preheader = forms.CharField(required=False, strip=False, max_length=300,
                                help_text="The line inboxes show after the subject.",
                                widget=forms.TextInput(attrs={"class": "vLargeTextField", "autocomplete": "off"}))
    body = forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 24, "cols": 80}),
                           help_text="Markdown. Merge fields and named links are listed below the form.")
    allow_external_links = forms.BooleanField(
        required=False, label="Allow links to other sites",
        help_text="Off: every link must point at this site (a typo or a pasted tracking link is caught).")
    revision = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def text(self) -> CopyText:
        data = self.cleaned_data
        # Browsers send textarea line breaks as CRLF; the copy is stored (and exported) with LF only.
        return CopyText(subject=data["subject"], preheader=data["preheader"],
                        body=data["body"].replace("\r\n", "\n"),
                        allow_external_links=bool(data["allow_external_links"]))


class LeadChoiceForm(forms.Form):
    # An id, not a drop-down of every lead (as in the outbox preview); empty means the sample reader.
    lead = forms.IntegerField(required=False, min_value=1, label="Preview for lead id",
                              help_text="Empty: a sample reader named Sam.",
                              widget=forms.NumberInput(attrs={"class": "vIntegerField"}))

    def clean_lead(self) -> Lead | None:
        lead_id = self.cleaned_data["lead"]
        if lead_id is None:
            return None
        lead = Lead.objects.exclude(email=None).filter(pk=lead_id).first()
        if lead is None:
            raise forms.ValidationError("No lead with this id and an email address; showing the sample reader.")
        return lead
