"""The admin works for staff from day one: pages render, lists stay cheap, secrets stay put."""

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bounty.models import Payout
from demo.world import seed_demo_world
from reports.models import Report, Reporter
from tests.factories import PayoutFactory, ReportFactory

pytestmark = pytest.mark.django_db

ADMIN_MODELS = sorted(admin.site._registry, key=lambda model: model._meta.label)


def _admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def demo_world():
    return seed_demo_world()


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m._meta.label)
def test_every_changelist_and_change_page_renders_for_a_superuser(client, demo_world, model):
    client.force_login(demo_world.users["admin@demo.test"])

    assert client.get(_admin_url(model, "changelist")).status_code == 200
    obj = model.objects.first()
    if obj is not None:
        assert client.get(_admin_url(model, "change", obj.pk)).status_code == 200
        assert client.get(_admin_url(model, "history", obj.pk)).status_code == 200


def _queries_for(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    ("model", "factory"),
    [(Report, ReportFactory), (Payout, PayoutFactory)],
    ids=["reports", "payouts"],
)
def test_a_changelist_runs_the_same_queries_for_three_rows_as_for_thirty(
    client, superuser, model, factory
):
    client.force_login(superuser)
    url = _admin_url(model, "changelist")

    factory.create_batch(3)
    few = _queries_for(client, url)
    factory.create_batch(27)
    many = _queries_for(client, url)

    assert many == few


def test_triagers_do_not_see_payment_details(client, triager):
    reporter = Reporter.objects.create(email="r@example.test", payment_details="IBAN SECRET-123")
    client.force_login(triager)

    response = client.get(_admin_url(Reporter, "change", reporter.pk))

    assert response.status_code == 200
    assert b"SECRET-123" not in response.content
    assert b"payment_details" not in response.content


def test_finance_sees_payment_details(client, finance_user):
    reporter = Reporter.objects.create(email="r@example.test", payment_details="IBAN SECRET-123")
    client.force_login(finance_user)

    response = client.get(_admin_url(Reporter, "change", reporter.pk))

    assert b"SECRET-123" in response.content


def test_a_researcher_cannot_open_the_admin(client, researcher):
    client.force_login(researcher)

    response = client.get(_admin_url(Report, "changelist"))

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_the_status_cannot_be_edited_in_the_report_form(client, superuser):
    report = ReportFactory()
    client.force_login(superuser)

    response = client.get(_admin_url(Report, "change", report.pk))

    assert b'name="status"' not in response.content


def test_the_reporter_history_shows_payment_details_to_finance_only(client, triager, finance_user):
    reporter = Reporter.objects.create(email="r@example.test")
    reporter.payment_details = "IBAN SECRET-456"
    reporter.save()
    url = _admin_url(Reporter, "history", reporter.pk)

    client.force_login(triager)
    hidden = client.get(url)
    client.force_login(finance_user)
    shown = client.get(url)

    assert b"SECRET-456" not in hidden.content
    assert b"SECRET-456" in shown.content
