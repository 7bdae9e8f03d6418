"""The short forms behind each triage move in the admin; they only collect input for a service."""

from django import forms
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import User
from bounty.models import Category, Severity
from reports.cvss import cvss_suggestion, describe_suggestion, score_vector, suggested_severity
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
    """Severity, category and vector; starts from what the researcher sent.

    The vector's suggested severity shows under the severity as you type (static/reports/
    triage.js asks the server); without JavaScript, "Check the vector" shows it without saving.
    """

    CHECK = "_check_vector"

    category = forms.ModelChoiceField(Category.objects.all(), required=False)
    cvss_vector = forms.CharField(
        label="CVSS vector",
        required=False,
        help_text="CVSS:3.1/... or CVSS:4.0/...; its score suggests a severity.",
        widget=forms.TextInput(attrs={"size": 80, "data-cvss-vector": ""}),
    )
    severity = forms.ModelChoiceField(Severity.objects.all())
    message = _message

    class Media:
        js = ["reports/triage.js"]

    def __init__(self, *args, report: Report, suggestion_url: str, **kwargs):
        self.report = report
        super().__init__(*args, initial=self._from_the_researcher(report), **kwargs)
        self.fields["cvss_vector"].widget.attrs["data-suggestion-url"] = suggestion_url
        vector = (self.data.get("cvss_vector") if self.is_bound else report.cvss_vector) or ""
        self.fields["severity"].help_text = cvss_suggestion(vector)["text"] if vector else ""

    @staticmethod
    def _from_the_researcher(report: Report) -> dict:
        score = None
        if report.cvss_vector:
            try:
                score = score_vector(report.cvss_vector)
            except ValidationError:
                score = None
        severity = (
            report.severity
            or (suggested_severity(score) if score else None)
            or (report.category.typical_severity if report.category else None)
        )
        return {
            "category": report.category,
            "cvss_vector": report.cvss_vector,
            "severity": severity,
        }

    def clean_cvss_vector(self):
        vector = self.cleaned_data["cvss_vector"].strip()
        if vector:
            self.score = score_vector(vector)
        return vector

    def suggestion(self) -> str:
        score = getattr(self, "score", None)
        if score is None:
            return ""
        return describe_suggestion(score, self.cleaned_data.get("severity"))


class DuplicateForm(forms.Form):
    original = forms.ModelChoiceField(
        Report.objects.all(),
        label="Original report",
        help_text="Search by public id or title. The researcher sees the original's status only.",
    )
    message = forms.CharField(
        label="Message to the researcher",
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text="Added to the standard wording, which says the report duplicates an earlier "
        "one and what that one's status is. The researcher sees this.",
    )

    def __init__(self, *args, report: Report, admin_site, **kwargs):
        self.report = report
        super().__init__(*args, **kwargs)
        self.unknown_id = ""
        raw = (self.data.get("original") or "").strip() if self.is_bound else ""
        if raw and not raw.isdigit():
            # A public id typed or pasted (no JavaScript, or a link from elsewhere) works too.
            found = Report.objects.filter(public_id=raw.upper()).values_list("pk", flat=True)
            self.data = self.data.copy()
            self.data["original"] = str(found.first() or "")
            self.unknown_id = "" if found.first() else raw
        original = self.fields["original"]
        # The admin's own search (ids, titles) behind a select box, as autocomplete_fields does.
        original.widget = AutocompleteSelect(Report._meta.get_field("duplicate_of"), admin_site)
        # Setting the queryset after the widget hands the widget its choices.
        original.queryset = Report.objects.exclude(pk=report.pk)

    def clean_original(self):
        original = self.cleaned_data["original"]
        if original.pk == self.report.pk:
            raise ValidationError("A report cannot duplicate itself.")
        return original

    def clean(self):
        if self.unknown_id:
            self.errors.pop("original", None)
            self.add_error("original", f"No report has the id {self.unknown_id}.")
        return super().clean()


class CloseForm(forms.Form):
    resolution = forms.ChoiceField(
        choices=[(r.value, r.label) for r in Report.Resolution if r in CLOSING_RESOLUTIONS]
    )
    message = _message


class ComposerForm(forms.Form):
    """A message on the report's page: who reads it is chosen by the button, never by default."""

    PUBLIC, INTERNAL = "public", "internal"

    body = forms.CharField(
        label="Message",
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Markdown. Choose who reads it with the buttons below.",
    )
    audience = forms.ChoiceField(
        choices=[(PUBLIC, "Reply to the researcher"), (INTERNAL, "Add internal note")],
        error_messages={
            "required": "Choose “Reply to the researcher” or “Add internal note”.",
            "invalid_choice": "Choose “Reply to the researcher” or “Add internal note”.",
        },
    )


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        User.objects.filter(is_staff=True, is_active=True),
        required=False,
        help_text="Leave empty to unassign.",
    )


def move_form_kwargs(form_class, report: Report, model_admin) -> dict:
    """What a move's form needs beyond the posted data: the report, and where to ask things."""
    if form_class is TriageForm:
        return {
            "report": report,
            "suggestion_url": reverse("admin:reports_report_cvss_suggestion"),
        }
    if form_class is DuplicateForm:
        return {"report": report, "admin_site": model_admin.admin_site}
    return {}


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
