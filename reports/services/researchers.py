"""What researchers bring: reports and replies with their files, their account, how to pay them.

Each function is one transaction; a refused file means nothing of the change is stored.
"""

import logging
from contextlib import nullcontext

from allauth.account.models import EmailAddress
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Sum

from accounts.history import acting_user as history_user
from accounts.history import audited
from accounts.models import User
from reports.attachments import check_uploads, sort_uploads
from reports.emails import mail_reporter_relinked
from reports.models import Attachment, Message, Report, Reporter
from reports.services.workflow import (
    Submission,
    _locked,
    _record,
    _require_text,
    _researcher_wrote,
    add_researcher_reply,
    submit_report,
)

logger = logging.getLogger(__name__)


@audited
def record_report_received_by_email(
    *,
    reporter_email: str,
    reporter_name: str,
    submission: Submission,
    received_at,
    acting_user: User,
) -> Report:
    """Enter a report that arrived by mail; the researcher can claim it when they sign up."""
    return submit_report(
        reporter=_reporter_for_address(reporter_email, reporter_name),
        submission=submission,
        acting_user=acting_user,
        received_at=received_at,
        channel=Report.Channel.EMAIL,
    )


@audited
def submit_report_received_by_mail(
    *,
    sender_email: str,
    sender_name: str,
    submission: Submission,
    files,
    received_at,
    acting_user: User | None = None,
    acknowledge: bool = True,
) -> Report:
    """Make a report of a mail to the intake address, with the files that pass the checks.

    A mail cannot be sent back like a form, so a refused file does not refuse the report: it is
    named in an internal note for staff, and the acknowledgement tells the researcher which
    attachment it was and why, without its name. Intake's loop rules decide ``acknowledge``.
    """
    accepted, refused = sort_uploads(files)
    report = submit_report(
        reporter=_reporter_for_address(sender_email, sender_name),
        submission=submission,
        acting_user=acting_user,
        received_at=received_at,
        channel=Report.Channel.EMAIL,
        refused_files=refused,
        acknowledge=acknowledge,
    )
    attach_files(report, acting_user=acting_user, files=[upload.file for upload in accepted])
    if refused:
        lines = [f"- attachment {file.position}, {file.name}: {file.reason}" for file in refused]
        _record(
            report,
            author=None,
            body="Files that came with the mail and were not attached:\n" + "\n".join(lines),
            public=False,
        )
    return report


def _reporter_for_address(address: str, name: str) -> Reporter:
    email = address.strip().lower()
    reporter = Reporter.objects.filter(email_index__matches=email).first()
    if reporter is None:
        reporter = Reporter.objects.create(email=email, display_name=name.strip())
    return reporter


def link_reporter_to_user(user: User) -> Reporter | None:
    """Give a researcher their reporter record once their address is verified.

    A reporter who wrote in by email before (same address, no account) becomes this account's,
    with all their earlier reports; otherwise a new one is made. Without a verified address
    nothing is claimed, since anyone can sign up with someone else's address. It runs when the
    address is confirmed and on the portal's POSTs that need the record, never on a page that
    is only read.
    """
    existing = Reporter.objects.filter(user=user).first()
    if existing is not None:
        return existing
    with transaction.atomic(), history_user(user):
        # The user row lock serialises two requests racing to create the same reporter.
        User.objects.select_for_update().filter(pk=user.pk).first()
        existing = Reporter.objects.filter(user=user).first()
        if existing is not None:
            return existing
        email = user.email.strip().lower()
        if not EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists():
            return None
        reporter = Reporter.objects.select_for_update().filter(email_index__matches=email).first()
        if reporter is None:
            return Reporter.objects.create(user=user, email=email, display_name=user.full_name)
        if reporter.user_id is not None:
            # The address's reporter belongs to another account: staff have to sort that out.
            return None
        reporter.user = user
        reporter.save(update_fields=["user"])
        return reporter


