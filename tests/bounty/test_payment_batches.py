"""Exports as numbered batches: each instructed payout goes into one batch, two exports in a row
never repeat a payout, and two finance users exporting at the same instant split the payouts
between them rather than both taking them."""

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bounty import selectors, services
from bounty.models import PaymentBatch, PaymentBatchLine, Payout
from bounty.payment_csv import stream_payment_batch
from tests.bounty.awarding import instructed, propose, triaged_report
from tests.bounty.test_payout_races import race
from tests.factories import PayoutFactory

S = Payout.Status


def _instructed_payouts(submit, triager, finance_user, count, *, first=0):
    return [
        instructed(
            propose(triaged_report(submit, triager, title=f"Report {first + n}"), triager, "300"),
            finance_user,
        )
        for n in range(count)
    ]


@pytest.mark.django_db
def test_two_exports_in_a_row_never_repeat_a_payout(submit, triager, finance_user):
    first_payouts = _instructed_payouts(submit, triager, finance_user, 2)
    [first] = services.export_payment_batches(acting_user=finance_user)

    assert services.export_payment_batches(acting_user=finance_user) == []
    later_payouts = _instructed_payouts(submit, triager, finance_user, 1, first=2)
    [second] = services.export_payment_batches(acting_user=finance_user)

    assert (first.number, second.number) == (1, 2)
    assert {line.payout for line in first.lines.all()} == set(first_payouts)
    assert {line.payout for line in second.lines.all()} == set(later_payouts)


@pytest.mark.django_db
def test_payouts_not_yet_instructed_wait_for_a_later_batch(submit, triager, finance_user):
    waiting = propose(triaged_report(submit, triager), triager, "300")

    assert services.export_payment_batches(acting_user=finance_user) == []
    instructed(waiting, finance_user)
    [batch] = services.export_payment_batches(acting_user=finance_user)

    assert batch.lines.get().payout == waiting


@pytest.mark.django_db
def test_each_currency_gets_a_batch_of_its_own(submit, triager, finance_user):
    [usd] = _instructed_payouts(submit, triager, finance_user, 1)
    eur = PayoutFactory(
        award__currency="EUR",
        award__amount="120.00",
        status=S.INSTRUCTED,
        instruction_reference="BD-PAY-EUR",
    )

    batches = services.export_payment_batches(acting_user=finance_user)

    assert [(b.number, b.currency, b.count, str(b.total)) for b in batches] == [
        (1, "EUR", 1, "120.00"),
        (2, "USD", 1, "300.00"),
    ]
    assert [b.lines.get().payout for b in batches] == [eur, usd]


@pytest.mark.django_db
def test_the_database_keeps_a_payout_in_one_batch(submit, triager, finance_user):
    [payout] = _instructed_payouts(submit, triager, finance_user, 1)
    services.export_payment_batches(acting_user=finance_user)
    other = PaymentBatch.objects.create(
        number=2,
        currency="USD",
        total=0,
        count=0,
        created_by=finance_user,
        created_at=timezone.now(),
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentBatchLine.objects.create(
            batch=other, payout=payout, reference=payout.instruction_reference
        )


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["triager", "program_admin", "researcher"])
def test_only_finance_exports(request, submit, triager, finance_user, who):
    _instructed_payouts(submit, triager, finance_user, 1)

    with pytest.raises(PermissionDenied):
        services.export_payment_batches(acting_user=request.getfixturevalue(who))

    assert not PaymentBatch.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_exports_at_the_same_instant_take_each_payout_once(
    submit, triager, finance_user, second_finance_user, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite has no row locks and serialises writers anyway")
    from bounty import tasks
    from outbox import tasks as outbox_tasks

    monkeypatch.setattr(tasks.create_payment_instruction_task, "delay", lambda payout_id: None)
    monkeypatch.setattr(outbox_tasks.deliver_mail_task, "delay", lambda mail_id: None)
    payouts = _instructed_payouts(submit, triager, finance_user, 5)
    made = []

    errors = race(
        lambda: made.extend(services.export_payment_batches(acting_user=finance_user)),
        lambda: made.extend(services.export_payment_batches(acting_user=second_finance_user)),
    )

    assert errors == []
    [batch] = made
    assert batch.number == 1
    lines = PaymentBatchLine.objects.all()
    assert sorted(line.payout_id for line in lines) == sorted(p.pk for p in payouts)


@pytest.mark.django_db(transaction=True)
def test_a_change_of_details_during_an_export_leaves_no_line_to_pay(
    submit, triager, finance_user, researcher, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite has no row locks and serialises writers anyway")
    from bounty import tasks
    from outbox import tasks as outbox_tasks
    from reports import services as report_services

    monkeypatch.setattr(tasks.create_payment_instruction_task, "delay", lambda payout_id: None)
    monkeypatch.setattr(outbox_tasks.deliver_mail_task, "delay", lambda mail_id: None)
    report_services.update_payment_details(
        researcher.reporter, acting_user=researcher, method="bank_transfer", details="IBAN OLD"
    )
    payouts = _instructed_payouts(submit, triager, finance_user, 3)

    errors = race(
        lambda: services.export_payment_batches(acting_user=finance_user),
        lambda: report_services.update_payment_details(
            researcher.reporter, acting_user=researcher, method="paypal", details="new@example.test"
        ),
    )

    assert errors == []
    # Whichever came first, the old destination is payable from no line and the new one only
    # after new approval.
    assert not PaymentBatchLine.objects.filter(voided_at__isnull=True).exists()
    for payout in payouts:
        payout.refresh_from_db()
        assert (payout.status, payout.destination_details) == (
            S.AWAITING_APPROVAL,
            "new@example.test",
        )


@pytest.mark.django_db
def test_a_batch_file_costs_the_same_queries_for_two_lines_as_for_six(
    submit, triager, finance_user
):
    def queries_to_stream(batch):
        with CaptureQueriesContext(connection) as captured:
            lines = selectors.batch_lines(batch).iterator(chunk_size=100)
            text = "".join(stream_payment_batch(batch, lines, redownload=False))
        return len(captured), text

    _instructed_payouts(submit, triager, finance_user, 2)
    [small] = services.export_payment_batches(acting_user=finance_user)
    _instructed_payouts(submit, triager, finance_user, 6, first=2)
    [large] = services.export_payment_batches(acting_user=finance_user)

    small_queries, small_text = queries_to_stream(small)
    large_queries, large_text = queries_to_stream(large)

    # Every line decrypts its account with its row's key, read in the same query as the line.
    assert large_queries == small_queries
    assert (small_text.count("\n"), large_text.count("\n")) == (3, 7)
