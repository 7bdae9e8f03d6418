"""The triage workspace as a triager uses it, in Chromium: inbox, report page, composer, moves."""

import re

import pytest

from reports.models import Message

pytestmark = pytest.mark.django_db(transaction=True)

VECTOR = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"


def _watch_for_errors(page) -> list[str]:
    """Collect script errors and policy refusals: the strict CSP must not break the page."""
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return errors


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_triager_works_a_report_from_the_inbox(signed_in, live_server, submit, triager):
    report = submit(cvss_vector=VECTOR)
    page = signed_in(triager)
    errors = _watch_for_errors(page)

    page.goto(f"{live_server.url}/admin/reports/report/")
    assert page.locator("h1").inner_text() == "Needs staff"
    assert _fits(page)
    page.click(f"text={report.public_id}")

    assert page.locator(".workspace-title h1").inner_text() == report.title
    assert page.locator('input[name="_save"]').count() == 0
    page.fill("#id_body", "Reproduced on 1.40.2, checking the fix.")
    with page.expect_navigation():
        page.click("button.note-internal")
    note = page.locator(".entry-internal").last
    assert "internal note · staff only" in note.inner_text().lower()
    assert "Reproduced on 1.40.2" in note.inner_text()

    page.click('.workspace-moves a:text-is("Acknowledge")')
    with page.expect_navigation():
        page.click('input[type=submit][value^="Acknowledge"]')
    facts = page.locator(".workspace-facts").inner_text()
    assert "Acknowledged" in facts and triager.email in facts, "acting took the report"

    page.click('.workspace-moves a:text-is("Triage")')
    assert page.input_value("#id_cvss_vector") == VECTOR, "pre-filled from the researcher"
    page.fill("#id_cvss_vector", "CVSS:3.1/AV:N/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N")
    page.locator("#id_severity_helptext", has_text="suggests Low").wait_for()
    assert page.locator("#id_severity option:checked").inner_text() == "Low"
    assert errors == []


def test_an_internal_note_is_not_on_the_researchers_page(
    signed_in, live_server, submit, triager, researcher
):
    report = submit()
    page = signed_in(triager)
    page.goto(f"{live_server.url}/admin/reports/report/{report.pk}/change/")
    page.fill("#id_body", "Internal: the fix ships with CVE-2026-0001")
    with page.expect_navigation():
        page.click("button.note-internal")
    assert report.messages.filter(visibility=Message.Visibility.INTERNAL).exists()

    portal = signed_in(researcher)
    portal.goto(f"{live_server.url}/portal/reports/{report.public_id}/")

    assert report.title in portal.content()
    assert "CVE-2026-0001" not in portal.content()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_inbox_and_the_report_page_fit_the_screen(
    signed_in, live_server, submit, triager, width
):
    report = submit(cvss_vector=VECTOR, title="A long title " * 6)
    page = signed_in(triager, width=width)

    for path in ("/admin/reports/report/", f"/admin/reports/report/{report.pk}/change/", "/admin/"):
        page.goto(f"{live_server.url}{path}")
        assert _fits(page), f"{path} scrolls sideways at {width} px"
        assert re.search(r"\S", page.locator("#content").inner_text())
