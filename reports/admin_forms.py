"""The short forms behind each triage move in the admin; they only collect input for a service."""

from django import forms
from django.core.exceptions import ValidationError

from accounts.models import User
from bounty.models import Category, Severity
from reports.cvss import score_vector, suggested_severity
from reports.forms import SubmissionForm
from reports.models import Report
from reports.services import CLOSING_RESOLUTIONS
from reports.transitions import Move

_message = forms.CharField(
    label="Message to the researcher",
    widget=forms.Textarea(attrs={"rows": 4}),
    required=False,
    help_text="Leave empty for the standard wording. The researcher sees this.",
)


class MessageForm(forms.Form):
    message = _message


class QuestionForm(forms.Form):
    question = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), help_text="The researcher sees this."
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), help_text="The researcher sees this."
    )


class TriageForm(forms.Form):
    category = forms.ModelChoiceField(Category.objects.all(), required=False)
    cvss_vector = forms.CharField(
        label="CVSS vector",
        required=False,
        help_text="CVSS:3.1/... or CVSS:4.0/...; its score suggests a severity.",
        widget=forms.TextInput(attrs={"size": 80}),
    )
    severity = forms.ModelChoiceField(Severity.objects.all())
    message = _message

    def clean_cvss_vector(self):
        vector = self.cleaned_data["cvss_vector"].strip()
        if vector:
            self.score = score_vector(vector)
        return vector

    def suggestion(self) -> str:
        score = getattr(self, "score", None)
        if score is None:
            return ""
        severity = suggested_severity(score)
        chosen = self.cleaned_data.get("severity")
        text = f"CVSS {score.version} base score {score.base_score} ({score.rating})"
        if severity and chosen and severity != chosen:
            return f"{text} suggests {severity}; you chose {chosen}."
        return f"{text}."


class DuplicateForm(forms.Form):
    original = forms.CharField(
        label="Public id of the original report", help_text="For example VR-7K3M-Q9XD-2HPA-B4TN"
    )

    def __init__(self, *args, report: Report, **kwargs):
        self.report = report
        super().__init__(*args, **kwargs)

    def clean_original(self):
        public_id = self.cleaned_data["original"].strip().upper()
        original = Report.objects.filter(public_id=public_id).first()
        if original is None:
            raise ValidationError("No report has that id.")
        if original.pk == self.report.pk:
            raise ValidationError("A report cannot duplicate itself.")
        return original


class CloseForm(forms.Form):
    resolution = forms.ChoiceField(
        choices=[(r.value, r.label) for r in Report.Resolution if r in CLOSING_RESOLUTIONS]
    )
    message = _message


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        User.objects.filter(is_staff=True, is_active=True),
        required=False,
        help_text="Leave empty to unassign.",
    )


MOVE_FORMS = {
    Move.ACKNOWLEDGE: MessageForm,
    Move.REQUEST_INFORMATION: QuestionForm,
    Move.TRIAGE: TriageForm,
    Move.MARK_DUPLICATE: DuplicateForm,
    Move.RESOLVE: MessageForm,
    Move.CLOSE: CloseForm,
    Move.REOPEN: ReasonForm,
}


class EmailedReportForm(SubmissionForm):
    """A report that arrived by mail, entered by staff in the researcher's own words."""

    reporter_email = forms.EmailField(label="Researcher's email")
    reporter_name = forms.CharField(label="Researcher's name", required=False, max_length=120)
    received_at = forms.DateTimeField(
        label="Received at", help_text="When the mail arrived (the Date header)."
    )
    title = forms.CharField(max_length=200)
    category = forms.ModelChoiceField(Category.objects.filter(is_active=True), required=False)
    affected_asset = forms.CharField(max_length=255, required=False)
    affected_version = forms.CharField(max_length=120, required=False)
    description = forms.CharField(widget=forms.Textarea)
    steps_to_reproduce = forms.CharField(widget=forms.Textarea)
    impact = forms.CharField(widget=forms.Textarea, required=False)
    cvss_vector = forms.CharField(label="CVSS vector", max_length=255, required=False)


class RelinkForm(forms.Form):
    account = forms.EmailField(
        label="Address of the account to link",
        help_text="The researcher's other account, signed up and with a verified address.",
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept in the record's history, which is not encrypted, and sent to the old "
        "and the new address: no contact or payment details here.",
    )

    def clean_account(self):
        user = User.objects.filter(email__iexact=self.cleaned_data["account"].strip()).first()
        if user is None:
            raise ValidationError("No account has that address.")
        return user
