"""Hostile input through every field a researcher fills in comes out of the portal inert.

Each payload goes into the title, every Markdown field, the other text fields, a reply and the
names of attached files; then every page that shows them is read the way a browser would build
it, looking for anything that could run or load: script, event handlers, javascript: links, SVG,
frames, styles.
"""

import re
from html import unescape
from html.parser import HTMLParser

import pytest

from reports.models import Attachment, Report
from tests.reports.portal import (
    TEXT,
    WINDOWS_EXECUTABLE,
    count_rate_limits_afresh,
    report_form,
    upload,
)

pytestmark = pytest.mark.django_db

XSS_CORPUS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '"><img src=x onerror=alert(document.cookie)>',
    "' onmouseover='alert(1)",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](java&#x09;script:alert(1))",
    '<a href="javascript:alert(1)">click</a>',
    "<javascript:alert(1)>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "<iframe src=javascript:alert(1)></iframe>",
    "<style>body{display:none}</style>",
    '<p style="background:url(javascript:alert(1))">x</p>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
]

# Tags the portal's own pages are built from, and those that sanitized Markdown may add.
PAGE_TAGS = {
    "html", "head", "meta", "title", "link", "body", "a", "header", "nav", "main", "footer",
    "div", "section", "p", "span", "strong", "ul", "ol", "li", "dl", "dt", "dd", "time",
    "form", "input", "label", "textarea", "select", "option", "button", "table", "caption",
    "thead", "tbody", "tr", "th", "td", "h1", "h2", "h3", "code",
}  # fmt: skip
MARKDOWN_TAGS = {"em", "pre", "blockquote", "br", "hr", "h4", "h5", "h6"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction"}
SAFE_SCHEMES = {"http", "https", "mailto"}
URL_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")


@pytest.fixture(autouse=True)
def _own_rate_limit_counters(settings):
    count_rate_limits_afresh(settings)


class _Page(HTMLParser):
    """Collect the tags, attributes and text a browser builds from a page."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.tags, self.attributes, self.text = [], [], []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes.extend((tag, name, value or "") for name, value in attrs)

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)


def _scheme(url):
    # As a browser reads a URL: entities decoded, control characters and spaces stripped at the
    # ends, tabs and newlines dropped anywhere; no scheme means relative to this page.
    url = re.sub(r"[\t\n\r]", "", unescape(url).strip("".join(map(chr, range(0x21)))))
    match = URL_SCHEME.match(url)
    return match[1].lower() if match else None


def _assert_inert(html):
    page = _Page(html)
    unexpected = set(page.tags) - PAGE_TAGS - MARKDOWN_TAGS
    assert not unexpected, unexpected
    for tag, name, value in page.attributes:
        assert not name.startswith("on"), (tag, name, value)
        assert name != "style", (tag, value)
        if name in URL_ATTRIBUTES:
            assert _scheme(value) in SAFE_SCHEMES | {None}, (tag, name, value)
    return " ".join(page.text)


def _submit_hostile_report(client, payload):
    response = client.post(
        "/portal/reports/new/",
        {
            **report_form(
                title=payload,
                affected_asset=payload,
                affected_version=payload[:120],
                description=payload,
                steps_to_reproduce=f"{payload}\n2. {payload}",
                impact=payload,
            ),
            "attachments": [upload(f"{payload}.txt", TEXT)],
        },
    )
    assert response.status_code == 302, response.content.decode()
    report = Report.objects.get()
    reply = client.post(
        f"/portal/reports/{report.public_id}/reply/",
        {"body": payload, "attachments": [upload(f"{payload}.txt", payload.encode())]},
    )
    assert reply.status_code == 302
    return report


@pytest.mark.parametrize("payload", XSS_CORPUS)
def test_hostile_input_in_every_field_comes_out_of_the_report_page_inert(
    client, researcher, program, payload
):
    client.force_login(researcher)
    report = _submit_hostile_report(client, payload)

    page = client.get(f"/portal/reports/{report.public_id}/").content.decode()

    text = _assert_inert(page)
    assert payload in text, "the title is shown, as text"


@pytest.mark.parametrize("payload", XSS_CORPUS)
def test_hostile_titles_come_out_of_the_report_list_inert(client, researcher, program, payload):
    client.force_login(researcher)
    _submit_hostile_report(client, payload)

    page = client.get("/portal/").content.decode()

    assert payload in _assert_inert(page)


@pytest.mark.parametrize("payload", XSS_CORPUS)
def test_hostile_file_names_are_neither_markup_nor_header_injection(
    client, researcher, program, payload
):
    client.force_login(researcher)
    report = _submit_hostile_report(client, payload)

    for attachment in Attachment.objects.filter(report=report):
        assert re.fullmatch(r"[-\w.]+", attachment.original_name), attachment.original_name
        response = client.get(f"/portal/reports/{report.public_id}/attachments/{attachment.pk}/")
        disposition = response["Content-Disposition"]
        assert re.fullmatch(r'attachment; filename="[-\w.]+"', disposition), disposition
        assert response["Content-Type"] == "text/plain"
        assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("payload", XSS_CORPUS)
def test_hostile_input_echoed_in_form_errors_comes_out_inert(client, researcher, program, payload):
    client.force_login(researcher)

    response = client.post(
        "/portal/reports/new/",
        {
            **report_form(title=payload, description=payload, cvss_vector=payload),
            "attachments": [upload(f"{payload}.exe", WINDOWS_EXECUTABLE)],
        },
    )

    assert response.status_code == 200
    assert "is not a type of file we accept" in response.content.decode()
    _assert_inert(response.content.decode())