@audited
def update_payment_details(
    reporter: Reporter, *, acting_user: User, method: str, details: str
) -> Reporter:
    """Record how the researcher wants to be paid; only finance ever reads it.

    A change is mailed to the researcher, and every payout not yet paid whose destination it
    changes goes back to finance for approval: approval covers where the money goes.
    """
    from bounty import emails as bounty_emails
    from bounty import services as bounty_services

    PaymentMethod = Reporter.PaymentMethod
    if method not in PaymentMethod.values:
        raise ValidationError({"payment_method": "Choose one of the payment methods."})
    details = details.strip() if method != PaymentMethod.NONE else ""
    if method != PaymentMethod.NONE and not details:
        raise ValidationError({"payment_details": "Say where we should send the money."})
    if method == PaymentMethod.PAYPAL:
        try:
            validate_email(details)
        except ValidationError:
            raise ValidationError(
                {"payment_details": "Give the email address of your PayPal account."}
            ) from None
    reporter = Reporter.objects.select_for_update().get(pk=reporter.pk)
    # Checked on the locked row: a re-link that just committed decides whose details these are.
    if reporter.user_id != acting_user.pk:
        raise PermissionDenied("Only the researcher may change their payment details.")
    if (reporter.payment_method, reporter.payment_details) == (method, details):
        return reporter
    reporter.payment_method = method
    reporter.payment_details = details
    reporter.save(update_fields=["payment_method", "payment_details"])
    renewed = bounty_services.renew_payout_destinations(reporter, acting_user=acting_user)
    bounty_emails.mail_payment_details_changed(
        reporter, account_email=acting_user.email, renewed=len(renewed)
    )
    return reporter


@audited
def record_intake_note(report: Report, *, body: str) -> Message:
    """Leave an internal note from mail intake (no author): for staff, never the researcher."""
    return _record(report, author=None, body=body, public=False)


@audited
def update_pgp_public_key(reporter: Reporter, *, acting_user: User, public_key: str) -> Reporter:
    """Keep the researcher's OpenPGP public key, so mail to them goes out encrypted to it.

    An empty key removes it (mail goes out in clear again). A key is taken only if mail can be
    encrypted to it: one public key, not revoked or expired, with an encryption subkey.
    """
    from intake.pgp import KeyRefused, armored_public_key, read_public_key

    public_key = public_key.strip()
    if public_key:
        try:
            public_key = armored_public_key(read_public_key(public_key))
        except KeyRefused as refused:
            raise ValidationError({"pgp_public_key": str(refused)}) from None
    reporter = Reporter.objects.select_for_update().get(pk=reporter.pk)
    # Checked on the locked row, as for payment details: only the researcher sets their key.
    if reporter.user_id != acting_user.pk:
        raise PermissionDenied("Only the researcher may change their OpenPGP key.")
    if reporter.pgp_public_key != public_key:
        reporter.pgp_public_key = public_key
        reporter.save(update_fields=["pgp_public_key"])
    return reporter


@audited
def attach_files(
    report: Report, *, acting_user: User, files, message: Message | None = None
) -> list[Attachment]:
    """Store files on a report, once every one of them passed the checks; otherwise store none."""
    report = _locked(report)
    stored = report.attachments.aggregate(total=Sum("size"))["total"] or 0
    checked = check_uploads(files, stored_bytes=stored)
    return [
        Attachment.objects.create(
            report=report,
            message=message,
            file=upload.file,
            original_name=upload.name,
            content_type=upload.content_type,
            size=upload.size,
            uploaded_by=acting_user,
        )
        for upload in checked
    ]


@audited
def submit_report_with_attachments(
    *, reporter: Reporter, submission: Submission, files, acting_user: User
) -> Report:
    """Submit a report with its files as one change: a refused file means no report at all."""
    report = submit_report(reporter=reporter, submission=submission, acting_user=acting_user)
    attach_files(report, acting_user=acting_user, files=files)
    return report


