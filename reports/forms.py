"""Forms of the reporter portal: they check what a researcher typed; services do the writing."""

import dataclasses

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat

from bounty.models import Category
from reports.attachments import ACCEPTED_FORMATS, check_uploads
from reports.cvss import score_vector
from reports.models import Reporter
from reports.services import Submission

MARKDOWN_HELP = "You can use Markdown. HTML is shown as text."
LONG_TEXT_MAX_LENGTH = 50_000


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Any number of files, each checked by content; the cleaned value is a list."""

    widget = MultipleFileInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        clean_one = super().clean
        files = data if isinstance(data, list | tuple) else [data]
        return [clean_one(item, initial) for item in files if item]


def _attachments_help() -> str:
    return (
        f"{ACCEPTED_FORMATS}; up to {filesizeformat(settings.ATTACHMENT_MAX_BYTES)} "
        f"a file and {filesizeformat(settings.ATTACHMENT_REPORT_MAX_BYTES)} a report."
    )


def _long_text(label: str, *, required: bool = True, help_text: str = MARKDOWN_HELP):
    return forms.CharField(
        label=label,
        required=required,
        max_length=LONG_TEXT_MAX_LENGTH,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 8}),
    )


class _WithAttachments(forms.Form):
    """A form whose files join a report already holding ``stored_bytes`` of attachments."""

    def __init__(self, *args, stored_bytes: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.stored_bytes = stored_bytes
        self.fields["attachments"].help_text = _attachments_help()

    def clean_attachments(self):
        files = self.cleaned_data["attachments"]
        check_uploads(files, stored_bytes=self.stored_bytes)
        return files


class SubmissionForm(forms.Form):
    """Cleans the fields a report is made of, wherever it is entered (portal or admin)."""

    def clean_cvss_vector(self):
        vector = self.cleaned_data["cvss_vector"].strip()
        if vector:
            score_vector(vector)
        return vector

    def submission(self) -> Submission:
        """Return what was submitted, for the submit service."""
        return Submission(
            **{
                field.name: self.cleaned_data[field.name]
                for field in dataclasses.fields(Submission)
            }
        )


class ReportForm(SubmissionForm, _WithAttachments):
    title = forms.CharField(
        max_length=200, help_text="One line that names the vulnerability and where it is."
    )
    category = forms.ModelChoiceField(
        queryset=Category.objects.none(),
        required=False,
        empty_label="Not sure",
        help_text="The program's class of vulnerability this belongs to, if you know it.",
    )
    affected_asset = forms.CharField(
        label="Affected asset",
        max_length=255,
        help_text="The product, package, container image, host or URL that is affected.",
    )
    affected_version = forms.CharField(
        label="Affected version",
        max_length=120,
        required=False,
        help_text="The version, tag or commit you tested.",
    )
    description = _long_text("Description")
    steps_to_reproduce = _long_text(
        "Steps to reproduce",
        help_text="One step per line, at least two, so that we can follow them. " + MARKDOWN_HELP,
    )
    impact = _long_text("Impact", help_text="What an attacker could do with it. " + MARKDOWN_HELP)
    cvss_vector = forms.CharField(
        label="CVSS vector",
        max_length=255,
        required=False,
        help_text="A CVSS 3.1 or 4.0 vector, such as CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H.",
    )
    attachments = AttachmentsField()
    scope_confirmed = forms.BooleanField(
        label="This report involves only systems and accounts that I own.",
        error_messages={
            "required": "Confirm that you tested only systems and accounts you own: "
            "reports that involve anyone else's are out of scope."
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.filter(is_active=True)

    def clean_steps_to_reproduce(self):
        steps = self.cleaned_data["steps_to_reproduce"]
        if len([line for line in steps.splitlines() if line.strip()]) < 2:
            raise ValidationError(
                "Write the steps one per line: at least two, so that we can follow them.",
                code="too_few_steps",
            )
        return steps


class ReplyForm(_WithAttachments):
    body = _long_text("Your message")
    attachments = AttachmentsField()


class PaymentDetailsForm(forms.Form):
    """How a researcher wants to be paid; the update service decides what is acceptable."""

    payment_method = forms.ChoiceField(
        label="Payment method", choices=Reporter.PaymentMethod.choices, required=False
    )
    payment_details = forms.CharField(
        label="Payment details",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="For PayPal, the email address of your account. For a bank transfer, the "
        "account holder, IBAN or account number, and the bank's BIC or SWIFT code.",
    )


class PgpKeyForm(forms.Form):
    """The researcher's OpenPGP public key; the update service checks it can be encrypted to."""

    pgp_public_key = forms.CharField(
        label="OpenPGP public key",
        required=False,
        max_length=100_000,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text="Paste your ASCII-armored public key (-----BEGIN PGP PUBLIC KEY BLOCK-----) "
        "and we encrypt every mail we send you to it. Leave empty to get mail unencrypted.",
    )
