from django import template
from django.conf import settings

register = template.Library()


@register.inclusion_tag("audit/history_retention_notice.html")
def history_retention_notice():
    """Say how long history is kept, as AUDIT_RETENTION_DAYS sets it."""
    return {"retention_days": settings.AUDIT_RETENTION_DAYS}
