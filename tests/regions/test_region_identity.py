"""DATA_REGION names the deployment wherever people look: the admin, the portal, security.txt."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def region(settings):
    settings.DATA_REGION = "eu-west"


def test_every_admin_page_names_the_region_in_its_header(client, triager):
    client.force_login(triager)

    for url in (reverse("admin:index"), reverse("admin:reports_report_changelist")):
        page = client.get(url).content.decode()
        assert "Data region: <strong>eu-west</strong>" in page
        assert page.index("eu-west") < page.index('id="content"')


def test_the_portal_footer_names_the_region(client, researcher):
    client.force_login(researcher)

    page = client.get("/portal/").content.decode()

    assert "Data region: <strong>eu-west</strong>" in page


def test_security_txt_names_the_region(client, program):
    text = client.get("/.well-known/security.txt").content.decode()

    assert "# Data region: eu-west\n" in text
