"""Program admins see on the admin's first page how long audit history is kept, and that
decisions are kept longer."""

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains

pytestmark = pytest.mark.django_db


def test_program_admins_see_how_long_history_is_kept_on_the_admin_index(
    client, program_admin, settings
):
    settings.AUDIT_RETENTION_DAYS = 365
    client.force_login(program_admin)

    response = client.get(reverse("admin:index"))

    assertContains(
        response,
        '<p class="history-retention">'
        "History is kept for 365 days (AUDIT_RETENTION_DAYS), then deleted; the decisions on "
        "reports and payouts (who moved them, when, why) are kept as long as the reports and "
        "payouts.</p>",
        html=True,
    )


def test_the_admin_index_says_history_is_kept_forever_when_retention_is_zero(
    client, program_admin, settings
):
    settings.AUDIT_RETENTION_DAYS = 0
    client.force_login(program_admin)

    response = client.get(reverse("admin:index"))

    assertContains(
        response,
        '<p class="history-retention">History is kept forever (AUDIT_RETENTION_DAYS is 0).</p>',
        html=True,
    )


def test_the_admin_index_still_lists_the_apps_a_program_admin_may_use(client, program_admin):
    client.force_login(program_admin)

    response = client.get(reverse("admin:index"))

    assertContains(response, reverse("admin:bounty_severity_changelist"))
