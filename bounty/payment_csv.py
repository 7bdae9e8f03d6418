"""Payment instructions out and bank settlements in, as CSV files a spreadsheet can open."""

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from bounty.models import PaymentBatch, PaymentBatchLine, Payout, currency_code
from reports.models import Reporter

INSTRUCTION_COLUMNS = (
    "batch",
    "reference",
    "researcher",
    "amount",
    "currency",
    "method",
    "account",
    "line",
    "copy",
)
SETTLEMENT_COLUMNS = ("batch", "reference", "amount", "currency", "payment_reference")
MAX_SETTLEMENT_ROWS = 5000
# Rows are handed to the response in chunks of this many: few writes, and memory that does not
# grow with the batch.
ROWS_PER_CHUNK = 500
PAY, VOID, NO_ACCOUNT = "pay", "void: do not pay", "no account given: do not pay"
ORIGINAL, REDOWNLOAD = "original", "re-download"
# A spreadsheet evaluates a cell starting with one of these as a formula: a researcher could
# name themselves "=HYPERLINK(...)" and have finance's spreadsheet run it (CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PAYMENT_REFERENCE_MAX = Payout._meta.get_field("payment_reference").max_length


def neutralize(value) -> str:
    """Return the cell as text that a spreadsheet shows rather than evaluates."""
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_TRIGGERS) else text


def _researcher(reporter: Reporter) -> str:
    return (
        f"{reporter.display_name} <{reporter.email}>" if reporter.display_name else reporter.email
    )


def destination_method_label(method: str) -> str:
    try:
        return Reporter.PaymentMethod(method).label
    except ValueError:
        return method


class _Rows:
    """A file-like object for csv.writer that hands back each row it is given."""

    def write(self, row: str) -> str:
        return row


def _line_status(line: PaymentBatchLine) -> str:
    if line.voided_at is not None:
        return VOID
    # Approved before the researcher said where to send it: their first payment details will
    # void this line and send the payout back for approval.
    return PAY if line.payout.destination_details else NO_ACCOUNT


def _instruction_row(batch: PaymentBatch, line: PaymentBatchLine, copy: str) -> list:
    payout = line.payout
    void = line.voided_at is not None
    # A void line's payout points elsewhere now, at a destination nobody approved for this
    # batch: the line keeps its amount and reference but carries no account.
    return [
        batch.number,
        line.reference,
        _researcher(payout.reporter),
        payout.amount,
        payout.currency,
        destination_method_label(payout.destination_method),
        "" if void else payout.destination_details,
        _line_status(line),
        copy,
    ]


def stream_payment_batch(
    batch: PaymentBatch, lines: Iterable[PaymentBatchLine], *, redownload: bool
) -> Iterator[str]:
    """Yield the batch's instruction file as CSV text, a chunk of rows at a time."""
    writer = csv.writer(_Rows())
    copy = REDOWNLOAD if redownload else ORIGINAL
    chunk = [writer.writerow(INSTRUCTION_COLUMNS)]
    for line in lines:
        chunk.append(
            writer.writerow([neutralize(cell) for cell in _instruction_row(batch, line, copy)])
        )
        if len(chunk) == ROWS_PER_CHUNK:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def batch_filename(batch: PaymentBatch, *, redownload: bool) -> str:
    name = f"payment-batch-{batch.number:05d}-{batch.currency}"
    return f"{name}-re-download.csv" if redownload else f"{name}.csv"


@dataclass(frozen=True)
class SettlementLine:
    """One row of a settlement file, read but not yet matched; ``problem`` says why it is bad."""

    line: int
    batch: int | None
    reference: str
    amount: Decimal | None
    currency: str
    payment_reference: str
    problem: str = ""


def _cell(row: dict, column: str) -> str:
    return (row.get(column) or "").strip()


def _settlement_line(line: int, row: dict) -> SettlementLine:
    batch_text, reference = _cell(row, "batch"), _cell(row, "reference")
    amount_text = _cell(row, "amount")
    currency, payment_reference = _cell(row, "currency").upper(), _cell(row, "payment_reference")

    def bad(problem):
        return SettlementLine(line, None, reference, None, currency, payment_reference, problem)

    cells = (batch_text, reference, amount_text, currency, payment_reference)
    missing = [column for column, value in zip(SETTLEMENT_COLUMNS, cells, strict=True) if not value]
    if missing:
        return bad(f"Missing {', '.join(missing)}.")
    if any(extra.strip() for extra in row.get(None) or []):
        return bad("More cells than the header has columns.")
    if not (batch_text.isascii() and batch_text.isdigit() and len(batch_text) <= 9):
        return bad(f"The batch {batch_text!r} is not a batch number such as 12.")
    try:
        amount = Decimal(amount_text)
    except InvalidOperation:
        return bad(f"The amount {amount_text!r} is not a number such as 1500.00.")
    if not amount.is_finite() or amount <= 0:
        return bad(f"The amount {amount_text!r} is not a positive amount.")
    try:
        currency_code(currency)
    except ValidationError:
        return bad(f"The currency {currency!r} is not a three-letter code such as USD.")
    if len(payment_reference) > _PAYMENT_REFERENCE_MAX:
        return bad(f"The payment reference is longer than {_PAYMENT_REFERENCE_MAX} characters.")
    return SettlementLine(line, int(batch_text), reference, amount, currency, payment_reference)


def read_settlement(data: bytes) -> list[SettlementLine]:
    """Read a settlement CSV (a header row naming at least SETTLEMENT_COLUMNS, in any order).

    A file that cannot be read at all raises ValidationError; a bad row becomes a line with a
    problem, so that it is reported rather than dropped. Rows with no cells filled are skipped.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("The settlement file is not UTF-8 text.") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [(name or "").strip().lower() for name in reader.fieldnames or []]
    missing = [column for column in SETTLEMENT_COLUMNS if column not in header]
    if missing:
        raise ValidationError(
            f"The settlement file needs a header row with the columns "
            f"{', '.join(SETTLEMENT_COLUMNS)}; it lacks {', '.join(missing)}."
        )
    reader.fieldnames = header
    lines = []
    try:
        for row in reader:
            if not any((value or "").strip() for key, value in row.items() if key is not None):
                continue
            if len(lines) == MAX_SETTLEMENT_ROWS:
                raise ValidationError(
                    f"The settlement file has more than {MAX_SETTLEMENT_ROWS} rows: split it."
                )
            lines.append(_settlement_line(reader.line_num, row))
    except csv.Error as error:
        raise ValidationError(f"The settlement file is not valid CSV: {error}.") from None
    return lines
