"""The admin's first page: the work each of a person's roles holds now, each count a link to the
list it counts.

A panel is shown for a role the person holds (a superuser holds them all), and each count in it
only when the person may open the list it links to. The counting lives in the apps' selectors;
this module only chooses and labels. Every count is one query whatever the size of the tables,
so the page costs the same at any size.
"""

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.formats import number_format
from django.utils.timesince import timesince

from accounts import roles
from bounty import selectors as bounty_selectors
from bounty.models import Program
from intake import selectors as intake_selectors
from intake import threads as intake_threads
from outbox.selectors import failed_mail
from reports import inbox
from reports.selectors import deadlines_missed_in_month

View = inbox.View
TRIAGE_VIEWS = (View.MINE, View.UNASSIGNED, View.OVERDUE, View.DUE_SOON, View.REPLIED)
# Counts that mean a promise is broken or someone waits on us: marked when not zero.
URGENT_VIEWS = {View.OVERDUE, View.REPLIED}


@dataclass(frozen=True)
class Tally:
    """One count on the first page, with the list that shows what it counts."""

    label: str
    count: int
    url: str
    help: str
    urgent: bool = False
    detail: str = ""


@dataclass(frozen=True)
class Panel:
    """One role's work: a heading and its counts."""

    slug: str
    title: str
    tallies: list[Tally]
    shows_retention: bool = False
    # Facts that are not counts (when the mailbox was last read), each (text, urgent).
    notes: tuple[tuple[str, bool], ...] = ()


class _Holder:
    """What the person may see: the roles they hold and the permissions they have."""

    def __init__(self, user):
        self.user = user
        self.role_names = (
            set() if user.is_superuser else set(user.groups.values_list("name", flat=True))
        )

    def holds(self, role: str) -> bool:
        return self.user.is_superuser or role in self.role_names

    def may(self, permission: str) -> bool:
        return self.user.has_perm(permission)


def _triage_panel(holder: _Holder, now) -> Panel | None:
    if not holder.may("reports.view_report"):
        return None
    counts = inbox.view_counts(holder.user, now)
    tallies = [
        Tally(
            label="Your queue" if view == View.MINE else inbox.VIEWS[view].label,
            count=counts[view],
            url=inbox.view_url(view),
            help=inbox.VIEWS[view].help,
            urgent=view in URGENT_VIEWS and counts[view] > 0,
        )
        for view in TRIAGE_VIEWS
    ]
    return Panel("triage", "Triage", tallies)


def _money(totals: list[dict]) -> str:
    return " · ".join(
        f"{number_format(row['total'], 2, force_grouping=True)} {row['currency']}" for row in totals
    )


def _finance_panel(holder: _Holder) -> Panel | None:
    tallies = []
    if holder.may("bounty.approve_payout"):
        count = bounty_selectors.count_payouts_awaiting_approval_by(holder.user)
        tallies.append(
            Tally(
                label="Awaiting your approval",
                count=count,
                url=reverse("admin:bounty_payoutawaitingmyapproval_changelist"),
                help="Payouts you may still approve or reject: not proposed or decided by you.",
                urgent=count > 0,
            )
        )
    if holder.may("bounty.pay_payout"):
        tallies.append(
            Tally(
                label="Open payment batches",
                count=bounty_selectors.open_payment_batches().count(),
                url=f"{reverse('admin:bounty_paymentbatch_changelist')}?settlement=open",
                help="Exported batches with a payout not yet recorded as paid.",
            )
        )
    if holder.may("bounty.view_payout"):
        totals = bounty_selectors.approved_not_paid_totals()
        statuses = ",".join(bounty_selectors.APPROVED_NOT_PAID)
        tallies.append(
            Tally(
                label="Approved, not paid",
                count=sum(row["payouts"] for row in totals),
                url=f"{reverse('admin:bounty_payout_changelist')}?status__in={statuses}",
                help="Payouts approved or instructed and not yet paid.",
                detail=_money(totals),
            )
        )
    return Panel("finance", "Finance", tallies) if tallies else None


