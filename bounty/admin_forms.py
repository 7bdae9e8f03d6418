"""The short forms behind award and payout pages in the admin; they only collect input for a
service, which checks the rules."""

from datetime import datetime

from django import forms
from django.contrib.admin.helpers import ActionForm
from django.utils import timezone

from bounty.models import Award, Payout
from reports.models import Report

MAX_SETTLEMENT_BYTES = 2 * 1024 * 1024


class ProposeAwardForm(forms.Form):
    kind = forms.ChoiceField(choices=Award.Kind.choices, initial=Award.Kind.BOUNTY)
    amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    currency = forms.CharField(max_length=3)
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text="Required for a bonus and for an amount outside the severity's range. "
        "Staff only: the researcher does not see it.",
    )

    def __init__(self, *args, report: Report, **kwargs):
        super().__init__(*args, **kwargs)
        severity = report.severity
        if severity is not None:
            self.fields["currency"].initial = severity.currency
            self.fields["amount"].help_text = (
                f"{severity.name} severity: {severity.award_range_display()}. Outside that "
                "range the payout needs one more approval."
            )


class ApprovalQueueActionForm(ActionForm):
    # When the queue was shown: an approval given from it covers the destinations it showed.
    destination_shown_at = forms.DateTimeField(
        widget=forms.HiddenInput, required=False, label="", initial=timezone.now
    )


def destination_shown_at(data) -> datetime | None:
    """Return when the posted queue page was shown, or None if it does not say."""
    try:
        return ApprovalQueueActionForm.base_fields["destination_shown_at"].clean(
            data.get("destination_shown_at", "")
        )
    except forms.ValidationError:
        return None


class RejectionForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Staff see it on the payout; the researcher is not told.",
    )


class PaymentForm(forms.Form):
    payment_reference = forms.CharField(
        max_length=Payout._meta.get_field("payment_reference").max_length,
        help_text="The bank's or payment provider's reference for this payment.",
    )


class SettlementForm(forms.Form):
    settlement = forms.FileField(
        label="Settlement CSV",
        help_text="A header row with the columns batch, reference, amount, currency and "
        "payment_reference (others are ignored): batch and reference are those of the line in "
        "the payment batch file.",
    )

    def clean_settlement(self):
        upload = self.cleaned_data["settlement"]
        if upload.size > MAX_SETTLEMENT_BYTES:
            raise forms.ValidationError("The file is larger than 2 MB: split it.")
        return upload
