import re

import pytest
from django.db import IntegrityError

from reports.models import Report, new_public_id
from tests.factories import (
    AttachmentFactory,
    DeadlineFactory,
    MessageFactory,
    ReporterFactory,
    ReportFactory,
)

pytestmark = pytest.mark.django_db


def test_a_public_id_carries_eighty_random_bits_in_readable_groups():
    public_id = new_public_id()

    assert re.fullmatch(r"VR(-[0-9A-HJKMNP-TV-Z]{4}){4}", public_id)


def test_public_ids_do_not_repeat():
    assert len({new_public_id() for _ in range(2000)}) == 2000


def test_a_report_gets_a_public_id_unrelated_to_its_primary_key():
    report = ReportFactory()

    assert report.public_id.startswith("VR-")
    assert report.public_id != str(report.pk)
    assert Report.objects.get(public_id=report.public_id) == report


def test_a_closed_report_must_say_how_it_was_closed():
    with pytest.raises(IntegrityError):
        ReportFactory(status=Report.Status.CLOSED, resolution="")


def test_only_a_duplicate_may_point_at_an_original():
    original = ReportFactory()

    with pytest.raises(IntegrityError):
        ReportFactory(duplicate_of=original, resolution=Report.Resolution.SPAM)


def test_a_reporter_email_is_unique_regardless_of_case():
    ReporterFactory(user=None, email="eve@example.test")

    with pytest.raises(IntegrityError):
        ReporterFactory(user=None, email="EVE@example.test")


def test_a_report_has_one_deadline_of_each_kind():
    deadline = DeadlineFactory()

    with pytest.raises(IntegrityError):
        DeadlineFactory(report=deadline.report, kind=deadline.kind)


def test_attachments_are_stored_under_a_random_name_not_the_researchers():
    attachment = AttachmentFactory(original_name="../../etc/passwd")

    assert attachment.file.name.startswith("attachments/")
    assert "passwd" not in attachment.file.name


def test_every_change_to_a_message_is_kept_in_history():
    message = MessageFactory(body="first")
    message.body = "second"
    message.save()

    assert [h.body for h in message.history.order_by("history_date")] == ["first", "second"]
