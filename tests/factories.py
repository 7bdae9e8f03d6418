"""One factory per model: the smallest valid row, with related rows made as needed."""

from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import User
from bounty.models import (
    Award,
    Category,
    Payout,
    PayoutApproval,
    PayoutStatusChange,
    Program,
    Severity,
)
from intake.models import IntakeMessage, Mailbox, RawSourceDownload
from reports.models import (
    Attachment,
    Deadline,
    Message,
    Report,
    Reporter,
    ReportStatusChange,
    SavedReply,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    full_name = factory.Faker("name")
    password = factory.django.Password("correct horse battery staple")


class StaffFactory(UserFactory):
    is_staff = True


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program
        django_get_or_create = ("singleton",)

    singleton = True
    name = "Test program"
    policy = "Report to us."
    contact_email = "security@example.test"
    timezone = "America/New_York"


class SeverityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Severity
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Severity {n}")
    rank = factory.Sequence(lambda n: 100 + n)
    award_min = Decimal("250")
    award_max = Decimal("500")
    triage_business_days = 5
    award_decision_business_days = 15
    resolution_business_days = 60


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"C{n}")
    name = factory.Sequence(lambda n: f"Category {n}")
    typical_severity = factory.SubFactory(SeverityFactory)


class ReporterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reporter

    user = factory.SubFactory(UserFactory)
    email = factory.LazyAttribute(lambda o: o.user.email if o.user else "someone@example.test")
    display_name = factory.Faker("name")


class ReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Report

    reporter = factory.SubFactory(ReporterFactory)
    title = factory.Sequence(lambda n: f"Vulnerability {n}")
    category = factory.SubFactory(CategoryFactory)
    description = "The proxy answers without checking the key."
    steps_to_reproduce = "1. Start the proxy.\n2. Call the admin API without a key."


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    report = factory.SubFactory(ReportFactory)
    author = factory.SubFactory(StaffFactory)
    body = "Thanks, we are looking into it."


class AttachmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attachment

    report = factory.SubFactory(ReportFactory)
    file = factory.django.FileField(filename="proof.txt", data=b"proof of concept")
    original_name = "proof.txt"
    content_type = "text/plain"
    size = 16


class SavedReplyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SavedReply

    name = factory.Sequence(lambda n: f"Saved reply {n}")
    body = "Thank you for report {report_id}, {researcher_name}."


class DeadlineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deadline

    report = factory.SubFactory(ReportFactory)
    kind = Deadline.Kind.FIRST_RESPONSE
    due_at = factory.LazyFunction(lambda: timezone.now() + timezone.timedelta(days=5))


class AwardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Award

    report = factory.SubFactory(ReportFactory)
    amount = Decimal("300.00")
    proposed_by = factory.SubFactory(StaffFactory)
    proposed_at = factory.LazyFunction(timezone.now)


class PayoutFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payout

    award = factory.SubFactory(AwardFactory)
    reporter = factory.LazyAttribute(lambda o: o.award.report.reporter)
    amount = factory.LazyAttribute(lambda o: o.award.amount)
    currency = factory.LazyAttribute(lambda o: o.award.currency)


class PayoutApprovalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PayoutApproval

    payout = factory.SubFactory(PayoutFactory)
    approver = factory.SubFactory(StaffFactory)
    decision = PayoutApproval.Decision.APPROVE
    decided_at = factory.LazyFunction(timezone.now)


class ReportStatusChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReportStatusChange

    report = factory.SubFactory(ReportFactory)
    from_status = Report.Status.SUBMITTED
    to_status = Report.Status.ACKNOWLEDGED
    acting_user = factory.SubFactory(StaffFactory)
    actor = factory.LazyAttribute(lambda o: o.acting_user.email)


class PayoutStatusChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PayoutStatusChange

    payout = factory.SubFactory(PayoutFactory)
    from_status = Payout.Status.AWAITING_APPROVAL
    to_status = Payout.Status.APPROVED
    acting_user = factory.SubFactory(StaffFactory)
    actor = factory.LazyAttribute(lambda o: o.acting_user.email)


RAW_MAIL = (
    b"From: Carol Mailer <carol@example.test>\r\nSubject: SSRF in the webhook tester\r\n"
    b"Message-ID: <factory@mail.example.test>\r\n\r\nThe tester fetches any URL.\r\n"
)


class MailboxFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Mailbox
        django_get_or_create = ("name",)

    name = "security@imap.example.test:993/INBOX"


class IntakeMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IntakeMessage

    source = IntakeMessage.Source.IMAP
    mailbox = factory.SubFactory(MailboxFactory)
    uid_validity = 1
    uid = factory.Sequence(lambda n: n + 1)
    message_key = factory.Sequence(lambda n: f"message-id:factory-{n}")
    raw = factory.django.FileField(filename="raw", data=RAW_MAIL)
    size = len(RAW_MAIL)
    sender = "carol@example.test"
    subject = "SSRF in the webhook tester"
    received_at = factory.LazyFunction(timezone.now)


class RawSourceDownloadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RawSourceDownload

    message = factory.SubFactory(IntakeMessageFactory)
    downloaded_by = factory.SubFactory(StaffFactory)
