"""The demo world: the reference program, its staff, two researchers, reports and payouts, and
the saved replies its staff answer with.

Every row is looked up by a stable natural key before it is created, so seeding twice changes
nothing, and a row someone edited in the admin is left as they made it.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path

from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from accounts import roles
from accounts.history import acting_user
from accounts.models import User
from bounty import services as bounty_services
from bounty.models import Award, Category, Payout, Severity
from bounty.reference_program import load_reference_program
from intake import services as intake_services
from reports import services
from reports.emails import thread_root_id
from reports.models import Report, Reporter, SavedReply
from reports.saved_replies import save_saved_reply

# A report mailed to security@ by a researcher with no account, with a script and a program
# attached (the program is refused). It has no Date header, so it counts as received when it
# is first seeded and its deadlines lie ahead like the other demo reports'.
MAILED_REPORT = Path(__file__).resolve().parent / "mail" / "report-by-email.eml"

DEFAULT_PASSWORD = "bounty-desk-demo"  # noqa: S105 - demo accounts only, printed on seeding

STAFF = [
    ("admin@demo.test", "Ada Admin", roles.PROGRAM_ADMIN, True),
    ("triager@demo.test", "Tom Triager", roles.TRIAGER, False),
    ("finance@demo.test", "Fay Finance", roles.FINANCE, False),
    ("finance2@demo.test", "Finn Finance", roles.FINANCE, False),
]
RESEARCHERS = [
    ("alice@demo.test", "Alice Researcher", "paypal", "alice.payments@demo.test"),
    ("bob@demo.test", "Bob Researcher", "bank_transfer", "IBAN DE00 0000 0000 0000 0000 00"),
]

S = Report.Status
R = Report.Resolution

# (title stem, status, resolution, category code, severity name, days ago received)
REPORT_PLAN = [
    ("Admin API reachable without a key", S.SUBMITTED, R.NONE, "P1", None, 1),
    ("Team key can create organisation keys", S.ACKNOWLEDGED, R.NONE, "P2", None, 3),
    ("Debug endpoint lists model aliases", S.NEEDS_INFO, R.NONE, "P3", None, 6),
    ("Release workflow runs untrusted pull-request code", S.TRIAGED, R.NONE, "P0", "Critical", 9),
    ("Spend logs readable by any virtual key", S.RESOLVED, R.FIXED, "P2", "Medium", 20),
    ("Verbose error leaks upstream host name", S.CLOSED, R.INFORMATIVE, "P3", "Low", 30),
]


# (name, body, active): answers the reference program's rules call for, in its staff's words.
SAVED_REPLIES = [
    (
        "Acknowledge: we are looking into it",
        "Hello {researcher_name},\n\nThank you for reporting {report_id} to {program_name}. "
        "A member of the security team has read it and is looking into it. We will write again "
        "as soon as we know more.",
        True,
    ),
    (
        "Ask for steps to reproduce",
        "Hello {researcher_name},\n\nThank you for {report_id}. We could not reproduce the "
        "issue from the report as it stands. Could you send clear, numbered steps to reproduce "
        "it, with the version you tested and the requests or configuration involved? A report "
        "needs them to qualify for a bounty.",
        True,
    ),
    (
        "Out of scope: a system you do not own",
        "Hello {researcher_name},\n\nThank you for {report_id}. Our policy asks researchers to "
        "test only systems and accounts they own, and this report involves one that is not "
        "yours, so we are closing it as out of scope. Please test against a proxy instance you "
        "run yourself.",
        True,
    ),
    (
        "Fixed: thank you",
        "Hello {researcher_name},\n\nThe issue you reported in {report_id} is fixed. Thank "
        "you for helping keep {program_name} and its users safe.",
        True,
    ),
    (
        "No bounties (from when the program paid none)",
        "Hello {researcher_name},\n\nThank you for {report_id}. {program_name} runs a "
        "disclosure program and offers no bounties, but we credit every valid report.",
        False,
    ),
]


@dataclass
class DemoWorld:
    password: str
    users: dict[str, User] = field(default_factory=dict)
    reporters: dict[str, Reporter] = field(default_factory=dict)
    reports: dict[tuple[str, str], Report] = field(default_factory=dict)
    mailed_report: Report | None = None


def _ensure_user(email, full_name, password, *, staff, superuser=False, role=None):
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User(email=email, full_name=full_name, is_staff=staff, is_superuser=superuser)
        user.set_password(password)
        user.save()
        if role:
            user.groups.add(Group.objects.get(name=role))
    if not staff:
        # Researchers sign in through the portal, which lets in verified addresses only.
        EmailAddress.objects.get_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
    return user


def _ensure_saved_reply(name, body, active, author):
    saved_reply = SavedReply.objects.filter(name=name).first()
    if saved_reply is None:
        saved_reply = save_saved_reply(
            SavedReply(name=name, body=body, is_active=active), acting_user=author
        )
    return saved_reply


def _ensure_report(reporter, plan, now, triager):
    """Create a report through the real workflow, moved on as far as its planned status."""
    title, status, resolution, category_code, severity_name, days_ago = plan
    full_title = f"{title} ({reporter.display_name.split()[0]})"
    report = Report.objects.filter(reporter=reporter, title=full_title).first()
    if report is not None:
        return report
    report = services.submit_report(
        reporter=reporter,
        submission=services.Submission(
            title=full_title,
            category=Category.objects.get(code=category_code),
            affected_asset="llm-proxy",
            affected_version="1.40.2",
            description=f"{title}. Found while testing a proxy instance I run myself.",
            steps_to_reproduce="1. Start the proxy with the default config.\n"
            "2. Send the request.\n3. Observe the response.",
            impact="An attacker could read or change data they should not reach.",
        ),
        acting_user=reporter.user,
        received_at=now - timedelta(days=days_ago),
    )
    if status == S.SUBMITTED:
        return report
    services.assign_report(report, acting_user=triager, assignee=triager)
    services.acknowledge_report(report, acting_user=triager)
    services.add_staff_message(
        report, acting_user=triager, body="Reproduced on a local instance.", public=False
    )
    if status == S.NEEDS_INFO:
        services.request_information(
            report, acting_user=triager, question="Which configuration file did you use?"
        )
    elif status == S.CLOSED:
        services.close_report(report, acting_user=triager, resolution=resolution)
    elif status in (S.TRIAGED, S.RESOLVED):
        services.triage_report(
            report, acting_user=triager, severity=Severity.objects.get(name=severity_name)
        )
        if status == S.RESOLVED:
            services.resolve_report(report, acting_user=triager)
    report.refresh_from_db()
    return report


def _ensure_duplicate(original, reporter, triager):
    title = f"Duplicate of: {original.title}"
    report = Report.objects.filter(reporter=reporter, title=title).first()
    if report is None:
        report = services.submit_report(
            reporter=reporter,
            submission=services.Submission(
                title=title,
                category=original.category,
                description=original.description,
                steps_to_reproduce=original.steps_to_reproduce,
            ),
            acting_user=reporter.user,
        )
        report = services.mark_duplicate(report, acting_user=triager, original=original)
    return report


# (owner, report status, award kind, amount, payout status)
PAYOUT_PLAN = [
    ("alice@demo.test", S.RESOLVED, Award.Kind.BOUNTY, Decimal("400"), Payout.Status.PAID),
    ("alice@demo.test", S.RESOLVED, Award.Kind.BONUS, Decimal("100"), Payout.Status.REJECTED),
    ("alice@demo.test", S.TRIAGED, Award.Kind.BOUNTY, Decimal("2000"), Payout.Status.APPROVED),
    ("bob@demo.test", S.RESOLVED, Award.Kind.BOUNTY, Decimal("300"), Payout.Status.INSTRUCTED),
    (
        "bob@demo.test",
        S.TRIAGED,
        Award.Kind.BOUNTY,
        Decimal("1800"),
        Payout.Status.AWAITING_APPROVAL,
    ),
]


def _ensure_payout(world, owner, report_status, kind, amount, payout_status):
    """Make a payout through the real workflow, taken as far as its planned status."""
    report = world.reports[(owner, report_status)]
    existing = Payout.objects.filter(award__report=report, award__kind=kind).first()
    if existing is not None:
        return existing
    finance = [world.users["finance@demo.test"], world.users["finance2@demo.test"]]
    award = bounty_services.propose_award(
        report,
        acting_user=world.users["triager@demo.test"],
        amount=amount,
        currency=report.severity.currency,
        kind=kind,
        justification="Clear reproduction and a suggested fix." if kind == Award.Kind.BONUS else "",
    )
    payout = award.payout
    if payout_status == Payout.Status.REJECTED:
        bounty_services.reject_payout(
            payout, acting_user=finance[0], reason="A bonus needs the fix to be confirmed first."
        )
        return payout
    approvers = finance[: payout.approvals_required]
    if payout_status == Payout.Status.AWAITING_APPROVAL:
        # One approval given and one still awaited: the four-eyes rule in the middle of its work.
        approvers = approvers[:-1]
    for approver in approvers:
        bounty_services.approve_payout(payout, acting_user=approver)
    if payout_status in (Payout.Status.INSTRUCTED, Payout.Status.PAID):
        # What the task does once a worker picks it up; the demo does not wait for one.
        bounty_services.create_payment_instruction(payout.pk)
    if payout_status == Payout.Status.PAID:
        bounty_services.mark_payout_paid(
            payout, acting_user=finance[1], payment_reference=f"DEMO-PAYMENT-{payout.pk:06d}"
        )
    payout.refresh_from_db()
    return payout


@transaction.atomic
def seed_demo_world(password: str = DEFAULT_PASSWORD) -> DemoWorld:
    """Create whatever part of the demo world is missing, and return all of it."""
    world = DemoWorld(password=password)
    roles.sync_roles()
    load_reference_program()
    for email, name, role, superuser in STAFF:
        world.users[email] = _ensure_user(
            email, name, password, staff=True, superuser=superuser, role=role
        )
    now = timezone.now()
    for name, body, active in SAVED_REPLIES:
        _ensure_saved_reply(name, body, active, world.users["admin@demo.test"])
    with acting_user(world.users["admin@demo.test"]):
        for email, name, method, details in RESEARCHERS:
            user = _ensure_user(email, name, password, staff=False)
            world.users[email] = user
            reporter = Reporter.objects.filter(email_index__matches=email).first()
            if reporter is None:
                reporter = Reporter.objects.create(
                    user=user,
                    email=email,
                    display_name=name,
                    payment_method=method,
                    payment_details=details,
                )
            world.reporters[email] = reporter
            for plan in REPORT_PLAN:
                world.reports[(email, plan[1])] = _ensure_report(
                    reporter, plan, now, world.users["triager@demo.test"]
                )
        original = world.reports[("alice@demo.test", S.TRIAGED)]
        _ensure_duplicate(
            original, world.reporters["bob@demo.test"], world.users["triager@demo.test"]
        )
        for plan in PAYOUT_PLAN:
            _ensure_payout(world, *plan)
    # Through the intake's own path, as the poller would; a mail it has seen is not made again.
    world.mailed_report = intake_services.ingest_raw(MAILED_REPORT.read_bytes()).message.report
    _ensure_mail_in_thread(world.mailed_report)
    return world


def _ensure_mail_in_thread(report: Report) -> None:
    """Carol writes again in her report's thread by mail; a stranger's mail there is held."""
    for number, sender, text in (
        (2, "Carol Mailer <carol@demo.test>", "One more thing: the export also holds API keys."),
        (3, "Mallory <mallory@demo.test>", "I found this first, please pay me instead."),
    ):
        mail = EmailMessage()
        mail["From"] = sender
        mail["To"] = "security@demo.test"
        mail["Subject"] = "Re: Prompt log export leaks other teams' prompts"
        mail["Message-ID"] = f"<demo-intake-{number}@mail.demo.test>"
        mail["In-Reply-To"] = thread_root_id(report)
        mail.set_content(text)
        intake_services.ingest_raw(bytes(mail))
