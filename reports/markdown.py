"""Render Markdown from researchers, staff and program admins as HTML that is safe to show."""

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {
        "p",
        "br",
        "hr",
        "em",
        "strong",
        "code",
        "pre",
        "blockquote",
        "ul",
        "ol",
        "li",
        "a",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
    }
)
# "*" replaces the sanitizer's default attributes allowed on every tag (lang, title) with none.
ALLOWED_ATTRIBUTES = {"*": set(), "a": {"href"}, "ol": {"start"}}
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer"

# Raw HTML is off, so markup typed into a report shows as text instead of being interpreted.
_markdown = MarkdownIt("commonmark", {"html": False}).enable("table")

# Sanitizing after rendering is the real boundary: it holds even if the renderer lets through
# something it should not have (a link scheme, an attribute), now or in a future version.
_cleaner = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    url_schemes=ALLOWED_URL_SCHEMES,
    link_rel=LINK_REL,
)


def sanitize_html(html: str) -> SafeString:
    """Keep only the allowed tags, attributes and link schemes of an HTML fragment."""
    return mark_safe(_cleaner.clean(html))  # noqa: S308 (this is the sanitizer)


def render_markdown(text: str) -> SafeString:
    """Render CommonMark text to sanitized HTML."""
    return sanitize_html(_markdown.render(text))
