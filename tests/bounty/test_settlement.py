"""Payment instructions go out as numbered batches whose CSV no spreadsheet evaluates; a bank's
settlement CSV comes back and pays each payout matching a live line of its batch once,
reporting every row it does not pay, and why."""

import csv
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from bounty import selectors, services
from bounty.models import Payout
from bounty.payment_csv import neutralize, stream_payment_batch
from bounty.services import Outcome
from tests.bounty.awarding import instructed, mails, propose, status_changes_to, triaged_report

pytestmark = pytest.mark.django_db

S = Payout.Status


@pytest.fixture
def payout(submit, triager, finance_user):
    return instructed(propose(triaged_report(submit, triager), triager, "300"), finance_user)


@pytest.fixture
def another_payout(submit, triager, finance_user):
    report = triaged_report(submit, triager, severity="High", title="Another")
    return instructed(propose(report, triager, "750"), finance_user)


@pytest.fixture
def batch(payout, another_payout, finance_user):
    [batch] = services.export_payment_batches(acting_user=finance_user)
    return batch


def _export(batch, *, redownload=False):
    lines = selectors.batch_lines(batch).iterator(chunk_size=2)
    text = "".join(stream_payment_batch(batch, lines, redownload=redownload))
    return list(csv.reader(io.StringIO(text)))


def _settle(text, user):
    return services.import_settlement(io.BytesIO(text.encode()), acting_user=user)


HEADER = "batch,reference,amount,currency,payment_reference\n"


# Export


def test_the_batch_lists_batch_reference_researcher_amount_and_destination(
    submit, triager, researcher, finance_user
):
    reporter = researcher.reporter
    reporter.display_name = "Alice Example"
    reporter.payment_method = "bank_transfer"
    reporter.payment_details = "IBAN DE89 3704 0044 0532 0130 00"
    reporter.save()
    payout = instructed(propose(triaged_report(submit, triager), triager, "300"), finance_user)
    [batch] = services.export_payment_batches(acting_user=finance_user)

    rows = _export(batch)

    assert rows == [
        [
            "batch",
            "reference",
            "researcher",
            "amount",
            "currency",
            "method",
            "account",
            "line",
            "copy",
        ],
        [
            str(batch.number),
            payout.instruction_reference,
            f"Alice Example <{researcher.reporter.email}>",
            "300.00",
            "USD",
            "Bank transfer",
            "IBAN DE89 3704 0044 0532 0130 00",
            "pay",
            "original",
        ],
    ]


def test_a_batch_holds_the_instructed_payouts_of_its_currency_and_counts_them(
    payout, another_payout, submit, triager, finance_user
):
    propose(triaged_report(submit, triager, title="Awaiting"), triager, "300")

    [batch] = services.export_payment_batches(acting_user=finance_user)

    assert (batch.number, batch.count, str(batch.total), batch.currency) == (1, 2, "1050.00", "USD")
    assert batch.created_by == finance_user
    assert {line.payout for line in batch.lines.all()} == {payout, another_payout}


def test_a_payout_approved_before_the_researcher_gave_an_account_is_not_to_be_paid(batch):
    rows = _export(batch)

    assert [(row[6], row[7]) for row in rows[1:]] == [("", "no account given: do not pay")] * 2


@pytest.mark.parametrize(
    "name",
    [
        '=HYPERLINK("https://evil.example","Click")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A9)",
        "\tTabbed",
        "\rReturned",
    ],
)
def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_neutralized(
    submit, triager, researcher, finance_user, name
):
    reporter = researcher.reporter
    reporter.display_name = name
    reporter.payment_method = "other"
    reporter.payment_details = name
    reporter.save()
    instructed(propose(triaged_report(submit, triager), triager, "300"), finance_user)
    [batch] = services.export_payment_batches(acting_user=finance_user)

    [_, row] = _export(batch)

    for cell in (row[2], row[6]):
        assert cell.startswith("'")
        assert cell[1:].startswith(name)


