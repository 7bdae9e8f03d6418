"""The public security page and security.txt: open to anyone, built from the program's data."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bounty.models import Program, Severity
from bounty.reference_program import load_reference_program
from bounty.security_txt import build_security_txt
from tests.factories import CategoryFactory

pytestmark = pytest.mark.django_db

SECURITY_PAGE = "/security/"
SECURITY_TXT = "/.well-known/security.txt"


@pytest.fixture
def program(settings):
    settings.SITE_URL = "https://desk.example.test"
    settings.DATA_REGION = "eu"
    return load_reference_program(contact_email="security@proxy.example.test")


@pytest.fixture
def disclosure_program(program):
    program.bounties_enabled = False
    program.save()
    return program


def _fields(text):
    return [
        tuple(line.split(": ", 1))
        for line in text.splitlines()
        if line and not line.startswith("#")
    ]


def _field(text, name):
    values = [value for field, value in _fields(text) if field == name]
    assert len(values) == 1, (name, values)
    return values[0]


@pytest.mark.parametrize("path", [SECURITY_PAGE, SECURITY_TXT])
def test_anyone_can_read_the_public_pages_without_logging_in(client, program, path):
    response = client.get(path)

    assert response.status_code == 200
    assert not response.wsgi_request.user.is_authenticated


def test_the_security_page_says_how_to_report(client, program):
    page = client.get(SECURITY_PAGE).content.decode()

    assert program.name in page
    assert 'href="/portal/"' in page
    assert 'href="mailto:security@proxy.example.test"' in page
    assert "steps to reproduce" in page
    assert "systems and accounts that you own" in page
    assert "within <strong>5 business days</strong>" in page


def test_the_security_page_shows_the_first_response_target_from_the_database(client, program):
    program.first_response_business_days = 1
    program.save()

    assert "within <strong>1 business day</strong>" in client.get(SECURITY_PAGE).content.decode()


def test_the_security_page_lists_the_categories_with_their_typical_severity(client, program):
    page = client.get(SECURITY_PAGE).content.decode()

    rows = re.findall(
        r'<th scope="row">(P\d)</th>\s*<td>(.*?)</td>\s*<td>.+?</td>\s*<td>(.*?)</td>', page
    )
    assert rows == [
        ("P0", "Supply chain attack", "Critical"),
        ("P1", "Unauthenticated proxy access", "High"),
        ("P2", "Authenticated privilege escalation", "Medium"),
        ("P3", "Minor information disclosure / low-impact misconfiguration", "Low"),
    ]
    assert "An unauthenticated user gains access to a proxy instance" in page


def test_an_inactive_category_is_not_listed(client, program):
    CategoryFactory(code="P9", name="Retired class", is_active=False)

    assert "Retired class" not in client.get(SECURITY_PAGE).content.decode()


def test_a_bounty_program_shows_its_bounty_table(client, program):
    page = client.get(SECURITY_PAGE).content.decode()

    rows = re.findall(
        r'<th scope="row">(\w+)</th>\s*<td class="number">(.*?)</td>\s*'
        r'<td class="number">(.*?)</td>\s*<td>(.*?)</td>',
        page,
    )
    assert rows == [
        ("Critical", "1,500", "3,000", "USD"),
        ("High", "500", "1,500", "USD"),
        ("Medium", "250", "500", "USD"),
        ("Low", "50", "250", "USD"),
    ]
    assert "does not pay bounties" not in page


def test_the_bounty_table_follows_a_program_admins_edits(client, program):
    Severity.objects.filter(name="Critical").update(award_max=Decimal("4000.50"))

    assert '<td class="number">4,000.50</td>' in client.get(SECURITY_PAGE).content.decode()


def test_a_disclosure_program_says_it_pays_no_bounties_and_shows_no_table(
    client, disclosure_program
):
    page = client.get(SECURITY_PAGE).content.decode()

    assert "This is a vulnerability disclosure program; it does not pay bounties" in page
    assert "bounty-table" not in page
    assert "3,000" not in page


def test_the_policy_text_is_rendered_from_markdown(client, program):
    page = client.get(SECURITY_PAGE).content.decode()

    assert "<h2>Scope</h2>" in page
    assert "<strong>5 business days</strong>" in page


def test_markup_in_the_policy_is_not_interpreted(client, program):
    program.policy = "Read this <script>alert(1)</script> [now](javascript:alert(1))"
    program.save()

    page = client.get(SECURITY_PAGE).content.decode()

    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="javascript:' not in page


def test_the_page_uses_the_base_layout_with_the_data_region(client, program):
    page = client.get(SECURITY_PAGE).content.decode()

    assert '<html lang="en-us">' in page
    assert 'href="#main"' in page
    assert '<main id="main"' in page
    assert "Data region: <strong>eu</strong>" in page
    assert "/static/css/desk.css" in page
    assert "<script" not in page
    assert "style=" not in page


def test_security_txt_is_plain_utf8_text(client, program):
    response = client.get(SECURITY_TXT)

    assert response["Content-Type"] == "text/plain; charset=utf-8"


def test_security_txt_names_both_ways_to_report(client, program):
    text = client.get(SECURITY_TXT).content.decode()

    contacts = [value for field, value in _fields(text) if field == "Contact"]
    assert contacts == ["mailto:security@proxy.example.test", "https://desk.example.test/portal/"]


def test_security_txt_points_to_the_policy_and_to_itself_by_absolute_url(client, program):
    text = client.get(SECURITY_TXT).content.decode()

    assert _field(text, "Policy") == "https://desk.example.test/security/"
    assert _field(text, "Canonical") == "https://desk.example.test/.well-known/security.txt"
    assert _field(text, "Preferred-Languages") == "en"


def test_security_txt_names_the_data_region_in_a_comment(client, program):
    text = client.get(SECURITY_TXT).content.decode()

    assert "# Data region: eu" in text.splitlines()


def test_security_txt_expires_in_the_future_but_within_a_year(client, program):
    text = client.get(SECURITY_TXT).content.decode()

    expires = datetime.strptime(_field(text, "Expires"), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    now = timezone.now()
    assert now < expires < now + timedelta(days=365)


def test_security_txt_expires_at_the_start_of_the_utc_day_180_days_ahead(program):
    now = datetime(2030, 1, 15, 23, 30, tzinfo=timezone.get_fixed_timezone(-300))

    text = build_security_txt(program, now=now)

    assert _field(text, "Expires") == "2030-07-15T00:00:00Z"


def test_security_txt_has_only_well_formed_fields(program):
    text = build_security_txt(program)

    assert text.endswith("\n")
    assert {field for field, _ in _fields(text)} == {
        "Contact",
        "Expires",
        "Policy",
        "Preferred-Languages",
        "Canonical",
    }
    assert all(len(field_and_value) == 2 for field_and_value in _fields(text))


@pytest.mark.parametrize("path", [SECURITY_PAGE, SECURITY_TXT])
def test_without_a_program_the_public_pages_explain_they_are_unavailable(client, db, path):
    assert not Program.objects.exists()

    response = client.get(path)

    assert response.status_code == 503
    assert "no program configured" in response.content.decode()


def test_without_a_program_security_txt_explains_in_plain_text(client, db):
    response = client.get(SECURITY_TXT)

    assert response["Content-Type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize("path", [SECURITY_PAGE, SECURITY_TXT])
def test_the_public_pages_only_answer_reads(client, program, path):
    assert client.post(path).status_code == 405
    assert client.head(path).status_code == 200
