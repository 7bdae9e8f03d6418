"""A researcher's own OpenPGP public key, given on the portal's settings page: only a key mail
can be encrypted to is taken, behind the password, and only ever for the researcher's own record."""

import re

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from pysequoia import Cert, Tsk
from pysequoia.packet import PacketPile

from intake import pgp
from reports import services
from reports.models import Reporter
from tests.reports.portal import count_rate_limits_afresh, reauthenticate

pytestmark = pytest.mark.django_db

URL = "/portal/pgp-key/"


@pytest.fixture(autouse=True)
def _own_rate_limit_counters(settings):
    count_rate_limits_afresh(settings)


def _public_key(user_id="Alice <alice@example.test>") -> str:
    return str(Tsk.generate(user_id).extract_certificate())


def _field_error(response) -> str:
    page = response.content.decode()
    match = re.search(r'<ul class="errorlist" id="id_pgp_public_key_error">(.*?)</ul>', page, re.S)
    assert match, "no error beside the key field"
    return re.sub(r"<[^>]+>", " ", match[1])


def _sign_only_key() -> str:
    # A primary key that certifies and a subkey that signs, and no subkey that encrypts.
    packets = list(PacketPile.from_bytes(bytes(Tsk.generate("x").extract_certificate())))
    return str(Cert.from_packets(packets[:-2]))


def test_the_settings_page_offers_the_key_form(client, researcher):
    client.force_login(researcher)
    reauthenticate(client)

    page = client.get("/portal/payment-details/").content.decode()

    assert f'action="{URL}"' in page
    assert 'name="pgp_public_key"' in page


def test_the_page_points_to_the_programs_key_once_there_is_one(client, researcher):
    client.force_login(researcher)
    reauthenticate(client)
    assert "/security/pgp-key.txt" not in client.get("/portal/payment-details/").content.decode()

    pgp.generate_program_key("Security <security@example.test>")

    assert "/security/pgp-key.txt" in client.get("/portal/payment-details/").content.decode()


def test_a_researcher_keeps_their_public_key(client, researcher):
    key = _public_key()
    client.force_login(researcher)
    reauthenticate(client)

    response = client.post(URL, {"pgp_public_key": key}, follow=True)

    assert "Your OpenPGP key has been saved" in response.content.decode()
    stored = Reporter.objects.get(user=researcher).pgp_public_key
    assert Cert.from_bytes(stored.encode()).fingerprint == Cert.from_bytes(key.encode()).fingerprint
    assert Reporter.objects.get(user=researcher).history.latest().history_user == researcher


@pytest.mark.parametrize(
    ("key", "error"),
    [
        ("hello, here is my key", "not an OpenPGP public key"),
        (
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n",
            "not an OpenPGP public key",
        ),
        ("secret", "That is a secret key"),
        ("sign-only", "no subkey for encryption"),
        ("two", "exactly one"),
    ],
)
def test_what_mail_cannot_be_encrypted_to_is_refused_beside_the_field(
    client, researcher, key, error
):
    if key == "secret":
        key = str(Tsk.generate("Alice <alice@example.test>"))
    elif key == "sign-only":
        key = _sign_only_key()
    elif key == "two":
        key = _public_key() + "\n" + _public_key("Other <other@example.test>")
    client.force_login(researcher)
    reauthenticate(client)

    response = client.post(URL, {"pgp_public_key": key})

    assert response.status_code == 200
    assert error in _field_error(response)
    assert Reporter.objects.get(user=researcher).pgp_public_key == ""


def test_an_empty_key_removes_it(client, researcher):
    services.update_pgp_public_key(
        researcher.reporter, acting_user=researcher, public_key=_public_key()
    )
    client.force_login(researcher)
    reauthenticate(client)

    client.post(URL, {"pgp_public_key": ""})

    assert Reporter.objects.get(user=researcher).pgp_public_key == ""


def test_setting_a_key_asks_for_the_password_first(client, researcher):
    client.force_login(researcher)

    response = client.post(URL, {"pgp_public_key": _public_key()})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert Reporter.objects.get(user=researcher).pgp_public_key == ""


def test_anonymous_visitors_are_sent_to_log_in(client, researcher):
    response = client.post(URL, {"pgp_public_key": _public_key()})

    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_the_form_is_post_only(client, researcher):
    client.force_login(researcher)
    reauthenticate(client)

    assert client.get(URL).status_code == 405


def test_another_researcher_posting_sets_only_their_own_key(client, researcher, other_researcher):
    mine = _public_key()
    services.update_pgp_public_key(researcher.reporter, acting_user=researcher, public_key=mine)
    client.force_login(other_researcher)
    reauthenticate(client)

    client.post(URL, {"pgp_public_key": _public_key("Mallory <bob@example.test>")})

    assert Reporter.objects.get(user=researcher).pgp_public_key.strip() == (
        str(Cert.from_bytes(mine.encode())).strip()
    )
    assert Reporter.objects.get(user=other_researcher).pgp_public_key != ""


def test_the_service_refuses_to_set_another_researchers_key(researcher, other_researcher):
    with pytest.raises(PermissionDenied):
        services.update_pgp_public_key(
            researcher.reporter, acting_user=other_researcher, public_key=_public_key()
        )
    assert Reporter.objects.get(user=researcher).pgp_public_key == ""