@pytest.mark.parametrize(
    ("cell", "written"),
    [("Alice", "Alice"), ("300.00", "300.00"), ("a=b", "a=b"), ("=1+1", "'=1+1"), ("", "")],
)
def test_only_cells_starting_with_a_formula_character_change(cell, written):
    assert neutralize(cell) == written


# Import


def test_a_matching_row_marks_the_payout_paid(payout, batch, second_finance_user, researcher):
    result = _settle(
        HEADER + f"1,{payout.instruction_reference},300.00,USD,TX-1\n", second_finance_user
    )

    assert [(row.line, row.outcome) for row in result.rows] == [(2, Outcome.PAID)]
    payout.refresh_from_db()
    assert (payout.status, payout.payment_reference) == (S.PAID, "TX-1")
    assert payout.history.latest().history_user == second_finance_user
    assert len(mails("payout_paid", to=researcher.email)) == 1


def test_good_bad_and_duplicate_rows_are_each_reported(payout, another_payout, batch, finance_user):
    ref, other = payout.instruction_reference, another_payout.instruction_reference
    text = HEADER + "\n".join(
        [
            f"1,{ref},300,usd,TX-1",  # good: 300 is 300.00, currency in any case
            f"1,{ref},300.00,USD,TX-1",  # the same payment again
            f"1,{other},700.00,USD,TX-2",  # amount differs
            f"1,{other},750.00,EUR,TX-2",  # currency differs
            "1,BD-PAY-99999999,300.00,USD,TX-3",  # no such line in the batch
            f"1,{other},lots,USD,TX-4",  # amount not a number
            f"1,{other},750.00,USD,",  # no payment reference
            f"1,{other},750.00,US Dollars,TX-5",  # currency not a code
            f"1,{other},-750.00,USD,TX-6",  # negative
            f"1,{other},750.00,USD,TX-7,surplus",  # more cells than columns
        ]
    )

    result = _settle(text, finance_user)

    assert [(row.line, row.outcome) for row in result.rows] == [
        (2, Outcome.PAID),
        (3, Outcome.ALREADY_PAID),
        (4, Outcome.MISMATCH),
        (5, Outcome.MISMATCH),
        (6, Outcome.UNKNOWN),
        (7, Outcome.BAD_ROW),
        (8, Outcome.BAD_ROW),
        (9, Outcome.BAD_ROW),
        (10, Outcome.BAD_ROW),
        (11, Outcome.BAD_ROW),
    ]
    assert all(row.detail for row in result.problems)
    assert len(result.paid) == 1
    another_payout.refresh_from_db()
    assert another_payout.status == S.INSTRUCTED
    assert status_changes_to(payout, S.PAID) == 1
    assert len(mails("payout_paid")) == 1


@pytest.mark.parametrize(
    ("batch_cell", "outcome", "detail"),
    [
        ("", Outcome.BAD_ROW, "Missing batch"),
        ("one", Outcome.BAD_ROW, "not a batch number"),
        ("2", Outcome.UNKNOWN, "No payment batch has the number 2"),
    ],
)
def test_a_row_from_no_batch_pays_nothing(payout, batch, finance_user, batch_cell, outcome, detail):
    result = _settle(
        HEADER + f"{batch_cell},{payout.instruction_reference},300.00,USD,TX-1\n", finance_user
    )

    [row] = result.rows
    assert row.outcome == outcome
    assert detail in row.detail
    payout.refresh_from_db()
    assert payout.status == S.INSTRUCTED


def test_an_instructed_payout_that_no_batch_holds_is_not_paid_by_a_settlement(payout, finance_user):
    result = _settle(HEADER + f"1,{payout.instruction_reference},300.00,USD,TX-1\n", finance_user)

    assert result.rows[0].outcome == Outcome.UNKNOWN
    payout.refresh_from_db()
    assert payout.status == S.INSTRUCTED


