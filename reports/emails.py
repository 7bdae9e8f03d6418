"""Mail about reports. Mail names the report by its public id and its status, and carries no
report content: mail is not end-to-end secure, so details stay in the desk behind a login. A
program admin may turn on ``Program.titles_in_mail``: mail then names reports by title and
category too, and its footer says so.

One exception, asked for by researchers who never open the portal: a researcher with no
account gets the security team's public messages in full (``mail_researcher_news``).

Mail to the researcher carries the report's mail thread: a reply address with the report's
token (``reply_address``) and RFC 5322 threading under the report's root Message-ID
(``thread_root_id``), so that their replies find the report (``intake.threads``)."""

import hashlib
import hmac
import re
from email.utils import parseaddr
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from accounts import roles
from bounty.models import Program
from outbox.services import queue_mail
from reports.attachments import refusal_summary
from reports.models import Deadline, Message, Report, Reporter

PORTAL_REPORT_PATH = "/portal/reports/{public_id}/"
ADMIN_REPORT_PATH = "/admin/reports/report/{pk}/change/"
SIGNUP_PATH = "/accounts/signup/"


# The plus-tag of a report's reply address: "r-", the public id without its prefix and dashes
# (which report), "-" and the report's mail token (the proof). Lower case throughout, since mail
# servers may fold the case of the local part.
_REPLY_TAG = re.compile(r"r-([0-9a-z]{16})-([0-9a-f]{24})")
# The report's root Message-ID: the public id again, and a digest of the token, so that it can
# be neither guessed from the public id nor turned back into the token.
_ROOT_ID = re.compile(r"<?report\.([0-9a-z]{16})\.([0-9a-f]{20})@[^<>\s]+>?")


def _compact(public_id: str) -> str:
    return public_id.removeprefix("VR-").replace("-", "").lower()


def _public_id(compact: str) -> str:
    upper = compact.upper()
    return "VR-" + "-".join(upper[i : i + 4] for i in range(0, len(upper), 4))


def _root_digest(report: Report) -> str:
    return hashlib.sha256(f"mail-thread:{report.mail_token}".encode()).hexdigest()[:20]


def reply_address(report: Report) -> str:
    """The address a researcher's reply about the report goes to; empty without an intake."""
    local, at, domain = settings.INTAKE_ADDRESS.strip().rpartition("@")
    if not at or not local:
        return ""
    return f"{local}+r-{_compact(report.public_id)}-{report.mail_token}@{domain}"