@audited
def add_researcher_reply_with_attachments(
    report: Report, *, acting_user: User, body: str, files
) -> Message:
    """Record the researcher's message with its files: a refused file means no message."""
    message = add_researcher_reply(report, acting_user=acting_user, body=body)
    attach_files(report, acting_user=acting_user, files=files, message=message)
    return message


class NotTheResearcher(PermissionDenied):
    """A mail in a report's thread came from another address than its researcher's."""


def is_researchers_address(report: Report, address: str) -> bool:
    """Whether ``address`` is the report's researcher's, compared through the blind index."""
    address = address.strip().lower()
    return bool(address) and (
        Reporter.objects.filter(pk=report.reporter_id, email_index__matches=address).exists()
    )


@audited
def add_researcher_reply_by_mail(
    report: Report, *, sender_email: str, body: str, files, acting_user: None = None
) -> Message:
    """Record a mail in the report's thread from its researcher's address as their reply.

    The caller (``intake.threads``) has tied the mail to the report by its reply address or its
    threading; this checks that it came from the researcher's address, so that no other caller
    can make a stranger's mail the researcher's word. A researcher with no account has no user
    to act as: the message is theirs by ``by_researcher``, and history names no user. Files go
    through the portal's checks; a refused one does not refuse the reply, as a mail cannot be
    sent back like a form: it is named in an internal note.
    """
    body = _require_text(body, "A message")
    report = _locked(report)
    if not is_researchers_address(report, sender_email):
        raise NotTheResearcher("The mail is not from the address of the report's researcher.")
    author = report.reporter.user if report.reporter.user_id else None
    with history_user(author) if author is not None else nullcontext():
        message = _researcher_wrote(report, author=author, body=body)
        accepted, refused = sort_uploads(files)
        attach_files(
            report, acting_user=author, files=[upload.file for upload in accepted], message=message
        )
    if refused:
        lines = [f"- attachment {file.position}, {file.name}: {file.reason}" for file in refused]
        _record(
            report,
            author=None,
            body="Files that came with the researcher's mail and were not attached:\n"
            + "\n".join(lines),
            public=False,
        )
    return message


RELINK_PERMISSION = "reports.relink_reporter"


@audited
def relink_reporter(reporter: Reporter, *, user: User, reason: str, acting_user: User) -> Reporter:
    """Give a researcher's record, reports and payouts with it, to another account of theirs.

    Whoever the record points at is who gets paid, so this is a program admin's decision with a
    written reason in the history, and both the old and the new address hear of it.
    """
    if not acting_user.has_perm(RELINK_PERMISSION):
        raise PermissionDenied("Only a program admin re-links a researcher to another account.")
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why the record moves to another account."})
    reporter = Reporter.objects.select_for_update().get(pk=reporter.pk)
    if user.pk == reporter.user_id:
        raise ValidationError({"user": "The record is already linked to that account."})
    if user.is_staff or user.is_superuser:
        # Staff who are their own researcher could propose and be paid their own award.
        raise ValidationError({"user": "A staff account cannot be a researcher's."})
    if Reporter.objects.filter(user=user).exists():
        raise ValidationError({"user": "That account already has its own researcher record."})
    new_address = user.email.strip().lower()
    if Reporter.objects.filter(email_index__matches=new_address).exclude(pk=reporter.pk).exists():
        raise ValidationError({"user": "Another researcher record has that account's address."})
    old_addresses = {reporter.email, *([reporter.user.email] if reporter.user else [])}
    old_account = reporter.user
    reporter.user = user
    reporter.email = new_address
    reporter._change_reason = (
        f"Re-linked by {acting_user.email} from account "
        f"{old_account.pk if old_account else 'none'} to account {user.pk}: {reason}"
    )
    reporter.save(update_fields=["user", "email", "email_index"])
    logger.info(
        "%s re-linked reporter %s from account %s to account %s",
        acting_user.email,
        reporter.pk,
        old_account.pk if old_account else None,
        user.pk,
    )
    mail_reporter_relinked(reporter, old_addresses=old_addresses, reason=reason)
    return reporter
