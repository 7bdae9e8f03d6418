"""A deadline is missed when it was met after it fell due, or is still owed past due; program
admins count the ones due in the current calendar month of the program's time zone."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from reports.models import Deadline
from reports.selectors import deadlines_missed_in_month, month_of
from tests.factories import DeadlineFactory, ReportFactory

pytestmark = pytest.mark.django_db

LOS_ANGELES = ZoneInfo("America/Los_Angeles")
# Tuesday 10 March 2026, noon in Los Angeles.
NOW = datetime(2026, 3, 10, 19, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _deadline(**fields):
    return DeadlineFactory(report=ReportFactory(), **fields)


@pytest.mark.parametrize(
    ("fields", "missed"),
    [
        ({"due_at": NOW - HOUR, "met_at": NOW - 2 * HOUR}, False),  # met in time
        ({"due_at": NOW - 2 * HOUR, "met_at": NOW - HOUR}, True),  # met late
        ({"due_at": NOW - HOUR}, True),  # still owed past due
        ({"due_at": NOW + HOUR}, False),  # still owed, not yet due
        ({"due_at": NOW - HOUR, "paused_at": NOW - 2 * HOUR}, False),  # paused before it fell due
        ({"due_at": NOW - 2 * HOUR, "paused_at": NOW - HOUR}, True),  # paused when already late
        ({"due_at": NOW - HOUR, "cancelled_at": NOW - 2 * HOUR}, False),  # report closed
    ],
    ids=[
        "met-in-time",
        "met-late",
        "owed-past-due",
        "owed-not-yet-due",
        "paused-in-time",
        "paused-late",
        "cancelled",
    ],
)
def test_which_deadlines_count_as_missed(fields, missed):
    deadline = _deadline(**fields)

    assert (deadline in deadlines_missed_in_month(LOS_ANGELES, NOW)) is missed


def test_the_month_is_the_program_time_zones_not_utcs():
    # 20:00 on 31 March in Los Angeles is already 1 April in UTC.
    now = datetime(2026, 4, 1, 3, tzinfo=UTC)
    march_morning = _deadline(due_at=datetime(2026, 3, 31, 10, tzinfo=LOS_ANGELES))
    march_evening = _deadline(due_at=datetime(2026, 3, 31, 19, tzinfo=LOS_ANGELES))
    # 23:30 on 28 February in Los Angeles is 1 March in UTC: a February deadline.
    february_night = _deadline(due_at=datetime(2026, 2, 28, 23, 30, tzinfo=LOS_ANGELES))

    in_los_angeles = deadlines_missed_in_month(LOS_ANGELES, now).order_by("due_at")
    assert list(in_los_angeles) == [march_morning, march_evening]
    assert list(deadlines_missed_in_month(LOS_ANGELES, now, months_back=1)) == [february_night]
    assert list(deadlines_missed_in_month(ZoneInfo("UTC"), now)) == [march_evening]


def test_a_month_runs_from_its_first_local_midnight_to_the_next_months():
    assert month_of(datetime(2026, 12, 15, tzinfo=UTC), LOS_ANGELES) == (
        datetime(2026, 12, 1, tzinfo=LOS_ANGELES),
        datetime(2027, 1, 1, tzinfo=LOS_ANGELES),
    )
    assert month_of(datetime(2027, 1, 1, 5, tzinfo=UTC), LOS_ANGELES)[0] == datetime(
        2026, 12, 1, tzinfo=LOS_ANGELES
    )


@pytest.mark.parametrize(("choice", "expected"), [("this_month", "late"), ("last_month", "old")])
def test_the_deadline_list_filters_the_missed_ones_by_month(
    client, program_admin, program, choice, expected
):
    zone = ZoneInfo(program.timezone)
    start, _ = month_of(datetime.now(UTC), zone)
    deadlines = {
        "late": _deadline(due_at=start + timedelta(seconds=1), met_at=start + HOUR),
        "kept": _deadline(due_at=start + HOUR, met_at=start + timedelta(seconds=1)),
        "old": _deadline(due_at=start - HOUR, met_at=start),
    }
    client.force_login(program_admin)

    response = client.get(reverse("admin:reports_deadline_changelist"), {"missed": choice})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [deadlines[expected]]
    assert Deadline.objects.count() == 3
