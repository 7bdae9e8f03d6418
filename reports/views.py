"""The reporter portal: researchers submit reports, follow them, talk with staff, get paid.

Views stay thin: a selector reads, a form checks what was typed, a service writes. Every report
is looked up through ``reports.selectors``, which only ever finds the signed-in user's own.
"""

from zoneinfo import ZoneInfo

from allauth.account.decorators import reauthentication_required
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_ratelimit.core import is_ratelimited

from bounty.selectors import ProgramNotConfigured, current_program
from intake.models import ProgramKey
from reports import selectors, services
from reports.attachments import download_response
from reports.forms import PaymentDetailsForm, PgpKeyForm, ReplyForm, ReportForm

REPORTS_PER_PAGE = 20


def _program_timezone() -> ZoneInfo:
    # Promised dates read in the program's timezone, the one its business days are counted in.
    try:
        return ZoneInfo(current_program().timezone)
    except ProgramNotConfigured:
        return ZoneInfo(settings.TIME_ZONE)


def _rate_limited(request, group: str, rate: str) -> bool:
    # Both counters count every attempt (no short cut), so tripping one never spares the other.
    limited = [
        is_ratelimited(request, group=group, key=key, rate=rate, method="POST", increment=True)
        for key in ("user", "ip")
    ]
    return any(limited)


def _too_many(request, what: str):
    return render(request, "portal/rate_limited.html", {"what": what}, status=429)


def _no_researcher_record(request):
    return render(request, "portal/no_researcher_record.html", status=403)


def _researcher(request):
    """Return the signed-in user's reporter record, or None if there is none (yet).

    Confirming the address links it (reports.apps). A page that is only read writes nothing;
    an account whose address was verified some other way (by an operator, a seed) gets its
    record linked by its first POST here, which writes anyway.
    """
    if request.method == "POST":
        return services.link_reporter_to_user(request.user)
    return selectors.researcher_reporter(request.user)


def _may_report(request, reporter) -> bool:
    # A verified account not linked yet sees the empty form; posting it links the record.
    return reporter is not None or (
        request.method != "POST" and selectors.has_verified_address(request.user)
    )


@login_required
@require_safe
def report_list(request):
    """List the researcher's reports with their status and what the desk promised next."""
    reporter = selectors.researcher_reporter(request.user)
    page = Paginator(selectors.researcher_reports(request.user), REPORTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {"page": page, "reporter": reporter, "program_timezone": _program_timezone()}
    return render(request, "portal/report_list.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def submit_report(request):
    """Take a new report with its files; on success show it, with its public id."""
    reporter = _researcher(request)
    if not _may_report(request, reporter):
        return _no_researcher_record(request)
    try:
        program = current_program()
    except ProgramNotConfigured:
        return render(request, "public/program_not_configured.html", status=503)
    if request.method != "POST":
        form = ReportForm()
    elif _rate_limited(request, "portal.submit_report", settings.PORTAL_SUBMIT_RATE):
        return _too_many(request, "reports")
    else:
        form = ReportForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                report = services.submit_report_with_attachments(
                    reporter=reporter,
                    submission=form.submission(),
                    files=form.cleaned_data["attachments"],
                    acting_user=request.user,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request,
                    f"Thank you. Your report {report.public_id} has been received, and we have "
                    "sent you an acknowledgement by email.",
                )
                return redirect("portal:report_detail", public_id=report.public_id)
    return render(request, "portal/submit_report.html", {"form": form, "program": program})


def _report_page(request, report, reply_form, *, status=200):
    context = {
        "report": report,
        "reply_form": reply_form,
        "attachments": selectors.submitted_attachments(report),
        "timeline": selectors.public_timeline(report),
        "original_status": selectors.original_status(report),
        "next_deadline": selectors.next_open_deadline(report),
        "awards": selectors.report_awards(report),
        "program_timezone": _program_timezone(),
    }
    return render(request, "portal/report_detail.html", context, status=status)


@login_required
@require_safe
def report_detail(request, public_id):
    """Show one of the researcher's reports: its details, timeline, files and awards."""
    report = selectors.report_for_researcher(request.user, public_id)
    return _report_page(request, report, ReplyForm())


@login_required
@require_POST
def reply_to_report(request, public_id):
    """Add the researcher's message, with any files, to the report's timeline."""
    if _rate_limited(request, "portal.reply_to_report", settings.PORTAL_REPLY_RATE):
        return _too_many(request, "messages")
    report = selectors.report_for_researcher(request.user, public_id)
    form = ReplyForm(
        request.POST, request.FILES, stored_bytes=selectors.stored_attachment_bytes(report)
    )
    if form.is_valid():
        try:
            services.add_researcher_reply_with_attachments(
                report,
                acting_user=request.user,
                body=form.cleaned_data["body"],
                files=form.cleaned_data["attachments"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Your message has been added to the report.")
            return redirect(reverse("portal:report_detail", args=[report.public_id]) + "#timeline")
    return _report_page(request, report, form)


@login_required
@require_safe
def download_attachment(request, public_id, attachment_id):
    """Send a file of the researcher's own report, decrypted, as a download."""
    attachment = selectors.attachment_for_researcher(request.user, public_id, attachment_id)
    return download_response(attachment)


@login_required
@reauthentication_required
@require_http_methods(["GET", "HEAD", "POST"])
def payment_details(request):
    """Let the researcher say how they want to be paid.

    The page asks for the password again first: whoever controls it controls where bounties
    go, so a stolen session alone must not be enough to read or change it.
    """
    reporter = _researcher(request)
    if not _may_report(request, reporter):
        return _no_researcher_record(request)
    form = None
    if request.method == "POST":
        form = PaymentDetailsForm(request.POST)
        if form.is_valid():
            try:
                services.update_payment_details(
                    reporter,
                    acting_user=request.user,
                    method=form.cleaned_data["payment_method"],
                    details=form.cleaned_data["payment_details"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, "Your payment details have been saved.")
                return redirect("portal:payment_details")
    return _settings_page(request, reporter, form=form)


def _settings_page(request, reporter, *, form=None, key_form=None):
    if form is None:
        form = PaymentDetailsForm(
            initial={
                "payment_method": reporter.payment_method,
                "payment_details": reporter.payment_details,
            }
            if reporter
            else {}
        )
    if key_form is None:
        key_form = PgpKeyForm(
            initial={"pgp_public_key": reporter.pgp_public_key} if reporter else {}
        )
    context = {
        "form": form,
        "key_form": key_form,
        "program_has_key": ProgramKey.objects.filter(is_active=True).exists(),
    }
    return render(request, "portal/payment_details.html", context)


@login_required
@reauthentication_required
@require_POST
def pgp_key(request):
    """Keep the researcher's own OpenPGP public key, so mail to them is encrypted to it.

    Behind the password, as payment details are: a stolen session must not redirect what we
    mail to a key the thief holds.
    """
    reporter = _researcher(request)
    if reporter is None:
        return _no_researcher_record(request)
    form = PgpKeyForm(request.POST)
    if form.is_valid():
        try:
            services.update_pgp_public_key(
                reporter,
                acting_user=request.user,
                public_key=form.cleaned_data["pgp_public_key"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Your OpenPGP key has been saved.")
            return redirect("portal:payment_details")
    return _settings_page(request, reporter, key_form=form)