def test_a_row_naming_another_batch_than_its_payouts_is_refused(
    payout, batch, submit, triager, finance_user
):
    later = instructed(
        propose(triaged_report(submit, triager, title="Later"), triager, "300"), finance_user
    )
    services.export_payment_batches(acting_user=finance_user)

    result = _settle(HEADER + f"1,{later.instruction_reference},300.00,USD,TX-1\n", finance_user)

    assert result.rows[0].outcome == Outcome.UNKNOWN
    assert "Batch 1 has no line" in result.rows[0].detail


def test_uploading_the_same_settlement_twice_pays_nobody_twice(
    payout, another_payout, batch, finance_user
):
    text = (
        HEADER
        + f"1,{payout.instruction_reference},300.00,USD,TX-1\n"
        + f"1,{another_payout.instruction_reference},750.00,USD,TX-2\n"
    )
    _settle(text, finance_user)

    again = _settle(text, finance_user)

    assert [row.outcome for row in again.rows] == [Outcome.ALREADY_PAID] * 2
    assert len(mails("payout_paid")) == 2


def test_a_payout_paid_under_another_reference_is_reported(payout, batch, finance_user):
    services.mark_payout_paid(payout, acting_user=finance_user, payment_reference="TX-1")

    result = _settle(HEADER + f"1,{payout.instruction_reference},300.00,USD,TX-2\n", finance_user)

    [row] = result.rows
    assert row.outcome == Outcome.REFUSED
    assert "TX-1" in row.detail
    payout.refresh_from_db()
    assert payout.payment_reference == "TX-1"


def test_a_payment_reference_already_used_elsewhere_is_reported(
    payout, another_payout, batch, finance_user
):
    services.mark_payout_paid(payout, acting_user=finance_user, payment_reference="TX-1")

    result = _settle(
        HEADER + f"1,{another_payout.instruction_reference},750.00,USD,TX-1\n", finance_user
    )

    assert result.rows[0].outcome == Outcome.REFUSED
    another_payout.refresh_from_db()
    assert another_payout.status == S.INSTRUCTED


def test_the_exported_batch_with_a_payment_reference_column_settles(batch, finance_user):
    rows = _export(batch)
    rows[0].append("payment_reference")
    for number, row in enumerate(rows[1:], start=1):
        row.append(f"TX-{number}")
    out = io.StringIO()
    csv.writer(out).writerows(rows)

    result = _settle(out.getvalue(), finance_user)

    assert [row.outcome for row in result.rows] == [Outcome.PAID, Outcome.PAID]


def test_columns_may_come_in_any_order_with_blank_lines_and_a_byte_order_mark(
    payout, batch, finance_user
):
    text = (
        "\ufeffPayment_Reference, Currency ,Amount,Reference, Batch\n\n"
        f"TX-1,USD,300.00,{payout.instruction_reference},1\n,,,,\n"
    )

    result = _settle(text, finance_user)

    assert [row.outcome for row in result.rows] == [Outcome.PAID]


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        (b"batch,reference,amount,currency\n1,BD-PAY-1,300,USD\n", "payment_reference"),
        (b"reference,amount,currency,payment_reference\nBD-PAY-1,300,USD,TX-1\n", "batch"),
        (b"", "header row"),
        ("batch,reference,amount,currency,payment_reference\n".encode("utf-16"), "UTF-8"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(payout, finance_user, content, complaint):
    with pytest.raises(ValidationError) as refused:
        services.import_settlement(io.BytesIO(content), acting_user=finance_user)

    assert complaint in refused.value.messages[0]


@pytest.mark.parametrize("who", ["triager", "program_admin", "researcher"])
def test_only_finance_imports_settlements(request, payout, batch, who):
    user = request.getfixturevalue(who)

    with pytest.raises(PermissionDenied):
        _settle(HEADER + f"1,{payout.instruction_reference},300.00,USD,TX-1\n", user)

    payout.refresh_from_db()
    assert payout.status == S.INSTRUCTED
