"""Researcher accounts (django-allauth): sign up, verify, sign in and out, reset, two-factor,
and the linking of reports sent by email before the account existed."""

import re
import time
from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from reports import services
from reports.models import Reporter
from tests.factories import ReporterFactory, UserFactory
from tests.reports.portal import PASSWORD, count_rate_limits_afresh, reauthenticate

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a fresh and long passphrase"


@pytest.fixture(autouse=True)
def _own_rate_limit_counters(settings):
    count_rate_limits_afresh(settings)


def _sign_up(client, email):
    return client.post(
        "/accounts/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    )


def _link_in_last_mail(pattern):
    match = re.search(rf"http://testserver(/accounts/{pattern})", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match[1]


def _confirm_email(client):
    link = _link_in_last_mail(r"confirm-email/[^/\s]+/")
    return client.post(link)


def _sign_in(client, email, password=PASSWORD):
    return client.post("/accounts/login/", {"login": email, "password": password})


def _current_totp_code(secret):
    return format_hotp_value(hotp_value(secret, int(time.time()) // mfa_settings.TOTP_PERIOD))


def _verified_user(email, **fields):
    user = UserFactory(email=email, **fields)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def _report_by_email(email, title, acting_user):
    return services.record_report_received_by_email(
        reporter_email=email,
        reporter_name="Carol Mailer",
        submission=services.Submission(
            title=title,
            description="Sent to the security contact.",
            steps_to_reproduce="1. Start the proxy.\n2. Call it.",
        ),
        received_at=timezone.now(),
        acting_user=acting_user,
    )


# Signing up


def test_signing_up_sends_a_verification_mail_and_signs_nobody_in(client, program):
    response = _sign_up(client, "new@example.test")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert mail.outbox[-1].to == ["new@example.test"]
    assert not EmailAddress.objects.get(email="new@example.test").verified
    assert client.get("/portal/").status_code == 302
    assert not Reporter.objects.filter(email_index__matches="new@example.test").exists()


def test_an_unverified_account_cannot_sign_in(client, program):
    _sign_up(client, "new@example.test")
    client.logout()

    response = _sign_in(client, "new@example.test")

    assert response["Location"] == "/accounts/confirm-email/"
    assert client.get("/portal/").status_code == 302


def test_confirming_the_address_signs_in_and_makes_the_account_a_researcher(client, program):
    _sign_up(client, "new@example.test")

    response = _confirm_email(client)

    assert response["Location"] == "/portal/"
    user = User.objects.get(email="new@example.test")
    assert Reporter.objects.get(user=user).email == "new@example.test"
    assert client.get("/portal/").status_code == 200


def test_an_address_can_have_only_one_account(client, researcher, program):
    response = _sign_up(client, "Alice@Example.test")

    assert response["Location"] == "/accounts/confirm-email/"
    assert User.objects.filter(email__iexact="alice@example.test").count() == 1


# Linking reports sent by email before


def test_a_researcher_who_reported_by_email_sees_those_reports_after_verifying(
    client, triager, program
):
    earlier = _report_by_email("Carol@Example.test", "Sent by mail before", triager)

    _sign_up(client, "carol@example.test")
    _confirm_email(client)

    user = User.objects.get(email="carol@example.test")
    earlier.reporter.refresh_from_db()
    assert earlier.reporter.user == user
    assert Reporter.objects.filter(email_index__matches="Carol@Example.test").count() == 1
    page = client.get("/portal/").content.decode()
    assert "Sent by mail before" in page and earlier.public_id in page
    assert client.get(f"/portal/reports/{earlier.public_id}/").status_code == 200


def test_signing_up_with_someone_elses_address_claims_nothing_until_it_is_verified(
    client, triager, program
):
    earlier = _report_by_email("carol@example.test", "Sent by mail before", triager)
    _sign_up(client, "carol@example.test")
    client.force_login(User.objects.get(email="carol@example.test"))

    page = client.get("/portal/").content.decode()

    earlier.reporter.refresh_from_db()
    assert earlier.reporter.user is None
    assert "Sent by mail before" not in page
    assert client.get(f"/portal/reports/{earlier.public_id}/").status_code == 404


def test_linking_gives_a_verified_account_the_reporter_with_its_address(triager, program):
    earlier = _report_by_email("carol@example.test", "Sent by mail before", triager)
    user = _verified_user("carol@example.test")

    reporter = services.link_reporter_to_user(user)

    assert reporter == earlier.reporter
    assert reporter.user == user
    assert reporter.history.latest().history_user == user


def test_linking_makes_a_new_reporter_when_there_is_none(db):
    user = _verified_user("dave@example.test", full_name="Dave Finder")

    reporter = services.link_reporter_to_user(user)

    assert (reporter.user, reporter.email, reporter.display_name) == (
        user,
        "dave@example.test",
        "Dave Finder",
    )


def test_linking_twice_changes_nothing(db):
    user = _verified_user("dave@example.test")
    first = services.link_reporter_to_user(user)

    assert services.link_reporter_to_user(user) == first
    assert Reporter.objects.count() == 1


def test_linking_claims_nothing_for_an_unverified_address(triager, program):
    earlier = _report_by_email("carol@example.test", "Sent by mail before", triager)
    user = UserFactory(email="carol@example.test")
    EmailAddress.objects.create(user=user, email=user.email, verified=False, primary=True)

    assert services.link_reporter_to_user(user) is None
    earlier.reporter.refresh_from_db()
    assert earlier.reporter.user is None


def test_linking_never_takes_another_accounts_reporter(db):
    owner = UserFactory(email="owner@example.test")
    ReporterFactory(user=owner, email="shared@example.test")
    user = _verified_user("shared@example.test")

    assert services.link_reporter_to_user(user) is None
    assert Reporter.objects.get(email_index__matches="shared@example.test").user == owner


# Signing in and out, resetting the password


def test_a_verified_researcher_signs_in_to_the_portal(client, program):
    _verified_user("erin@example.test")

    response = _sign_in(client, "ERIN@example.test")

    assert response["Location"] == "/portal/"
    assert client.get("/portal/").status_code == 200


def test_a_wrong_password_is_refused_with_a_message(client, program):
    _verified_user("erin@example.test")

    response = _sign_in(client, "erin@example.test", password="wrong")

    assert response.status_code == 200
    assert "The email address and/or password you specified are not correct." in (
        response.content.decode()
    )


def test_signing_out_ends_the_session(client, researcher):
    client.force_login(researcher)

    response = client.post("/accounts/logout/")

    assert response["Location"] == "/accounts/login/"
    assert client.get("/portal/").status_code == 302


def test_a_forgotten_password_is_reset_through_a_mailed_link(client, program):
    _verified_user("erin@example.test")

    client.post("/accounts/password/reset/", {"email": "erin@example.test"})
    form_page = client.get(_link_in_last_mail(r"password/reset/key/[^/\s]+/"))
    client.post(form_page["Location"], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert _sign_in(client, "erin@example.test", NEW_PASSWORD)["Location"] == "/portal/"


def test_the_demo_researchers_sign_in_to_the_portal(client):
    call_command("seed_demo", "--password", PASSWORD, stdout=StringIO())

    for email in ("alice@demo.test", "bob@demo.test"):
        client.logout()
        assert _sign_in(client, email)["Location"] == "/portal/", email
        assert "Admin API reachable without a key" in client.get("/portal/").content.decode()


# Two-factor authentication (TOTP)


def test_a_researcher_with_an_authenticator_app_is_asked_for_a_code(client, program):
    user = _verified_user("erin@example.test")
    secret = generate_totp_secret()
    TOTP.activate(user, secret)

    response = _sign_in(client, "erin@example.test")

    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/portal/").status_code == 302
    assert client.post("/accounts/2fa/authenticate/", {"code": "000000"}).status_code == 200
    response = client.post("/accounts/2fa/authenticate/", {"code": _current_totp_code(secret)})
    assert response["Location"] == "/portal/"
    assert client.get("/portal/").status_code == 200


def test_a_researcher_turns_on_an_authenticator_app(client, researcher):
    client.force_login(researcher)
    reauthenticate(client)

    page = client.get("/accounts/2fa/totp/activate/").content.decode()
    secret = client.session["mfa.totp.secret"]
    response = client.post("/accounts/2fa/totp/activate/", {"code": _current_totp_code(secret)})

    assert '<img src="data:image/svg+xml;base64,' in page
    assert "<script" not in page
    assert response.status_code == 302
    assert researcher.authenticator_set.filter(type="totp").exists()


# The account pages


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/password/reset/",
        "/accounts/confirm-email/",
    ],
)
def test_account_pages_use_the_portal_layout_without_inline_code(client, program, path):
    page = client.get(path).content.decode()

    assert "/static/css/desk.css" in page
    assert 'aria-label="Portal"' in page
    assert "<script" not in page and "style=" not in page and "<style" not in page


def test_account_page_inputs_have_labels_and_errors_beside_them(client, program):
    response = client.post(
        "/accounts/signup/",
        {"email": "not-an-address", "password1": PASSWORD, "password2": "different"},
    )
    page = response.content.decode()

    for name in ("email", "password1", "password2"):
        assert f'<label for="id_{name}">' in page
    assert '<ul class="errorlist" id="id_email_error">' in page
    assert 'aria-describedby="id_email_error"' in page