def _program_admin_panel(holder: _Holder, program: Program | None, now) -> Panel:
    tallies = []
    if holder.may("outbox.view_outgoingmail"):
        count = failed_mail().count()
        tallies.append(
            Tally(
                label="Failed mail",
                count=count,
                url=f"{reverse('admin:outbox_outgoingmail_changelist')}?status__exact=failed",
                help="Mail the outbox gave up sending after its retries.",
                urgent=count > 0,
            )
        )
    if holder.may("bounty.view_payout") and program is not None:
        count = bounty_selectors.stale_approvals(program, now).count()
        days = program.approval_escalation_business_days
        tallies.append(
            Tally(
                label="Stale approvals",
                count=count,
                url=f"{reverse('admin:bounty_payout_changelist')}?approval=overdue",
                help=f"Payouts awaiting approval for more than {days} business days.",
                urgent=count > 0,
            )
        )
    if holder.may("reports.view_deadline"):
        zone = ZoneInfo(program.timezone) if program else timezone.get_default_timezone()
        count = deadlines_missed_in_month(zone, now).count()
        tallies.append(
            Tally(
                label="Deadlines missed this month",
                count=count,
                url=f"{reverse('admin:reports_deadline_changelist')}?missed=this_month",
                help="Due this calendar month and met late, or still open past due.",
                urgent=count > 0,
            )
        )
    # How long history is kept is the program admins' to know (they answer for the record) and
    # the operator's to set: it sits with their work, not above everyone's.
    return Panel("program-admin", "Program admin", tallies, shows_retention=True)


def _intake_panel(holder: _Holder, now) -> Panel | None:
    """The mailbox's health: when it was last read, whether that failed, the day's lost mail.

    Shown once intake is set up (INTAKE_IMAP_URL) or has polled: a desk without mail intake
    has nothing to watch here. Three queries, whatever the mailbox holds.
    """
    if not holder.may("intake.view_intakemessage"):
        return None
    mailbox = intake_selectors.polled_mailbox()
    if mailbox is None and not settings.INTAKE_IMAP_URL:
        return None
    notes = [_last_poll_note(mailbox, now)]
    if mailbox is not None and mailbox.last_error:
        notes.append((f"The last poll failed: {mailbox.last_error}", True))
    recent = intake_selectors.recent_mail(now)
    messages = reverse("admin:intake_intakemessage_changelist")
    tallies = [
        Tally(
            label="Mail failed in the last day",
            count=recent.failed,
            url=f"{messages}?state__exact=failed&recent=day",
            help="Mail of the last day that could not become a report: kept, with the reason.",
            urgent=recent.failed > 0,
        ),
        Tally(
            label="Mail ignored in the last day",
            count=recent.ignored,
            url=f"{messages}?state__exact=ignored&recent=day",
            help="Mail of the last day that made no report: robots, bounces, blocked, too many.",
        ),
    ]
    if holder.may("intake.view_heldmail"):
        held = intake_threads.pending_held_mail_count()
        tallies.append(
            Tally(
                label="Held for review",
                count=held,
                url=f"{reverse('admin:intake_heldmail_changelist')}?decision__exact=pending",
                help="Mail in a report's thread from someone other than its researcher.",
                urgent=held > 0,
            )
        )
    return Panel("intake", "Mail intake", tallies, notes=tuple(notes))


def _last_poll_note(mailbox, now) -> tuple[str, bool]:
    if mailbox is None or mailbox.last_poll_started_at is None:
        return ("The mailbox has not been polled yet: is the beat (Celery) running?", True)
    started = mailbox.last_poll_started_at
    # A poll every minute: ten without one means the beat or the worker stopped.
    stale = now - started > timedelta(minutes=10)
    when = dateformat.format(timezone.localtime(started), "j M Y, H:i T")
    text = f"Last poll of {mailbox.name}: {when} ({timesince(started, now)} ago)."
    return (text + (" Polling seems to have stopped." if stale else ""), stale)


def home_panels(user, now=None) -> list[Panel]:
    """Return the panels of the admin's first page for ``user``, in a fixed order."""
    if not (user.is_active and user.is_staff):
        return []
    now = now or timezone.now()
    holder = _Holder(user)
    panels = []
    if holder.holds(roles.TRIAGER) or holder.holds(roles.PROGRAM_ADMIN):
        panels.append(_triage_panel(holder, now))
    if holder.holds(roles.FINANCE):
        panels.append(_finance_panel(holder))
    if holder.holds(roles.PROGRAM_ADMIN):
        program = Program.objects.first()
        panels.append(_program_admin_panel(holder, program, now))
        panels.append(_intake_panel(holder, now))
    return [panel for panel in panels if panel is not None]
