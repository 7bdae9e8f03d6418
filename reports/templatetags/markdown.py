from django import template
from django.utils.safestring import SafeString

from reports.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown(text) -> SafeString:
    """Render Markdown to sanitized HTML: ``{{ report.description|markdown }}``."""
    return render_markdown("" if text is None else str(text))