def thread_root_id(report: Report) -> str:
    """The Message-ID of the acknowledgement, which every later mail to the researcher answers."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    return f"<report.{_compact(report.public_id)}.{_root_digest(report)}@{domain}>"


def report_for_reply_tag(tag: str) -> Report | None:
    """The report whose reply address has this plus-tag, if the token in it is right."""
    found = _REPLY_TAG.fullmatch(tag.lower())
    if found is None:
        return None
    report = Report.objects.filter(public_id=_public_id(found[1])).first()
    # The public id only finds the report; the token, compared in constant time, proves it.
    if report is None or not hmac.compare_digest(report.mail_token, found[2]):
        return None
    return report


def report_for_root_id(message_id: str) -> Report | None:
    """The report whose root Message-ID this is, if its digest is right."""
    found = _ROOT_ID.fullmatch(message_id.strip().lower())
    if found is None:
        return None
    report = Report.objects.filter(public_id=_public_id(found[1])).first()
    if report is None or not hmac.compare_digest(_root_digest(report), found[2]):
        return None
    return report


def _researcher_thread(report: Report) -> dict[str, str]:
    headers = {"In-Reply-To": thread_root_id(report), "References": thread_root_id(report)}
    address = reply_address(report)
    if address:
        headers["Reply-To"] = address
    return headers


def _titles_in_mail() -> bool:
    program = Program.objects.only("titles_in_mail").first()
    return program is not None and program.titles_in_mail


def _report_context(report: Report) -> dict:
    # The report itself is not handed to the templates: what they may say is chosen here.
    titles = _titles_in_mail()
    return {
        "public_id": report.public_id,
        "status": report.get_status_display(),
        "titles_in_mail": titles,
        "title": report.title if titles else "",
        "category": str(report.category or "") if titles else "",
        "assignee": report.assignee.email if report.assignee else "",
        "portal_path": PORTAL_REPORT_PATH.format(public_id=report.public_id),
        "admin_path": ADMIN_REPORT_PATH.format(pk=report.pk),
    }


def mail_report_received(report: Report, program: Program, *, refused_files=()) -> None:
    """Acknowledge a new report; a mailed one also says which attached files were refused.

    A researcher without an account (a report that came by mail) is invited to sign up with
    the address they wrote from, which gives them the report in the portal.

    The acknowledgement is written by no one, so it says so (RFC 3834): an answer to a mail is
    "auto-replied", to the portal's form "auto-generated". Their vacation responders then stay
    silent, and Exchange's too (X-Auto-Response-Suppress), so no mail loop can start here.
    """
    first_response = report.deadlines.filter(kind=Deadline.Kind.FIRST_RESPONSE).first()
    # The promised date reads in the program's timezone, the one its business days count in.
    with timezone.override(ZoneInfo(program.timezone)):
        queue_mail(
            to=report.reporter.email,
            template="report_received",
            context={
                **_report_context(report),
                "first_response_due": first_response.due_at if first_response else None,
                "invite_to_sign_up": report.reporter.user_id is None,
                "signup_path": SIGNUP_PATH,
                # By position and reason only: a file's name can say what the report is about.
                "refused_files": [
                    {"position": refused.position, "reason": refusal_summary(refused.code)}
                    for refused in refused_files
                ],
                "reply_by_mail": bool(reply_address(report)),
            },
            report_public_id=report.public_id,
            # The first mail of the thread: every later one answers it.
            message_id=thread_root_id(report),
            headers={
                "Auto-Submitted": (
                    "auto-replied" if report.channel == Report.Channel.EMAIL else "auto-generated"
                ),
                "X-Auto-Response-Suppress": "All",
                **({"Reply-To": reply_address(report)} if reply_address(report) else {}),
            },
        )


def mail_new_report_to_triagers(report: Report) -> None:
    for email in roles.member_emails(roles.TRIAGER):
        queue_mail(
            to=email,
            template="new_report",
            context=_report_context(report),
            report_public_id=report.public_id,
        )


class ResearcherNews(StrEnum):
    """What happened on a report that its researcher is told of; each names the mail telling it."""

    NEW_MESSAGE = "report_new_message"
    ACKNOWLEDGED = "report_acknowledged"
    NEEDS_INFORMATION = "report_needs_information"
    TRIAGED = "report_triaged"
    REASSESSED = "report_reassessed"
    RESOLVED = "report_resolved"
    CLOSED = "report_closed"
    CLOSED_AS_DUPLICATE = "report_closed_as_duplicate"
    REOPENED = "report_reopened"


def _news_context(report: Report, news: ResearcherNews) -> dict:
    context = _report_context(report)
    if news == ResearcherNews.CLOSED:
        context["resolution"] = report.get_resolution_display().lower()
    if news == ResearcherNews.CLOSED_AS_DUPLICATE:
        # The original is another researcher's report: its status is all this one learns of it.
        context["original_status"] = report.duplicate_of.get_status_display().lower()
    return context


def mail_researcher_news(report: Report, message: Message, news: ResearcherNews) -> None:
    """Tell the researcher what happened on their report; internal notes never get here."""
    if message.visibility != Message.Visibility.PUBLIC:
        raise ValueError("Internal notes are never mailed to the researcher.")
    context = _news_context(report, news)
    if report.reporter.user_id is None:
        # Mail is all this researcher has of the conversation: they get the message itself.
        # Portal users keep getting a notification that sends them to the portal to read it.
        context.update(
            by_mail=True,
            message_body=message.body,
            reply_by_mail=bool(reply_address(report)),
            signup_path=SIGNUP_PATH,
        )
    queue_mail(
        to=report.reporter.email,
        template=news.value,
        context=context,
        report_public_id=report.public_id,
        headers=_researcher_thread(report),
    )


def _owners(report: Report) -> list[str]:
    # The assignee owns the report; while nobody does, or the assignee has left (deactivated),
    # every triager does, so that no reply or deadline waits on a mailbox nobody reads.
    if report.assignee is not None and report.assignee.is_active:
        return [report.assignee.email]
    return roles.member_emails(roles.TRIAGER)


def mail_researcher_replied(report: Report) -> None:
    """Tell whoever owns the report that the researcher wrote."""
    for email in _owners(report):
        queue_mail(
            to=email,
            template="researcher_replied",
            context=_report_context(report),
            report_public_id=report.public_id,
        )


def mail_report_assigned(report: Report) -> None:
    """Tell the new assignee the report is theirs now."""
    queue_mail(
        to=report.assignee.email,
        template="report_assigned",
        context=_report_context(report),
        report_public_id=report.public_id,
    )


def mail_deadline_reminder(deadline: Deadline, stage: int) -> None:
    """Remind whoever owes the deadline; past the grace period, escalate to program admins."""
    report = deadline.report
    owners = _owners(report)
    if stage == Deadline.ReminderStage.ESCALATED:
        recipients = sorted(set(owners) | set(roles.member_emails(roles.PROGRAM_ADMIN)))
    else:
        recipients = owners
    template = {
        Deadline.ReminderStage.DUE_SOON: "deadline_due_soon",
        Deadline.ReminderStage.DUE: "deadline_due",
        Deadline.ReminderStage.ESCALATED: "deadline_escalated",
    }[stage]
    for email in recipients:
        queue_mail(
            to=email,
            template=template,
            context={**_report_context(report), "deadline": deadline},
            report_public_id=report.public_id,
            # The due time is part of the key: a reopened or resumed deadline reminds afresh.
            dedupe_key=f"deadline:{deadline.pk}:{deadline.due_at.isoformat()}:{stage}:{email}",
        )


def mail_triage_digest(digest, *, day) -> int:
    recipients = roles.member_emails(roles.TRIAGER)
    titles = _titles_in_mail()
    for email in recipients:
        queue_mail(
            to=email,
            template="triage_digest",
            context={"digest": digest, "day": day, "titles_in_mail": titles},
            dedupe_key=f"digest:{day.isoformat()}:{email}",
        )
    return len(recipients)


def mail_reporter_relinked(reporter: Reporter, *, old_addresses: set[str], reason: str) -> None:
    """Tell the old and the new address that the researcher's record moved to another account."""
    for address in sorted(old_addresses | {reporter.email}):
        queue_mail(
            to=address,
            template="reporter_relinked",
            context={
                "new_account": reporter.user.email,
                "reason": reason,
                "is_new_address": address == reporter.email,
            },
        )
